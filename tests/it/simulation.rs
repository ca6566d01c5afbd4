//! Whole simulations: hop limits, hidden terminals, duty cycle, faults and
//! determinism. Each test checks what happened, not only that it ran.

use std::collections::{BTreeMap, BTreeSet};

use node_core::{Duration, Instant, NodeId};
use sim::check::Checks;
use sim::trace::{DropReason, PacketKey, Record, TraceSink};

use crate::util::{library, run, scenario};

/// Per node: the smallest `hops_away` of its first receptions.
fn first_receptions(records: &[Record]) -> BTreeMap<u32, BTreeSet<u8>> {
    let mut out: BTreeMap<u32, BTreeSet<u8>> = BTreeMap::new();
    for r in records {
        if let Record::RxOk {
            node,
            hops_away,
            duplicate: false,
            ..
        } = r
        {
            out.entry(node.0).or_default().insert(*hops_away);
        }
    }
    out
}

#[test]
fn a_hop_limit_3_flood_on_the_chain_reaches_exactly_3_hops() {
    let o = run(&library("chain", &[]));
    assert!(
        o.summary.passed,
        "checks and assertions: {:?} {:?}",
        o.summary.checks, o.summary.assertions
    );
    // The chain is really a chain: each node decodes only its neighbours.
    assert_eq!(o.info.topology.diameter_hops, 9);
    let messages = o.summary.messages_originated;
    assert!(messages >= 20, "node 0 sent {messages} messages");
    let got = first_receptions(&o.records);
    // Nodes 1..=4 are 0..=3 relays away from node 0; node 5 and beyond never hear it.
    let expected: BTreeMap<u32, BTreeSet<u8>> = (1..=4)
        .map(|n| (n, BTreeSet::from([n as u8 - 1])))
        .collect();
    assert_eq!(got, expected);
    // Every message reached all four (an idle chain has no collisions).
    let per_node: BTreeMap<u32, usize> = o
        .records
        .iter()
        .filter_map(|r| match r {
            Record::RxOk {
                node,
                duplicate: false,
                ..
            } => Some(node.0),
            _ => None,
        })
        .fold(BTreeMap::new(), |mut m, n| {
            *m.entry(n).or_default() += 1;
            m
        });
    for n in 1..=4 {
        assert_eq!(per_node[&n] as u64, messages, "node {n}");
    }
    // Node 4 got it with hop limit 0 and did not relay it.
    let relayers: BTreeSet<u32> = o
        .records
        .iter()
        .filter_map(|r| match r {
            Record::TxStart {
                node, relay: true, ..
            } => Some(node.0),
            _ => None,
        })
        .collect();
    assert_eq!(relayers, BTreeSet::from([1, 2, 3]));
    assert_eq!(o.summary.max_hops_away, 3);
}

#[test]
fn hidden_terminals_collide() {
    // A and C are 2 km apart: each is below the other's sensitivity (so
    // listen-before-talk cannot help) but both reach B, 1 km away.
    let o = run(&scenario(
        "name: hidden\nduration: 1h\nseed: 5\nradio: {shadowing: {sigma_db: 0}}\n\
         topology: {kind: chain, nodes: 3, spacing_m: 1000}\n\
         workload: {traffic: {period: 20s, payload_bytes: 100, hop_limit: 0, senders: [0, 2]}}\n",
    ));
    let link = |a, b| {
        o.records
            .iter()
            .any(|r| matches!(r, Record::RxOk { node, sender, .. } if node.0 == b && sender.0 == a))
    };
    assert!(link(0, 1) && link(2, 1), "B decodes both");
    assert!(
        !link(0, 2) && !link(2, 0),
        "A and C never decode each other"
    );
    let collisions_at_b = o
        .records
        .iter()
        .filter(|r| matches!(r, Record::Collision { node, .. } if node.0 == 1))
        .count();
    assert!(collisions_at_b > 0, "hidden terminals must collide at B");
    let below_at_edges = o
        .records
        .iter()
        .filter(|r| matches!(r, Record::BelowSensitivity { node, .. } if node.0 != 1))
        .count();
    assert!(
        below_at_edges > 0,
        "A and C sense each other only below sensitivity"
    );
    // And listen-before-talk keeps neighbours who do hear each other apart:
    // the same load from A and B (1 km apart) collides far less at C's side.
    let o2 = run(&scenario(
        "name: exposed\nduration: 1h\nseed: 5\nradio: {shadowing: {sigma_db: 0}}\n\
         topology: {kind: chain, nodes: 3, spacing_m: 1000}\n\
         workload: {traffic: {period: 20s, payload_bytes: 100, hop_limit: 0, senders: [0, 1]}}\n",
    ));
    let collisions_at_c = o2
        .records
        .iter()
        .filter(|r| matches!(r, Record::Collision { node, .. } if node.0 == 2))
        .count();
    assert!(
        collisions_at_c * 4 < collisions_at_b,
        "LBT: {collisions_at_c} vs hidden {collisions_at_b}"
    );
}

