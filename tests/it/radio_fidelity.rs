//! Issue 18, radio-model fidelity: no reception lost without a record
//! (reception conservation, with negative tests for it and for the
//! half-duplex and hop-limit checkers), every directed link in the mesh
//! graph, and the firmware's transmit-timer discipline.

use node_core::wire::FrameClass;
use node_core::{Duration, Instant, NodeId};
use sim::check::{CheckOutcome, Checks};
use sim::trace::{DropReason, FaultRecord, PacketKey, Record, RunInfo, TraceSink};

use crate::util::{library, run};

/// The outcome of the checker `name` after `records`.
fn check(info: &RunInfo, records: &[Record], name: &str) -> CheckOutcome {
    let mut checks = Checks::for_run(info);
    // Odd batch sizes: checkers must not depend on batching.
    for batch in records.chunks(5) {
        checks.observe(batch);
    }
    checks
        .outcomes()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no checker {name}"))
}

fn conservation(info: &RunInfo, records: &[Record]) -> CheckOutcome {
    check(info, records, "reception_conservation")
}

/// The trace without its `k`-th record matching `pick`.
fn without(records: &[Record], pick: impl Fn(&Record) -> bool, k: usize) -> Vec<Record> {
    let i = records
        .iter()
        .enumerate()
        .filter(|(_, r)| pick(r))
        .nth(k)
        .map(|(i, _)| i)
        .expect("such a record");
    let mut out = records.to_vec();
    out.remove(i);
    out
}

#[test]
fn every_library_scenario_conserves_receptions_and_keeps_its_assertions() {
    for name in scenarios::library::names() {
        let o = run(&library(name, &[]));
        let c = o.check("reception_conservation");
        assert!(c.passed, "{name}: {}", c.detail);
        o.assert_checks_pass(name);
        assert!(
            o.summary.assertions.iter().all(|a| a.passed),
            "{name}: {:?}",
            o.summary.assertions
        );
    }
}

#[test]
fn a_trace_with_one_outcome_record_removed_fails_conservation() {
    let o = run(&library("quickstart", &["duration=40m"]));
    let full = conservation(&o.info, &o.records);
    assert!(full.passed, "{}", full.detail);
    type Pick = fn(&Record) -> bool;
    let kinds: [(&str, Pick); 4] = [
        ("reception", |r| matches!(r, Record::RxOk { .. })),
        ("collision", |r| matches!(r, Record::Collision { .. })),
        ("below sensitivity", |r| {
            matches!(r, Record::BelowSensitivity { .. })
        }),
        ("half duplex", |r| {
            matches!(r, Record::HalfDuplexMiss { .. })
        }),
    ];
    for (what, pick) in kinds {
        for k in [0, 97] {
            let cut = without(&o.records, pick, k);
            let c = conservation(&o.info, &cut);
            assert!(!c.passed, "{what} #{k} removed: {}", c.detail);
            assert!(c.detail.contains("got no outcome"), "{what}: {}", c.detail);
        }
    }
    // One outcome twice is as wrong as none.
    let mut twice = o.records.clone();
    let i = twice
        .iter()
        .position(|r| matches!(r, Record::Collision { .. }))
        .unwrap();
    twice.insert(i, twice[i]);
    let c = conservation(&o.info, &twice);
    assert!(
        !c.passed && c.detail.contains("a second outcome"),
        "{}",
        c.detail
    );
}

#[test]
fn injected_loss_and_crashes_are_outcomes_and_removing_them_is_caught() {
    // A decoded frame the loss fault discards is a `Drop` at the receiver.
    let o = run(&library("lossy", &["duration=40m"]));
    assert!(conservation(&o.info, &o.records).passed);
    let loss = |r: &Record| {
        matches!(
            r,
            Record::Drop {
                reason: DropReason::InjectedLoss,
                ..
            }
        )
    };
    let c = conservation(&o.info, &without(&o.records, loss, 10));
    assert!(
        !c.passed && c.detail.contains("got no outcome"),
        "{}",
        c.detail
    );
    // A receiver that crashes mid-frame: its crash record is the outcome;
    // with the crash record gone, the reception it cut short is missing.
    let o = run(&library("crash-restart", &["duration=3h"]));
    assert!(conservation(&o.info, &o.records).passed);
    let crash = |r: &Record| {
        matches!(
            r,
            Record::Fault {
                fault: FaultRecord::Crash { .. },
                ..
            }
        )
    };
    let crashes = o.records.iter().filter(|r| crash(r)).count();
    let caught = (0..crashes)
        .filter(|k| !conservation(&o.info, &without(&o.records, crash, *k)).passed)
        .count();
    assert!(
        caught > 0,
        "some crash cut a reception short ({crashes} crashes)"
    );
}

