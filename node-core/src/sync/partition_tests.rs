//! Partitioned reconciliation between real nodes on the test mesh of
//! `sync::tests`: differences far beyond one sketch's capacity, what they
//! cost against the information bound, and catch-up of thousands of items.

use super::tests::{Net, fill_apart_then_meet, manifest};
use crate::NodeId;
use crate::node::{Node, NodeConfig};
use crate::sync::{QuotaConfig, Strategy};
use crate::time::{Duration, Instant};
use crate::wire::FrameKind;

/// Per-peer and per-publisher quotas loose enough for thousands of items
/// in an hour (the defaults allow 200 versions per publisher key per ten
/// minutes: a throughput limit on catch-up, not on reconciliation).
fn loose_quota() -> QuotaConfig {
    QuotaConfig {
        frames_per_peer: 1 << 20,
        items_per_publisher: 1 << 20,
        bytes_per_publisher: 1 << 40,
        ..QuotaConfig::default()
    }
}

/// A mesh on `links` whose nodes have loose quotas.
fn net(links: Vec<Vec<usize>>) -> Net {
    let mut net = Net::new(links, Strategy::Reconcile, 0.0);
    net.nodes = (0..net.nodes.len())
        .map(|i| {
            let mut c = NodeConfig::new(NodeId(i as u32), 7);
            c.sync.quota = loose_quota();
            Node::new(c, Instant::ZERO)
        })
        .collect();
    net
}

/// What node 1 spent learning its difference with node 0.
#[derive(Debug)]
struct Cost {
    /// Reconciliation bytes: both nodes' summaries, node 1's requests and
    /// node 0's sketch and bucket answers (no item data, no wants).
    bytes: u64,
    /// Seconds from meeting until node 1 knew the whole difference.
    secs: f64,
}

/// Two nodes filled apart meet: one-sided, node 1 lacks `d` of node 0's
/// items; two-sided, each lacks `d / 2` of the other's.
fn reconciliation_cost(d: usize, two_sided: bool) -> Cost {
    let n = d.max(1000);
    let mut net = net(vec![vec![], vec![]]);
    fill_apart_then_meet(&mut net, n, d, two_sided);
    let met = net.now;
    let done = net.run_until(net.at(8 * 3600), |n| n.nodes[1].sync_stats().decodes > 0);
    assert!(done, "d = {d}, two-sided {two_sided}: difference found");
    let s = &net.sent;
    let bytes = s.node_bytes(0, FrameKind::Summary)
        + s.node_bytes(1, FrameKind::Summary)
        + s.node_bytes(1, FrameKind::SketchRequest)
        + s.node_bytes(1, FrameKind::BucketRequest)
        + s.node_bytes(0, FrameKind::Sketch)
        + s.node_bytes(0, FrameKind::BucketCounts)
        + s.node_bytes(0, FrameKind::BucketSketch);
    Cost {
        bytes,
        secs: net.now.saturating_since(met).as_micros() as f64 / 1e6,
    }
}

#[test]
#[allow(clippy::print_stdout)]
fn reconciliation_bytes_stay_near_the_information_bound() {
    // The table (`-- --nocapture`): bytes against 8 bytes per difference.
    println!("d      sides  bytes   bound   ratio  secs");
    for d in [10usize, 100, 1000, 5000] {
        for two_sided in [false, true] {
            let c = reconciliation_cost(d, two_sided);
            let bound = 8 * d as u64;
            let ratio = c.bytes as f64 / bound as f64;
            println!(
                "{d:<6} {}    {:<7} {bound:<7} {ratio:.2}   {:.0}",
                if two_sided { "two" } else { "one" },
                c.bytes,
                c.secs
            );
            // The goal is 1.5x. Two-sided differences under a few hundred
            // stay with the single sketch grown by half (unchanged, so the
            // library traces are): its requests, frame headers and the
            // summaries of two nodes weigh on a bound of 80 or 800 bytes.
            let goal = if two_sided && d < 1000 { 3.0 } else { 1.5 };
            assert!(
                ratio <= goal,
                "d = {d}, two-sided {two_sided}: {c:?}, {ratio:.2}x"
            );
        }
    }
}

/// Every node holds `items` items and the same catalogue.
fn all_hold(net: &Net, items: usize) -> bool {
    net.converged() && net.nodes.iter().all(|n| n.store().len() == items)
}

