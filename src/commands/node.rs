//! `okmesh node`: one field node on a real radio or the UDP testbed.
//!
//! The node keeps its catalogue in memory, or on disk with `--data-dir`
//! (a restart, even after SIGKILL, keeps every acknowledged item). With
//! `--http ADDR` it serves the local JSON API of [`hw_bridge::http`].
//!
//! Keys: with `--data-dir` the node and publisher key pairs and the API
//! token live in the data directory ([`hw_bridge::keys`]), created on the
//! first start; without it they are drawn for this run only. `--trust FILE`
//! pins publisher keys and `--refuse-unknown` refuses unknown ones (kept in
//! [`DriverConfig::trust`] for node-core's trust policy).
//!
//! Logs go to stderr (`--log-format json` for one JSON object per line). On
//! stdout: `{"http":"ADDR","token_file":"…"}` once the API listens (the
//! bound address, so port 0 works; `token_file` with `--data-dir`), and one
//! JSON summary line when the node stops (SIGTERM, ctrl-c or `--run-for`),
//! after the store was flushed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration as StdDuration;

use hw_bridge::driver::{self, Clock, DriverConfig, TrustConfig};
use hw_bridge::http::HttpConfig;
use hw_bridge::keys::{ApiToken, Keys, KeysOrigin};
use hw_bridge::meshtastic::{self, MeshtasticAddr};
use hw_bridge::radio::RadioLink;
use hw_bridge::spec::RadioSpec;
use hw_bridge::store::DiskStorage;
use hw_bridge::udp::{self, UdpConfig};
use node_core::identity::PinnedKeys;
use node_core::node::MIN_TRAFFIC_PAYLOAD_BYTES;
use node_core::signals::SignalConfig;
use node_core::store::Storage;
use node_core::sync::SyncConfig;
use node_core::transport::MAX_HOP_LIMIT;
use node_core::{Duration, Node, NodeConfig, TrafficConfig};

use crate::commands::db;
use crate::commands::field::{self, LogArgs, duration_arg};
use crate::commands::{CliError, bad};

/// Arguments of `okmesh node`.
#[derive(clap::Args, Debug)]
pub(crate) struct NodeArgs {
    /// The radio: serial:/dev/ttyUSB0[@BAUD], tcp:HOST[:4403], or
    /// udp:BIND,peers=ADDR+ADDR[,id=N][,loss=P][,delay=D][,jitter=D][,rate=BITS]
    /// (rate: the testbed link's capacity in bit/s, e.g. 8M; sending is
    /// paced to it and package estimates use it).
    #[arg(long)]
    radio: String,
    /// Keep the catalogue in this folder (created if missing; a restart
    /// keeps everything). Default: in memory, lost when the node stops.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Serve the local JSON API on this address, e.g. 127.0.0.1:8080 (port 0:
    /// any free port; the address is printed on stdout as {"http":"…"}).
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// A host name the API may be reached by (in Host and Origin) besides
    /// its address and localhost, e.g. okmesh.local; repeatable.
    #[arg(long = "http-host", value_name = "NAME")]
    http_hosts: Vec<String>,
    /// Publisher keys to trust outright: a pinned-keys file, one key (64 hex
    /// digits) and an optional label per line, `#` comments.
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// Refuse items signed by keys that are neither pinned (--trust) nor
    /// already known.
    #[arg(long)]
    refuse_unknown: bool,
    /// Trickle's smallest summary interval. The other sync timers (largest
    /// interval, request jitter, serve delay, want timeout) keep their
    /// ratio to it. The default suits LongFast meshes; the UDP testbed and
    /// emulated radios want a few seconds.
    #[arg(long, default_value = "3m", value_parser = duration_arg)]
    sync_imin: Duration,
    /// Root seed of the node's randomness (and of UDP loss draws).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Background traffic: every=MEAN_PERIOD[,bytes=N][,hops=H], e.g.
    /// every=30s,bytes=40,hops=3.
    #[arg(long)]
    traffic: Option<String>,
    /// How long to wait for a Meshtastic device to accept the connection.
    #[arg(long, default_value = "10s", value_parser = duration_arg)]
    connect_timeout: Duration,
    /// Stop after this long (default: run until SIGTERM or ctrl-c).
    #[arg(long, value_parser = duration_arg)]
    run_for: Option<Duration>,
    /// How often a status line is logged.
    #[arg(long, default_value = "60s", value_parser = duration_arg)]
    status_every: Duration,
    /// Capacity of the design-package cache in MiB (with --data-dir it is
    /// kept in DIR/packages; the cache also holds its pieces in memory, so
    /// keep it well below the machine's RAM). Least recently used packages
    /// are evicted past it, pinned ones never.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_PACKAGE_CACHE_MIB,
        value_parser = clap::value_parser!(u64).range(1..=MAX_PACKAGE_CACHE_MIB))]
    package_cache_mib: u64,
    #[command(flatten)]
    logs: LogArgs,
}

