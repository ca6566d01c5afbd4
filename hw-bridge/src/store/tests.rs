//! Disk store tests: reopen, locking, a log cut or damaged at every byte of
//! its last record, crashes at every step of a snapshot install, and a
//! process killed with SIGKILL mid-write losing no acknowledged record.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use catalogue::Format;
use catalogue::id::{ContentId, ItemId, ItemKind};
use node_core::store::VersionStamp;
use node_core::store::{Change, Draft, EntryKey, Store, StoreConfig, StoreError, StoredItem};

use super::*;

fn id(n: u32) -> ItemId {
    let mut out = [0u8; 16];
    out.copy_from_slice(&ContentId::of(&n.to_le_bytes()).0[..16]);
    ItemId(out)
}

fn draft(n: u32, version: u32) -> Draft {
    let bytes = format!(
        "manifest {n} version {version} {}",
        "x".repeat((n % 97) as usize)
    )
    .into_bytes();
    Draft {
        kind: if n.is_multiple_of(5) {
            ItemKind::Facility
        } else {
            ItemKind::Manifest
        },
        id: id(n),
        content: ContentId::of(&bytes),
        name: format!("design {n}"),
        format: Format::Yaml,
        bytes,
    }
}

fn open_store(dir: &Path, config: StoreConfig) -> Store<DiskStorage> {
    super::open_store(dir, config).expect("store opens").0
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

#[test]
fn reopen_replays_and_a_second_open_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let digest = {
        let mut store = open_store(dir.path(), StoreConfig::default());
        for n in 0..20 {
            assert_eq!(store.publish(draft(n, 0)).unwrap().change, Change::Added);
        }
        store.publish(draft(3, 1)).unwrap();
        store.touch(EntryKey::Item(id(4))).unwrap();
        assert!(matches!(
            DiskStorage::open(dir.path()),
            Err(StorageError::Locked { .. })
        ));
        store.sync().unwrap();
        store.state_digest()
    };
    let (store, report) = Store::open(
        DiskStorage::open(dir.path()).unwrap(),
        StoreConfig::default(),
    )
    .unwrap();
    assert_eq!(report.events_replayed, 22);
    assert_eq!(report.recovery.truncated_bytes, 0);
    assert_eq!(store.state_digest(), digest);
    assert_eq!(store.history(id(3)).len(), 2);
}

#[test]
fn snapshots_rotate_the_log_and_reopen_equal() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        snapshot_min_log_bytes: 4_000,
        ..StoreConfig::default()
    };
    let digest = {
        let mut store = open_store(dir.path(), config.clone());
        for n in 0..200 {
            store.publish(draft(n % 30, n)).unwrap();
        }
        assert!(store.storage().generation() > 0);
        assert!(store.storage().log_bytes() <= 4_000.max(store.used_bytes()) + 300);
        store.state_digest()
    };
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("log-")).count(),
        1,
        "{names:?}"
    );
    assert!(names.iter().all(|n| !n.ends_with(".tmp")));
    let (store, report) = Store::open(DiskStorage::open(dir.path()).unwrap(), config).unwrap();
    assert!(report.from_snapshot);
    assert_eq!(store.state_digest(), digest);
}

/// A store with three records; returns the log path and where its last
/// record starts.
fn three_records(dir: &Path) -> (PathBuf, u64) {
    let mut store = open_store(dir, StoreConfig::default());
    store.publish(draft(1, 0)).unwrap();
    store.publish(draft(2, 0)).unwrap();
    let before_last = file_len(store.storage().log_path());
    store.publish(draft(3, 0)).unwrap();
    (store.storage().log_path().to_path_buf(), before_last)
}

#[test]
fn a_log_cut_at_every_byte_of_its_last_record_recovers_to_the_record_before() {
    let dir = tempfile::tempdir().unwrap();
    let (log, last_start) = three_records(dir.path());
    let full = fs::read(&log).unwrap();
    for cut in last_start..full.len() as u64 {
        fs::write(&log, &full[..cut as usize]).unwrap();
        let (mut store, report) = Store::open(
            DiskStorage::open(dir.path()).unwrap(),
            StoreConfig::default(),
        )
        .unwrap();
        assert_eq!(report.events_replayed, 2, "cut at {cut}");
        assert_eq!(report.recovery.truncated_bytes, cut - last_start);
        assert_eq!(file_len(&log), last_start, "torn tail truncated on disk");
        assert!(store.contains(id(2)) && !store.contains(id(3)));
        // The recovered log accepts appends that survive the next open.
        store.publish(draft(3, 0)).unwrap();
        drop(store);
        let store = open_store(dir.path(), StoreConfig::default());
        assert_eq!(store.len(), 3);
        assert_eq!(fs::read(&log).unwrap(), full);
    }
}

