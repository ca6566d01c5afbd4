//! `okmesh package add / request / status / cancel`: design packages on a
//! running node, through its HTTP API (`/packages`, see
//! [`hw_bridge::http`]).
//!
//! `request` prints an estimate for the node's link
//! ([`node_core::packages::estimate::estimate`]) as soon as the package's
//! size is known (at once if the node holds its record, else when the
//! record arrives), then a progress line on stderr — redrawn in place on
//! a terminal, one line every few seconds otherwise — until every piece is
//! held and verified, or only the request with `--no-wait`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use node_core::packages::PackageId;
use node_core::packages::estimate::{LinkRate, estimate};
use node_core::time::Duration;
use serde_json::Value;

use super::api::Api;
use super::key::DataDir;
use super::out::outln;
use super::{CliError, bad};

/// How often a terminal's progress line is redrawn.
const TTY_EVERY: StdDuration = StdDuration::from_millis(500);
/// How often a progress line is written when stderr is not a terminal.
const LOG_EVERY: StdDuration = StdDuration::from_secs(5);

/// A running node: `--api` (its `--http` address) and where its token is.
#[derive(clap::Args, Debug)]
pub(crate) struct NodeApi {
    /// The node's local API (its --http address, e.g. 127.0.0.1:8080); the
    /// token comes from --data-dir or $OKMESH_API_TOKEN.
    #[arg(long, value_name = "ADDR")]
    api: String,
    #[command(flatten)]
    data_dir: DataDir,
}

impl NodeApi {
    fn open(&self) -> Result<Api, CliError> {
        Api::new(self.api.clone(), self.data_dir.opt())
    }
}

fn parse_id(text: &str) -> Result<PackageId, CliError> {
    PackageId::from_hex(text).ok_or_else(|| {
        bad(format!(
            "package id '{text}': expected 64 hex digits (as `okmesh package verify` or `package add` prints)"
        ))
    })
}

/// Bytes as a maker reads them.
fn size(bytes: f64) -> String {
    match bytes {
        b if b < 1e3 => format!("{b:.0} B"),
        b if b < 1e6 => format!("{:.1} kB", b / 1e3),
        b if b < 1e9 => format!("{:.1} MB", b / 1e6),
        b => format!("{:.1} GB", b / 1e9),
    }
}

/// A span as a maker reads it.
fn span(secs: f64) -> String {
    match secs {
        s if s < 90.0 => format!("{s:.1} s"),
        s if s < 90.0 * 60.0 => format!("{:.0} min", s / 60.0),
        s if s < 48.0 * 3600.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.0} days", s / 86_400.0),
    }
}

fn link_of(v: &Value) -> Option<LinkRate> {
    let l = &v["link"];
    Some(LinkRate {
        bitrate_bps: l["bitrate_bps"].as_f64()?,
        duty_cycle: l["duty_cycle"].as_f64()?,
        efficiency: l["efficiency"].as_f64()?,
    })
}

fn link_name(l: &LinkRate) -> String {
    if l.duty_cycle < 1.0 {
        format!(
            "LoRa at {:.0} bit/s, {:.0} % duty cycle",
            l.bitrate_bps,
            l.duty_cycle * 100.0
        )
    } else {
        format!("a fast link of {:.1} Mbit/s", l.bitrate_bps / 1e6)
    }
}

/// The estimate line for a package whose size is known.
fn estimate_line(v: &Value) -> Option<String> {
    let total = v["total_bytes"].as_u64().filter(|t| *t > 0)?;
    let pieces = v["piece_count"].as_u64()? as u32;
    let link = link_of(v)?;
    let holders = v["holders"].as_u64().unwrap_or(0).max(1) as u32;
    let held = v["bytes"].as_u64().unwrap_or(0);
    let e = estimate(total - held.min(total), pieces, 1, holders, link);
    Some(format!(
        "estimate: {} to fetch {} of {} ({pieces} pieces) from {holders} holder(s) one hop away over {}",
        span(e.time.as_secs_f64()),
        size((total - held.min(total)) as f64),
        size(total as f64),
        link_name(&link),
    ))
}