#[test]
fn partitions_are_in_the_trace_and_cut_receptions_are_owed_nothing() {
    let o = run(&library("partition-heal", &["duration=2h"]));
    let members = o
        .records
        .iter()
        .filter(|r| {
            matches!(
                r,
                Record::Fault {
                    fault: FaultRecord::Member { .. },
                    ..
                }
            )
        })
        .count();
    assert!(members > 0, "the partition's groups are in the trace");
    assert!(conservation(&o.info, &o.records).passed);
    // Without the membership records the checker expects receptions across
    // the cut, which the air never delivered.
    let cut: Vec<Record> = o
        .records
        .iter()
        .filter(|r| {
            !matches!(
                r,
                Record::Fault {
                    fault: FaultRecord::Member { .. },
                    ..
                }
            )
        })
        .copied()
        .collect();
    assert!(!conservation(&o.info, &cut).passed);
}

// ---- synthetic traces for the half-duplex and hop-limit checkers --------

fn t(ms: u64) -> Instant {
    Instant::from_micros(ms * 1_000)
}

fn key(origin: u32, id: u32) -> PacketKey {
    PacketKey {
        origin: NodeId(origin),
        id,
    }
}

fn tx_start(
    node: u32,
    tx: u64,
    packet: PacketKey,
    hop_limit: u8,
    relay: bool,
    from_ms: u64,
) -> Record {
    Record::TxStart {
        at: t(from_ms),
        node: NodeId(node),
        tx,
        packet,
        hop_limit,
        relay,
        bytes_on_air: 60,
        end: t(from_ms + 500),
        class: FrameClass::Chat,
        subject: 0,
    }
}

fn rx_ok(node: u32, tx: u64, sender: u32, packet: PacketKey, hops_away: u8, at_ms: u64) -> Record {
    Record::RxOk {
        at: t(at_ms),
        node: NodeId(node),
        tx,
        sender: NodeId(sender),
        packet,
        hops_away,
        rssi_cdbm: -10_000,
        duplicate: false,
        class: FrameClass::Chat,
    }
}

fn tx_end(node: u32, tx: u64, at_ms: u64) -> Record {
    Record::TxEnd {
        at: t(at_ms),
        node: NodeId(node),
        tx,
    }
}

fn originate(node: u32, packet: PacketKey, hop_limit: u8, at_ms: u64) -> Record {
    Record::Originate {
        at: t(at_ms),
        node: NodeId(node),
        packet,
        payload_bytes: 33,
        hop_limit,
        class: FrameClass::Chat,
    }
}

/// A three-node chain's description: each node hears its neighbours.
fn chain3() -> RunInfo {
    let s = library("chain", &["topology.nodes=3"]);
    let info = s.sim_config().build().unwrap().run_info();
    assert_eq!(info.audience[1], [0, 2]);
    info
}

#[test]
fn a_synthetic_half_duplex_violation_fails_the_half_duplex_checker() {
    let info = chain3();
    let p = key(0, 1);
    let q = key(1, 1);
    // Node 1 transmits from 100 ms to 600 ms; node 0's frame overlaps it.
    let good = [
        originate(0, p, 3, 0),
        tx_start(0, 0, p, 3, false, 0),
        tx_end(0, 0, 500),
        originate(1, q, 3, 0),
        tx_start(1, 1, q, 3, false, 600),
        tx_end(1, 1, 1100),
    ];
    let bad = [
        originate(0, p, 3, 0),
        tx_start(0, 0, p, 3, false, 0),
        originate(1, q, 3, 100),
        tx_start(1, 1, q, 3, false, 100),
        rx_ok(1, 0, 0, p, 0, 500),
        tx_end(0, 0, 500),
        tx_end(1, 1, 600),
    ];
    let mut fine = good.to_vec();
    fine.insert(2, rx_ok(1, 0, 0, p, 0, 500));
    assert!(check(&info, &fine, "half_duplex").passed);
    let c = check(&info, &bad, "half_duplex");
    assert!(!c.passed, "{}", c.detail);
    assert!(c.detail.contains("while transmitting"), "{}", c.detail);
}

