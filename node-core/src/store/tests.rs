//! Store tests: replay equals live state, torn-tail recovery at every byte,
//! the conflict rule under any arrival order, retention, eviction order.

use proptest::prelude::*;

use super::state::State;
use super::*;
use catalogue::Format;
use catalogue::id::{ContentId, ItemId, ItemKind};

use crate::store::VersionStamp;

fn id(n: u8) -> ItemId {
    ItemId([n; 16])
}

fn content(n: u8) -> ContentId {
    ContentId([n; 32])
}

fn kind_of(n: u8) -> ItemKind {
    if n % 3 == 2 {
        ItemKind::Facility
    } else {
        ItemKind::Manifest
    }
}

fn format_of(n: u8) -> Format {
    Format::ALL[usize::from(n) % Format::ALL.len()]
}

fn draft(n: u8, c: u8, size: usize) -> Draft {
    Draft {
        kind: kind_of(n),
        id: id(n),
        content: content(c),
        name: format!("design {n:03}"),
        format: format_of(n),
        bytes: vec![c; size],
    }
}

fn remote(n: u8, seq: u32, c: u8, size: usize) -> StoredItem {
    StoredItem {
        kind: kind_of(n),
        id: id(n),
        stamp: VersionStamp {
            seq,
            content: content(c),
        },
        name: format!("design {n:03}"),
        format: format_of(n),
        bytes: vec![c; size],
        author: None,
    }
}

fn package(n: u8, size: usize) -> CachedPackage {
    CachedPackage {
        design: id(n),
        content: ContentId([0x80 | n; 32]),
        bytes: vec![n; size],
    }
}

fn open(storage: MemStorage, config: StoreConfig) -> Store<MemStorage> {
    Store::open(storage, config).expect("store opens").0
}

/// An empty store with room for exactly `slots` remote entries of `size`
/// body bytes, and the footprint of one such entry.
fn store_with_slots(slots: u64, size: usize) -> (Store<MemStorage>, u64) {
    let unit = remote(0, 1, 0, size).footprint_bytes();
    let config = StoreConfig {
        capacity_bytes: unit * slots,
        ..StoreConfig::default()
    };
    (open(MemStorage::new(), config), unit)
}

/// Closes `store` cleanly and opens a second store on a copy of its bytes.
fn reopen_copy(store: &Store<MemStorage>) -> (Store<MemStorage>, OpenReport) {
    let mut storage = store.storage().clone();
    storage.close();
    Store::open(storage, store.config().clone()).expect("store reopens")
}

fn small_config() -> StoreConfig {
    StoreConfig {
        capacity_bytes: 3_000,
        max_versions: 2,
        max_item_bytes: 1_000,
        snapshot_min_log_bytes: 4_000,
        ..StoreConfig::default()
    }
}

/// Everything observable about the catalogue, for comparisons.
fn catalogue(
    store: &Store<MemStorage>,
) -> (Vec<Vec<StoredItem>>, Vec<CachedPackage>, Vec<bool>, u64) {
    let histories = store
        .items()
        .map(|i| store.history(i.id).to_vec())
        .collect();
    let pins = store.items().map(|i| store.is_pinned(i.id)).collect();
    (
        histories,
        store.packages().cloned().collect(),
        pins,
        store.used_bytes(),
    )
}

// ----- codec -----------------------------------------------------------

#[test]
fn events_round_trip() {
    let events = [
        Event::Put {
            origin: Origin::Local,
            item: remote(1, 7, 3, 40),
        },
        Event::Put {
            origin: Origin::Remote,
            item: remote(2, 1, 0, 0),
        },
        Event::Touch(EntryKey::Item(id(9))),
        Event::Evict(EntryKey::Package(content(4))),
        Event::PackageCached(package(5, 12)),
    ];
    for e in events {
        let mut bytes = Vec::new();
        e.encode(&mut bytes);
        assert_eq!(Event::decode(&bytes), Ok(e.clone()));
        bytes.push(0);
        assert_eq!(
            Event::decode(&bytes),
            Err(DecodeError::Trailing { extra: 1 })
        );
    }
}

