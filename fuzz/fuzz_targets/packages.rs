//! Fuzzes the package parsers: arbitrary bytes as a swarm message, a
//! package record, a piece message and a whole package file. Nothing may
//! panic; whatever parses must re-encode to bytes that parse the same; and a
//! piece must never verify against a real package unless it is that
//! package's real piece.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::identity::Keypair;
use node_core::packages::msg::SwarmMsg;
use node_core::packages::{Package, PackageRecord, PieceMsg};
use std::sync::OnceLock;

const MANIFEST: &[u8] = b"title: Fuzz lamp\ndescription: a lamp\nlicense: CC0-1.0\nproject-link: https://example.org/lamp\n";

fn real() -> &'static Package {
    static P: OnceLock<Package> = OnceLock::new();
    P.get_or_init(|| {
        let files = vec![
            ("okh.yaml".to_string(), MANIFEST.to_vec()),
            ("lamp.stl".to_string(), (0..5000u32).map(|i| i as u8).collect()),
        ];
        Package::build(files, "okh.yaml", 1024, &Keypair::derive(0, "fuzz", 0))
            .expect("the fuzz package builds")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = SwarmMsg::parse(data) {
        assert_eq!(SwarmMsg::parse(&m.encode()).as_ref(), Ok(&m));
    }
    if let Ok(r) = PackageRecord::parse(data, u64::MAX) {
        // Varints may come non-canonical; the re-encoding parses the same.
        assert_eq!(PackageRecord::parse(&r.encode(), u64::MAX).as_ref(), Ok(&r));
        let _ = r.verify_signature();
    }
    let _ = Package::from_file_bytes(data, u64::MAX);
    if let Ok(msg) = PieceMsg::parse(data) {
        let mut again = Vec::new();
        msg.encode(&mut again);
        assert_eq!(PieceMsg::parse(&again).as_ref(), Ok(&msg));
        let p = real();
        if msg.verify(p.record(), p.id()).is_ok() {
            assert_eq!(Some(msg.data), p.piece_data(msg.index), "only real pieces verify");
        }
    }
});
