//! Sync between real nodes over an ideal broadcast medium: every frame a
//! node sends reaches its neighbours after a fixed airtime, optionally lost.
//! The simulator checks the same protocol under LoRa physics; these tests
//! pin the protocol's logic and its byte costs.

use std::collections::{BTreeMap, VecDeque};

use crate::NodeId;
use crate::node::{Node, NodeConfig, NodeEvent};
use crate::rng::Rng;
use crate::sync::Strategy;
use crate::testing::Outbox;
use crate::time::{Duration, Instant};
use crate::transport::Destination;
use crate::wire::{FrameKind, FrameRepr};
use catalogue::ItemKind;

/// A synthetic OKH v1 manifest, distinct for each `i`.
pub(crate) fn manifest(i: usize, revision: u32) -> Vec<u8> {
    format!(
        "title: Synthetic design {i}\n\
         description: A test design number {i}, revision {revision}, for sync tests.\n\
         license: CC0-1.0\n\
         project-link: https://example.org/designs/{i}\n\
         version: {revision}.0\n"
    )
    .into_bytes()
}

/// Bytes sent, by frame kind.
#[derive(Default, Debug)]
pub(crate) struct Sent {
    pub(crate) by_kind: BTreeMap<u8, (u64, u64)>,
    /// Bytes sent by (node, kind).
    pub(crate) by_node: BTreeMap<(usize, u8), u64>,
}

impl Sent {
    fn add(&mut self, node: usize, payload: &[u8]) {
        let kind = payload.get(1).copied().unwrap_or(0);
        let e = self.by_kind.entry(kind).or_default();
        e.0 += 1;
        e.1 += payload.len() as u64;
        *self.by_node.entry((node, kind)).or_default() += payload.len() as u64;
    }
    /// Bytes `node` sent in frames of `kind`.
    pub(crate) fn node_bytes(&self, node: usize, kind: FrameKind) -> u64 {
        self.by_node.get(&(node, kind as u8)).copied().unwrap_or(0)
    }
    pub(crate) fn bytes(&self, kind: FrameKind) -> u64 {
        self.by_kind.get(&(kind as u8)).map_or(0, |e| e.1)
    }
    pub(crate) fn frames(&self, kind: FrameKind) -> u64 {
        self.by_kind.get(&(kind as u8)).map_or(0, |e| e.0)
    }
}

/// Nodes on a graph; each transmission takes `airtime` and is heard by all
/// neighbours (minus `loss`).
pub(crate) struct Net {
    pub(crate) nodes: Vec<Node>,
    pub(crate) links: Vec<Vec<usize>>,
    pub(crate) now: Instant,
    in_flight: VecDeque<(Instant, usize, Vec<u8>)>,
    busy_until: Vec<Instant>,
    pub(crate) queues: Vec<VecDeque<Vec<u8>>>,
    loss: f64,
    rng: Rng,
    pub(crate) sent: Sent,
    pub(crate) events: Vec<(usize, NodeEvent)>,
}

const AIRTIME: Duration = Duration::from_millis(500);

impl Net {
    pub(crate) fn new(links: Vec<Vec<usize>>, strategy: Strategy, loss: f64) -> Self {
        let nodes = (0..links.len())
            .map(|i| {
                let mut c = NodeConfig::new(NodeId(i as u32), 7);
                c.sync.strategy = strategy;
                Node::new(c, Instant::ZERO)
            })
            .collect();
        Net {
            nodes,
            queues: vec![VecDeque::new(); links.len()],
            busy_until: vec![Instant::ZERO; links.len()],
            links,
            now: Instant::ZERO,
            in_flight: VecDeque::new(),
            loss,
            rng: Rng::derive(9, "net", 0),
            sent: Sent::default(),
            events: Vec::new(),
        }
    }

    pub(crate) fn line(n: usize, strategy: Strategy) -> Self {
        Net::new(crate::testing::line_links(n), strategy, 0.0)
    }

    pub(crate) fn publish(&mut self, node: usize, bytes: &[u8]) {
        let mut out = Outbox {
            frames: Vec::new(),
            room: usize::MAX,
        };
        self.nodes[node]
            .publish(self.now, ItemKind::Manifest, bytes, "test.yml", &mut out)
            .expect("publishes");
        self.take(node, out);
    }

    pub(crate) fn take(&mut self, node: usize, out: Outbox) {
        for f in out.frames {
            assert_eq!(f.hop_limit, 0, "sync frames stay with neighbours");
            assert!(f.payload.len() <= crate::transport::MESHTASTIC_MAX_PAYLOAD_BYTES);
            self.queues[node].push_back(f.payload);
        }
        while let Some(e) = self.nodes[node].poll_event() {
            self.events.push((node, e));
        }
    }

