//! Store benchmarks: replay of a 100,000-event log (target ≤ 1 s) on the
//! in-memory and the on-disk backend, opening from a snapshot, and append
//! throughput with fsync.
//!
//! The log mix, deterministic from a fixed seed: 60% item versions (10,000
//! items, 80% manifests, bodies 300–2,700 bytes, mean 1.5 KB like the OKH
//! corpus), 30% touches, 10% cached packages of 2–4 KB — about 130 MB of
//! log. The disk figures read the log from a file in a temp dir (warm page
//! cache after the first sample); the fsync figures depend on the disk the
//! temp dir is on.

use std::hint::black_box;

use catalogue::Format;
use catalogue::id::{ContentId, ItemId, ItemKind};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hw_bridge::store::DiskStorage;
use node_core::Rng;
use node_core::store::VersionStamp;
use node_core::store::{
    CachedPackage, Draft, EntryKey, Event, MemStorage, Origin, Storage, Store, StoreConfig,
    StoredItem,
};

const EVENTS: usize = 100_000;
const ITEMS: u64 = 10_000;

fn item_id(n: u64) -> ItemId {
    let mut id = [0u8; 16];
    id.copy_from_slice(&ContentId::of(&n.to_le_bytes()).0[..16]);
    ItemId(id)
}

fn body(rng: &mut Rng, lo: u64, hi: u64, tag: u64) -> Vec<u8> {
    let len = rng.range_inclusive(lo, hi) as usize;
    let line = format!("title: design {tag}\nfunction: something useful to build\n");
    line.bytes().cycle().take(len).collect()
}

/// The benchmark's event log, in order.
fn events() -> Vec<Event> {
    let mut rng = Rng::derive(7, "store-bench", 0);
    let mut seqs = vec![0u32; ITEMS as usize];
    let mut out = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS as u64 {
        let event = match i % 10 {
            0..=5 => {
                let n = rng.below(ITEMS);
                seqs[n as usize] += 1;
                let bytes = body(&mut rng, 300, 2_700, n);
                Event::Put {
                    origin: Origin::Remote,
                    item: StoredItem {
                        kind: if n.is_multiple_of(5) {
                            ItemKind::Facility
                        } else {
                            ItemKind::Manifest
                        },
                        id: item_id(n),
                        stamp: VersionStamp {
                            seq: seqs[n as usize],
                            content: ContentId::of(&bytes),
                        },
                        name: format!("Design number {n}"),
                        format: Format::Yaml,
                        bytes,
                        author: None,
                    },
                }
            }
            6..=8 => Event::Touch(EntryKey::Item(item_id(rng.below(ITEMS)))),
            _ => {
                let bytes = body(&mut rng, 2_000, 4_000, i);
                Event::PackageCached(CachedPackage {
                    design: item_id(rng.below(ITEMS)),
                    content: ContentId::of(&bytes),
                    bytes,
                })
            }
        };
        out.push(event);
    }
    out
}

/// No snapshot and no eviction: replay starts from zero.
fn replay_config() -> StoreConfig {
    StoreConfig {
        capacity_bytes: u64::MAX,
        snapshot_min_log_bytes: u64::MAX,
        ..StoreConfig::default()
    }
}

fn fill(storage: &mut impl Storage, events: &[Event]) {
    storage.replay(&mut |_| true).unwrap();
    let mut buf = Vec::new();
    for e in events {
        buf.clear();
        e.encode(&mut buf);
        storage.append(&buf).unwrap();
    }
    storage.sync().unwrap();
}

