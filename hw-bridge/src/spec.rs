//! `--radio` values: which transport a field node uses.
//!
//! ```text
//! serial:/dev/ttyUSB0[@115200]       a Meshtastic device on USB serial
//! tcp:HOST[:4403]                    a Meshtastic device's TCP API
//! udp:BIND,peers=A+B[,id=N][,loss=P][,delay=D][,jitter=D][,rate=BITS_PER_S]
//!                                    the loopback testbed; peers are the
//!                                    neighbours this node hears (joined
//!                                    with '+'); id defaults to BIND's port
//! ```

use std::net::{SocketAddr, ToSocketAddrs};

use node_core::time::parse_duration;
use node_core::{Duration, NodeId};

/// The Meshtastic TCP API port.
pub const DEFAULT_TCP_PORT: u16 = 4403;
/// The Meshtastic serial speed.
pub const DEFAULT_BAUD: u32 = 115_200;

/// A parsed `--radio` value.
#[derive(Clone, PartialEq, Debug)]
pub enum RadioSpec {
    /// A device on a serial port.
    Serial {
        /// Device path.
        path: String,
        /// Baud rate.
        baud: u32,
    },
    /// A device's TCP API.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// The UDP testbed.
    Udp(UdpSpec),
}

/// The UDP testbed settings of a `--radio udp:` value (the seed comes from
/// `--seed`).
#[derive(Clone, PartialEq, Debug)]
pub struct UdpSpec {
    /// Local address.
    pub bind: SocketAddr,
    /// Neighbours.
    pub peers: Vec<SocketAddr>,
    /// Node id (default: the bind port).
    pub id: NodeId,
    /// Loss probability.
    pub loss: f64,
    /// Fixed delay.
    pub delay: Duration,
    /// Random extra delay.
    pub jitter: Duration,
    /// The link's rate in bits per second (`rate=`): sending is paced to
    /// it; `None`, unpaced.
    pub rate_bps: Option<u64>,
}

/// Why a `--radio` value is unusable; the message names the part at fault.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("--radio '{spec}': {reason}")]
pub struct SpecError {
    /// The value given.
    pub spec: String,
    /// What is wrong with it.
    pub reason: String,
}

impl std::str::FromStr for RadioSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, SpecError> {
        let err = |reason: String| SpecError {
            spec: spec.to_owned(),
            reason,
        };
        let Some((kind, rest)) = spec.split_once(':') else {
            return Err(err(
                "expected serial:PATH, tcp:HOST[:PORT] or udp:BIND,peers=ADDR+ADDR".into(),
            ));
        };
        match kind {
            "serial" => {
                let (path, baud) = match rest.rsplit_once('@') {
                    Some((p, b)) => (
                        p,
                        b.parse::<u32>().ok().filter(|&b| b > 0).ok_or_else(|| {
                            err(format!("baud rate '{b}' is not a positive number"))
                        })?,
                    ),
                    None => (rest, DEFAULT_BAUD),
                };
                if path.is_empty() {
                    return Err(err("the serial device path is empty".into()));
                }
                Ok(RadioSpec::Serial {
                    path: path.to_owned(),
                    baud,
                })
            }
            "tcp" => {
                let (host, port) = split_host_port(rest).map_err(err)?;
                Ok(RadioSpec::Tcp {
                    host,
                    port: port.unwrap_or(DEFAULT_TCP_PORT),
                })
            }
            "udp" => parse_udp(rest).map(RadioSpec::Udp).map_err(err),
            other => Err(err(format!(
                "unknown radio kind '{other}' (expected serial, tcp or udp)"
            ))),
        }
    }
}

/// `HOST`, `HOST:PORT`, `[V6]` or `[V6]:PORT`.
fn split_host_port(s: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("'{s}': missing ']' after an IPv6 address"))?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err(format!("'{s}': unexpected '{after}' after the address")),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| format!("port '{p}' is not a number in 1..=65535"))?,
        ),
        None => None,
    };
    Ok((host.to_owned(), port))
}

fn parse_addr(what: &str, s: &str) -> Result<SocketAddr, String> {
    let (host, port) = split_host_port(s).map_err(|e| format!("{what}: {e}"))?;
    let port = port.ok_or_else(|| format!("{what} '{s}' needs a port (HOST:PORT)"))?;
    (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("{what} '{s}' is not an address"))
}

/// Reads a link rate in bits per second: `8000000`, `8M`, `512k`, `1G`
/// (decimal multiples), within the UDP transport's range.
fn parse_rate(value: &str) -> Result<u64, String> {
    let (digits, mult) = match value.as_bytes().last() {
        Some(b'k' | b'K') => (&value[..value.len() - 1], 1_000),
        Some(b'M') => (&value[..value.len() - 1], 1_000_000),
        Some(b'G') => (&value[..value.len() - 1], 1_000_000_000),
        _ => (value, 1),
    };
    let range = crate::udp::MIN_RATE_BPS..=crate::udp::MAX_RATE_BPS;
    digits
        .parse::<u64>()
        .ok()
        .and_then(|d| d.checked_mul(mult))
        .filter(|r| range.contains(r))
        .ok_or_else(|| {
            format!(
                "rate '{value}' is not a rate in bits per second from {} to {} (e.g. 8M)",
                range.start(),
                range.end()
            )
        })
}