#[test]
fn records_written_before_formats_were_kept_read_the_format_from_the_bytes() {
    // A Put record as okmesh wrote it before the format was kept: the kind
    // byte's high nibble is 0.
    let legacy = |text: &str| {
        let mut item = remote(1, 1, 1, 0);
        item.bytes = text.as_bytes().to_vec();
        let mut bytes = Vec::new();
        Event::Put {
            origin: Origin::Remote,
            item,
        }
        .encode(&mut bytes);
        bytes[2] &= 0x0f; // tag, origin, then the kind byte
        match Event::decode(&bytes) {
            Ok(Event::Put { item, .. }) => item.format,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(legacy("{\"title\": \"Chair\"}"), Format::Json);
    assert_eq!(legacy("title = \"Chair\"\n"), Format::Toml);
    assert_eq!(legacy("title: Chair\n"), Format::Yaml);
    // A high nibble that names no format is an error, not a guess.
    let mut bytes = Vec::new();
    Event::Put {
        origin: Origin::Remote,
        item: remote(1, 1, 1, 4),
    }
    .encode(&mut bytes);
    bytes[2] = 0xf0;
    assert!(matches!(
        Event::decode(&bytes),
        Err(DecodeError::Invalid {
            field: "format",
            ..
        })
    ));
}

#[test]
fn a_version_1_snapshot_still_opens_and_formats_come_from_the_bytes() {
    let mut item = remote(4, 1, 4, 0);
    item.bytes = b"title: Chair\n".to_vec();
    item.format = Format::Yaml;
    let mut state = State::default();
    state
        .apply(
            Event::Put {
                origin: Origin::Remote,
                item,
            },
            3,
        )
        .unwrap();
    let mut v4 = Vec::new();
    state.encode_snapshot(&mut v4);
    // Version 3 is version 4 without the per-version signed byte (0 here),
    // the last before the 4-byte package and signal counts.
    let mut v3 = v4.clone();
    v3[0] = 3;
    assert_eq!(v3.remove(v4.len() - 9), 0);
    // Version 2 is version 3 without the signal log's count at the end.
    let mut v2 = v3.clone();
    v2[0] = 2;
    v2.truncate(v2.len() - 4);
    // Version 1 is version 2 without the per-version format byte, which
    // follows the 4-byte seq and 32-byte content of the one version.
    let item_start = 1 + 8 + 8 + 4;
    let version_start = item_start + 1 + 16 + 1 + 8 + 2;
    let mut v1 = v2.clone();
    v1[0] = 1;
    v1.remove(version_start + 4 + 32);
    let back = State::decode_snapshot(&v1, 3).expect("version 1 decodes");
    let item = back
        .items
        .values()
        .next()
        .expect("one item")
        .current()
        .clone();
    assert_eq!(item.format, Format::Yaml);
    assert_eq!(item.bytes, b"title: Chair\n");
    assert_eq!(State::decode_snapshot(&v2, 3).unwrap().items.len(), 1);
    assert_eq!(State::decode_snapshot(&v3, 3).unwrap(), state);
    assert_eq!(State::decode_snapshot(&v4, 3).unwrap(), state);
}

#[test]
fn signed_versions_keep_their_authorship_through_log_and_snapshot() {
    let key = crate::identity::Keypair::derive(3, "publisher", 0);
    let signer = crate::store::Signer {
        key: &key,
        at: crate::time::Instant::from_micros(77),
        imported: true,
    };
    let mut store = open(MemStorage::new(), StoreConfig::default());
    let d = draft(1, 1, 100);
    let catalogue_id = d.id;
    let outcome = store.publish_signed(d, &signer).unwrap();
    let id = crate::identity::owned_id(&key.public(), catalogue_id);
    let item = store.get(id).expect("stored under the owned id").clone();
    assert_eq!(outcome.stamp, item.stamp);
    let author = item.author.expect("signed");
    assert!(author.imported && !author.tombstone);
    assert_eq!(item.catalogue_id(), catalogue_id);
    assert_eq!(
        author.verify(&crate::identity::VersionClaim {
            kind: item.kind,
            id,
            seq: item.stamp.seq,
            content: item.stamp.content,
        }),
        Ok(())
    );
    // From the log, then from a snapshot.
    let (again, _) = reopen_copy(&store);
    assert_eq!(again.get(id), Some(&item));
    store.snapshot().unwrap();
    let (again, report) = reopen_copy(&store);
    assert!(report.from_snapshot);
    assert_eq!(again.get(id), Some(&item));
    // A tombstone retires it: one seq up, no bytes, still signed.
    store.retire(id, &signer).unwrap();
    let t = store.get(id).unwrap();
    assert!(t.is_tombstone() && t.bytes.is_empty());
    assert_eq!(t.stamp.seq, item.stamp.seq + 1);
    let other = crate::identity::Keypair::derive(3, "publisher", 1);
    let theirs = crate::store::Signer {
        key: &other,
        ..signer
    };
    assert!(matches!(
        store.retire(id, &theirs),
        Err(StoreError::Rejected(Reject::NotOwner { .. }))
    ));
}

proptest! {
    #[test]
    fn decoding_arbitrary_records_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Event::decode(&bytes);
        let _ = State::decode_snapshot(&bytes, 3);
        for tag in 1u8..=4 {
            let mut tagged = vec![tag];
            tagged.extend_from_slice(&bytes);
            let _ = Event::decode(&tagged);
        }
        let mut snap = vec![1u8];
        snap.extend_from_slice(&bytes);
        let _ = State::decode_snapshot(&snap, 3);
    }
}

// ----- publish, remote versions, retention --------------------------------

#[test]
fn publish_assigns_seq_and_identical_content_is_a_no_op() {
    let mut store = open(MemStorage::new(), StoreConfig::default());
    let a = store.publish(draft(1, 10, 50)).unwrap();
    assert_eq!((a.stamp.seq, a.change), (1, Change::Added));
    let same = store.publish(draft(1, 10, 50)).unwrap();
    assert_eq!((same.stamp, same.change), (a.stamp, Change::Unchanged));
    let b = store.publish(draft(1, 11, 50)).unwrap();
    assert_eq!((b.stamp.seq, b.change), (2, Change::NewVersion));
    // A remote version with a higher seq wins; the next local publish goes above it.
    let r = store.apply_remote(remote(1, 5, 12, 50)).unwrap();
    assert_eq!(r.change, Change::NewVersion);
    assert_eq!(store.get(id(1)).unwrap().stamp.seq, 5);
    let c = store.publish(draft(1, 13, 50)).unwrap();
    assert_eq!(c.stamp.seq, 6);
    assert!(store.is_pinned(id(1)));
    // Reverting to older content is a new version, not a no-op.
    let d = store.publish(draft(1, 10, 50)).unwrap();
    assert_eq!((d.stamp.seq, d.change), (7, Change::NewVersion));
    assert_eq!(
        store.storage().syncs(),
        6,
        "one sync per acknowledged write"
    );
}

#[test]
fn retention_keeps_the_highest_stamps() {
    let config = StoreConfig {
        max_versions: 2,
        ..StoreConfig::default()
    };
    let mut store = open(MemStorage::new(), config);
    for seq in [3, 1, 2] {
        store.apply_remote(remote(1, seq, seq as u8, 10)).unwrap();
    }
    let seqs: Vec<u32> = store.history(id(1)).iter().map(|v| v.stamp.seq).collect();
    assert_eq!(seqs, [2, 3]);
    // Older than everything kept: not stored, no event logged.
    let log = store.storage().log_bytes();
    assert_eq!(
        store.apply_remote(remote(1, 1, 1, 10)).unwrap().change,
        Change::Unchanged
    );
    assert_eq!(store.storage().log_bytes(), log);
    // Between the two: becomes history, the oldest goes.
    let h = store.apply_remote(remote(1, 2, 9, 10)).unwrap();
    assert_eq!(h.change, Change::History);
    let stamps: Vec<(u32, u8)> = store
        .history(id(1))
        .iter()
        .map(|v| (v.stamp.seq, v.stamp.content.0[0]))
        .collect();
    assert_eq!(stamps, [(2, 9), (3, 3)]);
    assert_eq!(
        store.used_bytes(),
        store
            .history(id(1))
            .iter()
            .map(StoredItem::footprint_bytes)
            .sum::<u64>()
    );
}

#[test]
fn bad_items_are_rejected_without_change() {
    let config = StoreConfig {
        max_item_bytes: 100,
        ..StoreConfig::default()
    };
    let mut store = open(MemStorage::new(), config);
    store.publish(draft(1, 1, 10)).unwrap();
    let digest = store.state_digest();
    assert!(matches!(
        store.publish(draft(2, 1, 101)),
        Err(StoreError::Rejected(Reject::TooLarge {
            len: 101,
            max: 100
        }))
    ));
    let mut long = draft(2, 1, 1);
    long.name = "x".repeat(MAX_NAME_BYTES + 1);
    assert!(matches!(
        store.publish(long),
        Err(StoreError::Rejected(Reject::NameTooLong { .. }))
    ));
    let mut wrong = remote(1, 9, 9, 10);
    wrong.kind = ItemKind::Facility;
    assert!(matches!(
        store.apply_remote(wrong),
        Err(StoreError::Rejected(Reject::KindMismatch { .. }))
    ));
    store.apply_remote(remote(4, u32::MAX, 1, 1)).unwrap();
    assert!(matches!(
        store.publish(draft(4, 2, 1)),
        Err(StoreError::Rejected(Reject::SeqExhausted { .. }))
    ));
    store.apply_remote(remote(4, u32::MAX, 1, 1)).unwrap();
    assert_ne!(store.state_digest(), digest);
    assert_eq!(store.len(), 2);
}

#[test]
fn batch_publish_syncs_once() {
    let mut store = open(MemStorage::new(), StoreConfig::default());
    let out = store
        .publish_batch((0..20).map(|n| draft(n, n, 30)))
        .unwrap();
    assert!(
        out.iter()
            .all(|o| o.as_ref().is_ok_and(|o| o.change == Change::Added))
    );
    assert_eq!(store.storage().syncs(), 1);
    assert_eq!(store.len(), 20);
    let ids: Vec<ItemId> = store.stamps().map(|(i, _)| i).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "listing is in ItemId order");
    assert_eq!(store.range(id(5)..id(8)).count(), 3);
    assert_eq!(store.items_of(ItemKind::Facility).count(), 6);
}

