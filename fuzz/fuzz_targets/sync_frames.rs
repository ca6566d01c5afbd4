//! Fuzzes the okmesh wire codec and the sync state machine behind it:
//! arbitrary bytes, split into frames from arbitrary neighbours, are decoded
//! (as frames, and as transfer-stream headers) and fed to a node that holds
//! an item. Nothing may panic; whatever decodes must re-encode to the same
//! frame; and the node must still serve its item afterwards.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::ItemKind;
use node_core::testing::{Outbox, hear_and_step};
use node_core::wire::{FrameRepr, TransferHeader};
use node_core::{Duration, Instant, Node, NodeConfig, NodeId};

const MANIFEST: &[u8] = b"title: Fuzz lamp\ndescription: a lamp\nlicense: CC0-1.0\nproject-link: https://example.org/lamp\n";

fuzz_target!(|data: &[u8]| {
    let mut radio = Outbox::new(16);
    let mut node = Node::new(NodeConfig::new(NodeId(0), 1), Instant::ZERO);
    node.publish(
        Instant::ZERO,
        ItemKind::Manifest,
        MANIFEST,
        "lamp.yml",
        &mut radio,
    )
    .expect("a valid manifest publishes");
    let mut now = Instant::ZERO;
    // Each chunk: a length byte, a sender byte, then the frame.
    let mut rest = data;
    while let [len, from, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (frame, tail) = tail.split_at(len);
        rest = tail;
        if let Ok(repr) = FrameRepr::decode(frame) {
            assert_eq!(FrameRepr::decode(&repr.encode()).ok(), Some(repr));
        }
        // A whole stream rarely reassembles from fuzzed fragments: parse the
        // header directly too.
        if let Ok((header, body)) = TransferHeader::parse(frame, 64 << 10) {
            assert!(header.len_bytes <= 64 << 10);
            let mut again = Vec::new();
            header.encode(&mut again);
            again.extend_from_slice(body);
            assert_eq!(TransferHeader::parse(&again, 64 << 10), Ok((header, body)));
        }
        let from = NodeId(u32::from(*from));
        now = hear_and_step(
            &mut node,
            now,
            Duration::from_secs(1),
            from,
            frame,
            &mut radio,
        );
    }
    assert_eq!(node.store().len(), 1, "the published item is still held");
});