fn parse_udp(rest: &str) -> Result<UdpSpec, String> {
    let mut parts = rest.split(',');
    let bind = parse_addr("bind address", parts.next().unwrap_or_default())?;
    let mut spec = UdpSpec {
        bind,
        peers: Vec::new(),
        id: NodeId(u32::from(bind.port())),
        loss: 0.0,
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
        rate_bps: None,
    };
    let mut have_peers = false;
    for part in parts {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' is not KEY=VALUE"))?;
        match key {
            "peers" => {
                have_peers = true;
                for p in value.split('+').filter(|p| !p.is_empty()) {
                    spec.peers.push(parse_addr("peer", p)?);
                }
            }
            "id" => {
                let id = value
                    .parse::<u32>()
                    .ok()
                    .filter(|&id| id != u32::MAX)
                    .ok_or_else(|| format!("id '{value}' is not a node number below 4294967295"))?;
                spec.id = NodeId(id);
            }
            "loss" => {
                spec.loss = value
                    .parse::<f64>()
                    .ok()
                    .filter(|l| (0.0..=1.0).contains(l))
                    .ok_or_else(|| format!("loss '{value}' is not a probability in 0..=1"))?;
            }
            "delay" => spec.delay = parse_duration(value).map_err(|e| format!("delay: {e}"))?,
            "jitter" => spec.jitter = parse_duration(value).map_err(|e| format!("jitter: {e}"))?,
            "rate" => spec.rate_bps = Some(parse_rate(value)?),
            other => {
                return Err(format!(
                    "unknown option '{other}' (expected peers, id, loss, delay, jitter or rate)"
                ));
            }
        }
    }
    if !have_peers {
        return Err("peers=ADDR+ADDR is required (the neighbours this node hears)".into());
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<RadioSpec, SpecError> {
        s.parse()
    }

    #[test]
    fn good_values_parse() {
        assert_eq!(
            parse("serial:/dev/ttyUSB0"),
            Ok(RadioSpec::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 115_200
            })
        );
        assert_eq!(
            parse("serial:/dev/ttyACM0@921600"),
            Ok(RadioSpec::Serial {
                path: "/dev/ttyACM0".into(),
                baud: 921_600
            })
        );
        assert_eq!(
            parse("tcp:meshtastic.local"),
            Ok(RadioSpec::Tcp {
                host: "meshtastic.local".into(),
                port: 4403
            })
        );
        assert_eq!(
            parse("tcp:[::1]:4404"),
            Ok(RadioSpec::Tcp {
                host: "::1".into(),
                port: 4404
            })
        );
        let RadioSpec::Udp(u) = parse(
            "udp:127.0.0.1:7001,peers=127.0.0.1:7002+127.0.0.1:7003,loss=0.1,delay=20ms,jitter=5ms",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(u.id, NodeId(7001));
        assert_eq!(u.peers.len(), 2);
        assert_eq!(u.loss, 0.1);
        assert_eq!(u.delay, Duration::from_millis(20));
        assert_eq!(u.jitter, Duration::from_millis(5));
        let RadioSpec::Udp(u) = parse("udp:127.0.0.1:7001,peers=,id=5").unwrap() else {
            panic!()
        };
        assert_eq!((u.id, u.peers.len(), u.rate_bps), (NodeId(5), 0, None));
        for (rate, bps) in [
            ("8M", 8_000_000),
            ("512k", 512_000),
            ("1G", 1_000_000_000),
            ("2500", 2_500),
        ] {
            let RadioSpec::Udp(u) =
                parse(&format!("udp:127.0.0.1:7001,peers=,rate={rate}")).unwrap()
            else {
                panic!()
            };
            assert_eq!(u.rate_bps, Some(bps), "{rate}");
        }
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        for (spec, needle) in [
            ("ttyUSB0", "expected serial:PATH"),
            ("lora:x", "unknown radio kind 'lora'"),
            ("serial:", "path is empty"),
            ("serial:/dev/x@fast", "baud rate 'fast'"),
            ("tcp:", "host is empty"),
            ("tcp:host:99999", "port '99999'"),
            ("tcp:[::1", "missing ']'"),
            ("udp:127.0.0.1:7001", "peers=ADDR+ADDR is required"),
            ("udp:127.0.0.1,peers=", "needs a port"),
            ("udp:127.0.0.1:1,peers=127.0.0.1:x", "port 'x'"),
            ("udp:127.0.0.1:1,peers=,loss=2", "loss '2'"),
            ("udp:127.0.0.1:1,peers=,rate=fast", "rate 'fast'"),
            ("udp:127.0.0.1:1,peers=,rate=20G", "rate '20G'"),
            ("udp:127.0.0.1:1,peers=,rate=999", "rate '999'"),
            ("udp:127.0.0.1:1,peers=,delay=3 parsecs", "delay"),
            (
                "udp:127.0.0.1:1,peers=,colour=red",
                "unknown option 'colour'",
            ),
            ("udp:127.0.0.1:1,peers=,id=-1", "id '-1'"),
        ] {
            let e = parse(spec).expect_err(spec).to_string();
            assert!(e.contains(needle), "{spec}: {e}");
            assert!(e.starts_with(&format!("--radio '{spec}'")), "{e}");
        }
    }
}