// ----- conflict rule -------------------------------------------------------

proptest! {
    /// Whatever order remote versions arrive in, with duplicates, every node
    /// ends with the same current version and the same history.
    #[test]
    fn conflict_rule_is_order_independent(
        versions in proptest::collection::vec((1u32..5, 0u8..4), 1..12),
        order in any::<u64>(),
        max_versions in 1usize..4,
    ) {
        let items: Vec<StoredItem> = versions.iter().map(|&(seq, c)| remote(1, seq, c, 8)).collect();
        let mut shuffled = items.clone();
        // A deterministic shuffle driven by the proptest seed.
        let mut rng = crate::Rng::derive(order, "shuffle", 0);
        for i in (1..shuffled.len()).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        shuffled.extend(items.iter().take(3).cloned()); // late duplicates
        let config = StoreConfig { max_versions, ..StoreConfig::default() };
        let mut a = open(MemStorage::new(), config.clone());
        let mut b = open(MemStorage::new(), config);
        for item in items { a.apply_remote(item).unwrap(); }
        for item in shuffled { b.apply_remote(item).unwrap(); }
        prop_assert_eq!(a.history(id(1)), b.history(id(1)));
        let mut expected: Vec<VersionStamp> = versions.iter().map(|&(seq, c)| VersionStamp { seq, content: content(c) }).collect();
        expected.sort();
        expected.dedup();
        let keep = expected.len().saturating_sub(max_versions);
        let held: Vec<VersionStamp> = a.history(id(1)).iter().map(|v| v.stamp).collect();
        prop_assert_eq!(&held[..], &expected[keep..]);
        prop_assert_eq!(a.get(id(1)).unwrap().stamp, *expected.last().unwrap());
    }
}