/// Default package cache: room for a few large designs on a Raspberry Pi.
const DEFAULT_PACKAGE_CACHE_MIB: u64 = 256;
/// Largest `--package-cache-mib` (node-core's largest package).
const MAX_PACKAGE_CACHE_MIB: u64 = node_core::packages::MAX_PACKAGE_BYTES >> 20;
/// The package cache's folder in the data directory.
const PACKAGE_DIR: &str = "packages";

/// Parses `every=30s,bytes=40,hops=3`.
fn parse_traffic(s: &str) -> Result<TrafficConfig, CliError> {
    let mut every = None;
    let mut t = TrafficConfig {
        mean_period: Duration::ZERO,
        payload_bytes: 40,
        hop_limit: node_core::transport::DEFAULT_HOP_LIMIT,
    };
    for part in s.split(',') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("--traffic '{s}': '{part}' is not KEY=VALUE")))?;
        match k {
            "every" => {
                let d = duration_arg(v).map_err(|e| bad(format!("--traffic '{s}': every: {e}")))?;
                if d == Duration::ZERO {
                    return Err(bad(format!("--traffic '{s}': every must be above zero")));
                }
                every = Some(d);
            }
            "bytes" => {
                t.payload_bytes = v
                    .parse()
                    .ok()
                    .filter(|b| (MIN_TRAFFIC_PAYLOAD_BYTES..=hw_bridge::meshtastic::proto::MAX_PAYLOAD_BYTES).contains(b))
                    .ok_or_else(|| {
                        bad(format!(
                            "--traffic '{s}': bytes '{v}' is not in {MIN_TRAFFIC_PAYLOAD_BYTES}..={}",
                            hw_bridge::meshtastic::proto::MAX_PAYLOAD_BYTES
                        ))
                    })?;
            }
            "hops" => {
                t.hop_limit = v
                    .parse()
                    .ok()
                    .filter(|h| *h <= MAX_HOP_LIMIT)
                    .ok_or_else(|| {
                        bad(format!(
                            "--traffic '{s}': hops '{v}' is not in 0..={MAX_HOP_LIMIT}"
                        ))
                    })?;
            }
            other => {
                return Err(bad(format!(
                    "--traffic '{s}': unknown key '{other}' (expected every, bytes, hops)"
                )));
            }
        }
    }
    t.mean_period =
        every.ok_or_else(|| bad(format!("--traffic '{s}': every=PERIOD is required")))?;
    Ok(t)
}

async fn open_radio(
    spec: RadioSpec,
    seed: u64,
    connect_timeout: Duration,
) -> Result<RadioLink, CliError> {
    let timeout = StdDuration::from_micros(connect_timeout.as_micros());
    match spec {
        RadioSpec::Udp(u) => udp::spawn(UdpConfig {
            bind: u.bind,
            peers: u.peers,
            node_id: u.id,
            loss: u.loss,
            delay: u.delay,
            jitter: u.jitter,
            rate_bps: u.rate_bps,
            seed,
        })
        .await
        .map_err(|e| bad(e.to_string())),
        RadioSpec::Tcp { host, port } => {
            meshtastic::connect(MeshtasticAddr::Tcp { host, port }, timeout)
                .await
                .map_err(|e| bad(e.to_string()))
        }
        RadioSpec::Serial { path, baud } => {
            meshtastic::connect(MeshtasticAddr::Serial { path, baud }, timeout)
                .await
                .map_err(|e| bad(e.to_string()))
        }
    }
}