    /// One node's radio starts its next frame if it is idle.
    fn start_tx(&mut self, node: usize) {
        if self.busy_until[node] > self.now {
            return;
        }
        if let Some(p) = self.queues[node].pop_front() {
            self.sent.add(node, &p);
            self.busy_until[node] = self.now + AIRTIME;
            self.in_flight.push_back((self.now + AIRTIME, node, p));
        }
    }

    /// Runs until `until`; returns early when `done` holds.
    pub(crate) fn run_until(&mut self, until: Instant, mut done: impl FnMut(&Net) -> bool) -> bool {
        loop {
            if done(self) {
                return true;
            }
            for i in 0..self.nodes.len() {
                self.start_tx(i);
            }
            let next_rx = self.in_flight.iter().map(|f| f.0).min();
            let next_timer = self.nodes.iter().filter_map(|n| n.poll_timeout()).min();
            let next_radio = (0..self.nodes.len())
                .filter(|i| !self.queues[*i].is_empty())
                .map(|i| self.busy_until[i])
                .min();
            let Some(next) = [next_rx, next_timer, next_radio]
                .into_iter()
                .flatten()
                .min()
            else {
                return done(self);
            };
            if next > until {
                return done(self);
            }
            self.now = next.max(self.now);
            // Deliveries.
            let mut arrived = Vec::new();
            self.in_flight.retain(|f| {
                if f.0 <= next {
                    arrived.push(f.clone());
                    false
                } else {
                    true
                }
            });
            for (_, from, payload) in arrived {
                for to in self.links[from].clone() {
                    if self.loss > 0.0 && self.rng.chance(self.loss) {
                        continue;
                    }
                    let rx = crate::testing::heard(
                        NodeId(from as u32),
                        Destination::Broadcast,
                        &payload,
                    );
                    let mut out = Outbox {
                        frames: Vec::new(),
                        room: 16usize.saturating_sub(self.queues[to].len()),
                    };
                    self.nodes[to].handle_frame(self.now, &rx, &mut out);
                    self.take(to, out);
                }
            }
            // Timers.
            for i in 0..self.nodes.len() {
                if self.nodes[i].poll_timeout().is_some_and(|t| t <= self.now) {
                    let mut out = Outbox {
                        frames: Vec::new(),
                        room: 16usize.saturating_sub(self.queues[i].len()),
                    };
                    self.nodes[i].handle_timeout(self.now, &mut out);
                    self.take(i, out);
                }
            }
        }
    }

    pub(crate) fn converged(&self) -> bool {
        let first = self.nodes[0].catalogue_summary();
        self.nodes.iter().all(|n| n.catalogue_summary() == first)
    }

    pub(crate) fn at(&self, secs: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(secs)
    }
}

#[test]
fn an_item_published_at_one_end_reaches_the_other() {
    let mut net = Net::line(5, Strategy::Reconcile);
    net.run_until(net.at(120), |_| false);
    net.publish(0, &manifest(1, 1));
    assert!(net.run_until(net.at(3600), |n| n.converged()), "converges");
    for n in &net.nodes {
        assert_eq!(n.store().len(), 1);
    }
    let stored = net
        .events
        .iter()
        .filter(|(_, e)| matches!(e, NodeEvent::Stored { .. }))
        .count();
    assert_eq!(stored, 4);
    // Each node but the last serves it once: 4 broadcasts of its fragments.
    let data = net.sent.frames(FrameKind::Data);
    assert!(
        data <= 4 * 2,
        "{data} data frames for a 1-fragment item over 4 hops"
    );
}

#[test]
fn a_new_version_replaces_the_old_everywhere() {
    let mut net = Net::line(4, Strategy::Reconcile);
    net.publish(0, &manifest(1, 1));
    assert!(net.run_until(net.at(3600), |n| n.converged()));
    net.publish(3, &manifest(1, 2)); // another node edits the same design
    assert!(net.run_until(net.at(7200), |n| n.converged()));
    for n in &net.nodes {
        let item = n.store().items().next().expect("one item");
        assert_eq!(item.stamp.seq, 2);
        assert!(String::from_utf8_lossy(&item.bytes).contains("revision 2"));
    }
}

#[test]
fn lossy_links_still_converge() {
    let links = vec![vec![1, 2], vec![0, 2, 3], vec![0, 1, 3], vec![1, 2]];
    let mut net = Net::new(links, Strategy::Reconcile, 0.3);
    for i in 0..12 {
        net.publish(i % 4, &manifest(i, 1));
    }
    assert!(
        net.run_until(net.at(4 * 3600), |n| n.converged()),
        "30 % loss"
    );
    assert!(net.nodes.iter().all(|n| n.store().len() == 12));
}