#[test]
fn a_synthetic_hop_limit_violation_fails_the_hop_limit_checker() {
    let info = chain3();
    let p = key(0, 1);
    let base = [
        originate(0, p, 1, 0),
        tx_start(0, 0, p, 1, false, 0),
        rx_ok(1, 0, 0, p, 0, 500),
        tx_end(0, 0, 500),
    ];
    // A relay that decrements, heard one hop away: fine.
    let mut fine = base.to_vec();
    fine.extend([
        tx_start(1, 1, p, 0, true, 1000),
        rx_ok(2, 1, 1, p, 1, 1500),
        tx_end(1, 1, 1500),
    ]);
    assert!(check(&info, &fine, "hop_limit").passed);
    // A relay that keeps the hop limit.
    let mut kept = base.to_vec();
    kept.extend([tx_start(1, 1, p, 1, true, 1000), tx_end(1, 1, 1500)]);
    let c = check(&info, &kept, "hop_limit");
    assert!(!c.passed && c.detail.contains("relayed"), "{}", c.detail);
    // A reception farther away than the originator allowed.
    let mut far = base.to_vec();
    far.extend([
        tx_start(1, 1, p, 0, true, 1000),
        rx_ok(2, 1, 1, p, 2, 1500),
        tx_end(1, 1, 1500),
    ]);
    let c = check(&info, &far, "hop_limit");
    assert!(
        !c.passed && c.detail.contains("beyond its hop limit"),
        "{}",
        c.detail
    );
}

#[test]
fn a_synthetic_lost_reception_and_an_unowed_outcome_fail_conservation() {
    let info = chain3();
    let p = key(0, 1);
    // Node 0's frame reaches nodes 1 and 2 (node 2 below sensitivity).
    let good = [
        originate(0, p, 3, 0),
        tx_start(0, 0, p, 3, false, 0),
        rx_ok(1, 0, 0, p, 0, 500),
        Record::BelowSensitivity {
            at: t(500),
            node: NodeId(2),
            tx: 0,
        },
        tx_end(0, 0, 500),
    ];
    assert!(
        conservation(&info, &good).passed,
        "{}",
        conservation(&info, &good).detail
    );
    let lost = without(&good, |r| matches!(r, Record::BelowSensitivity { .. }), 0);
    assert!(!conservation(&info, &lost).passed);
    // Node 2 crashed before the frame started: it is owed nothing, and an
    // outcome there is a violation.
    let mut down = good.to_vec();
    down.insert(
        0,
        Record::Fault {
            at: t(0),
            fault: FaultRecord::Crash { node: NodeId(2) },
        },
    );
    let c = conservation(&info, &down);
    assert!(!c.passed && c.detail.contains("not owed"), "{}", c.detail);
}

#[test]
fn the_100_node_graph_has_every_directed_link_of_the_physics() {
    // Meshtasticator's setup: per-direction shadowing, so links can be
    // decodable one way only.
    let sim = library("meshtastic-default", &[])
        .sim_config()
        .build()
        .unwrap();
    let topo = sim.topology();
    let n = topo.len() as u32;
    assert_eq!(n, 100);
    let decodable = |a: u32, b: u32| topo.link(a, b).is_some_and(|l| l.decodable);
    let graph = topo.graph();
    let graph_edges: std::collections::BTreeSet<(u32, u32)> = graph
        .edge_indices()
        .map(|e| {
            let (x, y) = graph.edge_endpoints(e).expect("an edge has ends");
            let (x, y) = (x.index() as u32, y.index() as u32);
            (x.min(y), x.max(y))
        })
        .collect();
    assert_eq!(graph_edges.len(), graph.edge_count(), "no edge twice");
    let (mut edges, mut one_way, mut missed_before) = (0, 0, 0);
    for a in 0..n {
        for b in a + 1..n {
            let physics = decodable(a, b) || decodable(b, a);
            let in_graph = graph_edges.contains(&(a, b));
            assert_eq!(in_graph, physics, "{a} - {b}");
            edges += u64::from(physics);
            one_way += u64::from(decodable(a, b) != decodable(b, a));
            // The case the graph used to miss: decodable only from the
            // higher id, the lower one's signal below the interference floor.
            missed_before += u64::from(decodable(b, a) && topo.link(a, b).is_none());
        }
    }
    assert!(
        missed_before > 0,
        "the test must contain the case it is for"
    );
    let stats = topo.stats();
    assert_eq!(stats.links, edges);
    assert_eq!(stats.asymmetric_links, one_way);
    assert_eq!(topo.mesh_edges().len() as u64, edges);
    // Degrees, as reported, count every edge.
    let info = sim.run_info();
    let degree_sum: u64 = info.degrees.iter().map(|d| u64::from(*d)).sum();
    assert_eq!(degree_sum, 2 * edges);
}