#[test]
fn half_duplex_radios_miss_what_arrives_while_they_transmit() {
    // Without listen-before-talk, neighbours talk over each other.
    let o = run(&scenario(
        "name: duplex\nduration: 1h\nseed: 9\nradio: {shadowing: {sigma_db: 0}, listen_before_talk: false}\n\
         topology: {kind: chain, nodes: 2, spacing_m: 500}\n\
         workload: {traffic: {period: 10s, payload_bytes: 200, hop_limit: 0}}\n",
    ));
    assert!(o.summary.half_duplex_misses > 0);
    o.assert_checks_pass("duplex");
}

#[test]
fn duty_cycle_is_never_exceeded_and_excess_is_dropped() {
    // Ten nodes asking for ~25 % airtime each under EU868's 10 %.
    let o = run(&scenario(
        "name: greedy\nduration: 3h\nseed: 3\nradio: {region: EU868, preset: LongFast}\n\
         topology: {kind: grid, nodes: 9, spacing_m: 300}\n\
         mesh: {max_queue_delay: 2m}\n\
         workload: {traffic: {period: 4s, payload_bytes: 120, hop_limit: 0}}\n",
    ));
    let duty = o.check("duty_cycle");
    assert!(duty.passed, "{}", duty.detail);
    assert!(o.summary.duty_cycle_max_pct <= 10.0);
    assert!(
        o.summary.duty_cycle_max_pct > 9.0,
        "the budget is used: {}",
        o.summary.duty_cycle_max_pct
    );
    let held_too_long = o
        .records
        .iter()
        .filter(|r| {
            matches!(
                r,
                Record::Drop {
                    reason: DropReason::DutyCycle | DropReason::QueueFull,
                    ..
                }
            )
        })
        .count();
    assert!(held_too_long > 0, "excess traffic is dropped with a reason");
}

#[test]
fn the_duty_cycle_checker_catches_a_violation() {
    // Feed the checker a node that transmits 30 s of every 100 s.
    let mut checks = Checks::new(1, 10.0, Duration::from_secs(3600));
    let mut batch = Vec::new();
    for k in 0..100u64 {
        let at = Instant::from_micros(k * 100_000_000);
        batch.push(Record::TxStart {
            at,
            node: NodeId(0),
            tx: k,
            packet: PacketKey {
                origin: NodeId(0),
                id: k as u32,
            },
            hop_limit: 0,
            relay: false,
            bytes_on_air: 255,
            end: at + Duration::from_secs(30),
            class: node_core::wire::FrameClass::Other,
            subject: 0,
        });
    }
    checks.observe(&batch);
    let duty = checks
        .outcomes()
        .into_iter()
        .find(|c| c.name == "duty_cycle")
        .unwrap();
    assert!(!duty.passed, "{}", duty.detail);
    assert!(duty.detail.contains("30.000 %"), "{}", duty.detail);
}

#[test]
fn same_seed_same_trace_other_seed_other_trace() {
    let a = run(&library("quickstart", &[]));
    let b = run(&library("quickstart", &[]));
    let c = run(&library("quickstart", &["seed=2"]));
    assert_eq!(a.summary.trace_hash, b.summary.trace_hash);
    assert_eq!(a.records, b.records);
    assert_ne!(a.summary.trace_hash, c.summary.trace_hash);
    assert!(a.summary.messages_originated > 50);
}

