//! The tokio side of a Meshtastic device: opens the serial port or TCP
//! socket, runs a [`MeshtasticClient`] over it, and reconnects with
//! exponential backoff when the connection drops.
//!
//! [`connect`] returns only once the first handshake completed (the node's
//! id is the device's node number) or fails with a clear error within the
//! connect timeout plus [`HANDSHAKE_TIMEOUT`] — never a silent hang.

use std::time::Duration as StdDuration;

use node_core::{NodeId, SendError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client::{ClientConfig, ClientEvent, HANDSHAKE_TIMEOUT, MeshtasticClient};
use super::proto;
use crate::driver::Clock;
use crate::radio::{LinkKind, RadioEnds, RadioEvent, RadioLink, RadioReport};

/// First reconnect delay; doubled after each failure.
pub const MIN_BACKOFF: StdDuration = StdDuration::from_secs(1);
/// Longest reconnect delay.
pub const MAX_BACKOFF: StdDuration = StdDuration::from_secs(30);

/// Where the device is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum MeshtasticAddr {
    /// The TCP API of a networked device (port 4403).
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// A USB serial device.
    Serial {
        /// Device path.
        path: String,
        /// Baud rate.
        baud: u32,
    },
}

impl std::fmt::Display for MeshtasticAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MeshtasticAddr::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
            MeshtasticAddr::Serial { path, baud } => write!(f, "serial:{path}@{baud}"),
        }
    }
}

/// Why the device could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Opening the port or socket failed.
    #[error("cannot open {addr}: {reason}")]
    Open {
        /// The device.
        addr: String,
        /// The OS's reason.
        reason: String,
    },
    /// Opening took longer than the connect timeout.
    #[error("cannot open {addr}: no answer within {secs} s")]
    OpenTimeout {
        /// The device.
        addr: String,
        /// The timeout.
        secs: u64,
    },
    /// The device did not complete the config handshake.
    #[error("{addr} did not complete the Meshtastic handshake: {reason}")]
    Handshake {
        /// The device.
        addr: String,
        /// What happened.
        reason: String,
    },
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn open(addr: &MeshtasticAddr, timeout: StdDuration) -> Result<Box<dyn Io>, LinkError> {
    let name = addr.to_string();
    let opened: Result<Box<dyn Io>, String> = match addr {
        MeshtasticAddr::Tcp { host, port } => {
            match tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), *port))).await {
                Err(_) => {
                    return Err(LinkError::OpenTimeout {
                        addr: name,
                        secs: timeout.as_secs().max(1),
                    });
                }
                Ok(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    Ok(Box::new(s))
                }
                Ok(Err(e)) => Err(e.to_string()),
            }
        }
        MeshtasticAddr::Serial { path, baud } => open_serial(path, *baud),
    };
    opened.map_err(|reason| LinkError::Open { addr: name, reason })
}

fn open_serial(path: &str, baud: u32) -> Result<Box<dyn Io>, String> {
    use tokio_serial::{SerialPort, SerialPortBuilderExt};
    let mut port = tokio_serial::new(path, baud)
        .open_native_async()
        .map_err(|e| e.to_string())?;
    // The levels the official clients use: DTR up, RTS down (RTS resets
    // many ESP32 boards). Ports without modem-control lines (pseudo
    // terminals, some bridges) refuse; the data path works without them.
    if let Err(e) = port.write_data_terminal_ready(true) {
        tracing::warn!(path, error = %e, "cannot set DTR on the serial port");
    }
    if let Err(e) = port.write_request_to_send(false) {
        tracing::warn!(path, error = %e, "cannot set RTS on the serial port");
    }
    Ok(Box::new(port))
}

/// Why a connection ended.
enum Ended {
    /// The driver dropped its end: stop.
    Shutdown,
    /// The connection failed: reconnect.
    Lost(String),
}

struct Conn {
    io: Box<dyn Io>,
    client: MeshtasticClient,
    clock: Clock,
    buf: Vec<u8>,
}