#[test]
fn equal_seq_is_won_by_the_larger_content_id() {
    let mut a = open(MemStorage::new(), StoreConfig::default());
    let mut b = open(MemStorage::new(), StoreConfig::default());
    a.apply_remote(remote(1, 2, 5, 8)).unwrap();
    a.apply_remote(remote(1, 2, 9, 8)).unwrap();
    b.apply_remote(remote(1, 2, 9, 8)).unwrap();
    let lost = b.apply_remote(remote(1, 2, 5, 8)).unwrap();
    assert_eq!(lost.change, Change::History);
    assert_eq!(a.get(id(1)).unwrap().stamp.content, content(9));
    assert_eq!(b.get(id(1)).unwrap().stamp.content, content(9));
}

// ----- capacity and eviction -------------------------------------------------

#[test]
fn eviction_takes_manifests_then_facilities_then_packages_lru_first() {
    // Each entry of 200 body bytes costs 200 + name + overhead.
    let (mut store, unit) = store_with_slots(6, 200);
    store.publish(draft(9, 9, 200)).unwrap(); // local: pinned
    store.apply_remote(remote(0, 1, 0, 200)).unwrap(); // manifest
    store.apply_remote(remote(1, 1, 1, 200)).unwrap(); // manifest
    store.apply_remote(remote(2, 1, 2, 200)).unwrap(); // facility
    let pkg = package(3, 200 + (unit - package(3, 200).footprint_bytes()) as usize);
    assert_eq!(pkg.footprint_bytes(), unit);
    store.cache_package(pkg.clone()).unwrap();
    store.touch(EntryKey::Item(id(0))).unwrap(); // manifest 0 now more recent than 1
    assert_eq!(
        store.eviction_queue().collect::<Vec<_>>(),
        [
            EntryKey::Item(id(1)),
            EntryKey::Item(id(0)),
            EntryKey::Item(id(2)),
            EntryKey::Package(pkg.content)
        ]
    );
    store.apply_remote(remote(4, 1, 4, 200)).unwrap(); // fills the 6th slot
    assert_eq!(store.used_bytes(), unit * 6);
    // Each further entry evicts exactly one, in the stated order.
    let mut evicted = Vec::new();
    for n in [5u8, 6, 7, 8] {
        let out = store.apply_remote(remote(n * 3, 1, n, 200)).unwrap();
        evicted.extend(out.evicted);
    }
    assert_eq!(
        evicted,
        [
            EntryKey::Item(id(1)),
            EntryKey::Item(id(0)),
            EntryKey::Item(id(4)),
            EntryKey::Item(id(15)),
        ]
    );
    assert!(store.used_bytes() <= store.config().capacity_bytes);
    assert!(store.contains(id(9)), "pinned local item stays");
    assert!(store.contains(id(2)), "facility outlives every manifest");
    assert!(
        store.package(pkg.content).is_some(),
        "package outlives every manifest"
    );
}

