//! `okmesh emulate` (hidden): Meshtastic devices on TCP sharing one
//! simulated air, for tests and bench work without radios.
//!
//! It is a subcommand of the one `okmesh` binary rather than a binary of its
//! own so that integration tests find it as `CARGO_BIN_EXE_okmesh` and field
//! users get it without a second install. Once listening it prints one JSON
//! line per device on stdout (`device`, `node_num`, `addr`), and one JSON
//! line of counters per device when it stops.

use std::net::SocketAddr;
use std::process::ExitCode;

use hw_bridge::emulator::{Emulator, EmulatorConfig};
use node_core::Duration;

use crate::commands::field::{self, LogArgs, duration_arg};
use crate::commands::{CliError, bad};

/// Arguments of `okmesh emulate`.
#[derive(clap::Args, Debug)]
pub(crate) struct EmulateArgs {
    /// Number of devices.
    #[arg(long, default_value_t = 2)]
    devices: usize,
    /// Address of the first device; device i listens on port + i (port 0:
    /// every device picks a free port).
    #[arg(long, default_value = "127.0.0.1:4403")]
    listen: SocketAddr,
    /// Node number of the first device; the others follow.
    #[arg(long, default_value_t = 0x0E00_0001)]
    first_node_num: u32,
    /// Links as pairs of device indices heard both ways, e.g. 0-1,1-2
    /// (default: every device hears every other).
    #[arg(long)]
    links: Option<String>,
    /// Probability that a receiver misses a transmission.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Seed of the loss draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Factor on LongFast time on air (1: real time, 0: instant).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Hourly transmit budget in percent (EU868: 10); default none.
    #[arg(long)]
    duty_cycle: Option<f64>,
    /// Transmit queue length per device.
    #[arg(long, default_value_t = 16)]
    queue_len: u32,
    /// Stop after this long (default: until SIGTERM or ctrl-c).
    #[arg(long, value_parser = duration_arg)]
    run_for: Option<Duration>,
    #[command(flatten)]
    logs: LogArgs,
}

fn parse_links(s: &str, n: usize) -> Result<Vec<(usize, usize)>, CliError> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (a, b) = pair
                .split_once('-')
                .ok_or_else(|| bad(format!("--links '{s}': '{pair}' is not A-B")))?;
            let idx = |x: &str| {
                x.parse::<usize>().ok().filter(|&i| i < n).ok_or_else(|| {
                    bad(format!(
                        "--links '{s}': '{x}' is not a device index below {n}"
                    ))
                })
            };
            Ok((idx(a)?, idx(b)?))
        })
        .collect()
}

pub(crate) fn run(args: EmulateArgs) -> Result<ExitCode, CliError> {
    if args.devices == 0 || args.devices > 64 {
        return Err(bad(format!("--devices {}: between 1 and 64", args.devices)));
    }
    if args.queue_len == 0 || args.queue_len > 1024 {
        return Err(bad(format!(
            "--queue-len {}: between 1 and 1024",
            args.queue_len
        )));
    }
    if args.duty_cycle.is_some_and(|d| !(d > 0.0 && d <= 100.0)) {
        return Err(bad("--duty-cycle: a percentage in (0, 100]"));
    }
    let mut config = EmulatorConfig::new(args.devices, args.first_node_num, args.time_scale);
    config.links = args
        .links
        .as_deref()
        .map(|l| parse_links(l, args.devices))
        .transpose()?;
    config.loss = args.loss;
    config.seed = args.seed;
    config.duty_cycle_percent = args.duty_cycle;
    config.queue_len = args.queue_len;
    let addrs: Vec<SocketAddr> = (0..args.devices)
        .map(|i| {
            let mut a = args.listen;
            if a.port() != 0 {
                let port = u16::try_from(usize::from(a.port()) + i)
                    .map_err(|_| bad(format!("--listen {}: ports run past 65535", args.listen)))?;
                a.set_port(port);
            }
            Ok(a)
        })
        .collect::<Result<_, CliError>>()?;
    args.logs.init();
    let node_nums: Vec<u32> = config.devices.iter().map(|d| d.node_num).collect();
    let stats = field::block_on(async {
        let emu = Emulator::bind(config, &addrs)
            .await
            .map_err(|e| bad(e.to_string()))?;
        #[allow(clippy::print_stdout)]
        for (i, addr) in emu.local_addrs().iter().enumerate() {
            println!(
                "{}",
                serde_json::json!({"device": i, "node_num": node_nums[i], "addr": addr.to_string()})
            );
        }
        Ok::<_, CliError>(emu.run(field::shutdown_signal(args.run_for)).await)
    })??;
    for (i, s) in stats.iter().enumerate() {
        let hops: serde_json::Map<String, serde_json::Value> = s
            .hop_limits
            .iter()
            .map(|(h, c)| (h.to_string(), (*c).into()))
            .collect();
        #[allow(clippy::print_stdout)]
        {
            println!(
                "{}",
                serde_json::json!({
                    "device": i, "node_num": node_nums[i],
                    "from_client": s.from_client, "queue_overflows": s.queue_overflows,
                    "too_large": s.too_large, "duty_cycle_refusals": s.duty_cycle_refusals,
                    "transmissions": s.transmissions, "to_client": s.to_client,
                    "dropped_no_client": s.dropped_no_client, "naks": s.naks,
                    "handshakes": s.handshakes, "hop_limits": hops,
                })
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
