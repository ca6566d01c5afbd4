//! `okmesh package`: design packages as files (the format is
//! [`node_core::packages`]).
//!
//! * `package build DIR` cuts a design folder (its manifest and every file
//!   under it) into pieces, signs the record with the data directory's
//!   publisher key and writes one `.okpkg` file.
//! * `package verify FILE` checks a package file whole: record, signature,
//!   exact length, every piece against the Merkle root, the manifest
//!   binding.
//! * `package extract FILE DIR` verifies, then writes the files into a new
//!   or empty folder.
//! * `package estimate` says before a transfer how long it takes: a table
//!   of links (Meshtastic presets under the duty cycle, a fast local link)
//!   for a package file or a size, with holders in reach and hops
//!   ([`node_core::packages::estimate::estimate`]).
//! * `package add / request / status / cancel` work on a running node
//!   through its HTTP API ([`package_api`](super::package_api)).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hw_bridge::keys::Keys;
use node_core::packages::estimate::{LinkRate, estimate};
use node_core::packages::{LinkClass, MAX_PACKAGE_BYTES, Package};
use node_core::radio::ModemPreset;
use node_core::time::Duration;

use crate::commands::key::DataDir;
use crate::commands::package_api::{self, NodeApi};
use crate::commands::{CliError, bad};

/// Manifest file names looked for at the top of a design folder.
const MANIFEST_NAMES: [&str; 5] = [
    "okh.yaml",
    "okh.yml",
    "okh.toml",
    "okh.json",
    "manifest.okh.toml",
];

/// Arguments of `okmesh package`.
#[derive(clap::Args, Debug)]
pub(crate) struct PackageArgs {
    #[command(subcommand)]
    command: PackageCommand,
}

/// The link class a package is cut for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Link {
    /// LoRa up to 1 MiB of files, a fast link above.
    Auto,
    /// 4 KiB pieces, for LoRa.
    Lora,
    /// 64 KiB pieces, for Wi-Fi, Ethernet, UDP.
    Fast,
}