#[test]
fn relays_wait_their_snr_weighted_window_after_every_reception_and_transmission() {
    // The firmware re-arms the head's timer after every reception and
    // transmission, and a relay that finds the channel busy re-draws its
    // SNR-weighted window: a client's relay therefore never starts sooner
    // than 2·CWmax slots after the last frame its radio received or sent.
    let o = run(&library("meshtastic-default", &[]));
    let slot =
        node_core::radio::meshtastic::slot_time(&node_core::radio::ModemPreset::LongFast.params());
    let floor = slot.saturating_mul(2 * u64::from(node_core::radio::meshtastic::CW_MAX));
    let mut last_op = vec![Instant::ZERO; o.info.sites.len()];
    let (mut relays, mut closest) = (0, Duration::MAX);
    for r in &o.records {
        match *r {
            Record::RxOk { at, node, .. } | Record::TxEnd { at, node, .. } => {
                last_op[node.index()] = at;
            }
            Record::TxStart {
                at,
                node,
                relay: true,
                ..
            } => {
                let waited = at - last_op[node.index()];
                assert!(
                    waited >= floor,
                    "{node} relayed {waited} after its last operation (< {floor})"
                );
                relays += 1;
                closest = closest.min(waited);
            }
            _ => {}
        }
    }
    assert!(relays > 1_000, "{relays} relays");
    assert!(
        closest < floor + slot.saturating_mul(2),
        "the bound is tight: {closest}"
    );
}

#[test]
fn the_hop_profile_agrees_with_a_search_from_every_node() {
    // One set of searches gives the components, the diameter and the
    // within-hop-limit counts; each must equal its plain definition, on a
    // connected mesh and on one in pieces.
    let mut saw_islands = false;
    for sets in [&[][..], &["radio.preset=ShortTurbo"][..]] {
        let sim = library("meshtastic-default", sets)
            .sim_config()
            .build()
            .unwrap();
        let topo = sim.topology();
        let n = topo.len() as u32;
        let hop_limit = 3u8;
        assert!(n > 0);
        let profile = topo.hop_profile(Some(hop_limit));
        let dist: Vec<Vec<u32>> = (0..n).map(|v| topo.hops_from(v)).collect();
        let mut diameter = 0;
        for (v, from_v) in dist.iter().enumerate() {
            let within = from_v
                .iter()
                .filter(|d| (1..=u32::from(hop_limit) + 1).contains(*d))
                .count() as u32;
            assert_eq!(profile.within_hops[v], within, "node {v} ({sets:?})");
            for (w, &d) in from_v.iter().enumerate() {
                let same = d != u32::MAX;
                let same_component = profile.components[v] == profile.components[w];
                assert_eq!(same, same_component, "nodes {v}, {w} ({sets:?})");
                if same {
                    diameter = diameter.max(d);
                }
            }
        }
        let stats = topo.stats();
        saw_islands |= stats.components > 1;
        if stats.components == 1 {
            assert_eq!(stats.diameter_hops, diameter, "{sets:?}");
        }
        assert_eq!(profile.stats.diameter_hops, stats.diameter_hops);
        assert_eq!(profile.components, topo.components());
        assert!(topo.hop_profile(None).within_hops.is_empty());
    }
    assert!(saw_islands, "the test must contain a mesh in pieces");
}