/// `pieces 12/306 · 0.8/20.0 MB · 1.2 MB/s · 2 holders · ETA 16 s`.
fn progress_line(v: &Value) -> String {
    let pieces = v["pieces"].as_u64().unwrap_or(0);
    let count = v["piece_count"].as_u64().unwrap_or(0);
    if count == 0 {
        return format!(
            "waiting for the package record · {} holder(s) heard",
            v["holders"].as_u64().unwrap_or(0)
        );
    }
    let eta = match v["eta_s"].as_f64() {
        _ if pieces == count => "verified".to_string(),
        Some(s) => format!("ETA {}", span(s)),
        None => "ETA unknown".to_string(),
    };
    format!(
        "pieces {pieces}/{count} · {}/{} · {}/s · {} holder(s) · {eta}",
        size(v["bytes"].as_f64().unwrap_or(0.0)),
        size(v["total_bytes"].as_f64().unwrap_or(0.0)),
        size(v["rate_bytes_per_s"].as_f64().unwrap_or(0.0)),
        v["holders"].as_u64().unwrap_or(0),
    )
}

/// `GET /packages/{id}`: `None` when the node neither holds nor wants it.
fn get_one(api: &Api, id: PackageId) -> Result<Option<Value>, CliError> {
    match api.get(&format!("/packages/{id}")) {
        Ok(v) => Ok(Some(v)),
        Err(CliError::BadInput(m)) if m.contains(": 404: ") => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes a progress line on stderr: in place on a terminal.
struct Progress {
    tty: bool,
    drawn: bool,
}

impl Progress {
    #[allow(clippy::print_stderr)]
    fn show(&mut self, line: &str) {
        if self.tty {
            eprint!("\r\x1b[K{line}");
            self.drawn = true;
        } else {
            eprintln!("{line}");
        }
    }

    #[allow(clippy::print_stderr)]
    fn end(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}

/// `okmesh package add FILE`.
pub(crate) fn add(file: PathBuf, node: &NodeApi) -> Result<ExitCode, CliError> {
    let api = node.open()?;
    let bytes = std::fs::read(&file)
        .map_err(|e| CliError::Io(format!("reading {}: {e}", file.display())))?;
    // Checked here first: a file that is no package never crosses the link.
    let package = node_core::packages::Package::from_file_bytes(
        &bytes,
        hw_bridge::http::MAX_PACKAGE_UPLOAD_BYTES as u64,
    )
    .map_err(|e| bad(format!("{}: {e}", file.display())))?;
    api.post_bytes("/packages", &bytes)?;
    let id = package.id();
    outln!(
        "package {id}: {} in {} pieces added to the node at {}; it serves them to neighbours that ask",
        size(package.record().total_bytes as f64),
        package.record().piece_count,
        api.addr()
    );
    Ok(ExitCode::SUCCESS)
}

/// `okmesh package request ID`.
pub(crate) fn request(
    id: &str,
    node: &NodeApi,
    no_wait: bool,
    timeout: Option<Duration>,
) -> Result<ExitCode, CliError> {
    let id = parse_id(id)?;
    let api = node.open()?;
    let mut progress = Progress {
        tty: std::io::stderr().is_terminal(),
        drawn: false,
    };
    let before = get_one(&api, id)?;
    if before.as_ref().is_some_and(|v| v["complete"] == true) {
        outln!("package {id} is held and verified on the node already");
        return Ok(ExitCode::SUCCESS);
    }
    let mut estimated = false;
    if let Some(line) = before.as_ref().and_then(estimate_line) {
        progress.show(&line);
        progress.end();
        estimated = true;
    }
    let (status, v) = api.post(&format!("/packages/{id}/request"))?;
    if status == 200 || v["complete"] == true {
        outln!("package {id} is held and verified on the node");
        return Ok(ExitCode::SUCCESS);
    }
    if no_wait {
        outln!(
            "package {id} requested from the node at {} (it keeps asking after a restart; `okmesh package status {id}` follows it)",
            api.addr()
        );
        return Ok(ExitCode::SUCCESS);
    }
    // What the node held already is not fetched: the rate counts the rest.
    let held_before = before
        .as_ref()
        .and_then(|v| v["bytes"].as_f64())
        .unwrap_or(0.0);
    let started = StdInstant::now();
    let every = if progress.tty { TTY_EVERY } else { LOG_EVERY };
    let mut last_line = StdInstant::now() - every;
    let deadline = timeout.map(|t| started + StdDuration::from_micros(t.as_micros()));
    loop {
        let Some(v) = get_one(&api, id)? else {
            progress.end();
            return Err(CliError::Failed(format!(
                "package {id}: the node no longer wants or holds it (cancelled, or evicted from a full cache)"
            )));
        };
        if !estimated && let Some(line) = estimate_line(&v) {
            progress.end();
            progress.show(&line);
            progress.end();
            estimated = true;
        }
        if v["complete"] == true {
            progress.show(&progress_line(&v));
            progress.end();
            let secs = started.elapsed().as_secs_f64();
            let fetched = v["total_bytes"].as_f64().unwrap_or(0.0) - held_before;
            outln!(
                "package {id}: all {} pieces held and verified on the node ({} fetched in {}, {}/s)",
                v["piece_count"],
                size(fetched),
                span(secs),
                size(fetched / secs.max(1e-3)),
            );
            return Ok(ExitCode::SUCCESS);
        }
        if v["wanted"] != true && v["relay"] != true {
            progress.end();
            return Err(CliError::Failed(format!(
                "package {id}: the request was cancelled on the node"
            )));
        }
        if last_line.elapsed() >= every {
            progress.show(&progress_line(&v));
            last_line = StdInstant::now();
        }
        if deadline.is_some_and(|d| StdInstant::now() >= d) {
            progress.end();
            return Err(CliError::Failed(format!(
                "package {id}: not complete after --timeout; the node keeps fetching it (`okmesh package cancel {id}` stops it)"
            )));
        }
        std::thread::sleep(TTY_EVERY.min(every));
    }
}

/// `okmesh package status [ID]`.
pub(crate) fn status(id: Option<&str>, node: &NodeApi, json: bool) -> Result<ExitCode, CliError> {
    let api = node.open()?;
    let Some(id) = id else {
        let v = api.get("/packages")?;
        if json {
            outln!("{v}");
            return Ok(ExitCode::SUCCESS);
        }
        let list = v["packages"].as_array().cloned().unwrap_or_default();
        outln!(
            "{} package(s) on the node at {}; cache {} of {}",
            list.len(),
            api.addr(),
            size(v["used_bytes"].as_f64().unwrap_or(0.0)),
            size(v["capacity_bytes"].as_f64().unwrap_or(0.0)),
        );
        for p in &list {
            let state = if p["complete"] == true {
                "held"
            } else if p["wanted"] == true {
                "fetching"
            } else if p["relay"] == true {
                "relaying"
            } else {
                "partial"
            };
            outln!(
                "  {} {state:<8} {}  {}",
                p["id"].as_str().unwrap_or("?"),
                progress_line(p),
                p["name"].as_str().unwrap_or(""),
            );
        }
        return Ok(ExitCode::SUCCESS);
    };
    let id = parse_id(id)?;
    let Some(v) = get_one(&api, id)? else {
        return Err(bad(format!(
            "package {id}: the node at {} neither holds nor wants it (`okmesh package request {id}` fetches it)",
            api.addr()
        )));
    };
    if json {
        outln!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    let state = if v["complete"] == true {
        "held and verified"
    } else if v["wanted"] == true {
        "being fetched"
    } else {
        "partly held, not being fetched"
    };
    outln!("package {id}: {state}");
    if let Some(name) = v["name"].as_str() {
        outln!(
            "  design {} ({name}), {} files",
            v["design"].as_str().unwrap_or("?"),
            v["files"]
        );
    }
    outln!("  {}", progress_line(&v));
    if let Some(s) = v["sources"].as_object().filter(|s| !s.is_empty()) {
        let from: Vec<String> = s.iter().map(|(n, c)| format!("{n}: {c}")).collect();
        outln!("  verified pieces received from {}", from.join(", "));
    }
    if v["complete"] != true
        && let Some(line) = estimate_line(&v)
    {
        outln!("  {line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `okmesh package cancel ID`.
pub(crate) fn cancel(id: &str, node: &NodeApi) -> Result<ExitCode, CliError> {
    let id = parse_id(id)?;
    let api = node.open()?;
    api.post(&format!("/packages/{id}/cancel"))?;
    outln!(
        "package {id}: no longer fetched by the node at {} (its verified pieces stay cached)",
        api.addr()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn progress_and_estimate_lines_read_the_api_answer() {
        let v = json!({"pieces": 12, "piece_count": 306, "bytes": 786_432, "total_bytes": 20_000_000,
            "rate_bytes_per_s": 1_200_000.0, "holders": 2, "eta_s": 16.0,
            "link": {"bitrate_bps": 8e6, "duty_cycle": 1.0, "efficiency": 0.97}});
        let p = progress_line(&v);
        assert_eq!(
            p,
            "pieces 12/306 · 786.4 kB/20.0 MB · 1.2 MB/s · 2 holder(s) · ETA 16.0 s"
        );
        let e = estimate_line(&v).unwrap();
        assert!(e.contains("2 holder(s)") && e.contains("8.0 Mbit/s"), "{e}");
        let unknown = json!({"pieces": 0, "piece_count": 0, "holders": 0});
        assert!(progress_line(&unknown).contains("waiting for the package record"));
        assert_eq!(estimate_line(&unknown), None);
        assert!(parse_id("abc").is_err());
    }
}