#[test]
fn in_sync_nodes_only_exchange_small_summaries_and_back_off() {
    let mut net = Net::line(3, Strategy::Reconcile);
    net.publish(1, &manifest(1, 1));
    assert!(net.run_until(net.at(3600), |n| n.converged()));
    let before = net.sent.frames(FrameKind::Summary);
    let data_before = net.sent.frames(FrameKind::Data);
    let from = net.now;
    net.run_until(from + Duration::from_secs(6 * 3600), |_| false);
    let summaries = net.sent.frames(FrameKind::Summary) - before;
    // Trickle's interval reaches Imax (32 min): under one summary per node
    // per Imax once backed off; nothing else is sent.
    let per_node_per_imax = summaries as f64 / 3.0 / (6.0 * 60.0 / 32.0);
    assert!(
        per_node_per_imax <= 1.0,
        "{per_node_per_imax:.2} summaries per node per Imax"
    );
    assert_eq!(
        net.sent.frames(FrameKind::Data),
        data_before,
        "no data moves once in sync"
    );
    let bytes = net.sent.bytes(FrameKind::Summary) / net.sent.frames(FrameKind::Summary).max(1);
    assert!(bytes <= 40, "summary of {bytes} bytes");
}

#[test]
fn flooding_sends_every_item_from_every_node() {
    let mut net = Net::line(5, Strategy::Flood);
    net.publish(0, &manifest(1, 1));
    net.run_until(net.at(600), |_| false);
    assert!(net.converged());
    assert_eq!(net.sent.frames(FrameKind::Summary), 0);
    // All five nodes broadcast the item's fragments once.
    let fragments = net
        .events
        .iter()
        .find_map(|(_, e)| match e {
            NodeEvent::Published { fragments, .. } => Some(u64::from(*fragments)),
            _ => None,
        })
        .expect("published");
    assert_eq!(net.sent.frames(FrameKind::Data), 5 * fragments);
}

/// Fills two unlinked nodes' stores with `n` manifests, node 1 lacking `d`
/// of them (two-sided: each lacks `d / 2` of the other's), lets both
/// settle, then links them with nothing sent or queued yet.
pub(crate) fn fill_apart_then_meet(net: &mut Net, n: usize, d: usize, two_sided: bool) {
    for i in 0..n {
        let bytes = manifest(i, 1);
        if !(two_sided && i < d / 2) {
            net.publish(0, &bytes);
        }
        let b_lacks = if two_sided {
            (d / 2..d).contains(&i)
        } else {
            i < d
        };
        if !b_lacks {
            net.publish(1, &bytes);
        }
    }
    net.run_until(net.at(1200), |_| false);
    net.links = vec![vec![1], vec![0]];
    net.sent = Sent::default();
    net.queues.iter_mut().for_each(VecDeque::clear);
}

/// Bytes spent finding `d` differences between two 1,000-item stores: the
/// syndrome bytes decoded (in summaries and sketch frames) and all
/// reconciliation frames (summaries, sketch requests, sketches).
pub(crate) fn reconciliation_cost(d: usize, two_sided: bool) -> (u64, u64, u64) {
    // The stores are filled apart and left to settle (summaries of a set at
    // rest carry one syndrome), then the two nodes meet.
    let mut net = Net::new(vec![vec![], vec![]], Strategy::Reconcile, 0.0);
    fill_apart_then_meet(&mut net, 1000, d, two_sided);
    // Stop as soon as node 1 has asked for everything it lacks.
    let done = net.run_until(net.at(7200), |n| n.nodes[1].sync_stats().wants_sent > 0);
    assert!(done, "difference found");
    let syndromes = net.nodes[1].sync_stats().syndromes_used;
    let control = net.sent.bytes(FrameKind::SketchRequest) + net.sent.bytes(FrameKind::Sketch);
    let summaries = net.sent.bytes(FrameKind::Summary);
    (syndromes * 8, control, summaries)
}

#[test]
fn finding_d_differences_costs_about_eight_bytes_each() {
    for d in [1usize, 10, 100] {
        let (syndrome_bytes, control, summaries) = reconciliation_cost(d, false);
        let bound = 1.5 * d as f64 * 8.0;
        assert!(
            (syndrome_bytes as f64) <= bound,
            "d = {d}: {syndrome_bytes} syndrome bytes (bound {bound}); control {control}, summaries {summaries}"
        );
    }
}

