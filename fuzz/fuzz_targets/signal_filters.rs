//! Fuzzes the capability/subscription filter frame and the routing behind
//! it: arbitrary bytes are decoded as filter frames (whatever parses must
//! re-encode to the same bytes, with nested levels), then fed, as filter
//! adverts from arbitrary neighbours, to a facility node, between copies of
//! a demand it does not want. Nothing may panic; the node holds at most
//! the bounded number of neighbour filters; and its answers follow its
//! full profile only.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::signals::{
    MAX_NEIGHBOUR_FILTERS, Payload, SignalConfig, SignalEvent, SignalSpec, tags_from,
};
use node_core::testing::Outbox;
use node_core::transport::{Destination, RxFrame};
use node_core::wire::{FrameRepr, SignalFrame, WIRE_VERSION};
use node_core::{Duration, Instant, ItemId, Node, NodeConfig, NodeEvent, NodeId};

fuzz_target!(|data: &[u8]| {
    let mut framed = vec![WIRE_VERSION, 10];
    framed.extend_from_slice(data);
    if let Ok(repr) = FrameRepr::decode(&framed) {
        assert_eq!(repr.encode(), framed);
        if let FrameRepr::Signal(SignalFrame::Filter { levels, .. }) = &repr {
            // Levels are nested: each holds the one before it.
            for w in levels.windows(2) {
                let mut u = w[0];
                u.union(&w[1]);
                assert_eq!(u, w[1]);
            }
        }
    }
    let mut config = NodeConfig::new(NodeId(0), 1);
    config.signals = SignalConfig {
        capabilities: tags_from(["cnc"]).expect("valid tags"),
        ..SignalConfig::default()
    };
    let mut node = Node::new(config, Instant::ZERO);
    let mut radio = Outbox::new(64);
    // Someone else's demand for printing, to be routed between adverts.
    let mut other = Node::new(NodeConfig::new(NodeId(9), 2), Instant::ZERO);
    let mut other_radio = Outbox::new(64);
    let spec = SignalSpec {
        payload: Payload::Demand {
            design: ItemId([3; 16]),
            quantity: 4,
            deadline: Instant::from_micros(86_400_000_000),
            tags: tags_from(["3d-printing"]).expect("valid tags"),
        },
        urgent: true,
        ttl: Duration::from_secs(86_400),
        flood: false,
    };
    other
        .publish_signal(Instant::ZERO, spec, &mut other_radio)
        .expect("a valid demand publishes");
    let demand_frame = other_radio.frames.first().map(|f| f.payload.clone());
    let mut now = Instant::ZERO;
    // Each chunk: a length byte and a sender byte, then a filter frame body.
    let mut rest = data;
    while let [len, from, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (chunk, tail) = tail.split_at(len);
        rest = tail;
        let mut payload = vec![WIRE_VERSION, 10];
        payload.extend_from_slice(chunk);
        for p in [Some(payload), demand_frame.clone()].into_iter().flatten() {
            let rx = RxFrame {
                from: NodeId(u32::from(*from)),
                dest: Destination::Broadcast,
                hops_away: 0,
                rssi_dbm: -100.0,
                snr_db: 0.0,
                payload: &p,
            };
            node.handle_frame(now, &rx, &mut radio);
        }
        now += Duration::from_secs(7);
        if node.poll_timeout().is_some_and(|t| t <= now) {
            node.handle_timeout(now, &mut radio);
        }
        radio.frames.clear();
        while let Some(e) = node.poll_event() {
            // Whatever the filters said, a demand this facility cannot
            // meet is never reported to it as matching.
            match e {
                NodeEvent::Signal(SignalEvent::Taken { matches, .. })
                | NodeEvent::Signal(SignalEvent::Routed { matches, .. }) => assert!(!matches),
                NodeEvent::Signal(SignalEvent::Answered { .. }) => panic!("nothing was asked"),
                _ => {}
            }
        }
        assert!(node.signals().neighbour_filters() <= MAX_NEIGHBOUR_FILTERS);
    }
    assert!(!node.signals().own_filter().is_empty());
});
