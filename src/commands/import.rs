//! `okmesh import`: OKH manifests and OKW facilities from files and folders
//! into the on-disk catalogue store.
//!
//! Each file is read, classified (manifest or facility, see [`Kind`]),
//! parsed, and turned into store drafts: one per manifest, one per facility —
//! a makerspace list (a JSON array) gives one item per entry, whose bytes are
//! that entry's own bytes in the file. Every draft is read back the way
//! `--db` will read it ([`super::db`]) before it is published, so the store
//! never holds an item that would come back different.
//!
//! Drafts are published in batches of [`BATCH_ITEMS`] items or
//! [`BATCH_BYTES`] bytes, one fsync per batch. A file whose content the store
//! already holds — as the current version or in history — is `unchanged` and
//! not published again: importing the same files twice changes nothing, and
//! an import never re-publishes an old version over a newer one. Files of one
//! design (same item id) are published in path order, so the last one
//! becomes the current version.
//!
//! A file that cannot be read or parsed is `skipped` with its reason (file,
//! line, field), the others are still imported, and the exit code is 2. An
//! item the store refuses (full, too large) is `rejected`, exit code 1.
//! Files in an `atoms` folder (Wikidata atom definitions) are neither
//! manifests nor facilities: they are `ignored`, which is reported but is not
//! an error. Every warning of a file (an unknown key, a likely typo, a
//! recovered syntax error, a shape kept as is) is printed on its own line
//! under the file's; `--quiet` leaves them out (the counts stay).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use catalogue::document::{ParseError, Warning};
use catalogue::entry::entries;
use catalogue::id::{ContentId, ItemId, ItemKind};
use clap::{Args, ValueEnum};
use hw_bridge::store::DiskStorage;
use node_core::store::{Draft, PutOutcome, Reject, Store, StoreError};
use serde_json::{Value, json};

use super::CliError;
use super::db;
use super::kb::{self, Kind};
use super::out::outln;

/// Most items in one published batch (one fsync each).
pub(crate) const BATCH_ITEMS: usize = 1024;
/// Most item bytes in one published batch.
pub(crate) const BATCH_BYTES: usize = 32 << 20;

/// Arguments of `okmesh import`.
#[derive(Args, Debug)]
pub(crate) struct ImportArgs {
    /// OKH / OKW files, or folders to read recursively (.toml, .yml, .yaml, .json).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The store folder (created if missing or empty).
    #[arg(long, value_name = "DIR")]
    db: PathBuf,
    /// What the files are; `auto` tells by folder name, then file name, then content.
    #[arg(long, value_enum, default_value_t = KindArg::Auto)]
    kind: KindArg,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Do not print each warning (their count per file is still shown).
    #[arg(long)]
    quiet: bool,
}

/// `--kind`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum KindArg {
    /// The innermost `okw`/`okh` folder, else `okw`/`okh` in the file name,
    /// else the content: a list is facilities, a mapping a manifest. Files
    /// in `atoms` folders are ignored.
    Auto,
    /// Every file is an OKH manifest.
    Okh,
    /// Every file holds OKW facilities.
    Okw,
}

/// What happened to one item.
#[derive(Clone, Debug)]
enum ItemOutcome {
    /// First version stored.
    New,
    /// A new current version.
    NewVersion,
    /// Already held (as current or in history) at this seq.
    Unchanged,
    /// Refused by the store, or would not read back; the reason.
    Rejected(String),
    /// Waiting for its batch.
    Pending,
}

impl ItemOutcome {
    fn as_str(&self) -> &'static str {
        match self {
            ItemOutcome::New => "new",
            ItemOutcome::NewVersion => "new version",
            ItemOutcome::Unchanged => "unchanged",
            ItemOutcome::Rejected(_) => "rejected",
            ItemOutcome::Pending => "pending",
        }
    }
}

/// One item of a file.
struct ItemReport {
    name: String,
    id: ItemId,
    content: ContentId,
    seq: Option<u32>,
    outcome: ItemOutcome,
}