#[test]
fn frames_from_the_air_never_break_a_node() {
    // Random and truncated sync frames: the node keeps working.
    let mut net = Net::line(2, Strategy::Reconcile);
    let mut rng = Rng::derive(11, "garbage", 0);
    let mut out = Outbox {
        frames: Vec::new(),
        room: 16,
    };
    for _ in 0..5000 {
        let len = rng.below(240) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
        if bytes.len() >= 2 {
            bytes[0] = crate::wire::WIRE_VERSION;
            bytes[1] = [2, 3, 4, 5, 6, 12, 13, 14][rng.below(8) as usize];
        }
        let rx = crate::testing::heard(NodeId(1), Destination::Broadcast, &bytes);
        net.nodes[0].handle_frame(Instant::ZERO, &rx, &mut out);
        let _ = FrameRepr::decode(&bytes);
    }
    net.publish(1, &manifest(3, 1));
    assert!(net.run_until(net.at(3600), |n| n.converged()));
}

#[test]
#[ignore = "prints the reconciliation cost table (cargo test -- --ignored --nocapture)"]
#[allow(clippy::print_stdout)]
fn print_reconciliation_costs() {
    for two_sided in [false, true] {
        for d in [1usize, 2, 10, 100] {
            let (syn, control, summaries) = reconciliation_cost(d, two_sided);
            println!(
                "two_sided={two_sided} d={d}: syndrome bytes {syn}, sketch req+sketch frame bytes {control}, summary bytes {summaries}"
            );
        }
    }
}

#[test]
fn two_publishers_of_the_same_design_make_two_designs() {
    let mut net = Net::line(2, Strategy::Reconcile);
    let mut other = NodeConfig::new(NodeId(1), 7);
    other.publisher = NodeConfig::simulated_publisher(7, 1);
    net.nodes[1] = Node::new(other, Instant::ZERO);
    net.publish(0, &manifest(1, 1));
    // Node 1's publisher "revises" the same design: under its own key that
    // is a design of its own, and node 0's stays as it was.
    net.publish(1, &manifest(1, 2));
    assert!(net.run_until(net.at(3600), |n| n.converged()));
    for n in &net.nodes {
        let items: Vec<_> = n.store().items().collect();
        assert_eq!(items.len(), 2, "two designs");
        assert!(items.iter().all(|i| i.stamp.seq == 1));
        assert_ne!(
            items[0].author.unwrap().publisher,
            items[1].author.unwrap().publisher
        );
        assert_eq!(items[0].catalogue_id(), items[1].catalogue_id());
    }
}

#[test]
fn an_untitled_facility_reaches_neighbours_under_its_file_name() {
    // This corpus file has no name: OKW names it after its file, which a
    // receiver has not got, so the stream carries the name. Two operators
    // publish the same file (as two nodes in the web app's tests did).
    let facility = include_bytes!(
        "../../../corpus/okw/helpfulengineering-library/alpha/okw/RobsArduinoShop.yml"
    );
    let mut net = Net::line(2, Strategy::Reconcile);
    let mut other = NodeConfig::new(NodeId(1), 7);
    other.publisher = NodeConfig::simulated_publisher(7, 1);
    net.nodes[1] = Node::new(other, Instant::ZERO);
    for node in 0..2 {
        let mut out = Outbox {
            frames: Vec::new(),
            room: usize::MAX,
        };
        net.nodes[node]
            .publish(
                net.now,
                ItemKind::Facility,
                facility,
                "RobsArduinoShop.yml",
                &mut out,
            )
            .expect("publishes");
        net.take(node, out);
    }
    let converged = net.run_until(net.at(3600), |n| n.converged());
    let rejected: Vec<_> = net
        .events
        .iter()
        .filter(|(_, e)| matches!(e, NodeEvent::ItemRejected { .. }))
        .collect();
    assert!(rejected.is_empty(), "{rejected:?}");
    assert!(converged, "converges");
    for n in &net.nodes {
        assert_eq!(n.store().len(), 2, "both operators' facilities");
        assert!(n.store().items().all(|i| i.name == "RobsArduinoShop"));
    }
}

/// A manifest of about `len_bytes` whose description does not compress.
fn large_manifest(len_bytes: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = Rng::derive(3, "large manifest", 0);
    let words: String = (0..len_bytes)
        .map(|i| match i % 9 {
            8 => ' ',
            _ => ALPHABET[rng.below(ALPHABET.len() as u64) as usize] as char,
        })
        .collect();
    format!(
        "title: A large design\n\
         description: {words}\n\
         license: CC0-1.0\n\
         project-link: https://example.org/designs/large\n\
         version: 1.0\n"
    )
    .into_bytes()
}

