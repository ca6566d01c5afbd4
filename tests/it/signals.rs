//! Supply and demand signals in a whole simulated mesh: the library
//! scenario `demand` (disaster-zone sized) and its must-be-true figures.
#![allow(clippy::print_stderr)] // the tests print the figures they measure

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use node_core::signals::SignalType;
use reports::signals::Mode;
use sim::trace::{NodeRecord, Record, SignalRecord};

use crate::util::{Outcome, library, run};

/// The `demand` scenario, run once for every test here and in
/// `signal_filters`.
pub(crate) fn demand() -> &'static Outcome {
    static RUN: OnceLock<Outcome> = OnceLock::new();
    RUN.get_or_init(|| run(&library("demand", &[])))
}

fn signal_records(o: &Outcome) -> impl Iterator<Item = (f64, u32, SignalRecord)> + '_ {
    o.records.iter().filter_map(|r| match r {
        Record::Node {
            at,
            node,
            event: NodeRecord::Signal(s),
        } => Some((at.as_secs_f64(), node.0, *s)),
        _ => None,
    })
}

#[test]
fn urgent_demand_reaches_the_connected_capable_facilities_with_fewer_frames_than_flooding() {
    let o = demand();
    let s = o.summary.signals.as_ref().expect("signal figures");
    let epidemic = s
        .group(SignalType::Demand, Mode::Epidemic)
        .expect("urgent demand");
    let flood = s
        .group(SignalType::Demand, Mode::Flood)
        .expect("flooded demand");
    let ratio = s.epidemic_to_flood_tx_ratio().expect("both ran");
    eprintln!(
        "urgent demand: {}/{} = {:.2} % delivered, {:.1} tx, {:.2} s airtime, {:.0} B per signal; \
         flooding: {:.2} % delivered, {:.1} tx, {:.2} s airtime per signal; ratio {ratio:.3}",
        epidemic.delivered,
        epidemic.audience,
        epidemic.delivered_pct.unwrap(),
        epidemic.tx_per_signal,
        epidemic.airtime_s_per_signal,
        epidemic.bytes_per_signal,
        flood.delivered_pct.unwrap(),
        flood.tx_per_signal,
        flood.airtime_s_per_signal,
    );
    eprintln!("{}", serde_json::to_string_pretty(s).unwrap());
    assert_eq!(epidemic.signals, 4);
    assert!(
        epidemic.audience >= 4 * 30,
        "the capable facilities: {}",
        epidemic.audience
    );
    assert!(epidemic.delivered_pct.unwrap() >= 99.0, "{epidemic:?}");
    assert!(ratio < 1.0, "fewer transmissions than flooding: {ratio}");
    assert!(
        o.summary.passed,
        "{:?} {:?}",
        o.summary.checks, o.summary.assertions
    );
}

#[test]
fn no_signal_is_delivered_or_forwarded_after_it_expired() {
    let o = demand();
    // Every signal's expiry, from its publication.
    let mut expires: BTreeMap<u64, f64> = BTreeMap::new();
    for (at, _, r) in signal_records(o) {
        if let SignalRecord::Published { id, ttl_s, .. } = r {
            expires.insert(id, at + f64::from(ttl_s));
        }
    }
    let mut checked = 0;
    for (at, node, r) in signal_records(o) {
        if let SignalRecord::Taken { id, .. } | SignalRecord::Relayed { id } = r {
            let end = expires[&id];
            assert!(
                at < end,
                "node {node} handled {id:016x} at {at} s, expired at {end} s"
            );
            checked += 1;
        }
    }
    // And no signal frame went on the air after its signal expired.
    for r in &o.records {
        if let Record::TxStart {
            at,
            subject,
            class: node_core::wire::FrameClass::Signal,
            ..
        } = r
            && let Some(end) = expires.get(subject)
        {
            assert!(at.as_secs_f64() < *end, "{subject:016x} sent at {at:?}");
        }
    }
    assert!(checked > 1000, "{checked} deliveries and relays checked");
}

#[test]
fn two_facilities_confirming_one_demand_leave_one_winner_on_every_node() {
    let o = demand();
    let s = o.summary.signals.as_ref().expect("signal figures");
    // Each urgent demand had two confirmations in the same second.
    let mut confirmations: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for (_, _, r) in signal_records(o) {
        if let SignalRecord::Published {
            id,
            ty: SignalType::Confirmation,
            refers,
            ..
        } = r
        {
            confirmations.entry(refers).or_default().insert(id);
        }
    }
    let raced: Vec<u64> = confirmations
        .iter()
        .filter(|(_, c)| c.len() == 2)
        .map(|(d, _)| *d)
        .collect();
    assert!(
        !raced.is_empty(),
        "some demand got two confirmations: {confirmations:?}"
    );
    // Every conflict any node saw names the same winner per demand.
    let mut winners: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    let mut told: BTreeSet<u64> = BTreeSet::new();
    for (_, _, r) in signal_records(o) {
        if let SignalRecord::Conflict {
            demand,
            winner,
            loser,
            ours_lost,
        } = r
        {
            winners.entry(demand).or_default().insert(winner);
            if ours_lost {
                told.insert(loser);
            }
        }
    }
    for d in &raced {
        let w = &winners[d];
        assert_eq!(w.len(), 1, "one winner for {d:016x}: {w:?}");
        let loser = confirmations[d].iter().find(|c| !w.contains(c)).unwrap();
        assert!(
            told.contains(loser),
            "the losing facility of {d:016x} was told"
        );
    }
    assert!(s.conflicts > 0 && s.losers_told >= raced.len() as u64);
    eprintln!(
        "{} races, {} conflict reports, first confirmation at the demander p50 {:?} s max {:?} s",
        raced.len(),
        s.conflicts,
        s.first_confirmation_p50_s,
        s.first_confirmation_max_s
    );
}

