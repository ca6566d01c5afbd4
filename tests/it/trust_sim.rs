//! Issue 11's adversaries in the simulator: each `adversary-*` library
//! scenario (a forger, a replayer, a flooder, a censor) against the same
//! run without it, and the trust checker on traces it must fail.

use node_core::{Instant, ItemId, NodeId};
use sim::check::TrustCheck;
use sim::trace::{FaultRecord, NodeRecord, Record, TraceSink};

use crate::util::{Outcome, library, run};

fn converged_s(o: &Outcome) -> f64 {
    o.summary
        .sync
        .as_ref()
        .and_then(|s| s.converged_at_s)
        .expect("converged")
}

fn trust_of(o: &Outcome) -> TrustCheck {
    let mut t = TrustCheck::default();
    t.observe(&o.records);
    t
}

/// Item transfers honest nodes refused (forged, stale, over quota, …).
fn refusals(o: &Outcome, t: &TrustCheck) -> usize {
    o.records
        .iter()
        .filter(|r| {
            matches!(r, Record::Node { node, event: NodeRecord::ItemRejected, .. } if !t.is_adversary(*node))
        })
        .count()
}

/// Runs library scenario `name` and the same run without its faults;
/// asserts what holds for every adversary and returns both runs with the
/// trust checker of the attacked one.
#[allow(clippy::print_stderr)]
fn attacked_and_clean(name: &str) -> (Outcome, Outcome, TrustCheck) {
    let s = library(name, &[]);
    let attacked = run(&s);
    let mut clean = s.clone();
    clean.faults.clear();
    let base = run(&clean);
    let t = trust_of(&attacked);
    assert_eq!(t.forged(), 0, "{name}: forged or tampered versions stored");
    assert_eq!(t.replayed(), 0, "{name}: replayed versions stored");
    let trust = attacked.check("trust");
    assert!(trust.passed, "{name}: {}", trust.detail);
    assert!(
        attacked.summary.passed,
        "{name}: {:?} {:?}",
        attacked.summary.checks, attacked.summary.assertions
    );
    let (a, b) = (converged_s(&attacked), converged_s(&base));
    eprintln!(
        "{name}: honest items converged at {a:.0} s under attack, {b:.0} s without ({:.2}x); {} transfers refused; at most {} adversary items stored on one honest node",
        a / b,
        refusals(&attacked, &t),
        t.max_junk_stored().0
    );
    assert!(
        a <= 1.5 * b,
        "{name}: converged at {a:.0} s under attack, {b:.0} s without"
    );
    (attacked, base, t)
}

#[test]
fn a_forger_gets_no_forged_version_stored_and_honest_items_converge() {
    let (attacked, _, t) = attacked_and_clean("adversary-forger");
    assert!(refusals(&attacked, &t) > 0, "no forgery reached anyone");
}

#[test]
fn a_replayer_gets_no_old_version_stored_over_a_newer_one() {
    let (attacked, _, t) = attacked_and_clean("adversary-replayer");
    assert!(refusals(&attacked, &t) > 0, "no replay reached anyone");
}

#[test]
fn a_flooder_gets_no_more_junk_stored_than_its_quota() {
    let (_, _, t) = attacked_and_clean("adversary-flooder");
    // 5 versions per key per hour; windows start at the first version
    // counted, so a 4 h run spans at most 5 of them.
    let (junk, worst) = t.max_junk_stored();
    assert!(junk > 0, "the flooder's junk reached no one");
    assert!(junk <= 5 * 5, "{worst:?} stored {junk} junk items");
}

#[test]
fn a_censor_poisoning_duplicate_filters_does_not_silence_its_victim() {
    let (attacked, _, _) = attacked_and_clean("adversary-censor");
    // Node 0's own frames after the censor started are delivered, not
    // taken for duplicates of what the censor pre-sent.
    let heard = attacked
        .records
        .iter()
        .filter(|r| {
            matches!(r, Record::RxOk { packet, duplicate: false, at, .. }
                if packet.origin == NodeId(0) && *at > Instant::from_micros(600_000_000))
        })
        .count();
    assert!(heard > 0, "node 0 was silenced");
}

fn stored(at_s: u64, node: u32, item: u8, seq: u32, element: u64) -> Record {
    Record::Node {
        at: Instant::from_micros(at_s * 1_000_000),
        node: NodeId(node),
        event: NodeRecord::Stored {
            item: ItemId([item; 16]),
            seq,
            element,
        },
    }
}

fn published(node: u32, item: u8, seq: u32, element: u64) -> Record {
    Record::Node {
        at: Instant::ZERO,
        node: NodeId(node),
        event: NodeRecord::Published {
            item: ItemId([item; 16]),
            seq,
            element,
            size_bytes: 100,
            fragments: 1,
        },
    }
}

#[test]
fn the_trust_checker_counts_forged_replayed_and_junk_versions() {
    let mut t = TrustCheck::default();
    t.observe(&[
        Record::Fault {
            at: Instant::ZERO,
            fault: FaultRecord::Adversary { node: NodeId(9) },
        },
        published(0, 1, 1, 11),
        published(0, 1, 2, 12),
        published(9, 2, 1, 21),
        stored(1, 3, 1, 2, 12),
        // Version 1 after version 2: a replay.
        stored(2, 3, 1, 1, 11),
        // An element no one published: a forgery.
        stored(3, 4, 1, 9, 99),
        // Junk from the adversary.
        stored(4, 4, 2, 1, 21),
        // What the adversary itself stores does not count.
        stored(5, 9, 1, 7, 77),
    ]);
    assert_eq!((t.forged(), t.replayed()), (1, 1));
    assert_eq!(t.max_junk_stored(), (1, Some(NodeId(4))));
    assert!(!t.outcome().passed);
}