#[test]
fn a_100_kb_manifest_reaches_every_node() {
    // 100 KB (compressed to about 73 KB) is over 300 fragments of a LoRa
    // frame: two-byte fragment numbers; with 10 % of frames lost, the
    // fragments past the 64th are only ever completed by wants for windows
    // from a base.
    let big = large_manifest(100_000);
    assert!(big.len() > 100_000);
    let mut net = Net::new(crate::testing::line_links(3), Strategy::Reconcile, 0.1);
    net.publish(0, &big);
    let (_, stream) = {
        let item = net.nodes[0].store().items().next().expect("published");
        let element = crate::sync::element_of(item.kind, item.id, item.stamp);
        (element, crate::sync::encode_stream(item).expect("signed"))
    };
    let fragments = stream.len().div_ceil(220);
    assert!(fragments > 300, "{fragments} fragments");
    assert!(
        net.run_until(net.at(6 * 3600), |n| n.converged()),
        "converges"
    );
    // Two hops of every fragment, and what the losses cost again (1,032
    // frames when written).
    let data = net.sent.frames(FrameKind::Data) as usize;
    assert!(data < 2 * 2 * fragments, "{data} data frames");
    for n in &net.nodes {
        let item = n.store().items().next().expect("one item");
        assert_eq!(item.bytes, big, "the whole manifest, byte for byte");
    }
    let rejected = net
        .events
        .iter()
        .filter(|(_, e)| matches!(e, NodeEvent::ItemRejected { .. }))
        .count();
    assert_eq!(rejected, 0);
}

#[test]
fn a_stream_nobody_asked_for_is_not_stored_until_it_is_wanted() {
    let mut net = Net::line(2, Strategy::Reconcile);
    let mut out = Outbox {
        frames: Vec::new(),
        room: usize::MAX,
    };
    // Node 1 holds an item; its frames are handed to node 0 unasked, with
    // no summary first.
    net.nodes[1]
        .publish(
            Instant::ZERO,
            ItemKind::Manifest,
            &manifest(4, 1),
            "m.yml",
            &mut out,
        )
        .unwrap();
    let item = net.nodes[1].store().items().next().unwrap().clone();
    let element = crate::sync::element_of(item.kind, item.id, item.stamp);
    let stream = crate::sync::encode_stream(&item).unwrap();
    for payload in crate::sync::data_frames(element, &stream, 233) {
        let rx = crate::testing::heard(NodeId(9), Destination::Broadcast, &payload);
        net.nodes[0].handle_frame(Instant::ZERO, &rx, &mut out);
    }
    assert_eq!(net.nodes[0].store().len(), 0, "not stored unasked");
    assert_eq!(net.nodes[0].sync_stats().unsolicited, 1);
    // Once reconciliation finds it missing, the stream kept aside is
    // verified and stored without being sent again.
    let data_before = net.sent.frames(FrameKind::Data);
    assert!(net.run_until(net.at(3600), |n| n.converged()));
    assert_eq!(net.nodes[0].store().len(), 1);
    assert_eq!(
        net.sent.frames(FrameKind::Data),
        data_before,
        "no data frame sent"
    );
}

#[test]
fn refuse_unknown_stores_only_pinned_and_own_keys() {
    let stranger = NodeConfig::simulated_publisher(7, 5);
    let mut net = Net::line(3, Strategy::Reconcile);
    // Node 0 publishes under a stranger's key; node 1 refuses unknown
    // keys; node 2 pins the stranger's key and refuses the rest.
    let mut c0 = NodeConfig::new(NodeId(0), 7);
    c0.publisher = stranger.clone();
    let mut c1 = NodeConfig::new(NodeId(1), 7);
    c1.trust.refuse_unknown = true;
    let mut c2 = NodeConfig::new(NodeId(2), 7);
    c2.trust.refuse_unknown = true;
    c2.trust.pinned.insert(stranger.public(), "stranger");
    net.nodes = [c0, c1, c2]
        .into_iter()
        .map(|c| Node::new(c, Instant::ZERO))
        .collect();
    // A triangle, so node 2 hears node 0 directly.
    net.links = vec![vec![1, 2], vec![0, 2], vec![0, 1]];
    net.publish(0, &manifest(8, 1));
    net.run_until(net.at(3600), |n| n.nodes[2].store().len() == 1);
    assert_eq!(net.nodes[2].store().len(), 1, "pinned: stored");
    net.run_until(net.at(7200), |_| false);
    assert_eq!(net.nodes[1].store().len(), 0, "unknown: refused");
    assert!(net.nodes[1].sync_stats().untrusted >= 1);
}