/// The swarm's timers: node-core's defaults suit LoRa (a piece takes
/// half a minute there); on a link of known capacity adverts come four
/// times a second (a requester learns its holders at once, for a few
/// dozen bytes each), twice the pieces are kept in flight
/// and a piece not received is asked for again after eight times the
/// time a holder's share of the window takes at the link's rate (at
/// least 2 s), not after two minutes.
fn swarm_config(fast_link_bps: Option<u64>) -> node_core::packages::swarm::SwarmConfig {
    let d = node_core::packages::swarm::SwarmConfig::default();
    let Some(bps) = fast_link_bps else {
        return d;
    };
    let piece_bits = u64::from(node_core::packages::LinkClass::Fast.piece_len_bytes()) * 8;
    // Twice the pieces in flight: a requester slow to ask again (a busy
    // machine) still finds the holder with pieces to send.
    let per_holder = d.per_holder_pieces * 2;
    let window_us = per_holder as u64 * piece_bits * 1_000_000 / bps.max(1);
    let timeout = Duration::from_micros(window_us.saturating_mul(8))
        .max(Duration::from_secs(2))
        .min(d.request_timeout);
    node_core::packages::swarm::SwarmConfig {
        advert_interval: Duration::from_millis(250),
        request_timeout: timeout,
        window_pieces: d.window_pieces * 2,
        per_holder_pieces: per_holder,
        ..d
    }
}

/// Sync settings with Trickle's Imin set to `imin` and every other timer
/// scaled by the same factor relative to the defaults (tuned for LongFast:
/// Imin 3 min), so that a fast testbed keeps the protocol's proportions.
fn sync_config(imin: Duration) -> Result<SyncConfig, CliError> {
    let d = SyncConfig::default();
    if imin < Duration::from_millis(100) || imin > Duration::from_secs(24 * 3600) {
        return Err(bad(format!(
            "--sync-imin {imin}: must be between 100ms and 24h"
        )));
    }
    let scale = |x: Duration| {
        let us = u128::from(x.as_micros()) * u128::from(imin.as_micros())
            / u128::from(d.trickle.imin.as_micros());
        Duration::from_micros(u64::try_from(us).unwrap_or(u64::MAX).max(1))
    };
    let mut c = d;
    c.trickle.imin = imin;
    c.trickle.imax = scale(d.trickle.imax).max(imin);
    c.ask_jitter = scale(d.ask_jitter);
    c.serve_delay = scale(d.serve_delay);
    c.want_timeout = scale(d.want_timeout);
    c.fresh_window = scale(d.fresh_window);
    c.partial_timeout = scale(d.partial_timeout);
    Ok(c)
}

/// Opens the on-disk store of `--data-dir` (a new folder is made with mode
/// 0700; one that holds only keys made by `okmesh key new` is fine).
fn open_data_dir(dir: &std::path::Path) -> Result<DiskStorage, CliError> {
    if !hw_bridge::keys::has_key_files(dir) {
        db::check_store_folder(dir, "--data-dir")?;
    }
    hw_bridge::keys::create_data_dir(dir).map_err(|e| bad(format!("--data-dir: {e}")))?;
    DiskStorage::open(dir).map_err(|e| db::store_error(dir, e.into()))
}

/// Largest `--trust` file read.
const MAX_TRUST_FILE_BYTES: u64 = 4 << 20;