#[test]
fn quickstart_delivers_and_keeps_its_invariants() {
    let o = run(&library("quickstart", &[]));
    assert!(o.summary.passed, "{:?}", o.summary.assertions);
    assert!(o.summary.reach_pct >= 60.0, "reach {}", o.summary.reach_pct);
    let sync = o
        .summary
        .sync
        .as_ref()
        .expect("quickstart publishes manifests");
    assert_eq!(
        (sync.items, sync.items_complete),
        (10, 10),
        "every manifest everywhere"
    );
    assert!(sync.converged_at_s.is_some_and(|t| t < 7200.0));
    assert!(o.summary.frames_received > o.summary.frames_sent);
    // Relays happened and some were cancelled by overhearing.
    assert!(o.summary.relays > 0);
    assert!(
        o.summary
            .drops_by_reason
            .get("relay_cancelled")
            .copied()
            .unwrap_or(0)
            > 0
    );
}

#[test]
fn a_partition_stops_traffic_across_the_line_until_it_heals() {
    let s = library("partition-heal", &[]);
    let o = run(&s);
    let sites = &o.info.sites;
    let west = |n: NodeId| sites[n.index()].x_m < 3000.0;
    let (cut_from, cut_to) = (
        Instant::ZERO + Duration::from_secs(20 * 60),
        Instant::ZERO + Duration::from_secs(80 * 60),
    );
    let mut crossing_during = 0;
    let mut crossing_after = 0;
    for r in &o.records {
        if let Record::RxOk {
            at, node, sender, ..
        } = *r
            && west(node) != west(sender)
        {
            // A frame that started before the cut may still land just after it.
            if at > cut_from + Duration::from_secs(5) && at <= cut_to {
                crossing_during += 1;
            } else if at > cut_to {
                crossing_after += 1;
            }
        }
    }
    assert_eq!(crossing_during, 0, "nothing crosses the cut while it lasts");
    assert!(crossing_after > 0, "traffic crosses again after healing");
    assert!(o.records.iter().any(|r| matches!(r, Record::Fault { .. })));
}

#[test]
fn crashed_nodes_fall_silent_and_restart_and_late_nodes_join() {
    let o = run(&scenario(
        "name: crash\nduration: 1h\nseed: 4\nradio: {shadowing: {sigma_db: 0}}\n\
         topology: {kind: grid, nodes: 9, spacing_m: 400}\n\
         workload: {traffic: {period: 30s, payload_bytes: 40}}\n\
         faults:\n  - crash: {at: 10m, node: 4, restart_after: 20m}\n  - join: {at: 40m, node: 8}\n",
    ));
    let active = |node: u32, from_min: u64, to_min: u64| {
        o.records.iter().any(|r| match *r {
            Record::TxStart { at, node: n, .. } | Record::RxOk { at, node: n, .. } => {
                n.0 == node
                    && at >= Instant::ZERO + Duration::from_secs(from_min * 60)
                    && at < Instant::ZERO + Duration::from_secs(to_min * 60)
            }
            _ => false,
        })
    };
    assert!(active(4, 0, 10));
    assert!(
        !active(4, 10, 30),
        "a crashed node neither sends nor receives"
    );
    assert!(active(4, 30, 60), "and works again after its restart");
    assert!(!active(8, 0, 40), "a late joiner is silent before it joins");
    assert!(active(8, 40, 60));
}

#[test]
fn injected_loss_drops_about_the_configured_share() {
    let o = run(&scenario(
        "name: lossy\nduration: 2h\nseed: 8\nradio: {shadowing: {sigma_db: 0}}\n\
         topology: {kind: chain, nodes: 2, spacing_m: 500}\n\
         workload: {traffic: {period: 20s, payload_bytes: 40, hop_limit: 0, senders: [0]}}\n\
         faults:\n  - loss: {probability: 0.3}\n",
    ));
    let lost = o
        .records
        .iter()
        .filter(|r| {
            matches!(
                r,
                Record::Drop {
                    reason: DropReason::InjectedLoss,
                    ..
                }
            )
        })
        .count() as f64;
    let ok = o.summary.frames_received as f64;
    let share = lost / (lost + ok);
    assert!(
        (share - 0.3).abs() < 0.05,
        "lost {share:.3} of {}",
        lost + ok
    );
}

