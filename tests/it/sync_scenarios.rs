//! Catalogue sync in whole simulated meshes: every library sync scenario
//! converges with its invariants intact, and each fault does what it says.

use std::collections::{BTreeMap, BTreeSet};

use catalogue::id::ItemId;
use node_core::{Duration, Instant, NodeId};
use sim::trace::{FaultRecord, NodeRecord, Record};

use crate::util::{Outcome, library, run};

/// Per node, per item: the highest version held at the end.
fn holdings(o: &Outcome) -> BTreeMap<u32, BTreeMap<ItemId, u32>> {
    let mut out: BTreeMap<u32, BTreeMap<ItemId, u32>> = BTreeMap::new();
    for r in &o.records {
        if let Record::Node { node, event, .. } = r
            && let NodeRecord::Published { item, seq, .. } | NodeRecord::Stored { item, seq, .. } =
                *event
        {
            let e = out.entry(node.0).or_default().entry(item).or_default();
            *e = (*e).max(seq);
        }
    }
    out
}

/// The newest version of every published item.
fn newest(o: &Outcome) -> BTreeMap<ItemId, u32> {
    let mut out = BTreeMap::new();
    for r in &o.records {
        if let Record::Node {
            event: NodeRecord::Published { item, seq, .. },
            ..
        } = r
        {
            let e = out.entry(*item).or_insert(*seq);
            *e = (*e).max(*seq);
        }
    }
    out
}

/// Asserts the run converged, passed its checks and assertions, and that
/// every node of the (connected) mesh holds every item's newest version.
fn assert_converged(name: &str, o: &Outcome) {
    assert!(
        o.summary.passed,
        "{name}: checks {:?}, assertions {:?}",
        o.summary.checks, o.summary.assertions
    );
    let sync = o.summary.sync.as_ref().expect("sync figures");
    assert!(sync.converged_at_s.is_some(), "{name}: converged");
    assert_eq!(
        sync.items_complete, sync.items,
        "{name}: every item complete"
    );
    assert_eq!(o.info.topology.components, 1, "{name}: a connected mesh");
    let want = newest(o);
    let held = holdings(o);
    for n in 0..o.info.sites.len() as u32 {
        assert_eq!(
            held.get(&n),
            Some(&want),
            "{name}: node {n} holds the newest version of everything"
        );
    }
}

#[test]
fn a_disaster_zone_of_220_nodes_gets_all_50_manifests() {
    let o = run(&library("disaster-zone", &[]));
    assert!(o.info.sites.len() >= 200);
    assert_eq!(newest(&o).len(), 50);
    assert_converged("disaster-zone", &o);
}

#[test]
fn b_both_halves_publish_during_a_partition_and_converge_after_it_heals() {
    let o = run(&library("partition-heal", &[]));
    assert_converged("partition-heal", &o);
    let (cut, heal) = (
        Instant::ZERO + Duration::from_secs(600),
        Instant::ZERO + Duration::from_secs(7800),
    );
    let west = |n: NodeId| o.info.sites[n.index()].x_m < 3000.0;
    // Both halves published while cut.
    let sides: BTreeSet<bool> = o
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Node {
                at,
                node,
                event: NodeRecord::Published { .. },
            } if *at > cut && *at < heal => Some(west(*node)),
            _ => None,
        })
        .collect();
    assert_eq!(sides.len(), 2, "both sides published during the partition");
    // Nothing stored during the cut came from the other side: a node stores
    // an item only if its side has it.
    let mut side_has: BTreeMap<(bool, ItemId), Instant> = BTreeMap::new();
    for r in &o.records {
        if let Record::Node { at, node, event } = r {
            let item = match event {
                NodeRecord::Published { item, .. } | NodeRecord::Stored { item, .. } => *item,
                _ => continue,
            };
            if *at > cut
                && *at < heal
                && let NodeRecord::Stored { .. } = event
            {
                assert!(
                    side_has.contains_key(&(west(*node), item)),
                    "an item crossed the cut"
                );
            }
            side_has.entry((west(*node), item)).or_insert(*at);
        }
    }
}

#[test]
fn c_nodes_that_crash_mid_sync_restart_from_their_stores_and_catch_up() {
    let o = run(&library("crash-restart", &[]));
    assert_converged("crash-restart", &o);
    let crashed: BTreeSet<u32> = o
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Fault {
                fault: FaultRecord::Crash { node },
                ..
            } => Some(node.0),
            _ => None,
        })
        .collect();
    assert_eq!(crashed.len(), 3);
    // What a crashed node had stored before the crash survived: it is never
    // stored again after the restart.
    let mut stored: BTreeSet<(u32, ItemId, u32)> = BTreeSet::new();
    let mut before_crash = 0;
    for r in &o.records {
        if let Record::Node {
            node,
            event: NodeRecord::Stored { item, seq, .. },
            ..
        } = r
        {
            assert!(
                stored.insert((node.0, *item, *seq)),
                "node {} stored {item:?} twice",
                node.0
            );
        }
        if let Record::Fault {
            fault: FaultRecord::Crash { node },
            ..
        } = r
        {
            before_crash += stored.iter().filter(|(n, _, _)| *n == node.0).count();
        }
    }
    assert!(
        before_crash > 0,
        "the crashes happened mid-sync, with items already stored"
    );
}

#[test]
fn d_thirty_percent_random_loss_still_converges() {
    let o = run(&library("lossy", &[]));
    assert_converged("lossy", &o);
    let lost = o
        .summary
        .drops_by_reason
        .get("injected_loss")
        .copied()
        .unwrap_or(0) as f64;
    let share = lost / (lost + o.summary.frames_received as f64);
    assert!(
        (share - 0.3).abs() < 0.03,
        "{share:.3} of decoded frames lost"
    );
}

