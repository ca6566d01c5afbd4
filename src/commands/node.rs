//! `okmesh node`: one field node on a real radio or the UDP testbed.
//!
//! Logs go to stderr (`--log-format json` for one JSON object per line); when
//! the node stops (SIGTERM, ctrl-c or `--run-for`) one JSON summary line is
//! printed on stdout.

use std::process::ExitCode;
use std::time::Duration as StdDuration;

use hw_bridge::driver::{self, Clock, DriverConfig};
use hw_bridge::meshtastic::{self, MeshtasticAddr};
use hw_bridge::radio::RadioLink;
use hw_bridge::spec::RadioSpec;
use hw_bridge::udp::{self, UdpConfig};
use node_core::node::MIN_TRAFFIC_PAYLOAD_BYTES;
use node_core::transport::MAX_HOP_LIMIT;
use node_core::{Duration, Node, NodeConfig, NodeId, TrafficConfig};

use crate::commands::CliError;
use crate::commands::field::{self, LogFormat, duration_arg};

/// Arguments of `okmesh node`.
//
// Seam for the store and sync work: `--data-dir DIR` (the on-disk store
// loaded in `build_node` and flushed after `driver::run` returns the node)
// and `--http ADDR` (served next to the driver) are added here.
#[derive(clap::Args, Debug)]
pub(crate) struct NodeArgs {
    /// The radio: serial:/dev/ttyUSB0[@BAUD], tcp:HOST[:4403], or
    /// udp:BIND,peers=ADDR+ADDR[,id=N][,loss=P][,delay=D][,jitter=D].
    #[arg(long)]
    radio: String,
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
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    log: tracing::Level,
    /// Log line format.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

fn bad(msg: impl Into<String>) -> CliError {
    CliError::BadInput(msg.into())
}

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

/// The node this process runs; the store will be opened here.
fn build_node(id: NodeId, seed: u64, traffic: Option<TrafficConfig>, clock: &Clock) -> Node {
    let config = NodeConfig {
        traffic,
        ..NodeConfig::new(id, seed)
    };
    Node::new(config, clock.now())
}

pub(crate) fn run(args: NodeArgs) -> Result<ExitCode, CliError> {
    let spec: RadioSpec = args
        .radio
        .parse()
        .map_err(|e: hw_bridge::spec::SpecError| bad(e.to_string()))?;
    let traffic = args.traffic.as_deref().map(parse_traffic).transpose()?;
    field::init_logs(args.log, args.log_format);
    let report = field::block_on(async {
        let link = open_radio(spec, args.seed, args.connect_timeout).await?;
        let clock = Clock::start();
        let node = build_node(link.node_id, args.seed, traffic, &clock);
        let config = DriverConfig {
            status_interval: args.status_every,
        };
        Ok::<_, CliError>(
            driver::run(
                node,
                link,
                clock,
                config,
                field::shutdown_signal(args.run_for),
            )
            .await,
        )
    })??;
    let heard: serde_json::Map<String, serde_json::Value> = report
        .stats
        .heard
        .iter()
        .map(|(n, c)| (n.0.to_string(), (*c).into()))
        .collect();
    let summary = serde_json::json!({
        "node": report.node.id().0,
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
    });
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