/// One file.
struct FileReport {
    file: String,
    kind: Option<ItemKind>,
    items: Vec<ItemReport>,
    warnings: Vec<Warning>,
    /// Why the file was not imported at all (bad input).
    skipped: Option<Skip>,
    /// Why the file was left out on purpose.
    ignored: Option<&'static str>,
}

/// A bad file: the message and, when known, where.
struct Skip {
    message: String,
    line: Option<u32>,
    field: Option<String>,
}

impl Skip {
    fn parse(e: &ParseError) -> Skip {
        Skip {
            message: e.to_string(),
            line: e.line(),
            field: e.field().map(str::to_owned),
        }
    }

    fn other(e: CliError) -> Skip {
        Skip {
            message: e.to_string(),
            line: None,
            field: None,
        }
    }
}

/// A draft and where its outcome goes.
struct Pending {
    draft: Draft,
    file: usize,
    item: usize,
}

/// Parses one file into its report and drafts.
fn read_file(path: &Path, kind_arg: KindArg) -> (FileReport, Vec<Draft>) {
    let file = path.display().to_string();
    let mut report = FileReport {
        file: file.clone(),
        kind: None,
        items: Vec::new(),
        warnings: Vec::new(),
        skipped: None,
        ignored: None,
    };
    let bytes = match kb::read(path) {
        Ok(b) => b,
        Err(e) => {
            report.skipped = Some(Skip::other(e));
            return (report, Vec::new());
        }
    };
    let kind = match kind_arg {
        KindArg::Okh => Kind::Manifest,
        KindArg::Okw => Kind::Facility,
        KindArg::Auto => kb::classify(path, &bytes),
    };
    let kind = match kind {
        Kind::Ignored(why) => {
            report.ignored = Some(why);
            return (report, Vec::new());
        }
        Kind::Manifest => ItemKind::Manifest,
        Kind::Facility => ItemKind::Facility,
    };
    report.kind = Some(kind);
    match entries(kind, &bytes, &file) {
        Ok(read) => {
            report.warnings = read.warnings;
            (report, read.entries)
        }
        Err(e) => {
            report.skipped = Some(Skip::parse(&e));
            (report, Vec::new())
        }
    }
}

/// Publishes the pending batch and writes the outcomes into the reports.
/// Imported files carry no signature: the store's publisher key signs them,
/// marked as signed on import (so every node shows they were not signed by
/// their author).
fn flush(
    store: &mut Store<DiskStorage>,
    publisher: &node_core::identity::Keypair,
    batch: &mut Vec<Pending>,
    reports: &mut [FileReport],
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let at: Vec<(usize, usize)> = batch.iter().map(|p| (p.file, p.item)).collect();
    let signer = node_core::store::Signer {
        key: publisher,
        at: unix_now(),
        imported: true,
    };
    let outcomes = store.publish_signed_batch(batch.drain(..).map(|p| p.draft), &signer)?;
    assert_eq!(outcomes.len(), at.len(), "one outcome per draft");
    for ((file, item), outcome) in at.into_iter().zip(outcomes) {
        let r = &mut reports[file].items[item];
        match outcome {
            Ok(PutOutcome { stamp, change, .. }) => {
                r.seq = Some(stamp.seq);
                r.outcome = match change {
                    node_core::store::Change::Added => ItemOutcome::New,
                    node_core::store::Change::NewVersion => ItemOutcome::NewVersion,
                    node_core::store::Change::History | node_core::store::Change::Unchanged => {
                        ItemOutcome::Unchanged
                    }
                };
            }
            Err(reject) => r.outcome = ItemOutcome::Rejected(reject_text(&reject)),
        }
    }
    Ok(())
}

/// The wall clock as the signed timestamp of an import (the CLI is a
/// driver: it may read the clock; node-core never does).
fn unix_now() -> node_core::Instant {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    node_core::Instant::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
}

