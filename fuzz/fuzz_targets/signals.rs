//! Fuzzes the signal codec and the signal layer behind it: arbitrary bytes
//! are decoded as signals (size check, parse, verify) and, split into
//! frames from arbitrary neighbours, fed to a node that holds a demand of
//! its own. Nothing may panic; whatever parses must re-encode to the same
//! bytes; nothing that fails verification is taken; and the node's own
//! demand stays live.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::signals::{Payload, SignalBytes, SignalRepr, SignalSpec, tags_from};
use node_core::testing::{Outbox, hear_and_step};
use node_core::wire::{FrameRepr, SignalFrame};
use node_core::{Duration, Instant, ItemId, Node, NodeConfig, NodeId};

fuzz_target!(|data: &[u8]| {
    if let Ok(checked) = SignalBytes::new_checked(data) {
        if let Ok(repr) = SignalRepr::parse(&checked) {
            assert_eq!(repr.encode(), data);
            let _ = repr.verify();
        }
    }
    let mut radio = Outbox::new(64);
    let mut node = Node::new(NodeConfig::new(NodeId(0), 1), Instant::ZERO);
    let demand = Payload::Demand {
        design: ItemId([3; 16]),
        quantity: 40,
        deadline: Instant::from_micros(86_400_000_000),
        tags: tags_from(["3d-printing"]).expect("valid tags"),
    };
    let spec = SignalSpec {
        payload: demand,
        urgent: true,
        ttl: Duration::from_secs(86_400),
        flood: false,
    };
    let own = node
        .publish_signal(Instant::ZERO, spec, &mut radio)
        .expect("a valid demand publishes");
    let mut now = Instant::ZERO;
    // Each chunk: a length byte, a sender byte, a frame kind switch, then
    // the bytes: as a whole frame, or as the signal of a signal frame.
    let mut rest = data;
    while let [len, from, how, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (chunk, tail) = tail.split_at(len);
        rest = tail;
        let framed;
        let payload = if how & 1 == 0 {
            chunk
        } else {
            framed = SignalFrame::Signal {
                hops_left: *how >> 1,
                signal: chunk,
            }
            .encode();
            &framed
        };
        if let Ok(repr) = FrameRepr::decode(payload) {
            // Signal frames encode back byte for byte; others (sync's want
            // ignores trailing bytes) at least decode back the same.
            if matches!(repr, FrameRepr::Signal(_)) {
                assert_eq!(repr.encode(), payload);
            }
            assert_eq!(FrameRepr::decode(&repr.encode()).ok(), Some(repr));
        }
        let from = NodeId(u32::from(*from));
        now = hear_and_step(
            &mut node,
            now,
            Duration::from_secs(1),
            from,
            payload,
            &mut radio,
        );
    }
    let book = node.signals().book();
    assert!(book.contains(own), "the node's own demand is still held");
    // Fuzzed bytes cannot sign as anyone: only the node's own signals are held.
    let me = node.signals().public_key();
    assert!(book.live(now).all(|(_, h)| h.repr.source == me));
});