#[test]
fn pinned_items_are_never_evicted_and_a_full_store_rejects() {
    let (mut store, _) = store_with_slots(2, 100);
    store.publish(draft(0, 0, 100)).unwrap();
    store.publish(draft(1, 1, 100)).unwrap();
    let digest = store.state_digest();
    assert!(matches!(
        store.apply_remote(remote(3, 1, 3, 100)),
        Err(StoreError::Rejected(Reject::CapacityExceeded { .. }))
    ));
    assert!(matches!(
        store.publish(draft(0, 5, 100)),
        Err(StoreError::Rejected(Reject::CapacityExceeded { .. }))
    ));
    assert_eq!(store.state_digest(), digest);
    assert_eq!(store.eviction_queue().count(), 0);
}

#[test]
fn eviction_order_is_configurable_and_capacity_shrinks_at_open() {
    let config = StoreConfig {
        eviction_order: [ItemClass::Package, ItemClass::Manifest, ItemClass::Facility],
        ..StoreConfig::default()
    };
    let mut store = open(MemStorage::new(), config.clone());
    store.cache_package(package(1, 300)).unwrap();
    store.apply_remote(remote(0, 1, 0, 300)).unwrap();
    store.apply_remote(remote(2, 1, 2, 300)).unwrap();
    assert_eq!(
        store.eviction_queue().next(),
        Some(EntryKey::Package(package(1, 300).content))
    );
    let mut storage = store.into_storage();
    storage.close();
    let smaller = StoreConfig {
        capacity_bytes: remote(2, 1, 2, 300).footprint_bytes(),
        ..config
    };
    let (store, report) = Store::open(storage, smaller).unwrap();
    assert_eq!(report.evicted_at_open, 2);
    assert_eq!(store.packages().count(), 0);
    assert_eq!(store.items().map(|i| i.id).collect::<Vec<_>>(), [id(2)]);
    let bad = StoreConfig {
        eviction_order: [ItemClass::Package, ItemClass::Package, ItemClass::Facility],
        ..StoreConfig::default()
    };
    assert!(matches!(
        Store::open(MemStorage::new(), bad),
        Err(StoreError::InvalidConfig(_))
    ));
}