fn reject_text(r: &Reject) -> String {
    format!("the store refused it: {r}")
}

/// Totals over all files.
#[derive(Default)]
struct Totals {
    files: usize,
    imported_files: usize,
    skipped_files: usize,
    ignored_files: usize,
    new: usize,
    new_versions: usize,
    unchanged: usize,
    rejected: usize,
    batches: usize,
}

pub(crate) fn run(a: ImportArgs) -> Result<ExitCode, CliError> {
    // Collect the files first: a missing path is reported like a bad file.
    let mut files: Vec<PathBuf> = Vec::new();
    let mut reports: Vec<FileReport> = Vec::new();
    for p in &a.paths {
        match kb::data_files(p) {
            Ok(fs) => files.extend(fs),
            Err(e) => reports.push(FileReport {
                file: p.display().to_string(),
                kind: None,
                items: Vec::new(),
                warnings: Vec::new(),
                skipped: Some(Skip::other(e)),
                ignored: None,
            }),
        }
        if files.len() > kb::MAX_FILES {
            return Err(CliError::BadInput(format!(
                "more than {} files to import; import them in parts",
                kb::MAX_FILES
            )));
        }
    }
    // A file named twice (overlapping folders) is read once.
    let mut seen = std::collections::BTreeSet::new();
    files.retain(|f| seen.insert(f.clone()));

    let mut store = db::open_or_create(&a.db)?;
    // The store folder's publisher key (created on first use, as `okmesh
    // node --data-dir` does) signs what is imported.
    let (keys, _) = hw_bridge::keys::Keys::load_or_create(&a.db)
        .map_err(|e| CliError::BadInput(format!("--db {}: {e}", a.db.display())))?;
    let owner = keys.publisher.public();
    let mut totals = Totals::default();
    let mut batch: Vec<Pending> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut acknowledged_files = 0usize;
    let write_failed = |e: StoreError, acked: usize| {
        CliError::Io(format!(
            "--db {}: writing the store failed after {acked} files were stored: {e}; \
             nothing after them was acknowledged — run the same import again (it is idempotent)",
            a.db.display()
        ))
    };
    for path in &files {
        let (mut report, drafts) = read_file(path, a.kind);
        let file_index = reports.len();
        for (item_index, draft) in drafts.into_iter().enumerate() {
            let mut r = ItemReport {
                name: draft.name.clone(),
                id: node_core::identity::owned_id(&owner, draft.id),
                content: draft.content,
                seq: None,
                outcome: ItemOutcome::Pending,
            };
            if let Some(held) = store
                .history(r.id)
                .iter()
                .find(|v| v.stamp.content == draft.content)
            {
                r.seq = Some(held.stamp.seq);
                r.outcome = ItemOutcome::Unchanged;
            } else if !draft.reads_back() {
                r.outcome = ItemOutcome::Rejected(
                    "its bytes would not read back from the store as the same item".into(),
                );
            } else {
                batch_bytes += draft.bytes.len();
                batch.push(Pending {
                    draft,
                    file: file_index,
                    item: item_index,
                });
            }
            report.items.push(r);
        }
        reports.push(report);
        if batch.len() >= BATCH_ITEMS || batch_bytes >= BATCH_BYTES {
            flush(&mut store, &keys.publisher, &mut batch, &mut reports)
                .map_err(|e| write_failed(e, acknowledged_files))?;
            totals.batches += 1;
            batch_bytes = 0;
            acknowledged_files = reports.len();
        }
    }
    if !batch.is_empty() {
        flush(&mut store, &keys.publisher, &mut batch, &mut reports)
            .map_err(|e| write_failed(e, acknowledged_files))?;
        totals.batches += 1;
    }

    for r in &reports {
        totals.files += 1;
        if r.skipped.is_some() {
            totals.skipped_files += 1;
        } else if r.ignored.is_some() {
            totals.ignored_files += 1;
        } else {
            totals.imported_files += 1;
        }
        for i in &r.items {
            match i.outcome {
                ItemOutcome::New => totals.new += 1,
                ItemOutcome::NewVersion => totals.new_versions += 1,
                ItemOutcome::Unchanged => totals.unchanged += 1,
                ItemOutcome::Rejected(_) => totals.rejected += 1,
                ItemOutcome::Pending => unreachable!("every batch was flushed"),
            }
        }
    }
    let manifests = store.items_of(ItemKind::Manifest).count();
    let facilities = store.items_of(ItemKind::Facility).count();
    let run = Run {
        dbdir: &a.db,
        reports: &reports,
        t: &totals,
        manifests,
        facilities,
        signer: &owner,
    };
    if a.json {
        print_json(&run)?;
    } else {
        print_text(&run, a.quiet);
    }
    Ok(if totals.skipped_files > 0 {
        ExitCode::from(2)
    } else if totals.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn kind_str(k: Option<ItemKind>) -> Option<&'static str> {
    k.map(|k| match k {
        ItemKind::Manifest => "manifest",
        ItemKind::Facility => "facility",
    })
}

/// What an import did, for its report.
#[derive(Clone, Copy)]
struct Run<'a> {
    dbdir: &'a Path,
    reports: &'a [FileReport],
    t: &'a Totals,
    /// Manifests in the database afterwards.
    manifests: usize,
    /// Facilities in the database afterwards.
    facilities: usize,
    signer: &'a node_core::identity::PublicKey,
}