#[derive(clap::Subcommand, Debug)]
enum PackageCommand {
    /// Make a package file from a design folder (manifest plus files).
    Build {
        /// The design folder.
        dir: PathBuf,
        /// The manifest, relative to DIR (default: okh.yaml, okh.yml, okh.toml or okh.json).
        #[arg(long, value_name = "PATH")]
        manifest: Option<String>,
        /// The link class that sets the piece length.
        #[arg(long, value_enum, default_value = "auto")]
        link: Link,
        /// The package file to write (default: DIR's name + .okpkg).
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Check a package file: record, signature, length, every piece, manifest.
    Verify {
        /// The package file.
        file: PathBuf,
    },
    /// How long a transfer takes, per link, before starting it.
    Estimate {
        /// A package file (else give --bytes).
        #[arg(required_unless_present = "bytes", conflicts_with = "bytes")]
        file: Option<PathBuf>,
        /// Package size in bytes (cut for --link auto).
        #[arg(long)]
        bytes: Option<u64>,
        /// Holders in reach of the requester.
        #[arg(long, default_value_t = 1)]
        holders: u32,
        /// Hops between the nearest holders and the requester.
        #[arg(long, default_value_t = 1)]
        hops: u32,
        /// Duty-cycle share a LoRa node may send (EU868 sub-band g: 0.1).
        #[arg(long, default_value_t = 0.1)]
        duty: f64,
        /// Fast-link rate in Mbit/s.
        #[arg(long, default_value_t = 10.0)]
        fast_mbps: f64,
    },
    /// Verify a package file, then write its files into DIR (new or empty).
    Extract {
        /// The package file.
        file: PathBuf,
        /// The folder to write into.
        dir: PathBuf,
    },
    /// Give a running node a package file to hold and serve (its manifest
    /// must be on the node, signed by the package's publisher).
    Add {
        /// The package file.
        file: PathBuf,
        #[command(flatten)]
        node: NodeApi,
    },
    /// Have a running node fetch a package from its neighbours; shows an
    /// estimate, then progress on stderr until it is verified.
    Request {
        /// The package id (64 hex digits).
        id: String,
        #[command(flatten)]
        node: NodeApi,
        /// Return once the node has the request (it keeps fetching).
        #[arg(long)]
        no_wait: bool,
        /// Give up waiting after this long, e.g. 10m (the node keeps fetching).
        #[arg(long, value_parser = crate::commands::field::duration_arg)]
        timeout: Option<Duration>,
    },
    /// What a running node holds and fetches, or one package's progress.
    Status {
        /// One package id (default: every package held or wanted).
        id: Option<String>,
        #[command(flatten)]
        node: NodeApi,
        /// Print the API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop a running node fetching a package (verified pieces stay).
    Cancel {
        /// The package id.
        id: String,
        #[command(flatten)]
        node: NodeApi,
    },
}

fn io(what: &str, path: &Path, e: std::io::Error) -> CliError {
    CliError::Io(format!("{what} {}: {e}", path.display()))
}

/// Every regular file under `root`, as (`/`-separated relative path, bytes),
/// refusing symbolic links (a package carries files, not links).
fn read_tree(root: &Path) -> Result<Vec<(String, Vec<u8>)>, CliError> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    let mut total: u64 = 0;
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let entries = std::fs::read_dir(&dir).map_err(|e| io("reading", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io("reading", &dir, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| io("reading", &path, e))?;
            let name = entry.file_name();
            let name = name
                .to_str()
                .ok_or_else(|| bad(format!("{}: file name is not UTF-8", path.display())))?;
            let rel = rel.join(name);
            if kind.is_symlink() {
                return Err(bad(format!(
                    "{}: symbolic links cannot go in a package",
                    path.display()
                )));
            } else if kind.is_dir() {
                stack.push(rel);
            } else {
                let bytes = std::fs::read(&path).map_err(|e| io("reading", &path, e))?;
                total += bytes.len() as u64;
                if total > MAX_PACKAGE_BYTES {
                    return Err(bad(format!(
                        "{}: more than {MAX_PACKAGE_BYTES} bytes of files",
                        root.display()
                    )));
                }
                let parts: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
                out.push((parts.join("/"), bytes));
            }
        }
    }
    Ok(out)
}

/// Reads and verifies a package file.
fn load(file: &Path) -> Result<Package, CliError> {
    let bytes = std::fs::read(file).map_err(|e| io("reading", file, e))?;
    Package::from_file_bytes(&bytes, MAX_PACKAGE_BYTES)
        .map_err(|e| bad(format!("{}: {e}", file.display())))
}

/// A duration as a maker reads it: seconds, minutes, hours or days.
fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    match s {
        s if s < 90.0 => format!("{s:.1} s"),
        s if s < 90.0 * 60.0 => format!("{:.0} min", s / 60.0),
        s if s < 48.0 * 3600.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.0} days", s / 86_400.0),
    }
}

/// The links `estimate` prints: three Meshtastic presets under the duty
/// cycle, and the fast link.
fn links(duty: f64, fast_mbps: f64) -> Vec<(String, LinkRate)> {
    let mut out: Vec<(String, LinkRate)> = [
        ModemPreset::LongSlow,
        ModemPreset::LongFast,
        ModemPreset::ShortFast,
    ]
    .into_iter()
    .map(|p| {
        (
            format!("LoRa {} at {:.0} % duty", p.name(), duty * 100.0),
            LinkRate::lora(&p.params(), duty),
        )
    })
    .collect();
    out.push((
        format!("fast link {fast_mbps} Mbit/s"),
        LinkRate::fast(fast_mbps * 1e6),
    ));
    out
}

fn summary(p: &Package) -> String {
    let r = p.record();
    format!(
        "package {id}\n  design {design}, manifest {manifest} ({mpath})\n  publisher {publisher}\n  {total} bytes in {n} files, {count} pieces of {piece} bytes, root {root}",
        id = p.id(),
        design = r.design,
        manifest = r.manifest,
        mpath = r.files[r.manifest_file as usize].path,
        publisher = r.publisher.fingerprint(),
        total = r.total_bytes,
        n = r.files.len(),
        count = r.piece_count,
        piece = r.piece_len_bytes,
        root = r.root,
    )
}