/// Reads and checks the `--trust` file.
fn read_trust(
    path: Option<&std::path::Path>,
    refuse_unknown: bool,
) -> Result<TrustConfig, CliError> {
    let Some(path) = path else {
        return Ok(TrustConfig {
            refuse_unknown,
            ..TrustConfig::default()
        });
    };
    let name = path.display().to_string();
    let len = std::fs::metadata(path)
        .map_err(|e| bad(format!("--trust {name}: {e}")))?
        .len();
    if len > MAX_TRUST_FILE_BYTES {
        return Err(bad(format!(
            "--trust {name}: {len} bytes, over the limit of {MAX_TRUST_FILE_BYTES}"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("--trust {name}: {e}")))?;
    let pinned = PinnedKeys::parse(&text, &name).map_err(|e| bad(format!("--trust: {e}")))?;
    Ok(TrustConfig {
        pinned,
        source: Some(name),
        refuse_unknown,
    })
}

/// The node's keys: from the data directory (created on the first start)
/// or, without one, drawn for this run.
fn load_keys(dir: Option<&std::path::Path>) -> Result<(Keys, KeysOrigin), CliError> {
    let Some(dir) = dir else {
        let keys = Keys::ephemeral().map_err(|e| CliError::Failed(e.to_string()))?;
        tracing::warn!(
            "no --data-dir: the node and publisher keys last for this run only; what it publishes cannot be updated after a restart"
        );
        return Ok((keys, KeysOrigin::Ephemeral));
    };
    let (keys, origin) = Keys::load_or_create(dir).map_err(|e| bad(format!("--data-dir: {e}")))?;
    if let KeysOrigin::Created { node, publisher } = origin {
        for (new, role, key) in [
            (node, "node", &keys.node),
            (publisher, "publisher", &keys.publisher),
        ] {
            if new {
                tracing::info!(role, fingerprint = %key.public().fingerprint(),
                    public_key = %key.public(), dir = %dir.display(),
                    "created a key pair; back it up with `okmesh key export --secret`");
            }
        }
    }
    Ok((keys, origin))
}

/// The API token: from the data directory (created on the first start and
/// shown once), or drawn for this run and shown.
fn load_token(dir: Option<&std::path::Path>) -> Result<(ApiToken, String), CliError> {
    let (token, shown, hint) = match dir {
        Some(dir) => {
            let (token, created) =
                ApiToken::load_or_create(dir).map_err(|e| bad(format!("--data-dir: {e}")))?;
            let hint = format!(
                "`okmesh key show --token --data-dir {}` prints it",
                dir.display()
            );
            let shown = created.then(|| {
                format!(
                    "created {} (mode 0600)",
                    dir.join(hw_bridge::keys::TOKEN_FILE).display()
                )
            });
            (token, shown, hint)
        }
        None => {
            let token = ApiToken::generate().map_err(|e| CliError::Failed(e.to_string()))?;
            let hint = "it was printed at start; without --data-dir each start draws a new one"
                .to_string();
            (
                token,
                Some("drawn for this run (no --data-dir)".to_string()),
                hint,
            )
        }
    };
    if let Some(what) = shown {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "okmesh: the local API token, {what}; writes need `Authorization: Bearer TOKEN`:\n  {}\n(shown once: {hint})",
                token.reveal()
            );
        }
    }
    Ok((token, hint))
}

/// Everything `serve` needs besides the node.
struct Run {
    link: RadioLink,
    clock: Clock,
    driver: DriverConfig,
    run_for: Option<Duration>,
    listener: Option<(tokio::net::TcpListener, HttpConfig)>,
    data_dir: Option<PathBuf>,
}

/// Runs the node with its API until shutdown, flushes its store and returns
/// the summary line.
async fn serve<S: Storage, P: Storage>(
    node: Node<S, P>,
    r: Run,
) -> Result<serde_json::Value, CliError> {
    let (handle, requests) = driver::handle();
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let http = match r.listener {
        Some((listener, config)) => {
            let addr = listener
                .local_addr()
                .map_err(|e| CliError::Io(format!("--http: {e}")))?;
            let task = tokio::spawn(hw_bridge::http::serve(listener, handle, config, async {
                let _ = http_stopped.await;
            }));
            tracing::info!(%addr, "http api listening");
            let mut line = serde_json::json!({ "http": addr.to_string() });
            if let Some(dir) = &r.data_dir {
                line["token_file"] = dir
                    .join(hw_bridge::keys::TOKEN_FILE)
                    .display()
                    .to_string()
                    .into();
            }
            #[allow(clippy::print_stdout)]
            {
                println!("{line}");
            }
            Some(task)
        }
        None => {
            drop(handle);
            None
        }
    };
    let mut report = driver::run(
        node,
        r.link,
        r.clock,
        r.driver,
        requests,
        field::shutdown_signal(r.run_for),
    )
    .await;
    let _ = stop_http.send(());
    if let Some(task) = http {
        let _ = tokio::time::timeout(StdDuration::from_secs(2), task).await;
    }
    let node = &mut report.node;
    let persistent = r.data_dir.is_some();
    if persistent {
        node.flush_store(true)
            .map_err(|e| CliError::Failed(format!("--data-dir: flushing the store failed: {e}")))?;
        tracing::info!(node = %node.id(), "store flushed");
    }
    let heard: serde_json::Map<String, serde_json::Value> = report
        .stats
        .heard
        .iter()
        .map(|(n, c)| (n.0.to_string(), (*c).into()))
        .collect();
    let (fingerprint, items) = node.catalogue_summary();
    Ok(serde_json::json!({
        "node": node.id().0,
        "uptime_s": report.uptime.as_secs_f64(),
        "chat_sent": report.node_stats.chat_sent,
        "chat_received": report.node_stats.chat_received,
        "send_failures": report.node_stats.send_failures,
        "frames_rejected": report.node_stats.frames_rejected,
        "frames_queued": report.stats.frames_queued,
        "frames_received": report.stats.frames_received,
        "late_send_failures": report.stats.late_send_failures,
        "link_downs": report.stats.link_downs,
        "heard": heard,
        "items": items,
        "fingerprint": format!("{fingerprint:016x}"),
        "sync": hw_bridge::http::sync_json(&node.sync_stats()),
        "persistent": persistent,
        "packages": {
            "held": node.swarm().cache().ids().count(),
            "wanted": node.swarm().wanted().count(),
            "pieces_sent": node.package_stats().pieces_sent,
            "frames_sent": node.package_stats().frames_sent,
            "bad_pieces": node.package_stats().bad_pieces,
        },
    }))
}