fn print_json(run: &Run<'_>) -> Result<(), CliError> {
    let t = run.t;
    let files: Vec<Value> = run.reports
        .iter()
        .map(|r| {
            let status = if r.skipped.is_some() {
                "skipped"
            } else if r.ignored.is_some() {
                "ignored"
            } else if r
                .items
                .iter()
                .any(|i| matches!(i.outcome, ItemOutcome::Rejected(_)))
            {
                "rejected"
            } else {
                "imported"
            };
            json!({
                "file": r.file,
                "status": status,
                "kind": kind_str(r.kind),
                "error": r.skipped.as_ref().map(|s| json!({
                    "message": s.message, "line": s.line, "field": s.field,
                })),
                "ignored": r.ignored,
                "warnings": r.warnings.iter().map(|w| json!({
                    "line": w.line, "field": w.field, "message": w.message,
                })).collect::<Vec<_>>(),
                "items": r.items.iter().map(|i| json!({
                    "name": i.name,
                    "item_id": i.id.to_string(),
                    "content_id": i.content.to_string(),
                    "outcome": i.outcome.as_str(),
                    "seq": i.seq,
                    "reason": match &i.outcome { ItemOutcome::Rejected(why) => Some(why), _ => None },
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let out = json!({
        "db": run.dbdir.display().to_string(),
        "files": files,
        "totals": {
            "files": t.files, "imported_files": t.imported_files, "skipped_files": t.skipped_files,
            "ignored_files": t.ignored_files, "new": t.new, "new_versions": t.new_versions,
            "unchanged": t.unchanged, "rejected": t.rejected, "batches": t.batches,
        },
        "store": { "manifests": run.manifests, "facilities": run.facilities },
        // Imported files carry no signature of their own: this store's
        // publisher key signed them, marked as signed on import.
        "signed_on_import_by": run.signer.fingerprint().to_string(),
    });
    outln!(
        "{}",
        serde_json::to_string_pretty(&out).map_err(|e| CliError::Io(e.to_string()))?
    );
    Ok(())
}

fn print_text(run: &Run<'_>, quiet: bool) {
    let t = run.t;
    let print_warnings = |r: &FileReport| {
        if quiet {
            return;
        }
        for w in &r.warnings {
            outln!("{:<12}   {w}", "warning");
        }
    };
    for r in run.reports {
        let warn = match r.warnings.len() {
            0 => String::new(),
            1 => " (1 warning)".to_owned(),
            n => format!(" ({n} warnings)"),
        };
        if let Some(s) = &r.skipped {
            // The parse error already starts with the file name.
            if s.message.starts_with(&r.file) {
                outln!("{:<12} {}", "skipped", s.message);
            } else {
                outln!("{:<12} {}: {}", "skipped", r.file, s.message);
            }
            continue;
        }
        if let Some(why) = r.ignored {
            outln!("{:<12} {}: {why}", "ignored", r.file);
            continue;
        }
        match r.items.as_slice() {
            [i] => {
                let seq = i.seq.map(|s| format!(" seq {s}")).unwrap_or_default();
                match &i.outcome {
                    ItemOutcome::Rejected(why) => {
                        outln!("{:<12} {}: \"{}\": {why}", "rejected", r.file, i.name);
                    }
                    o => outln!(
                        "{:<12} {}: \"{}\"{seq}{warn}",
                        o.as_str(),
                        r.file,
                        kb::clip(&i.name, 60)
                    ),
                }
            }
            items => {
                let count =
                    |f: fn(&ItemOutcome) -> bool| items.iter().filter(|i| f(&i.outcome)).count();
                let mut parts = Vec::new();
                for (n, label) in [
                    (count(|o| matches!(o, ItemOutcome::New)), "new"),
                    (
                        count(|o| matches!(o, ItemOutcome::NewVersion)),
                        "new versions",
                    ),
                    (count(|o| matches!(o, ItemOutcome::Unchanged)), "unchanged"),
                    (count(|o| matches!(o, ItemOutcome::Rejected(_))), "rejected"),
                ] {
                    if n > 0 {
                        parts.push(format!("{n} {label}"));
                    }
                }
                outln!(
                    "{:<12} {}: {} facilities: {}{warn}",
                    "list",
                    r.file,
                    items.len(),
                    kb::list(&parts)
                );
                for i in items {
                    if let ItemOutcome::Rejected(why) = &i.outcome {
                        outln!("{:<12}   \"{}\": {why}", "rejected", i.name);
                    }
                }
            }
        }
        print_warnings(r);
    }
    outln!(
        "{} files: {} imported, {} skipped (bad input), {} ignored; items: {} new, {} new versions, {} unchanged, {} rejected; {} batches",
        t.files,
        t.imported_files,
        t.skipped_files,
        t.ignored_files,
        t.new,
        t.new_versions,
        t.unchanged,
        t.rejected,
        t.batches
    );
    outln!(
        "store {}: {} manifests, {} facilities",
        run.dbdir.display(),
        run.manifests,
        run.facilities
    );
    if t.new + t.new_versions > 0 {
        outln!(
            "signed by this node on import: publisher key {} (the files carry no signature of their authors)",
            run.signer.fingerprint()
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::kb::{Kind, classify};

    #[test]
    fn classify_by_folder_then_file_name_then_content() {
        let map = b"title: x\n";
        let list = b"  [{\"name\": \"a\"}]";
        let cases: [(&str, &[u8], Kind); 8] = [
            ("lib/okw/shop.yml", map, Kind::Facility),
            ("lib/okh/chair.yml", map, Kind::Manifest),
            // The innermost folder decides.
            ("okw/x/okh/chair.yml", map, Kind::Manifest),
            ("okh/x/okw/shop.json", map, Kind::Facility),
            ("designs/shop.okw.yml", map, Kind::Facility),
            ("designs/okh-chair.toml", list, Kind::Manifest),
            ("exports/spaces.json", list, Kind::Facility),
            ("exports/chair.json", map, Kind::Manifest),
        ];
        for (path, bytes, kind) in cases {
            assert_eq!(classify(Path::new(path), bytes), kind, "{path}");
        }
        assert!(matches!(
            classify(Path::new("lib/okw/atoms/QH1.yaml"), map),
            Kind::Ignored(_)
        ));
    }
}