#[test]
fn a_cut_is_reported_with_the_file_the_offset_and_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (log, last_start) = three_records(dir.path());
    let store = open_store(dir.path(), StoreConfig::default());
    assert_eq!(store.storage().recovery_note(), None);
    assert_eq!(store.storage().recovery().unwrap().records, 3);
    drop(store);
    let full = fs::read(&log).unwrap();
    fs::write(&log, &full[..full.len() - 5]).unwrap();
    let store = open_store(dir.path(), StoreConfig::default());
    let cut = full.len() as u64 - 5 - last_start;
    let note = store.storage().recovery_note().expect("a cut is reported");
    assert_eq!(
        note,
        format!(
            "{}: cut a torn last record at byte {last_start} ({cut} bytes: an append that was never acknowledged); 2 records kept",
            log.display()
        )
    );
}

#[test]
fn damage_in_the_last_record_is_cut_and_damage_before_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (log, last_start) = three_records(dir.path());
    let full = fs::read(&log).unwrap();
    let header_len = {
        let (_, n) = parse_header(&full, LOG_MAGIC, &log).unwrap();
        n as u64
    };
    for at in last_start..full.len() as u64 {
        let mut bad = full.clone();
        bad[at as usize] ^= 0x21;
        fs::write(&log, &bad).unwrap();
        let (store, report) = Store::open(
            DiskStorage::open(dir.path()).unwrap(),
            StoreConfig::default(),
        )
        .unwrap();
        assert_eq!(store.len(), 2, "damage at {at}");
        assert_eq!(report.recovery.torn_at, Some(last_start));
    }
    for at in header_len..last_start {
        let mut bad = full.clone();
        bad[at as usize] ^= 0x21;
        fs::write(&log, &bad).unwrap();
        match Store::open(
            DiskStorage::open(dir.path()).unwrap(),
            StoreConfig::default(),
        ) {
            Err(StoreError::Storage(StorageError::CorruptLog { offset, .. })) => {
                assert!(offset >= header_len && offset <= at);
            }
            other => panic!("damage at {at}: expected CorruptLog, got {other:?}"),
        }
        assert_eq!(
            fs::read(&log).unwrap(),
            bad,
            "a refused log is left untouched"
        );
    }
    for at in 0..header_len {
        let mut bad = full.clone();
        bad[at as usize] ^= 0x21;
        fs::write(&log, &bad).unwrap();
        let mut storage = DiskStorage::open(dir.path()).unwrap();
        assert!(matches!(
            storage.replay(&mut |_| true),
            Err(StorageError::Corrupt { .. })
        ));
    }
}