pub(crate) fn run(args: NodeArgs) -> Result<ExitCode, CliError> {
    let spec: RadioSpec = args
        .radio
        .parse()
        .map_err(|e: hw_bridge::spec::SpecError| bad(e.to_string()))?;
    let traffic = args.traffic.as_deref().map(parse_traffic).transpose()?;
    let sync = sync_config(args.sync_imin)?;
    let trust = read_trust(args.trust.as_deref(), args.refuse_unknown)?;
    args.logs.init();
    let summary = field::block_on(async {
        // The store and the API address first: a bad --data-dir or a taken
        // port fails before the radio is touched.
        let storage = args.data_dir.as_deref().map(open_data_dir).transpose()?;
        let cache_config = node_core::packages::CacheConfig {
            capacity_bytes: args.package_cache_mib << 20,
            ..node_core::packages::CacheConfig::default()
        };
        // The package cache and the wanted list under the store's lock too.
        let packages = match args.data_dir.as_deref().filter(|_| storage.is_some()) {
            Some(dir) => {
                let cache_dir = dir.join(PACKAGE_DIR);
                let (cache, report) =
                    hw_bridge::store::open_package_cache(&cache_dir, cache_config).map_err(
                        |e| {
                            bad(format!(
                                "--data-dir: the package cache in {}: {e}",
                                cache_dir.display()
                            ))
                        },
                    )?;
                let wanted =
                    driver::Wanted::load(dir).map_err(|e| bad(format!("--data-dir: {e}")))?;
                tracing::info!(dir = %cache_dir.display(), packages = cache.ids().count(),
                    used_bytes = cache.used_bytes(), capacity_bytes = cache_config.capacity_bytes,
                    from_snapshot = report.from_snapshot, wanted = wanted.ids().count(),
                    "package cache opened");
                Some((cache, wanted))
            }
            None => None,
        };
        // Keys under the store's lock: two nodes cannot both create them.
        let (keys, keys_origin) = load_keys(args.data_dir.as_deref())?;
        let listener = match args.http {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| bad(format!("--http {addr}: cannot listen: {e}")))?;
                let (token, token_hint) = load_token(args.data_dir.as_deref())?;
                if !addr.ip().is_loopback() {
                    tracing::warn!(%addr, "the HTTP API listens beyond loopback: every request needs the token");
                }
                Some((
                    listener,
                    HttpConfig {
                        token,
                        hosts: args.http_hosts.clone(),
                        token_hint,
                        index_dir: storage.as_ref().and(args.data_dir.clone()),
                    },
                ))
            }
            None => None,
        };
        let fast_link_bps = match &spec {
            RadioSpec::Udp(u) => u.rate_bps,
            _ => None,
        };
        let link = open_radio(spec, args.seed, args.connect_timeout).await?;
        let clock = Clock::start();
        // Signals are judged on mesh time: Unix time, so that lifetimes mean
        // the same on every node (the bound on clock skew is in
        // node_core::signals::book).
        let unix_now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let signals = SignalConfig {
            publisher: Some(keys.publisher.clone()),
            epoch_offset: Duration::from_micros(unix_now.saturating_sub(clock.now().as_micros())),
            ..SignalConfig::default()
        };
        let config = NodeConfig {
            traffic,
            sync,
            signals,
            // A restart draws a fresh random stream (timers, packet choices).
            incarnation: hw_bridge::random_u32(),
            // What this node publishes is signed with its publisher key and
            // owned by it; what it accepts follows --trust/--refuse-unknown.
            publisher: keys.publisher.clone(),
            trust: node_core::identity::TrustPolicy {
                pinned: trust.pinned.clone(),
                refuse_unknown: trust.refuse_unknown,
            },
            packages: node_core::node::PackageConfig {
                cache: cache_config,
                swarm: swarm_config(fast_link_bps),
            },
            ..NodeConfig::new(link.node_id, args.seed)
        };
        let r = Run {
            link,
            clock,
            driver: DriverConfig {
                status_interval: args.status_every,
                trust,
                wanted: packages
                    .as_ref()
                    .map(|(_, w)| w.clone())
                    .unwrap_or_default(),
                ..DriverConfig::new(keys, keys_origin)
            },
            run_for: args.run_for,
            listener,
            data_dir: storage.as_ref().and(args.data_dir.clone()),
        };
        match (storage, packages) {
            (Some(disk), Some((cache, _))) => {
                let dir = args
                    .data_dir
                    .as_deref()
                    .expect("storage comes from --data-dir");
                let node = Node::with_cache(config, disk, cache, clock.now())
                    .map_err(|e| db::store_error(dir, e))?;
                serve(node, r).await
            }
            _ => serve(Node::new(config, clock.now()), r).await,
        }
    })??;
    #[allow(clippy::print_stdout)]
    {
        println!("{summary}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_timers_scale_with_imin() {
        let d = SyncConfig::default();
        assert_eq!(sync_config(d.trickle.imin).unwrap(), d);
        let c = sync_config(Duration::from_secs(2)).unwrap();
        assert_eq!(c.trickle.imin, Duration::from_secs(2));
        // 2 s is 1/90 of the default 3 min.
        assert_eq!(
            c.trickle.imax,
            Duration::from_micros(d.trickle.imax.as_micros() / 90)
        );
        assert_eq!(
            c.serve_delay,
            Duration::from_micros(d.serve_delay.as_micros() / 90)
        );
        assert_eq!(
            c.want_timeout,
            Duration::from_micros(d.want_timeout.as_micros() / 90)
        );
        assert_eq!((c.strategy, c.max_outbox), (d.strategy, d.max_outbox));
        assert!(sync_config(Duration::from_millis(99)).is_err());
        assert!(sync_config(Duration::from_secs(25 * 3600)).is_err());
    }

    #[test]
    fn a_fast_link_shortens_the_swarm_timers() {
        let d = node_core::packages::swarm::SwarmConfig::default();
        assert_eq!(swarm_config(None), d);
        let c = swarm_config(Some(8_000_000));
        assert_eq!(c.advert_interval, Duration::from_millis(250));
        // Eight 64 KiB pieces at 8 Mbit/s are 524 ms; eight times that.
        assert_eq!(c.request_timeout, Duration::from_micros(4_194_304));
        assert_eq!(
            swarm_config(Some(100_000_000)).request_timeout,
            Duration::from_secs(2)
        );
        assert_eq!(
            swarm_config(Some(10_000)).request_timeout,
            d.request_timeout
        );
        assert_eq!(c.window_pieces, d.window_pieces * 2);
    }

    #[test]
    fn traffic_values_are_checked() {
        let t = parse_traffic("every=2s,bytes=60,hops=1").unwrap();
        assert_eq!(
            (t.mean_period, t.payload_bytes, t.hop_limit),
            (Duration::from_secs(2), 60, 1)
        );
        for (s, needle) in [
            ("bytes=10", "every=PERIOD is required"),
            ("every=0s", "above zero"),
            ("every=1s,bytes=232", "bytes '232'"),
            ("every=1s,bytes=2", "bytes '2'"),
            ("every=1s,hops=8", "hops '8'"),
            ("every=1s,rate=3", "unknown key 'rate'"),
            ("every", "not KEY=VALUE"),
        ] {
            let e = parse_traffic(s).unwrap_err().to_string();
            assert!(e.contains(needle), "{s}: {e}");
        }
    }
}
