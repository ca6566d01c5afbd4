//! Package format tests: build, piece verification, package files refused
//! when corrupt, truncated, oversized, re-signed or rebound.

use proptest::prelude::*;

use super::*;
use crate::identity::Keypair;
use crate::sync::tests::manifest;

fn key() -> Keypair {
    Keypair::derive(1, "publisher", 0)
}

/// A design folder: a manifest and two files, `size` bytes in all.
fn design(size: usize) -> Vec<(String, Vec<u8>)> {
    let m = manifest(3, 1);
    let rest = size.saturating_sub(m.len());
    let body: Vec<u8> = (0..rest).map(|i| (i * 31 % 251) as u8).collect();
    let (a, b) = body.split_at(rest / 3);
    vec![
        ("stl/frame.stl".into(), b.to_vec()),
        ("okh.yaml".into(), m),
        ("docs/build.md".into(), a.to_vec()),
    ]
}

fn build(size: usize, piece: u32) -> Package {
    Package::build(design(size), "okh.yaml", piece, &key()).unwrap()
}

#[test]
fn a_built_package_round_trips_and_every_piece_verifies_alone() {
    let p = build(200_000, LinkClass::LoRa.piece_len_bytes());
    let r = p.record();
    assert_eq!(r.total_bytes, 200_000);
    assert_eq!(r.piece_len_bytes, 4096);
    assert_eq!(r.piece_count, 49);
    let paths: Vec<&str> = r.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["docs/build.md", "okh.yaml", "stl/frame.stl"]);
    let back = Package::from_file_bytes(&p.to_file_bytes(), u64::MAX).unwrap();
    assert_eq!(back, p);
    for i in 0..r.piece_count {
        let mut wire = Vec::new();
        p.piece(i).unwrap().encode(&mut wire);
        let msg = PieceMsg::parse(&wire).unwrap();
        assert_eq!(msg.verify(r, p.id()), Ok(()));
        assert!(msg.proof.len() <= 6, "49 pieces: 6 levels");
    }
    assert_eq!(p.piece(0).unwrap().proof.len(), 6);
    // The last of 49 is carried up past the levels where it has no partner.
    assert_eq!(p.piece(48).unwrap().proof.len(), 2);
    assert_eq!(p.piece(49), None);
    assert_eq!(p.piece_data(48).unwrap().len(), 200_000 - 48 * 4096);
}