fn copy_dir(from: &Path, to: &Path, skip: &[&str]) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if !skip.contains(&name.as_str()) {
            fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn a_crash_at_any_step_of_a_snapshot_install_keeps_the_state() {
    let root = tempfile::tempdir().unwrap();
    let before = root.path().join("before");
    let after = root.path().join("after");
    let digest = {
        let mut store = open_store(&before, StoreConfig::default());
        for n in 0..10 {
            store.publish(draft(n, 0)).unwrap();
        }
        drop(store);
        copy_dir(&before, &after, &["LOCK"]);
        let mut store = open_store(&after, StoreConfig::default());
        store.snapshot().unwrap();
        store.state_digest()
    };
    let log0 = log_name(0);
    let log1 = log_name(1);
    // Every state the directory can be left in by a crash during install.
    type Setup<'a> = Box<dyn Fn(&Path) + 'a>;
    let cases: Vec<(&str, Setup)> = vec![
        (
            "temp snapshot written",
            Box::new(|d: &Path| {
                copy_dir(&before, d, &["LOCK"]);
                fs::copy(after.join(SNAPSHOT_FILE), d.join("snapshot.oks.tmp")).unwrap();
            }),
        ),
        (
            "new log renamed, snapshot not",
            Box::new(|d: &Path| {
                copy_dir(&before, d, &["LOCK"]);
                fs::copy(after.join(SNAPSHOT_FILE), d.join("snapshot.oks.tmp")).unwrap();
                fs::copy(after.join(&log1), d.join(&log1)).unwrap();
            }),
        ),
        (
            "snapshot renamed, old log not deleted",
            Box::new(|d: &Path| {
                copy_dir(&after, d, &["LOCK"]);
                fs::copy(before.join(&log0), d.join(&log0)).unwrap();
            }),
        ),
        (
            "install complete",
            Box::new(|d: &Path| copy_dir(&after, d, &["LOCK"])),
        ),
    ];
    for (i, (what, make)) in cases.iter().enumerate() {
        let dir = root.path().join(format!("case{i}"));
        make(&dir);
        let (store, _) = Store::open(DiskStorage::open(&dir).unwrap(), StoreConfig::default())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(store.state_digest(), digest, "{what}");
        let logs = fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("log-")
            })
            .count();
        assert_eq!(logs, 1, "{what}: leftovers cleaned");
    }
    // A damaged snapshot or a missing log is an error, never an empty store.
    let dir = root.path().join("damaged");
    copy_dir(&after, &dir, &["LOCK"]);
    let mut snap = fs::read(dir.join(SNAPSHOT_FILE)).unwrap();
    let last = snap.len() - 1;
    snap[last] ^= 1;
    fs::write(dir.join(SNAPSHOT_FILE), snap).unwrap();
    assert!(matches!(
        DiskStorage::open(&dir),
        Err(StorageError::Corrupt { .. })
    ));
    let dir = root.path().join("no-log");
    copy_dir(&after, &dir, &["LOCK", &log1]);
    assert!(matches!(
        DiskStorage::open(&dir),
        Err(StorageError::Corrupt { .. })
    ));
    let dir = root.path().join("no-snapshot");
    copy_dir(&after, &dir, &["LOCK", SNAPSHOT_FILE]);
    assert!(matches!(
        DiskStorage::open(&dir),
        Err(StorageError::Corrupt { .. })
    ));
}

// ----- SIGKILL ---------------------------------------------------------------

const CHILD_DIR_ENV: &str = "OKMESH_STORE_KILL_CHILD_DIR";
const CHILD_START_ENV: &str = "OKMESH_STORE_KILL_CHILD_START";
const CHILD_TEST: &str = "store::tests::sigkill_child_writer";

fn kill_config() -> StoreConfig {
    StoreConfig {
        // Few items, many versions, two kept: the log churns, so snapshots
        // are installed every few dozen writes and kills land around them too.
        max_versions: 2,
        snapshot_min_log_bytes: 3_000,
        ..StoreConfig::default()
    }
}

/// Items the SIGKILL child cycles through.
const KILL_ITEMS: u32 = 16;

/// The `n`th publish of the SIGKILL child: a new version of item `n % 16`.
fn kill_draft(n: u32) -> Draft {
    let mut d = draft(n % KILL_ITEMS, n);
    d.bytes = format!("version {n} of {}", n % KILL_ITEMS).into_bytes();
    d.content = ContentId::of(&d.bytes);
    d
}

/// Child half of [`sigkill_loses_no_acknowledged_record`]: publishes
/// forever and prints `ack <n> <seq>` after each acknowledged publish.
/// Ignored unless run by the parent with its environment.
#[test]
#[ignore = "child process of sigkill_loses_no_acknowledged_record"]
fn sigkill_child_writer() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    let start: u32 = std::env::var(CHILD_START_ENV).unwrap().parse().unwrap();
    let mut store = open_store(Path::new(&dir), kill_config());
    let mut out = std::io::stdout().lock();
    for n in start.. {
        let outcome = store.publish(kill_draft(n)).unwrap();
        writeln!(out, "ack {n} {}", outcome.stamp.seq).unwrap();
        out.flush().unwrap();
    }
}

