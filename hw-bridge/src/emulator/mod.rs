//! A Meshtastic device emulator for tests and bench work.
//!
//! Several emulated devices share one simulated air ([`air`]); each listens
//! on its own TCP port and speaks the firmware's client API (the stream
//! framing of [`crate::meshtastic::stream`] and the `ToRadio`/`FromRadio`
//! protobufs), so the official clients and okmesh's own Meshtastic
//! transport connect to it as to a networked radio. It is checked against the
//! official Python client in the integration tests.
//!
//! This module is the tokio shell: listeners, one task per connection, and
//! one task that owns the [`air::Air`] state machine.

pub mod air;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub use air::{Air, DeviceConfig, DeviceStats, EmulatorConfig};

use crate::driver::Clock;
use crate::meshtastic::proto::pb;
use crate::meshtastic::stream::{StreamDecoder, StreamEvent};

/// Messages queued towards one client before it is disconnected as stuck.
pub const CLIENT_QUEUE: usize = 1024;
/// Messages from all connections queued towards the air task.
pub const INPUT_QUEUE: usize = 1024;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration does not fit.
    #[error("invalid emulator configuration: {0}")]
    Config(String),
}

enum Input {
    Connected {
        device: usize,
        conn: u64,
        tx: mpsc::Sender<Vec<u8>>,
    },
    ToRadio {
        device: usize,
        conn: u64,
        msg: pb::ToRadio,
    },
    Closed {
        device: usize,
        conn: u64,
    },
}

/// Bound listeners, ready to run.
#[derive(Debug)]
pub struct Emulator {
    config: EmulatorConfig,
    listeners: Vec<TcpListener>,
}

impl Emulator {
    /// Binds one listener per device (`addrs[i]` for device `i`; port 0 picks
    /// a free port).
    pub async fn bind(config: EmulatorConfig, addrs: &[SocketAddr]) -> Result<Self, EmulatorError> {
        if addrs.len() != config.devices.len() {
            return Err(EmulatorError::Config(format!(
                "{} devices but {} listen addresses",
                config.devices.len(),
                addrs.len()
            )));
        }
        if config.devices.is_empty() || config.devices.len() > 64 {
            return Err(EmulatorError::Config("between 1 and 64 devices".into()));
        }
        if !(0.0..=1.0).contains(&config.loss) || !(0.0..=1000.0).contains(&config.time_scale) {
            return Err(EmulatorError::Config(
                "loss must be in 0..=1 and time scale in 0..=1000".into(),
            ));
        }
        let mut listeners = Vec::new();
        for &addr in addrs {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|source| EmulatorError::Bind { addr, source })?;
            listeners.push(l);
        }
        Ok(Emulator { config, listeners })
    }

    /// The addresses the devices listen on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// Serves until `shutdown` completes; returns each device's counters.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Vec<DeviceStats> {
        let (in_tx, mut in_rx) = mpsc::channel::<Input>(INPUT_QUEUE);
        let next_conn = Arc::new(AtomicU64::new(1));
        let mut accepters = Vec::new();
        for (device, listener) in self.listeners.into_iter().enumerate() {
            let in_tx = in_tx.clone();
            let next_conn = next_conn.clone();
            accepters.push(tokio::spawn(accept_loop(
                device, listener, in_tx, next_conn,
            )));
        }
        drop(in_tx);
        let clock = Clock::start();
        let mut air = Air::new(self.config);
        let mut clients: BTreeMap<u64, mpsc::Sender<Vec<u8>>> = BTreeMap::new();
        tokio::pin!(shutdown);
        loop {
            let deadline = air.poll_timeout().and_then(|t| clock.deadline(t));
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                input = in_rx.recv() => {
                    let Some(input) = input else { break };
                    let now = clock.now();
                    match input {
                        Input::Connected { device, conn, tx } => {
                            tracing::info!(device = air.node_num(device), conn, "client connected");
                            clients.insert(conn, tx);
                            air.connect(device, conn);
                        }
                        Input::ToRadio { device, conn, msg } => air.handle_to_radio(now, device, conn, msg),
                        Input::Closed { device, conn } => {
                            tracing::info!(device = air.node_num(device), conn, "client disconnected");
                            clients.remove(&conn);
                            air.disconnect(device, conn);
                        }
                    }
                }
                () = crate::sleep_until_or_forever(deadline) => air.handle_timeout(clock.now()),
            }
            while let Some(out) = air.poll_output() {
                let Some(tx) = clients.get(&out.conn) else {
                    continue;
                };
                if tx.try_send(out.bytes).is_err() {
                    tracing::warn!(conn = out.conn, "client not reading, disconnecting it");
                    clients.remove(&out.conn);
                    air.disconnect(out.device, out.conn);
                }
            }
        }
        for a in accepters {
            a.abort();
        }
        (0..air.device_count())
            .map(|i| air.stats(i).clone())
            .collect()
    }
}

async fn accept_loop(
    device: usize,
    listener: TcpListener,
    in_tx: mpsc::Sender<Input>,
    next_conn: Arc<AtomicU64>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
        if in_tx
            .send(Input::Connected { device, conn, tx })
            .await
            .is_err()
        {
            return;
        }
        tokio::spawn(serve_conn(device, conn, stream, rx, in_tx.clone()));
    }
}

async fn serve_conn(
    device: usize,
    conn: u64,
    stream: TcpStream,
    mut rx: mpsc::Receiver<Vec<u8>>,
    in_tx: mpsc::Sender<Input>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let clock = Clock::start();
    let mut decoder = StreamDecoder::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let deadline = decoder.poll_timeout().and_then(|t| clock.deadline(t));
        tokio::select! {
            r = reader.read(&mut buf) => {
                let n = match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                for msg in drain(&mut decoder, clock.now(), &buf[..n]) {
                    if in_tx.send(Input::ToRadio { device, conn, msg }).await.is_err() {
                        return;
                    }
                }
            }
            out = rx.recv() => {
                let Some(bytes) = out else { break };
                if writer.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            () = crate::sleep_until_or_forever(deadline) => {
                decoder.handle_timeout(clock.now());
                for msg in drain(&mut decoder, clock.now(), &[]) {
                    if in_tx.send(Input::ToRadio { device, conn, msg }).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
    let _ = in_tx.send(Input::Closed { device, conn }).await;
}

/// Decodes every complete `ToRadio` in `input`; frames that are not valid
/// protobufs are handed back to the decoder for a rescan.
fn drain(
    decoder: &mut StreamDecoder,
    now: node_core::Instant,
    mut input: &[u8],
) -> Vec<pb::ToRadio> {
    let mut msgs = Vec::new();
    loop {
        let d = decoder.decode(now, input);
        input = &input[d.consumed..];
        match d.event {
            None => return msgs,
            Some(StreamEvent::Frame(f)) => match pb::ToRadio::decode(f.as_slice()) {
                Ok(msg) => msgs.push(msg),
                Err(_) => decoder.reject_frame(),
            },
            // Wake bytes and noise: nothing to do.
            Some(_) => {}
        }
    }
}