impl Conn {
    async fn start(addr: &MeshtasticAddr, connect_timeout: StdDuration) -> Result<Self, LinkError> {
        let io = open(addr, connect_timeout).await?;
        let clock = Clock::start();
        let mut config_id = crate::random_u32();
        if config_id == 0 || config_id == proto::NODELESS_WANT_CONFIG_ID {
            config_id = 1;
        }
        let config = ClientConfig {
            wake: matches!(addr, MeshtasticAddr::Serial { .. }),
            config_id,
            first_packet_id: crate::random_u32(),
        };
        let client = MeshtasticClient::new(config, clock.now());
        Ok(Conn {
            io,
            client,
            clock,
            buf: vec![0; 4096],
        })
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if let Some(bytes) = self.client.poll_transmit() {
            // write_all: a short write must never cut a frame.
            self.io.write_all(&bytes).await?;
            self.io.flush().await?;
        }
        Ok(())
    }

    /// One round of I/O: flush, then wait for bytes or the client's timer.
    /// `frames` is polled only while the client has room.
    async fn step(
        &mut self,
        frames: Option<&mut tokio::sync::mpsc::Receiver<node_core::OutFrame>>,
    ) -> Result<Option<Option<node_core::OutFrame>>, String> {
        self.flush()
            .await
            .map_err(|e| format!("write failed: {e}"))?;
        let deadline = self
            .client
            .poll_timeout()
            .and_then(|t| self.clock.deadline(t));
        let has_room = self.client.queue_room() > 0;
        let recv_frame = async {
            match frames {
                Some(f) if has_room => Some(f.recv().await),
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            r = self.io.read(&mut self.buf) => {
                match r {
                    Ok(0) => Err("the device closed the connection".into()),
                    Ok(n) => {
                        let now = self.clock.now();
                        self.client.handle_bytes(now, &self.buf[..n]);
                        Ok(None)
                    }
                    Err(e) => Err(format!("read failed: {e}")),
                }
            }
            f = recv_frame => Ok(f),
            () = crate::sleep_until_or_forever(deadline) => {
                self.client.handle_timeout(self.clock.now());
                Ok(None)
            }
        }
    }
}

/// Opens the device and completes the handshake; returns the device's node
/// number and what it said about itself.
async fn establish(
    addr: &MeshtasticAddr,
    connect_timeout: StdDuration,
) -> Result<(Conn, u32, RadioReport), LinkError> {
    let mut conn = Conn::start(addr, connect_timeout).await?;
    let handshake_err = |reason: String| LinkError::Handshake {
        addr: addr.to_string(),
        reason,
    };
    loop {
        conn.step(None).await.map_err(handshake_err)?;
        while let Some(ev) = conn.client.poll_event() {
            match ev {
                ClientEvent::Ready {
                    my_node_num,
                    known_nodes,
                    firmware,
                    region,
                    preset,
                } => {
                    tracing::info!(device = %addr, node = %NodeId(my_node_num), known_nodes,
                        %firmware, region = region.as_deref().unwrap_or("?"),
                        preset = preset.as_deref().unwrap_or("?"), "Meshtastic device ready");
                    let report = RadioReport {
                        kind: LinkKind::Meshtastic,
                        address: addr.to_string(),
                        region,
                        preset,
                        firmware: Some(firmware).filter(|f| !f.is_empty()),
                    };
                    return Ok((conn, my_node_num, report));
                }
                ClientEvent::Failed(reason) => return Err(handshake_err(reason)),
                ClientEvent::DeviceLog(line) => tracing::debug!(device = %addr, device_log = %line),
                other => tracing::debug!(device = %addr, event = ?other, "during handshake"),
            }
        }
    }
}

/// Connects to a Meshtastic device and starts its radio task.
pub async fn connect(
    addr: MeshtasticAddr,
    connect_timeout: StdDuration,
) -> Result<RadioLink, LinkError> {
    // The handshake has its own timeout inside the client; this outer bound
    // also covers a device that trickles bytes forever.
    let bound = connect_timeout
        + StdDuration::from_micros(HANDSHAKE_TIMEOUT.as_micros())
        + StdDuration::from_secs(1);
    let (conn, my_node_num, report) =
        match tokio::time::timeout(bound, establish(&addr, connect_timeout)).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(LinkError::Handshake {
                    addr: addr.to_string(),
                    reason: format!("no handshake within {} s", bound.as_secs()),
                });
            }
        };
    Ok(RadioLink::spawn_meshtastic(
        NodeId(my_node_num),
        conn.client.queue_room(),
        report,
        |ends| run(addr, connect_timeout, conn, ends),
    ))
}