#[test]
fn a_query_no_one_can_answer_costs_a_bounded_number_of_frames() {
    let o = demand();
    let s = o.summary.signals.as_ref().expect("signal figures");
    let q = s
        .group(SignalType::Query, Mode::Epidemic)
        .expect("broadcast queries");
    // Each node relays a signal at most once (at most one frame per node,
    // the broadcast bound); with filters known every neighbour declines a
    // query nobody can answer: the asker's frame alone.
    eprintln!(
        "queries: {} sent, {:.1} tx each, {:.2} s airtime each; {:?} % answered from the book",
        q.signals, q.tx_per_signal, q.airtime_s_per_signal, s.queries_local_pct
    );
    assert!(q.tx_per_signal <= o.info.sites.len() as f64);
    assert!(
        q.tx_per_signal <= crate::signal_filters::QUERY_TX_MAX,
        "{}",
        q.tx_per_signal
    );
    assert!(
        s.queries_local_pct.unwrap() > 0.0,
        "announced capabilities answer locally"
    );
}

/// Where the signal layer's frames go on `demand`, per node-core's own
/// counters (run by hand: `cargo test --test it signal_costs -- --ignored --nocapture`).
#[test]
#[ignore]
fn signal_costs() {
    let s = library("demand", &[]);
    let mut sim = s.sim_config().build().expect("builds");
    sim.run(&mut [], &mut |_| {}).expect("runs");
    let mut t = node_core::signals::SignalStats::default();
    for i in 0..sim.topology().len() as u32 {
        if let Some(n) = sim.node(i) {
            let x = n.signals().book().stats();
            t.digests_sent += x.digests_sent;
            t.pulls_sent += x.pulls_sent;
            t.served += x.served;
            t.forwarded += x.forwarded;
            t.accepted += x.accepted;
            t.duplicates += x.duplicates;
        }
    }
    eprintln!("{t:?}");
}

#[test]
fn the_http_api_refuses_bad_signal_input_with_a_reason_and_writes_without_the_token() {
    use crate::field_support::{http_json, http_with, lone_udp_radio, start_api_node};
    let dir = tempfile::tempdir().unwrap();
    let (_node, a) = start_api_node(&lone_udp_radio(), dir.path(), &[]);
    let design = "0123456789abcdef0123456789abcdef";
    // Writes need the token.
    let ok = format!("/demands?design={design}&quantity=40&deadline=2h&tags=3d-printing");
    let (code, _) = http_with(&a, "POST", &ok, &[], b"").unwrap();
    assert_eq!(code, 401);
    for (path, names) in [
        ("/demands?design=12&quantity=4".to_string(), "design '12'"),
        (
            format!("/demands?design={design}&quantity=0"),
            "quantity '0'",
        ),
        (
            format!("/demands?design={design}&deadline=forever"),
            "deadline 'forever'",
        ),
        (
            format!("/demands?design={design}&deadline=90d"),
            "deadline '90d'",
        ),
        (
            format!("/demands?design={design}&tags=PLA/ABS"),
            "tags 'PLA/ABS'",
        ),
        (
            format!("/demands?design={design}&urgent=maybe"),
            "urgent 'maybe'",
        ),
        (format!("/demands?design={design}&colour=red"), "colour"),
        ("/offers?demand=xyz".to_string(), "demand 'xyz'"),
    ] {
        let (code, v) = http_json(&a, "POST", &path, b"");
        assert_eq!(code, 400, "{path}: {v}");
        assert!(v.to_string().contains(names), "{path}: {v}");
    }
    let (code, v) = http_json(&a, "POST", "/offers?demand=0123456789abcdef", b"");
    assert_eq!(code, 404, "{v}");
    // A good demand is listed with what it says.
    let (code, v) = http_json(&a, "POST", &ok, b"");
    assert_eq!(code, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let (_, list) = http_json(&a, "GET", "/signals", b"");
    let d = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str())
        .expect("listed");
    assert_eq!(
        (d["type"].as_str(), d["quantity"].as_u64()),
        (Some("demand"), Some(40))
    );
    assert_eq!(d["design"].as_str(), Some(design));
    assert_eq!(d["ours"].as_bool(), Some(true));
    let (code, _) = http_json(&a, "DELETE", "/signals", b"");
    assert_eq!(code, 405);
    // Its signer cancels it: gone from the list.
    let (code, v) = http_json(&a, "POST", "/cancellations?signal=nothex", b"");
    assert_eq!(code, 400, "{v}");
    let (code, v) = http_json(&a, "POST", &format!("/cancellations?signal={id}"), b"");
    assert_eq!(code, 201, "{v}");
    let (_, list) = http_json(&a, "GET", "/signals", b"");
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|s| s["id"] != id.as_str()),
        "{list}"
    );
}

#[test]
fn every_signal_metric_has_a_value_on_the_demand_scenario() {
    let o = demand();
    for metric in scenarios::Metric::ALL
        .into_iter()
        .filter(|m| m.needs_signals())
    {
        assert!(o.summary.value(metric).is_some(), "{metric}");
    }
}