#[test]
fn a_corrupted_piece_is_refused_alone_and_in_the_file() {
    let p = build(50_000, 4096);
    let mut data = p.piece_data(5).unwrap().to_vec();
    data[100] ^= 0x40;
    let mut msg = p.piece(5).unwrap();
    msg.data = &data;
    assert_eq!(
        msg.verify(p.record(), p.id()),
        Err(PieceError::Proof(ProofError::Mismatch { index: 5 }))
    );
    // A piece of another package is refused by id before any hashing.
    let other = build(50_001, 4096);
    assert!(matches!(
        other.piece(5).unwrap().verify(p.record(), p.id()),
        Err(PieceError::Package { .. })
    ));
    let mut file = p.to_file_bytes();
    let at = file.len() - 50_000 + 5 * 4096 + 100;
    file[at] ^= 0x40;
    let err = Package::from_file_bytes(&file, u64::MAX).unwrap_err();
    assert!(matches!(err, PackageFileError::Root { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("does not match the signed Merkle root")
    );
}

#[test]
fn truncated_and_oversized_package_files_are_refused() {
    let file = build(10_000, 1024).to_file_bytes();
    let err = Package::from_file_bytes(&file[..file.len() - 1], u64::MAX).unwrap_err();
    assert_eq!(
        err,
        PackageFileError::Truncated {
            got: 9_999,
            expected: 10_000
        }
    );
    assert_eq!(
        err.to_string(),
        "package truncated: payload has 9999 bytes, the record says 10000"
    );
    let mut long = file.clone();
    long.push(0);
    assert_eq!(
        Package::from_file_bytes(&long, u64::MAX),
        Err(PackageFileError::Oversized {
            got: 10_001,
            expected: 10_000
        })
    );
    // A receiver's limit refuses the record before the payload is read.
    assert_eq!(
        Package::from_file_bytes(&file, 9_999),
        Err(PackageFileError::Record(RecordError::TooLarge {
            total_bytes: 10_000,
            max_bytes: 9_999
        }))
    );
    assert_eq!(
        Package::from_file_bytes(b"PK\x03\x04", u64::MAX),
        Err(PackageFileError::Magic)
    );
}

#[test]
fn a_record_edited_after_signing_is_refused() {
    let p = build(10_000, 1024);
    let mut r = p.record().clone();
    r.files[0].len_bytes += 1;
    r.files[2].len_bytes -= 1;
    let reparsed = PackageRecord::parse(&r.encode(), u64::MAX).unwrap();
    assert!(matches!(
        reparsed.verify_signature(),
        Err(RecordError::Signature(_))
    ));
    // Re-signed by someone else: valid signature, another publisher, another id.
    let mut forged = p.record().clone();
    forged.sign(&Keypair::derive(2, "publisher", 0));
    assert_eq!(forged.verify_signature(), Ok(()));
    assert_ne!(forged.id(), p.id());
}

#[test]
fn a_record_for_another_manifest_is_refused() {
    let p = build(10_000, 1024);
    assert_eq!(p.record().check_manifest(&manifest(3, 1)), Ok(()));
    let err = p.record().check_manifest(&manifest(3, 2)).unwrap_err();
    assert!(matches!(err, RecordError::ManifestMismatch { .. }), "{err}");
    let err = p
        .record()
        .check_manifest(b"\xff not a manifest")
        .unwrap_err();
    assert!(err.to_string().contains("does not parse"), "{err}");
}

#[test]
fn records_with_bad_fields_name_them() {
    let good = build(10_000, 1024).record().encode();
    let parse = |b: &[u8]| PackageRecord::parse(b, u64::MAX);
    assert_eq!(parse(b"OKPX"), Err(RecordError::Magic));
    let mut v = good.clone();
    v[4] = 9;
    assert_eq!(parse(&v), Err(RecordError::Version(9)));
    assert_eq!(parse(&good[..60]), Err(RecordError::Field("root")));
    assert_eq!(
        parse(&good[..good.len() - 1]),
        Err(RecordError::Field("signature"))
    );
    let mut t = good.clone();
    t.push(1);
    assert_eq!(parse(&t), Err(RecordError::Trailing(1)));
    // Record with a path escaping the folder.
    let mut r = build(10_000, 1024).record().clone();
    r.files[0].path = "../etc/passwd".into();
    let err = parse(&r.encode()).unwrap_err();
    assert!(matches!(err, RecordError::Path { index: 0, .. }), "{err}");
    // Piece count that does not match the sizes.
    let mut r = build(10_000, 1024).record().clone();
    r.piece_count = 9;
    assert!(matches!(
        parse(&r.encode()),
        Err(RecordError::PieceCount { needed: 10, .. })
    ));
}

#[test]
fn building_refuses_what_a_package_cannot_carry() {
    let k = key();
    let b = |files: Vec<(String, Vec<u8>)>, piece| Package::build(files, "okh.yaml", piece, &k);
    assert_eq!(b(vec![], 1024), Err(BuildError::FileCount(0)));
    assert_eq!(b(design(5000), 1000), Err(BuildError::PieceLength(1000)));
    let mut d = design(5000);
    d.push(("a/../../x".into(), vec![1]));
    assert!(matches!(b(d, 1024), Err(BuildError::Path { .. })));
    let mut d = design(5000);
    d.push(("okh.yaml".into(), vec![1]));
    assert_eq!(b(d, 1024), Err(BuildError::Duplicate("okh.yaml".into())));
    let d = vec![("x.bin".to_string(), vec![1u8; 10])];
    assert_eq!(b(d, 1024), Err(BuildError::NoManifest("okh.yaml".into())));
}

#[test]
fn piece_lengths_per_link_class() {
    assert_eq!(LinkClass::for_size(200_000), LinkClass::LoRa);
    assert_eq!(LinkClass::for_size(20_000_000), LinkClass::Fast);
    let fast = build(2_000_000, LinkClass::Fast.piece_len_bytes());
    assert_eq!(fast.record().piece_count, 31);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn parsing_arbitrary_records_and_pieces_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = PackageRecord::parse(&bytes, u64::MAX);
        let _ = PieceMsg::parse(&bytes);
        let _ = Package::from_file_bytes(&bytes, u64::MAX);
    }

    #[test]
    fn flipping_any_byte_of_a_package_file_is_refused(at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut file = build(3000, 1024).to_file_bytes();
        let i = at.index(file.len());
        file[i] ^= 1 << bit;
        prop_assert!(Package::from_file_bytes(&file, u64::MAX).is_err());
    }

    #[test]
    fn a_mangled_piece_message_never_verifies(index in 0u32..3, cut in 0usize..64, flip in any::<prop::sample::Index>()) {
        let p = build(3000, 1024);
        let mut wire = Vec::new();
        p.piece(index).unwrap().encode(&mut wire);
        let i = flip.index(wire.len());
        wire[i] ^= 0x01;
        wire.truncate(wire.len().saturating_sub(cut));
        if let Ok(msg) = PieceMsg::parse(&wire) {
            prop_assert!(msg.verify(p.record(), p.id()).is_err());
        }
    }
}

mod cache {
    use super::*;
    use crate::store::{MemStorage, Storage};

    fn open(storage: MemStorage, capacity_bytes: u64) -> PackageCache<MemStorage> {
        let config = CacheConfig {
            capacity_bytes,
            snapshot_min_log_bytes: 1 << 30,
        };
        PackageCache::open(storage, config).unwrap().0
    }

    fn reopen(cache: PackageCache<MemStorage>) -> PackageCache<MemStorage> {
        let config = *cache.config();
        let mut s = cache.into_storage();
        s.close();
        PackageCache::open(s, config).unwrap().0
    }

    #[test]
    fn a_partial_package_survives_a_crash_and_resumes_where_it_stopped() {
        let p = build(40_000, 4096);
        let mut c = open(MemStorage::new(), 1 << 20);
        c.add_record(p.record().clone()).unwrap();
        for i in [0, 3, 4, 9] {
            c.add_piece(&p.piece(i).unwrap()).unwrap();
        }
        // A crash that tears a piece being appended: acknowledged pieces stay.
        let config = *c.config();
        let mut s = c.into_storage();
        let before = s.log_image().len();
        s.append(&[2, 1, 2, 3]).unwrap_or(());
        s.crash(2);
        assert!(s.log_image().len() < before + 4);
        let (mut c, report) = PackageCache::open(s, config).unwrap();
        assert!(report.recovery.truncated_bytes > 0, "{report:?}");
        assert_eq!(c.have(p.id()).collect::<Vec<_>>(), [0, 3, 4, 9]);
        assert_eq!(c.piece(p.id(), 3).unwrap(), p.piece(3).unwrap());
        // Resume: fetch only what is missing, then the package is whole.
        let missing: Vec<u32> = (0..p.record().piece_count)
            .filter(|i| !c.has_piece(p.id(), *i))
            .collect();
        assert_eq!(missing.len(), 6);
        for i in missing {
            assert_eq!(
                c.add_piece(&p.piece(i).unwrap()).unwrap(),
                PieceOutcome::Stored { evicted: vec![] }
            );
        }
        assert_eq!(
            c.add_piece(&p.piece(0).unwrap()).unwrap(),
            PieceOutcome::Duplicate
        );
        assert_eq!(c.package(p.id()), Some(p.clone()));
        let c = reopen(c);
        assert_eq!(c.package(p.id()), Some(p));
    }

    #[test]
    fn a_corrupt_piece_is_never_stored() {
        let p = build(20_000, 4096);
        let mut c = open(MemStorage::new(), 1 << 20);
        c.add_record(p.record().clone()).unwrap();
        let log = c.storage().log_image().len();
        let mut data = p.piece_data(2).unwrap().to_vec();
        data[0] ^= 0xff;
        let mut bad = p.piece(2).unwrap();
        bad.data = &data;
        assert!(matches!(
            c.add_piece(&bad),
            Err(CacheError::Piece(PieceError::Proof(ProofError::Mismatch {
                index: 2
            })))
        ));
        assert_eq!(c.storage().log_image().len(), log, "nothing logged");
        assert!(!c.has_piece(p.id(), 2));
        let c = reopen(c);
        assert!(!c.has_piece(p.id(), 2));
        // A piece of a package whose record is not held is refused too.
        let other = build(20_001, 4096);
        let mut c = c;
        assert!(matches!(
            c.add_piece(&other.piece(0).unwrap()),
            Err(CacheError::Unknown(_))
        ));
    }

    #[test]
    fn a_record_with_a_bad_signature_is_refused() {
        let p = build(20_000, 4096);
        let mut r = p.record().clone();
        r.signature.0[5] ^= 1;
        let mut c = open(MemStorage::new(), 1 << 20);
        assert!(matches!(
            c.add_record(r),
            Err(CacheError::Record(RecordError::Signature(_)))
        ));
        assert_eq!(c.ids().count(), 0);
    }

    #[test]
    fn eviction_is_lru_by_package_and_spares_pinned_and_the_one_being_filled() {
        let [a, b, d] = [
            build(10_000, 4096),
            build(10_001, 4096),
            build(10_002, 4096),
        ];
        // Room for two whole packages, not three.
        let mut c = open(MemStorage::new(), 2 * 11_000);
        c.add_package(&a).unwrap();
        c.add_package(&b).unwrap();
        c.touch(a.id()).unwrap();
        c.add_package(&d).unwrap();
        assert_eq!(
            c.ids().filter(|i| *i == b.id()).count(),
            0,
            "b was least recently used"
        );
        assert!(c.package(a.id()).is_some() && c.package(d.id()).is_some());
        c.pin(a.id()).unwrap();
        c.pin(d.id()).unwrap();
        // Everything pinned: a new package does not fit, and nothing is lost.
        c.add_record(b.record().clone()).unwrap_or_else(|_| b.id());
        let err = (0..3).try_for_each(|i| c.add_piece(&b.piece(i).unwrap()).map(drop));
        assert!(matches!(err, Err(CacheError::Full { .. })), "{err:?}");
        assert!(c.package(a.id()).is_some() && c.package(d.id()).is_some());
        assert!(c.used_bytes() <= c.config().capacity_bytes);
        // Pins survive a restart; unpinning makes a package evictable again.
        let mut c = reopen(c);
        assert!(c.held(a.id()).unwrap().pinned);
        c.unpin(a.id()).unwrap();
        c.remove(b.id()).unwrap_or(());
        c.add_package(&b).unwrap();
        assert!(c.record(a.id()).is_none(), "a was evicted once unpinned");
        assert!(c.package(d.id()).is_some() && c.package(b.id()).is_some());
    }

    #[test]
    fn a_snapshot_bounds_the_log_and_reopens_to_the_same_state() {
        let p = build(30_000, 4096);
        let q = build(30_001, 4096);
        let config = CacheConfig {
            capacity_bytes: 1 << 20,
            snapshot_min_log_bytes: 1_000,
        };
        let (mut c, _) = PackageCache::open(MemStorage::new(), config).unwrap();
        c.add_package(&p).unwrap();
        // Churn: 90 KB of log for packages no longer held.
        for _ in 0..3 {
            c.add_package(&q).unwrap();
            c.remove(q.id()).unwrap();
        }
        c.add_record(q.record().clone()).unwrap();
        c.add_piece(&q.piece(1).unwrap()).unwrap();
        c.pin(q.id()).unwrap();
        assert!(
            (c.storage().log_image().len() as u64) < c.used_bytes(),
            "a snapshot cut the log to less than what is held"
        );
        let held: Vec<_> = c.ids().map(|i| c.held(i)).collect();
        let mut s = c.into_storage();
        s.close();
        let (c, report) = PackageCache::open(s, config).unwrap();
        assert!(report.from_snapshot);
        assert_eq!(c.ids().map(|i| c.held(i)).collect::<Vec<_>>(), held);
        assert_eq!(c.package(p.id()), Some(p));
        assert_eq!(c.have(q.id()).collect::<Vec<_>>(), [1]);
    }
}

mod swarm {
    use super::*;
    use crate::id::NodeId;
    use crate::packages::estimate::{LinkRate, estimate};
    use crate::packages::msg::SwarmMsg;
    use crate::packages::swarm::{Outgoing, Swarm, SwarmConfig, SwarmEvent};
    use crate::store::MemStorage;
    use crate::time::{Duration, Instant};
    use crate::transport::Destination;

    /// The test link: 10 kbit/s, 10 % duty cycle per node, one shared
    /// channel (a node sends only when nobody else is), no loss.
    const BITRATE_BPS: f64 = 10_000.0;
    const DUTY: f64 = 0.1;
    const TICK: Duration = Duration::from_millis(100);

    fn airtime(bytes: usize) -> Duration {
        Duration::from_micros((bytes as f64 * 8.0 / BITRATE_BPS * 1e6) as u64)
    }

    fn cache() -> PackageCache<MemStorage> {
        PackageCache::open(MemStorage::new(), CacheConfig::default())
            .unwrap()
            .0
    }

    /// Rewrites a message a node sends (a lying node).
    type Tamper = fn(&mut Outgoing);

    /// Nodes with neighbour lists, stepped on a shared channel.
    struct Net {
        nodes: Vec<Swarm<MemStorage>>,
        links: Vec<Vec<usize>>,
        next_send: Vec<Instant>,
        channel_free: Instant,
        now: Instant,
        /// Piece messages sent, per node.
        pieces_sent: Vec<u64>,
        /// Every event handled, per node, with its time.
        events: Vec<Vec<(Instant, SwarmEvent)>>,
        /// Outgoing messages a node sends are passed through this.
        tamper: Option<(usize, Tamper)>,
        /// Requests each node sent: (package, pieces).
        requests: Vec<Vec<Vec<u32>>>,
    }

    impl Net {
        fn new(links: Vec<Vec<usize>>) -> Net {
            let n = links.len();
            Net {
                nodes: (0..n)
                    .map(|i| Swarm::new(NodeId(i as u32), SwarmConfig::default(), cache()))
                    .collect(),
                links,
                next_send: vec![Instant::ZERO; n],
                channel_free: Instant::ZERO,
                now: Instant::ZERO,
                pieces_sent: vec![0; n],
                events: vec![Vec::new(); n],
                tamper: None,
                requests: vec![Vec::new(); n],
            }
        }

        fn line(n: usize) -> Net {
            Net::new(crate::testing::line_links(n))
        }

        /// Node 0 holds `p`, node 1 requests it; stepped until node 1 holds
        /// `pieces` pieces.
        fn one_hop_until(p: &Package, pieces: u32) -> Net {
            let mut net = Net::line(2);
            net.nodes[0].cache_mut().add_package(p).unwrap();
            net.nodes[1].request(Instant::ZERO, p.id());
            while net.nodes[1].cache().held(p.id()).map_or(0, |h| h.pieces) < pieces {
                net.step();
            }
            net
        }

        fn step(&mut self) {
            for i in 0..self.nodes.len() {
                if self.next_send[i] > self.now || self.channel_free > self.now {
                    continue;
                }
                let Some(mut out) = self.nodes[i].poll_transmit(self.now) else {
                    continue;
                };
                if let Some((bad, f)) = self.tamper
                    && bad == i
                {
                    f(&mut out);
                }
                let air = airtime(out.bytes.len());
                let done = self.now + air;
                self.channel_free = done;
                // Off for the rest of the duty-cycle window.
                self.next_send[i] =
                    self.now + Duration::from_micros((air.as_micros() as f64 / DUTY) as u64);
                match SwarmMsg::parse(&out.bytes) {
                    Ok(SwarmMsg::Piece(_)) => self.pieces_sent[i] += 1,
                    Ok(SwarmMsg::Request { pieces, .. }) => self.requests[i].push(pieces),
                    _ => {}
                }
                if let Destination::Node(t) = out.dest {
                    assert!(self.links[i].contains(&(t.0 as usize)), "asks a neighbour");
                }
                // Everyone in range hears, addressed or not.
                for j in self.links[i].clone() {
                    let ev = self.nodes[j]
                        .handle(done, NodeId(i as u32), &out.bytes)
                        .unwrap();
                    self.events[j].push((done, ev));
                }
            }
            self.now += TICK;
        }

        /// Steps until node `n` completes `id`; returns when.
        fn run_until_complete(&mut self, n: usize, id: PackageId, limit: Duration) -> Instant {
            let end = Instant::ZERO + limit;
            while self.now < end {
                self.step();
                if let Some((t, _)) = self.events[n]
                    .iter()
                    .find(|(_, e)| *e == SwarmEvent::Complete(id))
                {
                    return *t;
                }
            }
            panic!("node {n} did not complete by {limit:?}");
        }
    }

    fn link() -> LinkRate {
        LinkRate {
            bitrate_bps: BITRATE_BPS,
            duty_cycle: DUTY,
            efficiency: 1.0,
        }
    }

    #[test]
    fn a_package_crosses_four_hops_pipelined_within_twice_the_bound() {
        let p = build(200_000, LinkClass::LoRa.piece_len_bytes());
        let mut net = Net::line(5);
        net.nodes[0].cache_mut().add_package(&p).unwrap();
        net.nodes[4].request(Instant::ZERO, p.id());
        let done = net.run_until_complete(4, p.id(), Duration::from_secs(24 * 3600));
        assert_eq!(net.nodes[4].cache().package(p.id()), Some(p.clone()));
        let bound = estimate(200_000, 49, 4, 1, link()).time;
        let took = done.saturating_since(Instant::ZERO);
        assert!(
            took.as_secs_f64() <= 2.0 * bound.as_secs_f64(),
            "took {took:?}, bound {bound:?}"
        );
        // Pipelined: the far end had its first piece before the first relay
        // had its last.
        let first_at_4 = net.events[4]
            .iter()
            .find(|(_, e)| matches!(e, SwarmEvent::PieceStored { .. }))
            .unwrap()
            .0;
        let last_at_1 = net.events[1]
            .iter()
            .rfind(|(_, e)| matches!(e, SwarmEvent::PieceStored { .. } | SwarmEvent::Complete(_)))
            .unwrap()
            .0;
        assert!(first_at_4 < last_at_1, "{first_at_4:?} vs {last_at_1:?}");
    }

    #[test]
    fn three_holders_are_faster_than_one() {
        let p = build(100_000, LinkClass::LoRa.piece_len_bytes());
        let time = |holders: usize| {
            // Node 0 requests; nodes 1..=holders hold; all in range.
            let n = holders + 1;
            let mut net = Net::new(
                (0..n)
                    .map(|i| (0..n).filter(|j| *j != i).collect())
                    .collect(),
            );
            for h in 1..=holders {
                net.nodes[h].cache_mut().add_package(&p).unwrap();
            }
            net.nodes[0].request(Instant::ZERO, p.id());
            let t = net.run_until_complete(0, p.id(), Duration::from_secs(24 * 3600));
            assert_eq!(net.nodes[0].cache().package(p.id()), Some(p.clone()));
            // Several holders served.
            let served = (1..=holders).filter(|h| net.pieces_sent[*h] > 0).count();
            assert_eq!(served, holders);
            t.saturating_since(Instant::ZERO).as_secs_f64()
        };
        let (one, three) = (time(1), time(3));
        let ratio = one / three;
        assert!(
            ratio > 2.0,
            "one holder {one:.0} s, three {three:.0} s, ratio {ratio:.2}"
        );
    }

    #[test]
    fn a_lying_holder_is_counted_ignored_and_never_stored() {
        let p = build(60_000, LinkClass::LoRa.piece_len_bytes());
        // 0 requests; 1 corrupts every piece it sends; 2 is honest.
        let mut net = Net::new(vec![vec![1, 2], vec![0, 2], vec![0, 1]]);
        net.nodes[1].cache_mut().add_package(&p).unwrap();
        net.nodes[2].cache_mut().add_package(&p).unwrap();
        net.tamper = Some((1, |out| {
            if out.bytes.first() == Some(&3) {
                let last = out.bytes.len() - 1;
                out.bytes[last] ^= 0x55;
            }
        }));
        net.nodes[0].request(Instant::ZERO, p.id());
        net.run_until_complete(0, p.id(), Duration::from_secs(24 * 3600));
        assert_eq!(net.nodes[0].cache().package(p.id()), Some(p.clone()));
        let bad = net.events[0]
            .iter()
            .filter(|(_, e)| matches!(e, SwarmEvent::BadPiece { from, .. } if *from == NodeId(1)))
            .count();
        assert_eq!(bad, 3, "counted up to the limit, then ignored");
        assert!(net.nodes[0].is_ignored(NodeId(1)));
        assert!(!net.nodes[0].is_ignored(NodeId(2)));
    }

    #[test]
    fn a_crash_mid_transfer_resumes_without_refetching_verified_pieces() {
        let p = build(80_000, LinkClass::LoRa.piece_len_bytes());
        let mut net = Net::one_hop_until(&p, 8);
        // Power loss at node 1: its swarm state is gone, its log survives.
        let held_before: Vec<u32> = net.nodes[1].cache().have(p.id()).collect();
        let old = std::mem::replace(
            &mut net.nodes[1],
            Swarm::new(NodeId(1), SwarmConfig::default(), cache()),
        );
        let mut storage = old.into_cache().into_storage();
        storage.crash(0);
        let (reopened, _) = PackageCache::open(storage, CacheConfig::default()).unwrap();
        assert_eq!(reopened.have(p.id()).collect::<Vec<_>>(), held_before);
        net.nodes[1] = Swarm::new(NodeId(1), SwarmConfig::default(), reopened);
        net.requests[1].clear();
        let before = net.events[1].len();
        net.nodes[1].request(net.now, p.id());
        net.run_until_complete(1, p.id(), Duration::from_secs(24 * 3600));
        assert_eq!(net.nodes[1].cache().package(p.id()), Some(p.clone()));
        let asked: Vec<u32> = net.requests[1].iter().flatten().copied().collect();
        assert!(asked.iter().all(|i| !held_before.contains(i)), "{asked:?}");
        let stored_after = net.events[1][before..]
            .iter()
            .filter(|(_, e)| matches!(e, SwarmEvent::PieceStored { .. } | SwarmEvent::Complete(_)))
            .count();
        assert_eq!(
            stored_after,
            p.record().piece_count as usize - held_before.len()
        );
    }

    #[test]
    fn two_requesters_share_one_holder_by_overhearing() {
        let p = build(60_000, LinkClass::LoRa.piece_len_bytes());
        // Holder 0 between requesters 1 and 2, which also hear each other.
        let mut net = Net::new(vec![vec![1, 2], vec![0, 2], vec![0, 1]]);
        net.nodes[0].cache_mut().add_package(&p).unwrap();
        net.nodes[1].request(Instant::ZERO, p.id());
        net.nodes[2].request(Instant::ZERO, p.id());
        net.run_until_complete(1, p.id(), Duration::from_secs(24 * 3600));
        net.run_until_complete(2, p.id(), Duration::from_secs(24 * 3600));
        let n = u64::from(p.record().piece_count);
        let sent: u64 = net.pieces_sent.iter().sum();
        // Without overhearing each requester would need every piece sent to it.
        assert!(
            sent < 2 * n,
            "{sent} piece transmissions for 2 × {n} pieces"
        );
    }

    #[test]
    fn progress_reports_pieces_rate_holders_and_eta() {
        let p = build(40_000, LinkClass::LoRa.piece_len_bytes());
        let mut net = Net::one_hop_until(&p, 3);
        let pr = net.nodes[1].progress(net.now, p.id()).unwrap();
        assert_eq!((pr.pieces, pr.piece_count, pr.total_bytes), (3, 10, 40_000));
        assert_eq!(pr.bytes, 3 * 4096);
        assert_eq!(pr.holders, 1);
        assert!(pr.rate_bytes_per_s > 0.0);
        let eta = pr.eta.unwrap().as_secs_f64();
        let expect = (40_000.0 - 3.0 * 4096.0) / pr.rate_bytes_per_s;
        assert!((eta - expect).abs() < 1.0, "{eta} vs {expect}");
        assert!(net.nodes[1].cancel(p.id()));
        assert_eq!(net.nodes[1].wanted().count(), 0);
    }

    #[test]
    fn estimates_scale_with_holders_duty_and_hops() {
        let one = estimate(200_000, 49, 1, 1, link()).time.as_secs_f64();
        // 200 KB at 10 kbit/s × 10 %: 1600 s.
        assert!((one - 1600.0).abs() < 1.0, "{one}");
        let three = estimate(200_000, 49, 1, 3, link()).time.as_secs_f64();
        assert!((one / three - 3.0).abs() < 0.01);
        let four_hops = estimate(200_000, 49, 4, 1, link()).time.as_secs_f64();
        // Pipelined: three more pieces' time, not four times the transfer.
        assert!(four_hops > one && four_hops < 1.2 * one, "{four_hops}");
        // LongFast frames: ~1 kbit/s through their airtime; 200 KB at 10 %
        // takes hours, as the issue says.
        let lf = LinkRate::lora(&crate::radio::ModemPreset::LongFast.params(), 0.1);
        assert!(
            (900.0..1300.0).contains(&lf.bitrate_bps),
            "{}",
            lf.bitrate_bps
        );
        let hours = estimate(200_000, 49, 1, 1, lf).time.as_secs_f64() / 3600.0;
        assert!((3.0..6.0).contains(&hours), "{hours}");
    }

    proptest! {
        #[test]
        fn swarm_messages_never_panic_and_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(m) = SwarmMsg::parse(&bytes) {
                let again = m.encode();
                prop_assert_eq!(SwarmMsg::parse(&again).ok(), Some(m));
            }
        }
    }
}