async fn run(
    addr: MeshtasticAddr,
    connect_timeout: StdDuration,
    mut conn: Conn,
    mut ends: RadioEnds,
) {
    loop {
        let ended = serve(&mut conn, &mut ends).await;
        ends.state.set_up(false);
        ends.state.set_room(0);
        let reason = match ended {
            Ended::Shutdown => {
                conn.client.disconnect(conn.clock.now());
                let _ = tokio::time::timeout(StdDuration::from_secs(1), conn.flush()).await;
                return;
            }
            Ended::Lost(reason) => reason,
        };
        for (packet_id, _) in conn.client.take_unsent() {
            let _ = ends
                .events
                .send(RadioEvent::SendFailed {
                    packet_id: Some(packet_id),
                    error: SendError::Unavailable(format!("connection lost: {reason}")),
                })
                .await;
        }
        let _ = ends.events.send(RadioEvent::Down { reason }).await;
        let mut backoff = MIN_BACKOFF;
        conn = loop {
            // Sleep, but leave at once if the driver stops; frames queued
            // while the link was failing are refused.
            let sleep = tokio::time::sleep(backoff);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = &mut sleep => break,
                    f = ends.frames.recv() => match f {
                        None => return,
                        Some(_) => {
                            let _ = ends.events.send(RadioEvent::SendFailed {
                                packet_id: None,
                                error: SendError::Unavailable("radio link is down".into()),
                            }).await;
                        }
                    },
                }
            }
            match establish(&addr, connect_timeout).await {
                Ok((c, num, report)) => {
                    ends.state.set_report(report);
                    ends.state.set_room(c.client.queue_room());
                    ends.state.set_up(true);
                    let _ = ends.events.send(RadioEvent::Up { node: NodeId(num) }).await;
                    break c;
                }
                Err(e) => {
                    tracing::warn!(device = %addr, error = %e, retry_in_s = backoff.as_secs(), "reconnect failed");
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        };
    }
}