fn replay(c: &mut Criterion) {
    let events = events();
    let mut mem = MemStorage::new();
    fill(&mut mem, &events);
    mem.close();
    let dir = tempfile::tempdir().unwrap();
    {
        let mut disk = DiskStorage::open(dir.path()).unwrap();
        fill(&mut disk, &events);
    }
    let snap_dir = tempfile::tempdir().unwrap();
    {
        let mut disk = DiskStorage::open(snap_dir.path()).unwrap();
        fill(&mut disk, &events);
        drop(disk);
        let storage = DiskStorage::open(snap_dir.path()).unwrap();
        let (mut store, _) = Store::open(storage, replay_config()).unwrap();
        store.snapshot().unwrap();
    }
    drop(events);
    #[allow(clippy::print_stderr)] // describes the workload next to the figures
    {
        eprintln!(
            "store bench: {EVENTS} events, log {} bytes, snapshot {} bytes",
            mem.log_image().len(),
            std::fs::metadata(snap_dir.path().join("snapshot.oks"))
                .unwrap()
                .len()
        );
    }

    let mut group = c.benchmark_group("store_replay_100k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("memory", |b| {
        b.iter_batched(
            || mem.clone(),
            |storage| {
                let (store, report) = Store::open(storage, replay_config()).unwrap();
                assert_eq!(report.events_replayed, EVENTS as u64);
                store
            },
            BatchSize::PerIteration,
        )
    });
    // The floor under replay: verifying every frame's checksum, no decoding.
    group.bench_function("memory_checksums_only", |b| {
        let image = mem.log_image();
        b.iter(|| {
            let scan = node_core::store::record::replay_frames(
                image,
                node_core::store::MAX_RECORD_BYTES,
                &mut |p| {
                    black_box(p);
                    true
                },
            );
            assert_eq!(scan.unwrap().frames, EVENTS as u64);
        })
    });
    group.bench_function("disk", |b| {
        b.iter_with_large_drop(|| {
            let storage = DiskStorage::open(dir.path()).unwrap();
            let (store, report) = Store::open(storage, replay_config()).unwrap();
            assert_eq!(report.events_replayed, EVENTS as u64);
            store
        })
    });
    group.bench_function("disk_from_snapshot", |b| {
        b.iter_with_large_drop(|| {
            let storage = DiskStorage::open(snap_dir.path()).unwrap();
            let (store, report) = Store::open(storage, replay_config()).unwrap();
            assert!(report.from_snapshot);
            store
        })
    });
    group.finish();
}

fn draft(rng: &mut Rng, n: u64) -> Draft {
    let bytes = body(rng, 300, 2_700, n);
    Draft {
        kind: ItemKind::Manifest,
        id: item_id(n),
        content: ContentId::of(&bytes),
        name: format!("Design number {n}"),
        format: Format::Yaml,
        bytes,
    }
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("store_append_fsync");
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(
        DiskStorage::open(dir.path()).unwrap(),
        StoreConfig::default(),
    )
    .unwrap()
    .0;
    let mut rng = Rng::derive(7, "store-bench-append", 0);
    let mut n = 0u64;
    group.throughput(Throughput::Elements(1));
    group.bench_function("publish_one", |b| {
        b.iter_batched(
            || {
                n += 1;
                draft(&mut rng, n)
            },
            |d| black_box(store.publish(d).unwrap()),
            BatchSize::SmallInput,
        )
    });
    group.throughput(Throughput::Elements(100));
    group.bench_function("publish_batch_100", |b| {
        b.iter_batched(
            || {
                (0..100)
                    .map(|_| {
                        n += 1;
                        draft(&mut rng, n)
                    })
                    .collect::<Vec<_>>()
            },
            |batch| black_box(store.publish_batch(batch).unwrap()),
            BatchSize::SmallInput,
        )
    });
    group.finish();
    drop(store);

    let mut group = c.benchmark_group("store_append_fsync_raw");
    let raw_dir = tempfile::tempdir().unwrap();
    let mut storage = DiskStorage::open(raw_dir.path()).unwrap();
    storage.replay(&mut |_| true).unwrap();
    let record = vec![0x5a; 1_500];
    group.throughput(Throughput::Bytes(record.len() as u64));
    group.bench_function("append_sync_1500B", |b| {
        b.iter(|| {
            storage.append(&record).unwrap();
            storage.sync().unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, replay, append);
criterion_main!(benches);
