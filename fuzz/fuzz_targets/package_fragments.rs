//! Fuzzes the package fragment frames and their reassembly: the input is a
//! run of frames (each a length byte, a sender byte and the bytes), fed to
//! the frame parser, a reassembler, and a node holding nothing. Nothing may
//! panic; a frame that parses re-encodes to bytes that parse the same; the
//! reassembler never holds more than its bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::packages::fragment::{MAX_PEER_BYTES, MAX_PEERS, Reassembler};
use node_core::testing::{Outbox, hear_and_step};
use node_core::wire::{FrameRepr, PackageFrame};
use node_core::{Duration, Instant, Node, NodeConfig, NodeId};

fuzz_target!(|data: &[u8]| {
    let mut r = Reassembler::new();
    let mut node = Node::new(NodeConfig::new(NodeId(0), 1), Instant::ZERO);
    let mut radio = Outbox::new(16);
    let mut now = Instant::ZERO;
    let mut rest = data;
    while let [len, from, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (frame, after) = tail.split_at(n);
        rest = after;
        if let Ok(f) = FrameRepr::decode(frame) {
            let again = f.encode();
            assert_eq!(FrameRepr::decode(&again).as_ref(), Ok(&f));
            if let FrameRepr::Package(PackageFrame::Fragment {
                msg,
                index,
                total,
                chunk,
            }) = f
            {
                let _ = r.push(now, NodeId(u32::from(*from % 40)), msg, index, total, chunk);
                assert!(r.held_bytes() <= MAX_PEERS * MAX_PEER_BYTES);
            }
        }
        now = hear_and_step(
            &mut node,
            now,
            Duration::from_millis(500),
            NodeId(1 + u32::from(*from % 4)),
            frame,
            &mut radio,
        );
        radio.frames.clear();
    }
});