#[test]
fn e_a_node_in_a_box_joins_late_with_an_empty_store_and_catches_up() {
    let o = run(&library("late-joiner", &[]));
    assert_converged("late-joiner", &o);
    let join = Instant::ZERO + Duration::from_secs(3 * 3600);
    let mut firsts = Vec::new();
    for r in &o.records {
        if let Record::Node {
            at,
            node: NodeId(5),
            event: NodeRecord::Stored { .. },
        } = r
        {
            firsts.push(*at);
        }
    }
    assert_eq!(
        firsts.len(),
        newest(&o).len(),
        "it got every item from the mesh"
    );
    assert!(
        firsts.iter().all(|t| *t >= join),
        "nothing before it was switched on"
    );
    let caught_up = *firsts.iter().max().unwrap() - join;
    assert!(
        caught_up < Duration::from_secs(3600),
        "caught up in {caught_up}"
    );
}

#[test]
fn f_a_new_version_replaces_the_old_on_every_node() {
    let o = run(&library("new-version", &[]));
    assert_converged("new-version", &o);
    let want = newest(&o);
    assert_eq!(
        want.values().filter(|seq| **seq == 2).count(),
        5,
        "five items got a second version"
    );
}

/// A folder of `n` synthetic OKH manifests (`first..first + n`), for
/// catalogues larger than the corpus.
fn synthetic_corpus(name: &str, first: usize, n: usize) -> std::path::PathBuf {
    let dir = crate::util::temp_dir(name);
    for i in first..first + n {
        let text = format!(
            "title: Synthetic design {i}\n\
             description: A generated design number {i}, for catalogue-scale sync tests.\n\
             license: CC0-1.0\n\
             project-link: https://example.org/designs/{i}\n\
             version: 1.0\n"
        );
        std::fs::write(dir.join(format!("design-{i:05}.yml")), text).expect("writes");
    }
    dir
}

/// Quotas loose enough for thousands of items an hour from one publisher
/// (the defaults allow 200 versions per key per ten minutes).
const LOOSE_TRUST: &str = "trust:
  window: 10m
  frames_per_peer: 1000000
  items_per_publisher: 1000000
  bytes_per_publisher: 1000000000000
";

#[test]
#[allow(clippy::print_stdout)]
fn g_a_late_joiner_missing_5000_items_catches_up_in_the_simulator() {
    const ITEMS: usize = 5000;
    let corpus = synthetic_corpus("late-5000", 0, ITEMS);
    let o = run(&crate::util::scenario(&format!(
        "name: late-joiner-5000
seed: 5
duration: 8h
radio:
  region: US915
  preset: ShortFast
  shadowing:
    sigma_db: 0
{LOOSE_TRUST}topology:
  kind: chain
  nodes: 2
  spacing_m: 300
workload:
  publish:
    - items: {ITEMS}
      corpus: {}
      nodes: [0]
      from: 0s
      until: 1m
faults:
  - join: {{at: 10m, node: 1}}
",
        corpus.display()
    )));
    let join = Instant::ZERO + Duration::from_secs(600);
    let stored: Vec<Instant> = o
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Node {
                at,
                node: NodeId(1),
                event: NodeRecord::Stored { .. },
            } => Some(*at),
            _ => None,
        })
        .collect();
    let last = stored.iter().max().copied().unwrap_or(join);
    assert_eq!(
        stored.len(),
        ITEMS,
        "the joiner got every item; last at {last}"
    );
    let took = last - join;
    println!("late joiner, 5,000 items over ShortFast: caught up in {took}");
    assert!(took < Duration::from_secs(6 * 3600), "caught up in {took}");
    assert_converged("late-joiner-5000", &o);
}

#[test]
#[allow(clippy::print_stdout)]
fn h_two_halves_that_each_published_1000_items_converge_in_the_simulator() {
    const EACH: usize = 1000;
    let west = synthetic_corpus("halves-west", 0, EACH);
    let east = synthetic_corpus("halves-east", EACH, EACH);
    let o = run(&crate::util::scenario(&format!(
        "name: halves-1000
seed: 6
duration: 10h
radio:
  region: US915
  preset: ShortFast
  shadowing:
    sigma_db: 0
{LOOSE_TRUST}topology:
  kind: chain
  nodes: 4
  spacing_m: 300
workload:
  publish:
    - items: {EACH}
      corpus: {}
      nodes: [0]
      from: 2m
      until: 5m
    - items: {EACH}
      corpus: {}
      nodes: [3]
      from: 2m
      until: 5m
faults:
  - partition:
      at: 1m
      heal_at: 3h
      line: [[450, -1000], [450, 1000]]
",
        west.display(),
        east.display()
    )));
    let heal = Instant::ZERO + Duration::from_secs(3 * 3600);
    let held = holdings(&o);
    for n in 0..4u32 {
        assert_eq!(
            held.get(&n).map_or(0, BTreeMap::len),
            2 * EACH,
            "node {n} holds both halves' items"
        );
    }
    let last = o
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Node {
                at,
                event: NodeRecord::Stored { .. },
                ..
            } => Some(*at),
            _ => None,
        })
        .max()
        .expect("items stored");
    let took = last - heal;
    println!("partition, 1,000 + 1,000 items over ShortFast: converged {took} after healing");
    assert!(
        took < Duration::from_secs(6 * 3600),
        "converged {took} after healing"
    );
    assert_converged("halves-1000", &o);
}