async fn serve(conn: &mut Conn, ends: &mut RadioEnds) -> Ended {
    loop {
        match conn.step(Some(&mut ends.frames)).await {
            Err(reason) => return Ended::Lost(reason),
            Ok(Some(None)) => return Ended::Shutdown,
            Ok(Some(Some(frame))) => {
                let now = conn.clock.now();
                if let Err(error) = conn.client.send(now, frame) {
                    let _ = ends
                        .events
                        .send(RadioEvent::SendFailed {
                            packet_id: None,
                            error,
                        })
                        .await;
                }
            }
            Ok(None) => {}
        }
        ends.state.set_room(conn.client.queue_room());
        while let Some(ev) = conn.client.poll_event() {
            let out = match ev {
                ClientEvent::Received(rx) => RadioEvent::Received(rx),
                ClientEvent::SendFailed { packet_id, error } => RadioEvent::SendFailed {
                    packet_id: Some(packet_id),
                    error,
                },
                ClientEvent::DeviceLog(line) => RadioEvent::DeviceLog(line),
                ClientEvent::Failed(reason) => return Ended::Lost(reason),
                ClientEvent::Acked { packet_id } => {
                    tracing::debug!(packet_id, "acknowledged");
                    continue;
                }
                ClientEvent::StreamError(e) => {
                    tracing::debug!(error = %e, "stream bytes dropped");
                    continue;
                }
                ClientEvent::Ready { .. } => continue,
                ClientEvent::Utilisation {
                    channel_pct,
                    air_tx_pct,
                } => {
                    ends.state.set_utilisation(channel_pct, air_tx_pct);
                    continue;
                }
            };
            if ends.events.send(out).await.is_err() {
                return Ended::Shutdown;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::{Emulator, EmulatorConfig};
    use node_core::{Destination, OutFrame, Priority};
    use std::net::SocketAddr;

    fn any_port() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    fn tcp(addr: SocketAddr) -> MeshtasticAddr {
        MeshtasticAddr::Tcp {
            host: addr.ip().to_string(),
            port: addr.port(),
        }
    }

    async fn start_emulator(
        config: EmulatorConfig,
        addrs: &[SocketAddr],
    ) -> (
        Vec<SocketAddr>,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<Vec<crate::emulator::DeviceStats>>,
    ) {
        let emu = Emulator::bind(config, addrs).await.unwrap();
        let addrs = emu.local_addrs();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(emu.run(async {
            let _ = stopped.await;
        }));
        (addrs, stop, task)
    }

    #[tokio::test]
    async fn two_links_exchange_frames_through_the_emulator_without_overflowing_it() {
        // 231-byte frames take ~2 s of LongFast air; scaled to ~4 ms so the
        // radio queue really fills and QueueStatus flow control matters.
        let mut config = EmulatorConfig::new(2, 0x0A00_0001, 0.002);
        config.queue_len = 4;
        let (addrs, stop, emu) = start_emulator(config, &[any_port(), any_port()]).await;
        let timeout = StdDuration::from_secs(5);
        let a = connect(tcp(addrs[0]), timeout).await.unwrap();
        let mut b = connect(tcp(addrs[1]), timeout).await.unwrap();
        assert_eq!(
            (a.node_id, b.node_id),
            (NodeId(0x0A00_0001), NodeId(0x0A00_0002))
        );
        const N: usize = 40;
        let sender = tokio::spawn(async move {
            for i in 0..N {
                let mut payload = vec![0x94, 0xC3, 0x00, 0xE7];
                payload.resize(231, i as u8);
                a.frames
                    .send(OutFrame {
                        dest: Destination::Broadcast,
                        hop_limit: 3,
                        priority: Priority::Normal,
                        payload,
                    })
                    .await
                    .unwrap();
            }
            a
        });
        let mut got = Vec::new();
        while got.len() < N {
            let ev = tokio::time::timeout(StdDuration::from_secs(10), b.events.recv())
                .await
                .expect("frames keep coming")
                .unwrap();
            match ev {
                RadioEvent::Received(rx) => {
                    assert_eq!(rx.from, NodeId(0x0A00_0001));
                    assert_eq!(&rx.payload[..4], &[0x94, 0xC3, 0x00, 0xE7]);
                    got.push(rx.payload[230]);
                }
                RadioEvent::SendFailed { error, .. } => panic!("{error}"),
                _ => {}
            }
        }
        assert_eq!(
            got,
            (0..N as u8).collect::<Vec<_>>(),
            "all frames, in order"
        );
        let a = sender.await.unwrap();
        drop((a, b));
        stop.send(()).unwrap();
        let stats = emu.await.unwrap();
        assert_eq!(stats[0].from_client, N as u64);
        assert_eq!(
            stats[0].queue_overflows, 0,
            "never more in flight than the radio has room for"
        );
        assert_eq!(stats[0].hop_limits.get(&3), Some(&(N as u64)));
    }

    #[tokio::test]
    async fn a_closed_port_fails_at_once_with_the_reason() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let err = connect(tcp(addr), StdDuration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, LinkError::Open { .. }), "{err}");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }

    #[tokio::test]
    async fn a_missing_serial_device_is_a_clear_error() {
        let addr = MeshtasticAddr::Serial {
            path: "/dev/okmesh-no-such-tty".into(),
            baud: 115_200,
        };
        let err = connect(addr, StdDuration::from_secs(1)).await.unwrap_err();
        assert!(err.to_string().contains("/dev/okmesh-no-such-tty"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_device_fails_the_handshake_in_bounded_time() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let _keep = tokio::spawn(async move {
            let (_s, _) = l.accept().await.unwrap();
            std::future::pending::<()>().await;
        });
        let started = tokio::time::Instant::now();
        let err = connect(tcp(addr), StdDuration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, LinkError::Handshake { .. }), "{err}");
        assert!(started.elapsed() <= StdDuration::from_secs(27));
    }

    #[tokio::test]
    async fn the_link_reconnects_when_the_device_comes_back() {
        let config = EmulatorConfig::new(1, 77, 0.0);
        let (addrs, stop, emu) = start_emulator(config.clone(), &[any_port()]).await;
        let mut link = connect(tcp(addrs[0]), StdDuration::from_secs(5))
            .await
            .unwrap();
        stop.send(()).unwrap();
        emu.await.unwrap();
        let ev = tokio::time::timeout(StdDuration::from_secs(5), link.events.recv())
            .await
            .unwrap();
        assert!(matches!(ev, Some(RadioEvent::Down { .. })), "{ev:?}");
        assert!(!link.state.is_up());
        let (_, stop2, _emu2) = start_emulator(config, &addrs).await;
        let ev = tokio::time::timeout(StdDuration::from_secs(10), link.events.recv())
            .await
            .unwrap();
        assert_eq!(ev, Some(RadioEvent::Up { node: NodeId(77) }));
        assert!(link.state.is_up());
        let _ = stop2.send(());
    }
}