#[cfg(unix)]
#[test]
fn sigkill_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<(u32, VersionStamp)> = Vec::new();
    let mut next = 0u32;
    let mut generations = 0;
    // Kill after different numbers of acks, so the kill lands at different
    // points of appends, fsyncs and snapshot installs.
    for (round, kill_after) in [25usize, 60, 7, 90, 40, 33].into_iter().enumerate() {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                CHILD_TEST,
                "--nocapture",
                "--include-ignored",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_ENV, dir.path())
            .env(CHILD_START_ENV, next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut this_round = 0;
        let mut killed = false;
        // Read until EOF: acks printed before the kill landed still count.
        while let Some(Ok(line)) = lines.next() {
            // The harness prints "test … ... " without a newline before
            // the child's first line.
            let Some(at) = line.find("ack ") else {
                continue;
            };
            let fields: Vec<&str> = line[at + 4..].split(' ').collect();
            assert_eq!(fields.len(), 2, "ack line {line:?}");
            let n: u32 = fields[0].parse().unwrap();
            let seq: u32 = fields[1].parse().unwrap();
            assert_eq!(n, next, "acks come in order");
            acked.push((
                n,
                VersionStamp {
                    seq,
                    content: kill_draft(n).content,
                },
            ));
            next = n + 1;
            this_round += 1;
            if this_round == kill_after && !killed {
                child.kill().unwrap(); // SIGKILL on unix
                killed = true;
            }
        }
        let status = child.wait().unwrap();
        assert!(killed, "round {round}: child exited by itself: {status:?}");

        // Every acknowledged version is there after recovery, unless the
        // retention policy has since replaced it by newer acknowledged ones.
        let (store, report) =
            Store::open(DiskStorage::open(dir.path()).unwrap(), kill_config()).unwrap();
        for (n, stamp) in &acked {
            let history = store.history(id(n % KILL_ITEMS));
            let held = history.iter().any(|v| v.stamp == *stamp);
            let superseded = history.len() == kill_config().max_versions
                && history.iter().all(|v| v.stamp > *stamp);
            assert!(
                held || superseded,
                "round {round}: acked publish {n} {stamp:?} lost (recovery {report:?})"
            );
        }
        // Beyond the acks, at most the publish in flight at the kill is durable.
        for k in 0..KILL_ITEMS {
            let Some(current) = store.get(id(k)) else {
                assert!(acked.iter().all(|(n, _)| n % KILL_ITEMS != k));
                continue;
            };
            let last_acked = acked.iter().rev().find(|(n, _)| n % KILL_ITEMS == k);
            if Some(current.stamp) != last_acked.map(|(_, s)| *s) {
                assert_eq!(
                    next % KILL_ITEMS,
                    k,
                    "round {round}: unexpected version of {k}"
                );
                assert_eq!(current.stamp.content, kill_draft(next).content);
            }
        }
        generations = store.storage().generation();
    }
    assert!(acked.len() >= 255);
    assert!(
        generations >= 3,
        "the run installed {generations} snapshots"
    );
}

#[test]
fn items_survive_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let item = StoredItem {
        kind: ItemKind::Manifest,
        id: id(7),
        stamp: VersionStamp {
            seq: 3,
            content: ContentId([7; 32]),
        },
        name: "Ventilator — «ünïcode»".to_owned(),
        format: Format::Toml,
        bytes: (0..=255u8).cycle().take(5_000).collect(),
        author: None,
    };
    {
        let mut store = open_store(dir.path(), StoreConfig::default());
        store.apply_remote(item.clone()).unwrap();
    }
    let store = open_store(dir.path(), StoreConfig::default());
    assert_eq!(store.get(id(7)), Some(&item));
}

#[test]
fn a_partial_package_survives_a_restart_on_disk_and_a_torn_tail() {
    use node_core::identity::Keypair;
    use node_core::packages::{CacheConfig, Package};
    let manifest = b"title: Disk lamp\ndescription: a lamp\nlicense: CC0-1.0\nproject-link: https://example.org/lamp\n".to_vec();
    let files = vec![
        ("okh.yaml".to_string(), manifest),
        (
            "lamp.stl".to_string(),
            (0..20_000u32).map(|i| (i % 241) as u8).collect(),
        ),
    ];
    let p = Package::build(files, "okh.yaml", 4096, &Keypair::derive(3, "disk", 0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = {
        let (mut cache, _) = open_package_cache(dir.path(), CacheConfig::default()).unwrap();
        cache.add_record(p.record().clone()).unwrap();
        for i in [0, 2, 4] {
            cache.add_piece(&p.piece(i).unwrap()).unwrap();
        }
        cache.storage().log_path().to_path_buf()
    };
    // A torn append after the last acknowledged piece.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(&[0x55; 7])
        .unwrap();
    let (mut cache, report) = open_package_cache(dir.path(), CacheConfig::default()).unwrap();
    assert_eq!(report.recovery.truncated_bytes, 7);
    assert_eq!(cache.have(p.id()).collect::<Vec<_>>(), [0, 2, 4]);
    for i in [1, 3] {
        cache.add_piece(&p.piece(i).unwrap()).unwrap();
    }
    drop(cache);
    let (cache, _) = open_package_cache(dir.path(), CacheConfig::default()).unwrap();
    assert_eq!(cache.package(p.id()), Some(p));
}