#[test]
#[allow(clippy::print_stdout)]
fn a_late_joiner_missing_5000_items_catches_up() {
    // Three nodes that hold the same 5,000 items (one publisher key, so
    // the same elements) and a fourth that joins empty next to node 2.
    const ITEMS: usize = 5000;
    let mut net = net(vec![vec![1, 2], vec![0, 2], vec![0, 1], vec![]]);
    for i in 0..ITEMS {
        let bytes = manifest(i, 1);
        for node in 0..3 {
            net.publish(node, &bytes);
        }
    }
    net.run_until(net.at(600), |_| false);
    net.links = vec![vec![1, 2], vec![0, 2], vec![0, 1, 3], vec![2]];
    let joined = net.now;
    // Bound: 5,000 one-fragment items at 0.5 s of airtime each take
    // 2,500 s of node 2's airtime at best; allow three times that.
    let bound = Duration::from_secs(3 * 2500);
    let done = net.run_until(joined + bound, |n| all_hold(n, ITEMS));
    let took = net.now.saturating_since(joined);
    println!(
        "late joiner: {ITEMS} items in {} s of simulated time",
        took.as_secs_f64()
    );
    assert!(
        done,
        "caught up within {} s: holds {}",
        bound.as_secs_f64(),
        net.nodes[3].store().len()
    );
    let stats = net.nodes[3].sync_stats();
    assert!(
        stats.sessions_opened >= 1 && stats.sessions_failed == 0,
        "{stats:?}"
    );
}

#[test]
#[allow(clippy::print_stdout)]
fn two_halves_that_each_published_1000_items_converge_after_healing() {
    // A line of six cut between nodes 2 and 3: each half holds its own
    // 1,000 items; then the link heals.
    const EACH: usize = 1000;
    let mut net = net(vec![
        vec![1],
        vec![0, 2],
        vec![1],
        vec![4],
        vec![3, 5],
        vec![4],
    ]);
    for i in 0..2 * EACH {
        let bytes = manifest(i, 1);
        let half = if i < EACH { 0..3 } else { 3..6 };
        for node in half {
            net.publish(node, &bytes);
        }
    }
    net.run_until(net.at(600), |_| false);
    net.links = crate::testing::line_links(6);
    let healed = net.now;
    // Bound: 1,000 items cross the cut each way and then two more hops
    // each side: at best 2 × 3 × 1,000 × 0.5 s = 3,000 s of airtime if
    // nothing overlapped; allow 10,000 s.
    let bound = Duration::from_secs(10_000);
    let done = net.run_until(healed + bound, |n| all_hold(n, 2 * EACH));
    let took = net.now.saturating_since(healed);
    println!(
        "partition 1000 + 1000: converged in {} s of simulated time",
        took.as_secs_f64()
    );
    let held: Vec<usize> = net.nodes.iter().map(|n| n.store().len()).collect();
    assert!(done, "converged within {} s: {held:?}", bound.as_secs_f64());
}

#[test]
fn what_one_hostile_requester_can_cost_is_bounded() {
    // A node with 2,000 items hears 100 bucket requests at once, each
    // asking for the most a request may: it owes at most
    // MAX_REPLY_SYNDROMES syndromes and counts the rest as dropped.
    use crate::sync::Bucket;
    use crate::testing::{Outbox, heard};
    use crate::transport::Destination;
    use crate::wire::{BucketAsk, CountAsk, MAX_ASKED_COUNTS, SyncFrame};
    let mut net = net(vec![vec![], vec![]]);
    for i in 0..2000 {
        net.publish(0, &manifest(i, 1));
    }
    let fingerprint = net.nodes[0].catalogue_summary().0.low_half();
    let mut out = Outbox::new(usize::MAX);
    for r in 0..100u32 {
        let asks = (0..16)
            .map(|k| BucketAsk {
                bucket: Bucket::new(12, r * 16 + k).unwrap(),
                first: 0,
                count: 64,
            })
            .collect();
        let frame = SyncFrame::BucketRequest {
            target: NodeId(0),
            fingerprint,
            counts: Some(CountAsk {
                depth: 12,
                from: 0,
                n: MAX_ASKED_COUNTS,
            }),
            asks,
        }
        .encode();
        let rx = heard(NodeId(1), Destination::Broadcast, &frame);
        net.nodes[0].handle_frame(Instant::ZERO, &rx, &mut out);
    }
    let mut t = Instant::ZERO;
    while t < net.at(600) {
        t += Duration::from_secs(1);
        net.nodes[0].handle_timeout(t, &mut out);
    }
    let stats = net.nodes[0].sync_stats();
    assert!(stats.bucket_asks_dropped > 0, "{stats:?}");
    let syndromes = 4 * crate::wire::MAX_ASKED_SYNDROMES;
    // 27 syndromes a frame at best, and 4,096 counts in frames of over 200.
    let most = (syndromes / 27 + 1 + 4096 / 200 + 1) as u64;
    assert!(
        stats.bucket_frames_sent <= most,
        "{} frames",
        stats.bucket_frames_sent
    );
}
