//! Checks that need more than one field, or ranges serde cannot express.
//! Every problem names the field path it is about.

use node_core::Duration;
use node_core::radio::LoraParams;
use node_core::transport::{MAX_HOP_LIMIT, MESHTASTIC_MAX_PAYLOAD_BYTES};
use node_core::wire::CHAT_MIN_LEN;

use crate::path::FieldPath;
use sim::config::NodeSelection;
use sim::phy::pathloss::PathLossModel;

use crate::schema::{
    AdversaryKind, AdversarySpec, Crash, Fault, Heal, Join, Loss, Scenario, Topology,
};

/// A problem found at a path.
pub type Found = (FieldPath, String);

/// Checks a deserialised scenario; returns every problem found.
pub fn validate(s: &Scenario) -> Vec<Found> {
    let mut out = Vec::new();
    let root = FieldPath::root();
    let mut bad = |path: FieldPath, msg: String| out.push((path, msg));

    if s.name.is_empty()
        || s.name.len() > 64
        || !s
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        bad(
            root.key("name"),
            format!(
                "`{}` must be 1–64 characters of a-z, 0-9, `-` or `_` (it names output folders)",
                s.name
            ),
        );
    }
    if s.duration.as_micros() == 0 {
        bad(root.key("duration"), "must be longer than zero".into());
    }
    if s.duration > s.limits.max_sim_time {
        bad(
            root.key("duration"),
            format!(
                "{} exceeds limits.max_sim_time ({})",
                crate::duration::format(s.duration),
                crate::duration::format(s.limits.max_sim_time)
            ),
        );
    }

    // Radio.
    let radio = root.key("radio");
    if let Some(l) = &s.radio.lora {
        let params = LoraParams {
            preamble_symbols: l.preamble_symbols,
            ..LoraParams::meshtastic(
                l.sf,
                (l.bandwidth_khz * 1000.0).round() as u32,
                l.coding_rate.wrapping_sub(4),
            )
        };
        if !(5..=8).contains(&l.coding_rate) {
            bad(
                radio.key("lora").key("coding_rate"),
                format!("{} must be 5..=8 (for 4/5..4/8)", l.coding_rate),
            );
        } else if !l.bandwidth_khz.is_finite() {
            bad(
                radio.key("lora").key("bandwidth_khz"),
                "must be a number".into(),
            );
        } else if let Err(e) = params.validate() {
            let field = match e {
                node_core::radio::LoraParamsError::SpreadingFactor(_) => "sf",
                node_core::radio::LoraParamsError::Bandwidth(_) => "bandwidth_khz",
                node_core::radio::LoraParamsError::CodingRate(_) => "coding_rate",
                node_core::radio::LoraParamsError::Preamble(_) => "preamble_symbols",
            };
            bad(radio.key("lora").key(field), e.to_string());
        }
    }
    if let Some(p) = s.radio.tx_power_dbm {
        let max = s.radio.region.max_power_dbm();
        if !(-10.0..=max).contains(&p) {
            bad(
                radio.key("tx_power_dbm"),
                format!(
                    "{p} dBm is outside -10..={max} dBm allowed in {}",
                    s.radio.region
                ),
            );
        }
    }
    if !(0.0..=30.0).contains(&s.radio.antenna_gain_dbi) {
        bad(
            radio.key("antenna_gain_dbi"),
            "must be within 0..=30 dBi".into(),
        );
    }
    if !(0.1..=500.0).contains(&s.radio.antenna_height_m) {
        bad(
            radio.key("antenna_height_m"),
            "must be within 0.1..=500 m".into(),
        );
    }
    if !(0.0..=30.0).contains(&s.radio.noise_figure_db) {
        bad(
            radio.key("noise_figure_db"),
            "must be within 0..=30 dB".into(),
        );
    }
    if let Some(f) = s.radio.frequency_mhz
        && !(100.0..=3000.0).contains(&f)
    {
        bad(
            radio.key("frequency_mhz"),
            format!("{f} MHz is outside 100..=3000 MHz"),
        );
    }
    if let PathLossModel::LogDistance {
        pl0_db,
        d0_m,
        exponent,
    } = s.radio.path_loss
    {
        let pl = radio.key("path_loss");
        if !(0.0..=250.0).contains(&pl0_db) {
            bad(pl.key("pl0_db"), "must be within 0..=250 dB".into());
        }
        if !(d0_m > 0.0 && d0_m.is_finite()) {
            bad(pl.key("d0_m"), "must be positive".into());
        }
        if !(1.0..=8.0).contains(&exponent) {
            bad(pl.key("exponent"), "must be within 1..=8".into());
        }
    }
    if !(0.0..=20.0).contains(&s.radio.shadowing.sigma_db) {
        bad(
            radio.key("shadowing").key("sigma_db"),
            "must be within 0..=20 dB".into(),
        );
    }
    if !(0.0..=30.0).contains(&s.radio.capture_db) {
        bad(radio.key("capture_db"), "must be within 0..=30 dB".into());
    }
    if let Some(f) = s.radio.capture.interference_floor_db
        && !(-30.0..=0.0).contains(&f)
    {
        bad(
            radio.key("capture").key("interference_floor_db"),
            "must be within -30..=0 dB (relative to sensitivity)".into(),
        );
    }
    if let Some(d) = s.radio.duty_cycle_pct
        && !(d > 0.0 && d <= 100.0)
    {
        bad(
            radio.key("duty_cycle_pct"),
            "must be within (0, 100] percent".into(),
        );
    }

    // Topology.
    let topo = root.key("topology");
    let n = s.node_count();
    if n < 2 || n > s.limits.max_nodes {
        let field = if matches!(s.topology, Topology::Csv { .. }) {
            "path"
        } else {
            "nodes"
        };
        bad(
            topo.key(field),
            format!(
                "{n} nodes; need 2..={} (limits.max_nodes)",
                s.limits.max_nodes
            ),
        );
    }
    let positive = |v: f64| v > 0.0 && v.is_finite() && v <= 1e7;
    if let Topology::Random {
        ensure_connected,
        connect_range_m,
        ..
    }
    | Topology::Clusters {
        ensure_connected,
        connect_range_m,
        ..
    } = &s.topology
    {
        match (ensure_connected, connect_range_m) {
            (true, None) => bad(
                topo.key("ensure_connected"),
                "needs `connect_range_m`, the distance in metres each node is kept within \
                 of one placed before it (placement never depends on the radio)"
                    .into(),
            ),
            (false, Some(_)) => bad(
                topo.key("connect_range_m"),
                "applies only with `ensure_connected: true`".into(),
            ),
            (_, Some(r)) if !positive(*r) => bad(
                topo.key("connect_range_m"),
                "must be positive metres".into(),
            ),
            _ => {}
        }
    }
    match &s.topology {
        Topology::Random {
            area_m,
            min_spacing_m,
            ..
        } => {
            if !(positive(area_m[0]) && positive(area_m[1])) {
                bad(
                    topo.key("area_m"),
                    "width and height must be positive metres".into(),
                );
            }
            if !(0.0..=10_000.0).contains(min_spacing_m) {
                bad(
                    topo.key("min_spacing_m"),
                    "must be within 0..=10000 m".into(),
                );
            } else if positive(area_m[0]) && positive(area_m[1]) {
                // Leave room: each node needs a disc of the spacing.
                let needed = f64::from(n) * min_spacing_m * min_spacing_m;
                if needed > area_m[0] * area_m[1] / 2.0 {
                    bad(
                        topo.key("min_spacing_m"),
                        format!("{n} nodes {min_spacing_m} m apart do not fit in the area"),
                    );
                }
            }
        }
        Topology::Clusters {
            area_m,
            towns,
            town_radius_m,
            rural_share,
            ..
        } => {
            if !(positive(area_m[0]) && positive(area_m[1])) {
                bad(
                    topo.key("area_m"),
                    "width and height must be positive metres".into(),
                );
            }
            if *towns == 0 || *towns > n {
                bad(topo.key("towns"), format!("{towns} towns; need 1..={n}"));
            }
            if !positive(*town_radius_m) {
                bad(topo.key("town_radius_m"), "must be positive metres".into());
            }
            if !(0.0..=1.0).contains(rural_share) {
                bad(topo.key("rural_share"), "must be within 0..=1".into());
            }
        }
        Topology::Grid { spacing_m, .. } | Topology::Chain { spacing_m, .. } => {
            if !positive(*spacing_m) {
                bad(topo.key("spacing_m"), "must be positive metres".into());
            }
        }
        Topology::Csv { .. } => {}
    }

    // Roles.
    let roles = root.key("roles");
    for (name, sel) in [
        ("routers", &s.roles.routers),
        ("client_mute", &s.roles.client_mute),
    ] {
        match sel {
            NodeSelection::Count(k) if *k > n => {
                bad(roles.key(name), format!("{k} exceeds the {n} nodes"));
            }
            NodeSelection::Nodes(ids) => check_ids(ids, n, &roles.key(name), &mut bad),
            NodeSelection::Count(_) => {}
        }
    }

    // Mesh.
    let mesh = root.key("mesh");
    if s.mesh.hop_limit > MAX_HOP_LIMIT {
        bad(
            mesh.key("hop_limit"),
            format!(
                "{} exceeds Meshtastic's maximum of {MAX_HOP_LIMIT}",
                s.mesh.hop_limit
            ),
        );
    }
    if !(1..=1024).contains(&s.mesh.queue_capacity) {
        bad(
            mesh.key("queue_capacity"),
            "must be within 1..=1024 frames".into(),
        );
    }

    // Workload.
    if let Some(t) = &s.workload.traffic {
        let p = root.key("workload").key("traffic");
        if t.period.as_micros() < 1_000 {
            bad(p.key("period"), "must be at least 1ms".into());
        }
        if !(CHAT_MIN_LEN..=MESHTASTIC_MAX_PAYLOAD_BYTES).contains(&t.payload_bytes) {
            bad(
                p.key("payload_bytes"),
                format!(
                    "{} must be within {CHAT_MIN_LEN}..={MESHTASTIC_MAX_PAYLOAD_BYTES}",
                    t.payload_bytes
                ),
            );
        }
        if let Some(h) = t.hop_limit
            && h > MAX_HOP_LIMIT
        {
            bad(
                p.key("hop_limit"),
                format!("{h} exceeds Meshtastic's maximum of {MAX_HOP_LIMIT}"),
            );
        }
        if let Some(ids) = &t.senders {
            check_ids(ids, n, &p.key("senders"), &mut bad);
        }
    }

    // Catalogue workload.
    for (i, p) in s.workload.publish.iter().enumerate() {
        let at = root.key("workload").key("publish").index(i);
        check_batch(&at, p.items, p.from, p.until, s.duration, &mut bad);
        if let Some(ids) = &p.nodes {
            check_ids(ids, n, &at.key("nodes"), &mut bad);
        }
    }
    for (i, r) in s.workload.revise.iter().enumerate() {
        let at = root.key("workload").key("revise").index(i);
        check_batch(&at, r.items, r.from, r.until, s.duration, &mut bad);
        if let Some(ids) = &r.nodes {
            check_ids(ids, n, &at.key("nodes"), &mut bad);
        }
    }
    for (i, p) in s.workload.packages.iter().enumerate() {
        let at = root.key("workload").key("packages").index(i);
        if p.size_bytes == 0 || p.size_bytes > crate::schema::MAX_SIM_PACKAGE_BYTES {
            bad(
                at.key("size_bytes"),
                format!(
                    "must be within 1..={}",
                    crate::schema::MAX_SIM_PACKAGE_BYTES
                ),
            );
        }
        if !p.piece_bytes.is_power_of_two() || !(1024..=1 << 20).contains(&p.piece_bytes) {
            bad(
                at.key("piece_bytes"),
                "must be a power of two from 1024 to 1048576".into(),
            );
        }
        if p.holders.is_empty() {
            bad(at.key("holders"), "needs at least one node".into());
        }
        check_ids(&p.holders, n, &at.key("holders"), &mut bad);
        check_ids(&p.requesters, n, &at.key("requesters"), &mut bad);
        if p.at > s.duration {
            bad(at.key("at"), "is after the end of the run".into());
        }
    }
    if !s.workload.revise.is_empty() && s.workload.publish.is_empty() {
        bad(
            root.key("workload").key("revise"),
            "needs items published by `workload.publish`".into(),
        );
    }
    let sync = root.key("sync");
    if s.sync.imin.as_micros() < 1_000_000 {
        bad(sync.key("imin"), "must be at least 1s".into());
    }
    if s.sync.imax < s.sync.imin {
        bad(sync.key("imax"), "must be at least `imin`".into());
    }
    if !(1..=100).contains(&s.sync.k) {
        bad(sync.key("k"), "must be within 1..=100".into());
    }
    if s.sync.want_timeout.as_micros() < 1_000_000 {
        bad(sync.key("want_timeout"), "must be at least 1s".into());
    }

    // Faults.
    for (i, fault) in s.faults.iter().enumerate() {
        let f = root.key("faults").index(i);
        let within = |at: node_core::Duration| at <= s.duration;
        match fault {
            Fault::Partition(p) => {
                let f = f.key("partition");
                if !within(p.at) {
                    bad(f.key("at"), "is after the end of the run".into());
                }
                if let Some(h) = p.heal_at
                    && h <= p.at
                {
                    bad(f.key("heal_at"), "must be after `at`".into());
                }
                match (&p.groups, &p.line) {
                    (Some(_), Some(_)) | (None, None) => {
                        bad(f.clone(), "give exactly one of `groups` or `line`".into());
                    }
                    (Some(groups), None) => {
                        let mut seen = std::collections::BTreeSet::new();
                        for (g, ids) in groups.iter().enumerate() {
                            check_ids(ids, n, &f.key("groups").index(g), &mut bad);
                            for id in ids {
                                if !seen.insert(*id) {
                                    bad(
                                        f.key("groups").index(g),
                                        format!("node {id} is in two groups"),
                                    );
                                }
                            }
                        }
                    }
                    (None, Some([a, b])) => {
                        if a == b || !a.iter().chain(b).all(|v| v.is_finite()) {
                            bad(f.key("line"), "needs two distinct finite points".into());
                        }
                    }
                }
            }
            Fault::Heal(Heal { at }) => {
                if !within(*at) {
                    bad(
                        f.key("heal").key("at"),
                        "is after the end of the run".into(),
                    );
                }
            }
            Fault::Crash(Crash { at, node, .. }) => {
                if !within(*at) {
                    bad(
                        f.key("crash").key("at"),
                        "is after the end of the run".into(),
                    );
                }
                check_node(*node, n, f.key("crash").key("node"), &mut bad);
            }
            Fault::Loss(Loss {
                from,
                until,
                probability,
                links,
            }) => {
                let f = f.key("loss");
                if !(0.0..=1.0).contains(probability) {
                    bad(
                        f.key("probability"),
                        format!("{probability} must be within 0..=1"),
                    );
                }
                if let Some(u) = until
                    && u <= from
                {
                    bad(f.key("until"), "must be after `from`".into());
                }
                for (k, [a, b]) in links.iter().flatten().enumerate() {
                    if *a >= n || *b >= n || a == b {
                        bad(
                            f.key("links").index(k),
                            format!("[{a}, {b}] is not a link between two existing nodes"),
                        );
                    }
                }
            }
            Fault::Join(Join { at, node }) => {
                if !within(*at) {
                    bad(
                        f.key("join").key("at"),
                        "is after the end of the run".into(),
                    );
                }
                check_node(*node, n, f.key("join").key("node"), &mut bad);
            }
            Fault::Adversary(AdversarySpec {
                node,
                kind,
                from,
                every,
                frames,
                victim,
                ids,
            }) => {
                let f = f.key("adversary");
                check_node(*node, n, f.key("node"), &mut bad);
                if !within(*from) {
                    bad(f.key("from"), "is after the end of the run".into());
                }
                if every.as_micros() < 1_000_000 {
                    bad(f.key("every"), "must be at least 1s".into());
                }
                let censor = *kind == AdversaryKind::Censor;
                match victim {
                    Some(v) if censor => {
                        check_node(*v, n, f.key("victim"), &mut bad);
                        if v == node {
                            bad(f.key("victim"), "is the censor itself".into());
                        }
                    }
                    None if censor => bad(f.key("victim"), "a censor needs a victim".into()),
                    Some(_) => bad(f.key("victim"), "only a censor has a victim".into()),
                    None => {}
                }
                if ids.is_some() && !censor {
                    bad(f.key("ids"), "only a censor pre-sends packet ids".into());
                }
                if ids.is_some_and(|i| i > 1_000) {
                    bad(f.key("ids"), "at most 1000 per attack".into());
                }
                let flooder = *kind == AdversaryKind::Flooder;
                if frames.is_some() && !flooder {
                    bad(f.key("frames"), "only a flooder sends junk frames".into());
                }
                if frames.is_some_and(|x| x > 1_000) {
                    bad(f.key("frames"), "at most 1000 per attack".into());
                }
            }
        }
    }
    let adversaries: Vec<u32> = s
        .faults
        .iter()
        .filter_map(|f| match f {
            Fault::Adversary(a) => Some(a.node),
            _ => None,
        })
        .collect();
    for (i, f) in s.faults.iter().enumerate() {
        if let Fault::Adversary(a) = f
            && adversaries.iter().filter(|n| **n == a.node).count() > 1
        {
            bad(
                root.key("faults").index(i).key("adversary").key("node"),
                format!("node {} is named by another adversary", a.node),
            );
        }
    }
    let t = &s.trust;
    if t.window.as_micros() < 1_000_000 {
        bad(
            root.key("trust").key("window"),
            "must be at least 1s".into(),
        );
    }
    if t.items_per_publisher == 0 {
        bad(
            root.key("trust").key("items_per_publisher"),
            "must be at least 1".into(),
        );
    }
    if t.frames_per_peer == 0 {
        bad(
            root.key("trust").key("frames_per_peer"),
            "must be at least 1".into(),
        );
    }

    // Assertions.
    for (i, a) in s.assertions.iter().enumerate() {
        let p = root.key("assertions").index(i);
        match (a.min, a.max) {
            (None, None) => bad(p.clone(), "give `min`, `max` or both".into()),
            (Some(lo), Some(hi)) if lo > hi => bad(p.key("min"), "is greater than `max`".into()),
            _ => {}
        }
    }
    if s.limits.max_events == 0 {
        bad(
            root.key("limits").key("max_events"),
            "must be positive".into(),
        );
    }
    out
}

/// A publish or revise batch: how many items, and a window inside the run.
fn check_batch(
    at: &FieldPath,
    items: u32,
    from: Duration,
    until: Option<Duration>,
    run: Duration,
    bad: &mut impl FnMut(FieldPath, String),
) {
    if !(1..=10_000).contains(&items) {
        bad(at.key("items"), format!("{items} must be within 1..=10000"));
    }
    if from > run {
        bad(at.key("from"), "is after the end of the run".into());
    }
    if let Some(u) = until {
        if u < from {
            bad(at.key("until"), "is before `from`".into());
        } else if u > run {
            bad(at.key("until"), "is after the end of the run".into());
        }
    }
}

fn check_ids(ids: &[u32], n: u32, path: &FieldPath, bad: &mut impl FnMut(FieldPath, String)) {
    for (k, id) in ids.iter().enumerate() {
        check_node(*id, n, path.index(k), bad);
    }
}

fn check_node(id: u32, n: u32, path: FieldPath, bad: &mut impl FnMut(FieldPath, String)) {
    if id >= n {
        bad(path, format!("node {id} does not exist (0..{n})"));
    }
}
