//! Issue 18, cross-validation: okmesh against Meshtasticator (patched
//! airtime) on Meshtasticator's own 50 positions. The reference printouts
//! are vendored in `tests/data/meshtasticator-n50/`; this test runs okmesh at
//! the load Meshtasticator actually put on air, checks that reach agrees
//! within 5 points with shadowing off, and writes `docs/fidelity.md` (set
//! `OKMESH_WRITE_DOCS=1` to regenerate it; otherwise the committed file must
//! match what the code measures now).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use reports::Summary;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/meshtasticator-n50")
}

/// The figures one Meshtasticator printout gives, by its own labels, plus
/// the `RESULT` line's fields.
struct Printout {
    lines: BTreeMap<String, String>,
    result: serde_json::Value,
}

impl Printout {
    fn read(file: &str) -> Self {
        let path = data_dir().join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut lines = BTreeMap::new();
        let mut result = serde_json::Value::Null;
        for line in text.lines() {
            if let Some(json) = line.strip_prefix("RESULT ") {
                result = serde_json::from_str(json).expect("RESULT is JSON");
            } else if let Some((k, v)) = line.split_once(':') {
                lines.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
        Printout { lines, result }
    }

    /// A figure by its label; for "a to b" lines, the first number.
    fn num(&self, label: &str) -> f64 {
        let v = self
            .lines
            .get(label)
            .unwrap_or_else(|| panic!("no \"{label}\" in the printout"));
        let first = v.split_whitespace().next().unwrap_or("");
        first
            .trim_end_matches('%')
            .parse()
            .unwrap_or_else(|e| panic!("{label}: {v}: {e}"))
    }

    fn result(&self, key: &str) -> f64 {
        self.result[key]
            .as_f64()
            .unwrap_or_else(|| panic!("no {key} in RESULT"))
    }

    /// Frames it actually put on air.
    fn transmissions(&self) -> f64 {
        self.result("transmissions")
    }

    /// Collided share of the receptions it followed (received + collided).
    fn collided_pct(&self) -> f64 {
        let c = self.num("Number of collisions");
        100.0 * c / (c + self.num("Number of packets received"))
    }
}

/// One okmesh run on the 50 positions with `sets` overrides.
fn okmesh_run(sets: &[String]) -> Summary {
    let path = data_dir().join("n50.yaml");
    let text = std::fs::read_to_string(&path).expect("n50.yaml");
    let overrides: Vec<scenarios::Override> = sets
        .iter()
        .map(|s| s.parse().expect("valid --set"))
        .collect();
    let s = scenarios::load_str(&text, "n50.yaml", Some(&data_dir()), &overrides)
        .unwrap_or_else(|e| panic!("{e}"));
    okmesh::Prepared::new(&s)
        .expect("builds")
        .run(None, &mut |_| {})
        .expect("runs")
        .summary
}

fn collided_pct(s: &Summary) -> f64 {
    100.0 * s.collisions as f64 / (s.collisions + s.frames_received) as f64
}

/// The traffic period (whole seconds) at which okmesh puts as many frames
/// on air as Meshtasticator did: frames on air are close to inversely
/// proportional to the period, so a few proportional steps converge.
fn matched_period_s(target_frames: f64, sets: &[String]) -> (u64, Summary) {
    let mut period_s = 100u64;
    let mut seen = BTreeMap::new();
    loop {
        let mut all = sets.to_vec();
        all.push(format!("workload.traffic.period={period_s}s"));
        let s = okmesh_run(&all);
        let next = (period_s as f64 * s.frames_sent as f64 / target_frames).round() as u64;
        seen.insert(period_s, s);
        if seen.contains_key(&next) || seen.len() >= 6 {
            // The closest of the periods tried.
            let best = *seen
                .iter()
                .min_by(|a, b| {
                    let d = |s: &Summary| (s.frames_sent as f64 - target_frames).abs();
                    d(a.1).total_cmp(&d(b.1))
                })
                .expect("one run")
                .0;
            return (best, seen.remove(&best).expect("tried"));
        }
        period_s = next;
    }
}

/// The capture switches, okmesh's default first, Meshtasticator's last.
const CAPTURE: [(bool, bool, f64); 8] = [
    (true, true, -6.0),
    (true, true, 0.0),
    (true, false, -6.0),
    (true, false, 0.0),
    (false, true, -6.0),
    (false, true, 0.0),
    (false, false, -6.0),
    (false, false, 0.0),
];

fn capture_sets(period_s: u64, (sum, lock, floor): (bool, bool, f64)) -> Vec<String> {
    vec![
        format!("workload.traffic.period={period_s}s"),
        format!("radio.capture.sum_interference={sum}"),
        format!("radio.capture.lock_first={lock}"),
        format!("radio.capture.interference_floor_db={floor}"),
    ]
}

#[test]
fn okmesh_reach_is_within_5_points_of_meshtasticator_on_its_50_positions() {
    let plain = Printout::read("meshtasticator-airtime-fixed-no-shadowing.log");
    let shadowed = Printout::read("meshtasticator-airtime-fixed.log");

    let (period_s, ours) = matched_period_s(plain.transmissions(), &[]);
    // Identical physics: 466 directed links, all symmetric.
    assert_eq!(ours.topology.links, 233);
    assert_eq!(ours.topology.asymmetric_links, 0);
    let on_air_gap = (ours.frames_sent as f64 / plain.transmissions() - 1.0).abs();
    assert!(on_air_gap < 0.03, "load matched: {on_air_gap}");
    let theirs_reach = plain.num("Average percentage of nodes reached");
    assert!(
        (ours.reach_pct - theirs_reach).abs() <= 5.0,
        "okmesh {:.2} % vs Meshtasticator {theirs_reach:.2} %",
        ours.reach_pct
    );

    let switches: Vec<Summary> = CAPTURE
        .iter()
        .map(|c| okmesh_run(&capture_sets(period_s, *c)))
        .collect();
    // The default switches are okmesh's model: the same run.
    assert_eq!(switches[0].trace_hash, ours.trace_hash);
    // Each of okmesh's stricter choices can only add collisions here; with
    // all three off the rate drops.
    assert!(collided_pct(&switches[7]) < collided_pct(&switches[0]));

    let (shadow_period_s, shadow) = matched_period_s(
        shadowed.transmissions(),
        &[
            "radio.shadowing.sigma_db=3".into(),
            "radio.shadowing.reciprocal=false".into(),
        ],
    );

    let doc = render(
        &plain,
        &shadowed,
        period_s,
        &ours,
        &switches,
        shadow_period_s,
        &shadow,
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fidelity.md");
    if std::env::var_os("OKMESH_WRITE_DOCS").is_some() {
        std::fs::write(&path, &doc).expect("write docs/fidelity.md");
    } else {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == doc,
            "docs/fidelity.md is out of date: rerun with OKMESH_WRITE_DOCS=1\n{doc}"
        );
    }
}

fn f1(x: f64) -> String {
    format!("{x:.1}")
}

fn f2(x: f64) -> String {
    format!("{x:.2}")
}

#[allow(clippy::too_many_arguments)]
fn render(
    plain: &Printout,
    shadowed: &Printout,
    period_s: u64,
    ours: &Summary,
    switches: &[Summary],
    shadow_period_s: u64,
    shadow: &Summary,
) -> String {
    let n = f64::from(ours.nodes);
    let created = plain.num("Number of messages created");
    let listed = plain.num("Number of packets sent");
    let sensed = plain.num("Number of packets sensed");
    let their_coll = plain.num("Number of collisions");
    let their_rx = plain.num("Number of packets received");
    let their_reach = plain.num("Average percentage of nodes reached");
    let first_rx = their_reach / 100.0 * created * (n - 1.0);
    let never_pct = 100.0 * (1.0 - plain.transmissions() / listed);
    let pairs = n * (n - 1.0) / 2.0;
    let pct_pairs = |x: u64| 100.0 * x as f64 / pairs;
    let mut d = String::new();
    let w = &mut d;
    let _ = writeln!(
        w,
        "# okmesh against Meshtasticator\n\n\
         *Generated by `tests/it/fidelity.rs` (`OKMESH_WRITE_DOCS=1 cargo test --test it fidelity`)\n\
         from the reference printouts in `tests/data/meshtasticator-n50/`; do not edit by hand.*\n\n\
         Meshtasticator (meshtastic/Meshtasticator, snapshot a304b7d, airtime bug patched:\n\
         `meshtasticator-airtime-cr-fix.patch`) ran its default setup on the 50 positions of\n\
         `positions.csv`, seed 44, movement off: US, LongFast, 30 dBm, 3GPP macro suburban,\n\
         1 m antennas, a 56-byte frame (16-byte header + 40-byte packet) per node every\n\
         100 s on average, hop limit 3, 30 minutes. okmesh runs\n\
         `tests/data/meshtasticator-n50/n50.yaml`: the same setup, 56-byte frames (16-byte\n\
         header + 7-byte Data wrapper + 33-byte payload), sensitivity matched (noise figure\n\
         6.0206 dB), seed 44 (its own random streams: the message times differ).\n"
    );
    let _ = writeln!(
        w,
        "## Links\n\n\
         The path loss is the same formula. With shadowing off okmesh has {} links, {} of them\n\
         one-way ({} directed links), the set Meshtasticator reports identical (466 directed\n\
         links, all two-way); the mesh is connected with a diameter of {} hops, so with hop limit 3\n\
         no model reaches everyone. With shadowing (σ = 3 dB per direction, each model its own\n\
         draws) the link shares of the {pairs} pairs compare as distributions:\n\n\
         | pairs | Meshtasticator | okmesh |\n|---|---|---|\n\
         | two-way links | {} % | {} % |\n| one-way links | {} % | {} % |\n| no link | {} % | {} % |\n",
        ours.topology.links,
        ours.topology.asymmetric_links,
        2 * ours.topology.links - ours.topology.asymmetric_links,
        ours.topology.diameter_hops,
        plain_or(shadowed, "Symmetric links"),
        f2(pct_pairs(
            shadow.topology.links - shadow.topology.asymmetric_links
        )),
        plain_or(shadowed, "Asymmetric links"),
        f2(pct_pairs(shadow.topology.asymmetric_links)),
        plain_or(shadowed, "No links"),
        f2(100.0 - pct_pairs(shadow.topology.links)),
    );
    let _ = writeln!(
        w,
        "## Matched load\n\n\
         Meshtasticator created {created} messages but listed {listed} packets (messages, relays,\n\
         retransmissions) of which only {} went on air: {} % never did (generation blocks on the\n\
         implicit-ACK wait, cancelled relays), so it offered less load than its 100 s period says.\n\
         okmesh is run at the period that puts the same number of frames on air, found by a few\n\
         proportional steps: **{period_s} s** (shadowing off), {shadow_period_s} s (shadowing on).\n\n\
         | shadowing off | Meshtasticator | okmesh |\n|---|---|---|\n\
         | period | 100 s (nominal) | {period_s} s |\n\
         | messages | {created} created | {} originated |\n\
         | frames on air | {} | {} ({} relays) |\n\
         | transmit air utilisation | {} % | {} % |\n\n\
         okmesh dropped {} queued frames at this load ({}): a client cancels its queued\n\
         relay when it hears another relay of the packet first, as the firmware does.\n",
        plain.transmissions(),
        f1(never_pct),
        ours.messages_originated,
        plain.transmissions(),
        ours.frames_sent,
        ours.relays,
        plain.num("Average Tx air utilization"),
        f2(ours.air_utilisation_pct),
        ours.drops,
        ours.drops_by_reason
            .iter()
            .map(|(r, c)| format!("{r}: {c}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let _ = writeln!(
        w,
        "## Reach\n\n\
         Both compute reach as first receptions ÷ (messages × (N − 1)).\n\n\
         | | Meshtasticator | okmesh |\n|---|---|---|\n\
         | reach, shadowing off | **{their_reach} %** | **{} %** |\n\
         | reach, shadowing on | {} % | {} % |\n\
         | first receptions, shadowing off | {} | {} |\n\n\
         With shadowing off okmesh's reach is {} points from Meshtasticator's (the test requires\n\
         at most 5). Meshtasticator divides by every message created, on air or not, and okmesh's\n\
         messages all go on air; per message actually sent Meshtasticator's reach would be\n\
         higher, but its printout does not say how many of its {created} messages went out.\n\
         okmesh's model also loses more receptions to collisions (below); with Meshtasticator's capture rules its reach is {} %.\n",
        f2(ours.reach_pct),
        shadowed.num("Average percentage of nodes reached"),
        f2(shadow.reach_pct),
        first_rx.round(),
        (ours.reach_pct / 100.0 * ours.messages_originated as f64 * (n - 1.0)).round(),
        f2((ours.reach_pct - their_reach).abs()),
        f2(switches[7].reach_pct),
    );
    let _ = writeln!(
        w,
        "## Collisions under each capture switch\n\n\
         Meshtasticator prints \"Percentage of packets that collided\" = collisions ÷ packets sensed =\n\
         {their_coll} ÷ {sensed} = {} %, where *sensed* counts every listed packet's receivers, also\n\
         for the {} % of packets that never went on air. The comparable share is collisions ÷\n\
         (receptions + collisions), the receptions a radio followed: **{} %** for Meshtasticator\n\
         ({their_coll} ÷ ({their_rx} + {their_coll})).\n\n\
         okmesh at {period_s} s, shadowing off, each combination of `radio.capture` (see\n\
         `docs/radio-model.md`); the first row is okmesh's model, the last Meshtasticator's:\n\n\
         | sum_interference | lock_first | interference_floor_db | frames on air | received | collided | below sensitivity | half-duplex | collided % | reach % |\n\
         |---|---|---|---|---|---|---|---|---|---|",
        f2(100.0 * their_coll / sensed),
        f1(never_pct),
        f1(plain.collided_pct()),
    );
    for ((sum, lock, floor), s) in CAPTURE.iter().zip(switches) {
        let _ = writeln!(
            w,
            "| {sum} | {lock} | {floor} | {} | {} | {} | {} | {} | {} | {} |",
            s.frames_sent,
            s.frames_received,
            s.collisions,
            s.below_sensitivity,
            s.half_duplex_misses,
            f1(collided_pct(s)),
            f2(s.reach_pct),
        );
    }
    let ok = collided_pct(&switches[0]);
    let mt = collided_pct(&switches[7]);
    let theirs = plain.collided_pct();
    let _ = writeln!(
        w,
        "\nokmesh's collided share is {} % against Meshtasticator's {} %, a gap of {} points.\n\
         Switching all three physics choices to Meshtasticator's brings okmesh to {} %: the\n\
         physics accounts for {} points ({} % of the gap), the rest, {} points, is what the two\n\
         MACs and traffic put on air at the same time (see the list below). One at a time, from\n\
         okmesh's model: summing nothing {} %, no lock on the first {} %, a 0 dB floor {} %.\n\
         A floor of 0 dB also removes every \"below sensitivity\" record, since undecodable\n\
         links are then not listed at all.\n",
        f1(ok),
        f1(theirs),
        f1(ok - theirs),
        f1(mt),
        f1(ok - mt),
        f1(100.0 * (ok - mt) / (ok - theirs)),
        f1(mt - theirs),
        f1(collided_pct(&switches[4])),
        f1(collided_pct(&switches[2])),
        f1(collided_pct(&switches[1])),
    );
    d.push_str(DIFFERENCES);
    d
}

/// A percentage line of the shadowed printout, as printed.
fn plain_or(p: &Printout, label: &str) -> String {
    f2(p.num(label))
}

const DIFFERENCES: &str = "\
## Every difference, and why

* **Airtime.** Meshtasticator's formula uses the coding-rate denominator (5..8) where\n  \
  AN1200.13 takes 1..4: its frames last 1.4-1.6x too long. Patched in the reference runs;\n  \
  okmesh's airtime is the Semtech formula (`node-core/src/radio/lora.rs`, tested against\n  \
  the AN1200.13 check value).
* **Counting messages.** Meshtasticator's reach and collision percentages divide by every\n  \
  message or packet *created*, including those that never went on air (see \"Matched\n  \
  load\"). okmesh counts what happened on air. This is why the load is matched on frames\n  \
  on air, not on the nominal period.
* **Mean delay.** Meshtasticator averages the delay of every decoded copy including\n  \
  duplicates (its \"delay average\" is 140 s); okmesh's message latency is first\n  \
  reception per node. Not compared.
* **Preamble grace.** Meshtasticator adds its preamble grace in the wrong unit, so any\n  \
  overlap collides; okmesh lets a frame that ends before the last 5 preamble symbols of\n  \
  the next one pass (LoRaSim's rule): fewer collisions in okmesh, not measured separately.
* **Capture physics** (the table above): okmesh keeps interferers down to\n  \
  sensitivity − 6 dB, sums their power, and a receiver locked on a first preamble loses a later frame;\n  \
  Meshtasticator compares pairs, ignores arrival order and everything below sensitivity.\n  \
  Sources and reasons: `docs/radio-model.md`.
* **Collided frames keep interfering.** In Meshtasticator a packet that collided on arrival\n  \
  never interferes with later ones; in okmesh its energy is on the air until it ends, under\n  \
  every switch setting. Part of the residual gap.
* **Relay timing.** Meshtasticator follows an older firmware's contention window; okmesh\n  \
  follows the current firmware's timer discipline (`RadioLibInterface.cpp`: one timer for\n  \
  the queue head, a fresh SNR-weighted delay after every transmission and reception, a\n  \
  re-draw on a busy channel). Which timing puts more frames on the air together is\n  \
  not measured separately here: it is in the residual gap, by elimination.
* **Originator retransmissions and message generation.** Meshtasticator's originator\n  \
  retransmits up to 3 times when it hears no rebroadcast, and a node creates no message\n  \
  while it waits; okmesh does not model the implicit-ACK retransmission, so at the same\n  \
  frames on air okmesh carries more distinct messages and fewer repeats, spread as a\n  \
  plain Poisson process. Part of the residual gap and of the reach difference.
* **Interference level.** Meshtasticator's \"interference level 0.05\" makes the channel busy\n  \
  about 10 % of the time for its CAD; okmesh has no such background. It only delays\n  \
  Meshtasticator's transmissions.
* **Duty cycle and queue.** Meshtasticator enforces no duty cycle and no transmit-queue limit;\n  \
  US915 has no duty cycle; okmesh's drops at this load are listed under \"Matched load\".
* **Shadowing draws.** Both draw σ = 3 dB per direction once, each from its own generator:\n  \
  the link sets differ link by link, so the shadowed run compares distributions only.
";