#[test]
fn every_metric_an_assertion_may_name_exists() {
    // quickstart has chat, relays and synced manifests, so every metric has
    // a value but the signal figures (tests/it/signals.rs checks those on
    // the `demand` scenario).
    let o = run(&library("quickstart", &[]));
    for metric in scenarios::Metric::assertable_metrics().filter(|m| !m.needs_signals()) {
        assert!(
            o.summary.value(metric).is_some(),
            "metric {metric} is not computed"
        );
    }
}

#[test]
fn muted_clients_never_relay_and_routers_relay_despite_overhearing() {
    // On the chain a muted node 2 stops the flood from node 0 at node 2.
    let o = run(&library("chain", &["roles.client_mute=[2]"]));
    let got = first_receptions(&o.records);
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), [1, 2]);
    assert!(
        !o.records
            .iter()
            .any(|r| matches!(r, Record::TxStart { node, .. } if node.0 == 2))
    );

    // On a dense grid, clients cancel relays they overhear; routers never do.
    let grid = "name: dense\nduration: 1h\nseed: 12\nradio: {shadowing: {sigma_db: 0}}\n\
                topology: {kind: grid, nodes: 16, spacing_m: 150}\n\
                workload: {traffic: {period: 2m, payload_bytes: 40, senders: [0]}}\n";
    let clients = run(&scenario(grid));
    let routers = run(&scenario(&format!("{grid}roles: {{routers: 16}}\n")));
    let cancelled = |o: &crate::util::Outcome| {
        o.summary
            .drops_by_reason
            .get("relay_cancelled")
            .copied()
            .unwrap_or(0)
    };
    assert!(cancelled(&clients) > 0, "clients cancel");
    assert_eq!(cancelled(&routers), 0, "routers never cancel");
    assert!(routers.summary.relays > clients.summary.relays);
}

/// The trace hash of `s` run to its end in one call.
fn hash_of_one_run(s: &scenarios::Scenario) -> String {
    let mut sim = sim::Simulation::new(&s.sim_config()).expect("builds");
    let mut hasher = sim::TraceHasher::default();
    sim.run(&mut [&mut hasher], &mut |_| {}).expect("runs");
    hasher.hex()
}

#[test]
fn a_run_stepped_in_pieces_is_the_run_in_one_go() {
    let s = library("crash-restart", &["duration=1h"]);
    let whole = hash_of_one_run(&s);
    let mut sim = sim::Simulation::new(&s.sim_config()).expect("builds");
    let mut hasher = sim::TraceHasher::default();
    let mut last = Instant::ZERO;
    // Uneven steps, some landing exactly on fault times (25, 35, 50 min).
    for minutes in [1, 7, 10, 10, 25, 35, 36, 50, 59] {
        let until = Instant::ZERO + Duration::from_secs(minutes * 60);
        let stats = sim
            .run_until(until, &mut [&mut hasher], &mut |_| {})
            .expect("runs");
        assert_eq!(sim.now(), until);
        assert_eq!(stats.sim_time, until - Instant::ZERO);
        assert!(until >= last);
        last = until;
    }
    let stats = sim.run(&mut [&mut hasher], &mut |_| {}).expect("runs");
    assert_eq!(stats.sim_time, s.duration);
    assert_eq!(hasher.hex(), whole, "stepping changes nothing");
    // Past the end nothing more happens.
    let again = sim
        .run_until(Instant::MAX, &mut [&mut hasher], &mut |_| {})
        .expect("runs");
    assert_eq!((again.events, again.records), (stats.events, stats.records));
}