#[allow(clippy::print_stdout)]
pub(crate) fn run(args: PackageArgs) -> Result<ExitCode, CliError> {
    match args.command {
        PackageCommand::Add { file, node } => return package_api::add(file, &node),
        PackageCommand::Request {
            id,
            node,
            no_wait,
            timeout,
        } => return package_api::request(&id, &node, no_wait, timeout),
        PackageCommand::Status { id, node, json } => {
            return package_api::status(id.as_deref(), &node, json);
        }
        PackageCommand::Cancel { id, node } => return package_api::cancel(&id, &node),
        PackageCommand::Build {
            dir,
            manifest,
            link,
            out,
            data_dir,
        } => {
            let key = Keys::load(&data_dir.get()?)
                .map_err(|e| bad(e.to_string()))?
                .publisher;
            let files = read_tree(&dir)?;
            let manifest = match manifest {
                Some(m) => m,
                None => MANIFEST_NAMES
                    .iter()
                    .find(|n| files.iter().any(|(p, _)| p == *n))
                    .map(|n| (*n).to_owned())
                    .ok_or_else(|| {
                        bad(format!(
                            "{}: no manifest ({}); name it with --manifest",
                            dir.display(),
                            MANIFEST_NAMES.join(", ")
                        ))
                    })?,
            };
            let total: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
            let class = match link {
                Link::Auto => LinkClass::for_size(total),
                Link::Lora => LinkClass::LoRa,
                Link::Fast => LinkClass::Fast,
            };
            let package = Package::build(files, &manifest, class.piece_len_bytes(), &key)
                .map_err(|e| bad(format!("{}: {e}", dir.display())))?;
            let out = out.unwrap_or_else(|| {
                let name = dir
                    .canonicalize()
                    .ok()
                    .and_then(|d| d.file_name().map(|n| n.to_owned()))
                    .unwrap_or_else(|| "package".into());
                PathBuf::from(name).with_extension("okpkg")
            });
            std::fs::write(&out, package.to_file_bytes()).map_err(|e| io("writing", &out, e))?;
            println!("{}\nwrote {}", summary(&package), out.display());
        }
        PackageCommand::Verify { file } => {
            let package = load(&file)?;
            println!(
                "{}\nverified: every piece matches the signed root",
                summary(&package)
            );
        }
        PackageCommand::Estimate {
            file,
            bytes,
            holders,
            hops,
            duty,
            fast_mbps,
        } => {
            let usable = duty > 0.0 && duty <= 1.0 && fast_mbps > 0.0 && hops > 0;
            if !usable {
                return Err(bad(
                    "--duty must be in (0, 1], --fast-mbps above 0, --hops at least 1",
                ));
            }
            let (total, piece_count) = match (file, bytes) {
                (Some(f), _) => {
                    let p = load(&f)?;
                    (p.record().total_bytes, p.record().piece_count)
                }
                (None, Some(b)) => {
                    let piece = u64::from(LinkClass::for_size(b).piece_len_bytes());
                    (b, b.div_ceil(piece).max(1) as u32)
                }
                (None, None) => return Err(bad("give a package FILE or --bytes N")),
            };
            println!(
                "{total} bytes in {piece_count} pieces, {holders} holder(s) in reach, {hops} hop(s):"
            );
            for (name, rate) in links(duty, fast_mbps) {
                let e = estimate(total, piece_count, hops, holders, rate);
                println!(
                    "  {name:<28} {:>12}  ({:.0} B/s)",
                    human(e.time),
                    e.rate_bytes_per_s
                );
            }
        }
        PackageCommand::Extract { file, dir } => {
            let package = load(&file)?;
            if dir.exists()
                && std::fs::read_dir(&dir)
                    .map_err(|e| io("reading", &dir, e))?
                    .next()
                    .is_some()
            {
                return Err(bad(format!(
                    "{}: not empty; extract into a new or empty folder",
                    dir.display()
                )));
            }
            for (path, bytes) in package.files() {
                // Paths were checked canonical (no '..', no absolute) by the parser.
                let target = path.split('/').fold(dir.clone(), |d, c| d.join(c));
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| io("creating", parent, e))?;
                }
                std::fs::write(&target, bytes).map_err(|e| io("writing", &target, e))?;
            }
            println!(
                "{}\nextracted {} files into {}",
                summary(&package),
                package.record().files.len(),
                dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
