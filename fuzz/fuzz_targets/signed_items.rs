//! Fuzzes the signed-item codec (`node_core::identity::Authorship`) and
//! its verification: arbitrary bytes parse or fail with a typed error,
//! never a panic; what parses re-encodes to the same bytes; and a
//! genuinely signed version with any of its signed fields or signature
//! bytes changed by the input never verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_core::identity::{AUTHORSHIP_LEN, Authorship, Keypair, VersionClaim};
use node_core::wire::TransferHeader;
use node_core::{Instant, ItemKind};
use catalogue::{ContentId, ItemId};

fuzz_target!(|data: &[u8]| {
    // As a stream: a transfer header, then an authorship.
    let after_header = TransferHeader::parse(data, 64 << 10).map_or(data, |(_, rest)| rest);
    for bytes in [data, after_header] {
        if let Ok((a, rest)) = Authorship::parse(bytes) {
            let mut again = Vec::new();
            a.encode(&mut again);
            assert_eq!(again.len(), AUTHORSHIP_LEN);
            assert_eq!(&again[..], &bytes[..AUTHORSHIP_LEN]);
            assert_eq!(rest.len(), bytes.len() - AUTHORSHIP_LEN);
            let claim = VersionClaim {
                kind: ItemKind::Manifest,
                id: ItemId([1; 16]),
                seq: 1,
                content: ContentId([2; 32]),
            };
            let _ = a.verify(&claim);
        }
    }
    // Tampering with a real signature.
    let key = Keypair::derive(1, "fuzz", 0);
    let (id, a) = Authorship::sign(
        &key,
        ItemKind::Facility,
        ItemId([3; 16]),
        7,
        ContentId([4; 32]),
        Instant::from_micros(5),
        false,
    );
    let claim = VersionClaim {
        kind: ItemKind::Facility,
        id,
        seq: 7,
        content: ContentId([4; 32]),
    };
    let mut bytes = Vec::new();
    a.encode(&mut bytes);
    let original = bytes.clone();
    for (i, b) in data.iter().enumerate().take(AUTHORSHIP_LEN) {
        bytes[i] ^= b;
    }
    if let Ok((t, _)) = Authorship::parse(&bytes) {
        let mut seq = claim.seq;
        if let Some(extra) = data.get(AUTHORSHIP_LEN) {
            seq ^= u32::from(*extra);
        }
        let changed = bytes != original || seq != claim.seq;
        let verified = t.verify(&VersionClaim { seq, ..claim }).is_ok();
        assert!(!(changed && verified), "a tampered version verified");
        assert!(changed || verified, "the genuine version failed");
    }
});