#[test]
fn publishing_into_a_running_simulation_spreads_the_item() {
    use node_core::ItemKind;
    let s = library(
        "chain",
        &["topology.nodes=3", "duration=2h", "sync.strategy=reconcile"],
    );
    let mut sim = sim::Simulation::new(&s.sim_config()).expect("builds");
    let mut recorder = crate::util::Recorder::default();
    let at = Instant::ZERO + Duration::from_secs(60);
    sim.run_until(at, &mut [&mut recorder], &mut |_| {})
        .expect("runs");
    let file =
        std::path::Path::new(crate::corpus::CORPUS).join("okh/in-the-wild/Wakoma__nimble/okh.toml");
    let bytes = std::fs::read(&file).expect("corpus manifest");
    let published = sim
        .publish(1, ItemKind::Manifest, &bytes, "nimble.toml")
        .expect("node 1 publishes");
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].seq, 1);
    let item = published[0].item;
    assert!(matches!(
        sim.publish(9, ItemKind::Manifest, &bytes, "x.toml"),
        Err(sim::PublishError::NoSuchNode(9))
    ));
    assert!(matches!(
        sim.publish(0, ItemKind::Manifest, b"not a manifest", "x.toml"),
        Err(sim::PublishError::Refused(_))
    ));
    sim.run(&mut [&mut recorder], &mut |_| {}).expect("runs");
    // The publication is on the trace at the time it was made, and every
    // node ends up holding the item.
    assert!(recorder.0.iter().any(|r| matches!(
        r,
        Record::Node { at: t, node: NodeId(1), event: sim::trace::NodeRecord::Published { item: i, .. } }
            if *t == at && *i == item
    )));
    for n in 0..3 {
        let node = sim.node(n).expect("up");
        assert!(node.store().get(item).is_some(), "node {n} holds it");
    }
}

#[test]
fn faults_injected_into_a_running_simulation_take_effect_at_their_time() {
    let s = library("chain", &["topology.nodes=3", "duration=30m"]);
    let mut sim = sim::Simulation::new(&s.sim_config()).expect("builds");
    let mut recorder = crate::util::Recorder::default();
    let ten = Duration::from_secs(600);
    sim.run_until(Instant::ZERO + ten, &mut [&mut recorder], &mut |_| {})
        .expect("runs");
    assert_eq!(
        sim.inject(sim::Fault::Crash {
            at: Duration::from_secs(60),
            node: 1,
            restart_after: None,
        }),
        Err(sim::InjectError::InThePast {
            at: Instant::ZERO + Duration::from_secs(60),
            now: Instant::ZERO + ten,
        })
    );
    assert_eq!(
        sim.inject(sim::Fault::Join { at: ten, node: 7 }),
        Err(sim::InjectError::NoSuchNode(7))
    );
    sim.inject(sim::Fault::Crash {
        at: ten + Duration::from_secs(60),
        node: 1,
        restart_after: Some(Duration::from_secs(300)),
    })
    .expect("a crash ahead");
    sim.run_until(
        Instant::ZERO + ten + Duration::from_secs(120),
        &mut [&mut recorder],
        &mut |_| {},
    )
    .expect("runs");
    assert!(sim.node(1).is_none(), "crashed");
    sim.run(&mut [&mut recorder], &mut |_| {}).expect("runs");
    assert!(sim.node(1).is_some(), "restarted");
    let faults: Vec<(Instant, sim::trace::FaultRecord)> = recorder
        .0
        .iter()
        .filter_map(|r| match r {
            Record::Fault { at, fault } => Some((*at, *fault)),
            _ => None,
        })
        .collect();
    assert_eq!(
        faults,
        [
            (
                Instant::ZERO + ten + Duration::from_secs(60),
                sim::trace::FaultRecord::Crash { node: NodeId(1) }
            ),
            (
                Instant::ZERO + ten + Duration::from_secs(360),
                sim::trace::FaultRecord::Restart { node: NodeId(1) }
            ),
        ]
    );
    // Nothing node 1 would have sent while it was down is on the trace.
    assert!(!recorder.0.iter().any(|r| matches!(
        r,
        Record::TxStart { at, node: NodeId(1), .. }
            if *at > Instant::ZERO + ten + Duration::from_secs(60)
                && *at < Instant::ZERO + ten + Duration::from_secs(360)
    )));
}