// ----- replay equals live state ------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Publish(u8, u8, usize),
    Remote(u8, u32, u8, usize),
    Cache(u8, usize),
    TouchItem(u8),
    TouchPackage(u8),
    Snapshot,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..8, 0u8..6, 0usize..400).prop_map(|(n, c, s)| Op::Publish(n, c, s)),
        5 => (0u8..8, 1u32..6, 0u8..6, 0usize..400).prop_map(|(n, q, c, s)| Op::Remote(n, q, c, s)),
        2 => (0u8..6, 0usize..600).prop_map(|(n, s)| Op::Cache(n, s)),
        2 => (0u8..8).prop_map(Op::TouchItem),
        1 => (0u8..6).prop_map(Op::TouchPackage),
        1 => Just(Op::Snapshot),
        1 => Just(Op::Reopen),
    ]
}

fn run(store: &mut Store<MemStorage>, op: &Op) {
    let result = match *op {
        Op::Publish(n, c, s) => store.publish(draft(n, c, s)).map(drop),
        Op::Remote(n, q, c, s) => store.apply_remote(remote(n, q, c, s)).map(drop),
        Op::Cache(n, s) => store.cache_package(package(n, s)).map(drop),
        Op::TouchItem(n) => store.touch(EntryKey::Item(id(n))),
        Op::TouchPackage(n) => store.touch(EntryKey::Package(package(n, 0).content)),
        Op::Snapshot => store.snapshot(),
        Op::Reopen => {
            let (reopened, _) = reopen_copy(store);
            *store = reopened;
            Ok(())
        }
    };
    match result {
        Ok(()) | Err(StoreError::Rejected(Reject::CapacityExceeded { .. })) => {}
        Err(e) => panic!("{op:?}: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Replaying the log (from the last snapshot) rebuilds exactly the state
    /// the live store built: items, versions, pins, packages, LRU clock.
    #[test]
    fn replay_equals_live_state(ops in proptest::collection::vec(op(), 1..80)) {
        let mut store = open(MemStorage::new(), small_config());
        for op in &ops {
            run(&mut store, op);
            prop_assert!(store.used_bytes() <= store.config().capacity_bytes);
        }
        let (replayed, report) = reopen_copy(&store);
        prop_assert_eq!(report.recovery.truncated_bytes, 0);
        prop_assert_eq!(replayed.state_digest(), store.state_digest());
        prop_assert_eq!(catalogue(&replayed), catalogue(&store));
        prop_assert_eq!(replayed.eviction_queue().collect::<Vec<_>>(), store.eviction_queue().collect::<Vec<_>>());
        prop_assert_eq!(replayed.clock(), store.clock());
    }

    /// A crash loses only unsynced bytes — at most trailing touches — so the
    /// catalogue after recovery is the acknowledged one.
    #[test]
    fn crash_keeps_every_acknowledged_write(ops in proptest::collection::vec(op(), 1..60), keep in 0usize..64) {
        let mut store = open(MemStorage::new(), small_config());
        for op in &ops {
            run(&mut store, op);
        }
        let mut storage = store.storage().clone();
        storage.crash(keep);
        let (recovered, _) = Store::open(storage, small_config()).unwrap();
        prop_assert_eq!(catalogue(&recovered), catalogue(&store));
    }
}

// ----- recovery at every byte of the last record ---------------------------

fn three_item_store() -> Store<MemStorage> {
    let mut store = open(MemStorage::new(), StoreConfig::default());
    store.publish(draft(1, 1, 40)).unwrap();
    store.publish(draft(2, 2, 40)).unwrap();
    store.apply_remote(remote(3, 4, 3, 40)).unwrap();
    store
}

#[test]
fn a_log_cut_at_every_byte_of_its_last_record_recovers_the_rest() {
    let store = three_item_store();
    let full = store.storage().log_image().to_vec();
    let mut last_start = 0;
    super::record::replay_frames(&full, MAX_RECORD_BYTES, &mut |p| {
        last_start = full.len() - p.len() - super::record::FRAME_HEADER_BYTES;
        true
    })
    .unwrap();
    assert!(last_start > 0);
    for cut in last_start..full.len() {
        let mut storage = MemStorage::new();
        storage.log_image_mut().extend_from_slice(&full[..cut]);
        let (mut recovered, report) = Store::open(storage, StoreConfig::default()).unwrap();
        assert_eq!(report.events_replayed, 2, "cut at {cut}");
        assert_eq!(report.recovery.truncated_bytes, (cut - last_start) as u64);
        assert_eq!(recovered.len(), 2);
        assert!(!recovered.contains(id(3)));
        assert_eq!(recovered.storage().log_image(), &full[..last_start]);
        // The recovered log takes new appends and replays them.
        recovered.apply_remote(remote(3, 4, 3, 40)).unwrap();
        let (again, _) = reopen_copy(&recovered);
        assert_eq!(again.state_digest(), store.state_digest());
    }
}

#[test]
fn damage_in_the_last_record_is_cut_and_inside_the_log_is_refused() {
    let store = three_item_store();
    let full = store.storage().log_image().to_vec();
    let first_len = {
        let (_, n) = super::record::decode_frame(&full, MAX_RECORD_BYTES).unwrap();
        n
    };
    let second_len = super::record::decode_frame(&full[first_len..], MAX_RECORD_BYTES)
        .unwrap()
        .1;
    let last_start = first_len + second_len;
    for at in last_start..full.len() {
        let mut storage = MemStorage::new();
        storage.log_image_mut().extend_from_slice(&full);
        storage.log_image_mut()[at] ^= 0x5a;
        let (recovered, report) = Store::open(storage, StoreConfig::default()).unwrap();
        assert_eq!(recovered.len(), 2, "damage at {at}");
        assert_eq!(report.recovery.torn_at, Some(last_start as u64));
    }
    for at in 0..last_start {
        let mut storage = MemStorage::new();
        storage.log_image_mut().extend_from_slice(&full);
        storage.log_image_mut()[at] ^= 0x5a;
        match Store::open(storage, StoreConfig::default()) {
            Err(StoreError::Storage(StorageError::CorruptLog { offset, .. })) => {
                assert!(offset as usize <= at, "damage at {at} reported at {offset}");
            }
            other => panic!("damage at {at}: expected CorruptLog, got {other:?}"),
        }
    }
}

// ----- snapshots and failures --------------------------------------------------

#[test]
fn snapshot_empties_the_log_and_reopens_equal() {
    let mut store = three_item_store();
    store.cache_package(package(1, 10)).unwrap();
    store.snapshot().unwrap();
    assert_eq!(store.storage().log_bytes(), 0);
    store.apply_remote(remote(5, 1, 5, 10)).unwrap();
    let (replayed, report) = reopen_copy(&store);
    assert!(report.from_snapshot);
    assert_eq!(report.events_replayed, 1);
    assert_eq!(replayed.state_digest(), store.state_digest());
}

#[test]
fn automatic_snapshots_bound_the_log() {
    let config = StoreConfig {
        snapshot_min_log_bytes: 2_000,
        ..StoreConfig::default()
    };
    let mut store = open(MemStorage::new(), config);
    for n in 0..200u8 {
        store
            .apply_remote(remote(n % 4, u32::from(n) + 1, n, 50))
            .unwrap();
        let bound = 2_000.max(store.used_bytes()) + 400;
        assert!(store.storage().log_bytes() <= bound);
    }
    let (replayed, report) = reopen_copy(&store);
    assert!(report.from_snapshot);
    assert_eq!(replayed.state_digest(), store.state_digest());
}

#[test]
fn a_failed_write_poisons_until_reopened() {
    let store = three_item_store();
    let before = catalogue(&store);
    let mut storage = store.into_storage();
    storage.set_fail_writes(true);
    storage.close();
    // Replay only reads, so it works on a disk that fails writes.
    let (mut failing, _) = Store::open(storage, StoreConfig::default()).unwrap();
    assert!(matches!(
        failing.publish(draft(8, 8, 8)),
        Err(StoreError::Storage(StorageError::Io { .. }))
    ));
    assert!(matches!(
        failing.publish(draft(9, 9, 9)),
        Err(StoreError::Poisoned)
    ));
    assert!(matches!(
        failing.touch(EntryKey::Item(id(1))),
        Err(StoreError::Poisoned)
    ));
    let mut storage = failing.into_storage();
    storage.set_fail_writes(false);
    storage.crash(0);
    let (recovered, _) = Store::open(storage, StoreConfig::default()).unwrap();
    assert_eq!(catalogue(&recovered), before);
}
