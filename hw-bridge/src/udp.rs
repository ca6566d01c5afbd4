//! The UDP testbed transport: several node processes on one machine, each
//! hearing a configured list of neighbours, as if they shared radios.
//!
//! Each frame goes out as one datagram to every neighbour. A datagram from an
//! address that is not in the neighbour list is not heard (links can be
//! one-way). Every received frame goes through node-core's managed-flood
//! rule ([`ManagedFlood`]) as on a Meshtastic radio: a frame seen before
//! (or our own) goes no further, a new one is relayed at once while hops
//! remain and it is not addressed to us alone, and
//! [`RxFrame::hops_away`](node_core::RxFrame) is counted the same way. Optional loss and delay are drawn per received
//! datagram from a stream seeded by `(seed, node id)`, so a run's choices are
//! reproducible given the seed and the order datagrams arrive in (which the
//! OS, not the seed, decides). Signal figures are fixed nominal values: there
//! is no radio.
//!
//! **Link rate** (`rate_bps`, `rate=` in the `--radio` spec): without it
//! frames leave as fast as the node hands them over, and the node paces
//! itself by LoRa time on air, as on a Meshtastic radio. With it the
//! testbed stands for a fast local link (Wi-Fi, Ethernet) of that
//! capacity: each frame the node sends or relays occupies the link for
//! its datagram's bits (the header below plus the payload; IP and UDP
//! headers are not counted) over the rate, and frames wait their turn
//! (a virtual clock, with at most [`PACE_BURST`] sent ahead of it, as a
//! network card's queue would hold). A broadcast frame costs its
//! time once, however many neighbours it reaches, as on a shared radio
//! channel. The node sees the rate as its link's capacity (transport
//! airtime, package estimates), and the frame queue holds
//! [`QUEUE_SPAN`] of sending so that the node's senders, which look at a
//! full queue again only after a few milliseconds, keep the link busy.
//!
//! Datagram layout (little-endian), parsed with [`Datagram::new_checked`]:
//!
//! ```text
//! 0  "OKU" + version 1
//! 4  originator node id   u32
//! 8  packet id            u32
//! 12 destination node id  u32 (0xFFFF_FFFF: broadcast)
//! 16 hop limit            u8
//! 17 hop start            u8
//! 18 payload              ≤ 231 bytes
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;

use node_core::radio::{FloodHeader, ManagedFlood, Role};
use node_core::{Destination, Duration, NodeId, OutFrame, Rng};
use tokio::net::UdpSocket;

use crate::meshtastic::proto::{self, BROADCAST_NUM};
use crate::radio::{self, RadioEnds, RadioEvent, RadioLink, RxOwned};

/// Datagram magic and version.
pub const MAGIC: [u8; 4] = *b"OKU\x01";
/// Bytes before the payload.
pub const HEADER_BYTES: usize = 18;
/// Most neighbours one node may list.
pub const MAX_PEERS: usize = 64;
/// Datagrams held back for delay before new ones are dropped.
pub const MAX_DELAYED: usize = 1024;
/// Longest delay or jitter accepted.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// Receive buffer asked of the OS (Linux caps it at `net.core.rmem_max`):
/// a quarter of a second at 100 Mbit/s.
pub const RECV_BUFFER_BYTES: usize = 4 << 20;
/// Slowest link rate accepted, bits per second.
pub const MIN_RATE_BPS: u64 = 1_000;
/// Fastest link rate accepted, bits per second.
pub const MAX_RATE_BPS: u64 = 10_000_000_000;
/// How far sending may run ahead of a paced link's clock: the frames a
/// network card would hold queued (a few dozen at 8 Mbit/s, against its
/// usual thousand), so that a timer that fires late or a process
/// descheduled for a moment on a busy machine does not leave the link
/// idle.
pub const PACE_BURST: std::time::Duration = std::time::Duration::from_millis(20);
/// Sending time a paced link's frame queue holds: more than
/// [`PACE_BURST`], and several times the package pump's 10 ms wait at a
/// full queue (node-core), so the link never idles while the node waits.
pub const QUEUE_SPAN: std::time::Duration = std::time::Duration::from_millis(60);
/// Most frames a paced link's queue holds.
pub const MAX_QUEUE_FRAMES: usize = 1024;
/// Signal strength reported for every frame (there is no radio).
pub const NOMINAL_RSSI_DBM: f32 = -80.0;
/// Signal-to-noise ratio reported for every frame.
pub const NOMINAL_SNR_DB: f32 = 8.0;

/// How a UDP testbed node is wired.
#[derive(Clone, PartialEq, Debug)]
pub struct UdpConfig {
    /// Local address to bind.
    pub bind: SocketAddr,
    /// Neighbours: where frames are sent and whom we hear.
    pub peers: Vec<SocketAddr>,
    /// This node's id.
    pub node_id: NodeId,
    /// Probability that a received datagram is lost, 0..=1.
    pub loss: f64,
    /// Fixed delay added to every received datagram.
    pub delay: Duration,
    /// Extra uniform random delay, 0..=jitter.
    pub jitter: Duration,
    /// The link's rate in bits per second: sending is paced to it (see
    /// the module docs); `None`, unpaced.
    pub rate_bps: Option<u64>,
    /// Root seed for loss and jitter.
    pub seed: u64,
}

/// Why a UDP transport could not start.
#[derive(Debug, thiserror::Error)]
pub enum UdpError {
    /// The socket could not be bound.
    #[error("cannot bind UDP socket {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration is out of range.
    #[error("invalid UDP configuration: {0}")]
    Config(String),
}

/// Why a datagram was not accepted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum DatagramError {
    /// Shorter than the header.
    #[error("datagram of {0} bytes is shorter than the {HEADER_BYTES}-byte header")]
    Truncated(usize),
    /// Wrong magic or version.
    #[error("datagram does not start with the okmesh UDP magic")]
    Magic,
    /// Payload above the maximum.
    #[error("datagram payload of {0} bytes exceeds the maximum")]
    TooLarge(usize),
    /// Hop limit above hop start or above the maximum.
    #[error("datagram hop fields are inconsistent (limit {limit}, start {start})")]
    Hops {
        /// Hop limit.
        limit: u8,
        /// Hop start.
        start: u8,
    },
}

/// A validated view of a datagram.
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    bytes: &'a [u8],
}

/// A decoded datagram.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DatagramRepr {
    /// Originator.
    pub from: NodeId,
    /// Packet id chosen by the originator.
    pub packet_id: u32,
    /// Destination.
    pub dest: Destination,
    /// Relays left.
    pub hop_limit: u8,
    /// Hop limit the originator set.
    pub hop_start: u8,
    /// Application payload.
    pub payload: Vec<u8>,
}

impl<'a> Datagram<'a> {
    /// Validates the header and sizes of untrusted bytes.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, DatagramError> {
        if bytes.len() < HEADER_BYTES {
            return Err(DatagramError::Truncated(bytes.len()));
        }
        if bytes[..4] != MAGIC {
            return Err(DatagramError::Magic);
        }
        let payload = bytes.len() - HEADER_BYTES;
        if payload > proto::MAX_PAYLOAD_BYTES {
            return Err(DatagramError::TooLarge(payload));
        }
        let (limit, start) = (bytes[16], bytes[17]);
        if limit > start || start > node_core::transport::MAX_HOP_LIMIT {
            return Err(DatagramError::Hops { limit, start });
        }
        Ok(Datagram { bytes })
    }

    fn u32_at(&self, at: usize) -> u32 {
        let mut b = [0; 4];
        b.copy_from_slice(&self.bytes[at..at + 4]);
        u32::from_le_bytes(b)
    }
}

impl DatagramRepr {
    /// Reads a checked datagram.
    pub fn parse(d: &Datagram<'_>) -> Self {
        DatagramRepr {
            from: NodeId(d.u32_at(4)),
            packet_id: d.u32_at(8),
            dest: proto::from_node_num(d.u32_at(12)),
            hop_limit: d.bytes[16],
            hop_start: d.bytes[17],
            payload: d.bytes[HEADER_BYTES..].to_vec(),
        }
    }

    /// Decodes untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DatagramError> {
        Ok(Self::parse(&Datagram::new_checked(bytes)?))
    }

    /// Encodes the datagram.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES + self.payload.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.from.0.to_le_bytes());
        out.extend_from_slice(&self.packet_id.to_le_bytes());
        out.extend_from_slice(&proto::to_node_num(self.dest).to_le_bytes());
        out.push(self.hop_limit);
        out.push(self.hop_start);
        out.extend_from_slice(&self.payload);
        out
    }
}

/// Binds the socket and starts the transport task.
pub async fn spawn(config: UdpConfig) -> Result<RadioLink, UdpError> {
    if !(0.0..=1.0).contains(&config.loss) {
        return Err(UdpError::Config(format!(
            "loss {} is not in 0..=1",
            config.loss
        )));
    }
    if config.delay > MAX_DELAY || config.jitter > MAX_DELAY {
        return Err(UdpError::Config(format!(
            "delay and jitter must be at most {MAX_DELAY}"
        )));
    }
    if let Some(r) = config.rate_bps
        && !(MIN_RATE_BPS..=MAX_RATE_BPS).contains(&r)
    {
        return Err(UdpError::Config(format!(
            "rate {r} bit/s is not in {MIN_RATE_BPS}..={MAX_RATE_BPS}"
        )));
    }
    if config.peers.len() > MAX_PEERS {
        return Err(UdpError::Config(format!("at most {MAX_PEERS} peers")));
    }
    if proto::to_node_num(Destination::Node(config.node_id)) == BROADCAST_NUM {
        return Err(UdpError::Config(
            "node id 0xFFFFFFFF is the broadcast address".into(),
        ));
    }
    let socket = UdpSocket::bind(config.bind)
        .await
        .map_err(|source| UdpError::Bind {
            addr: config.bind,
            source,
        })?;
    // A fast link delivers faster than a busy machine schedules the node:
    // a deep receive buffer (as far as the OS allows) keeps a burst from
    // being dropped, and a dropped fragment costs its whole piece again.
    if let Err(e) = socket2::SockRef::from(&socket).set_recv_buffer_size(RECV_BUFFER_BYTES) {
        tracing::debug!(error = %e, "udp receive buffer left at the system default");
    }
    let peers: Vec<String> = config.peers.iter().map(ToString::to_string).collect();
    let report = radio::RadioReport {
        kind: radio::LinkKind::UdpTestbed,
        address: format!(
            "{} → {}",
            socket.local_addr().unwrap_or(config.bind),
            peers.join(" ")
        ),
        ..Default::default()
    };
    let fixed_rate = config.rate_bps.map(|bitrate_bps| radio::FixedRate {
        bitrate_bps,
        frame_overhead_bytes: HEADER_BYTES,
    });
    let queue = fixed_rate.map_or(radio::OUT_QUEUE_FRAMES, queue_frames);
    let mut link = RadioLink::spawn_meshtastic(config.node_id, queue, report, |ends| {
        run(socket, config, ends)
    });
    if let Some(r) = fixed_rate {
        link.capabilities.bitrate_bps = u32::try_from(r.bitrate_bps).unwrap_or(u32::MAX);
    }
    link.fixed_rate = fixed_rate;
    Ok(link)
}

/// Frames of [`QUEUE_SPAN`] at a paced link's rate (full frames).
fn queue_frames(rate: radio::FixedRate) -> usize {
    let frame_bits = (HEADER_BYTES + proto::MAX_PAYLOAD_BYTES) as u64 * 8;
    let frames = rate.bitrate_bps * QUEUE_SPAN.as_micros() as u64 / 1_000_000 / frame_bits;
    (frames as usize).clamp(radio::OUT_QUEUE_FRAMES, MAX_QUEUE_FRAMES)
}

struct Udp {
    socket: UdpSocket,
    config: UdpConfig,
    rng: Rng,
    next_id: u32,
    flood: ManagedFlood,
    /// Datagrams waiting out their delay, earliest first.
    delayed: BinaryHeap<Reverse<(tokio::time::Instant, u64, Vec<u8>)>>,
    delayed_seq: u64,
    events: tokio::sync::mpsc::Sender<RadioEvent>,
    /// Warnings a neighbour's flood causes, at most one line per window.
    limiter: crate::logs::LogLimiter,
    /// When a paced link is free again (its virtual clock).
    link_free: tokio::time::Instant,
}

async fn run(socket: UdpSocket, config: UdpConfig, ends: RadioEnds) {
    // The link state stays "up" with constant room: UDP has no radio queue.
    let RadioEnds {
        mut frames, events, ..
    } = ends;
    let rng = Rng::derive(config.seed, "udp-link", u64::from(config.node_id.0));
    let mut udp = Udp {
        socket,
        rng,
        next_id: crate::random_u32(),
        flood: ManagedFlood::new(config.node_id, Role::Client),
        delayed: BinaryHeap::new(),
        delayed_seq: 0,
        limiter: crate::logs::LogLimiter::default(),
        events,
        config,
        link_free: tokio::time::Instant::now(),
    };
    let _ = udp
        .events
        .send(RadioEvent::Up {
            node: udp.config.node_id,
        })
        .await;
    let mut buf = vec![0u8; 2048];
    loop {
        let next_delayed = udp.delayed.peek().map(|Reverse((t, _, _))| *t);
        // A paced link takes the next frame only when its clock allows.
        let paced_until = udp
            .config
            .rate_bps
            .map(|_| udp.link_free - PACE_BURST)
            .filter(|t| *t > tokio::time::Instant::now());
        tokio::select! {
            f = frames.recv(), if paced_until.is_none() => {
                let Some(f) = f else { break };
                udp.send_own(f).await;
            }
            () = crate::sleep_until_or_forever(paced_until) => {}
            r = udp.socket.recv_from(&mut buf) => {
                match r {
                    Ok((len, src)) => udp.arrive(src, buf[..len].to_vec()).await,
                    // ICMP port-unreachable from a neighbour that is not up
                    // yet surfaces here on some systems; it is not fatal.
                    Err(e) => tracing::debug!(error = %e, "udp receive error"),
                }
            }
            () = crate::sleep_until_or_forever(next_delayed) => {
                if let Some(Reverse((_, _, bytes))) = udp.delayed.pop() {
                    udp.deliver(bytes).await;
                }
            }
        }
    }
}

/// A packet id as Meshtastic firmware makes one (`generatePacketId`): the
/// counter in the low 10 bits, `random` in the top 22, so that nobody can
/// predict this node's next ids and pre-send them to poison every
/// duplicate filter against it (issue 11's censor).
fn packet_id(counter: u32, random: u32) -> u32 {
    ((counter & 0x3ff) | (random << 10)).max(1)
}

impl Udp {
    async fn send_own(&mut self, f: OutFrame) {
        self.next_id = self.next_id.wrapping_add(1);
        let d = DatagramRepr {
            from: self.config.node_id,
            packet_id: packet_id(self.next_id, crate::random_u32()),
            dest: f.dest,
            hop_limit: f.hop_limit,
            hop_start: f.hop_limit,
            payload: f.payload,
        };
        self.broadcast(&d.encode()).await;
    }

    async fn broadcast(&mut self, bytes: &[u8]) {
        if let Some(rate) = self.config.rate_bps {
            let us = (bytes.len() as u64 * 8 * 1_000_000).div_ceil(rate);
            let start = self.link_free.max(tokio::time::Instant::now());
            self.link_free = start + std::time::Duration::from_micros(us);
        }
        for peer in &self.config.peers {
            if let Err(e) = self.socket.send_to(bytes, peer).await {
                tracing::debug!(%peer, error = %e, "udp send failed");
            }
        }
    }

    async fn arrive(&mut self, src: SocketAddr, bytes: Vec<u8>) {
        if !self.config.peers.contains(&src) {
            tracing::trace!(%src, "datagram from a non-neighbour ignored");
            return;
        }
        if self.config.loss > 0.0 && self.rng.chance(self.config.loss) {
            return;
        }
        let jitter_us = self.rng.range_inclusive(0, self.config.jitter.as_micros());
        let delay_us = self.config.delay.as_micros() + jitter_us;
        if delay_us == 0 {
            self.deliver(bytes).await;
            return;
        }
        if self.delayed.len() >= MAX_DELAYED {
            let now = tokio::time::Instant::now();
            if let Some(suppressed) = self.limiter.admit("udp delay queue full", now) {
                tracing::warn!(suppressed, "udp delay queue full, datagram dropped");
            }
            return;
        }
        let at = tokio::time::Instant::now() + std::time::Duration::from_micros(delay_us);
        self.delayed_seq += 1;
        self.delayed.push(Reverse((at, self.delayed_seq, bytes)));
    }

    async fn deliver(&mut self, bytes: Vec<u8>) {
        let d = match DatagramRepr::decode(&bytes) {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(error = %e, "datagram rejected");
                return;
            }
        };
        let flood = self.flood.receive(&FloodHeader {
            origin: d.from,
            id: d.packet_id,
            dest: d.dest,
            hop_limit: d.hop_limit,
            hop_start: d.hop_start,
        });
        // A duplicate (or our own frame relayed back) goes no further; with
        // no relay queue there is nothing to cancel either.
        if flood.duplicate {
            return;
        }
        if let Some(hop_limit) = flood.relay_hop_limit {
            let relay = DatagramRepr {
                hop_limit,
                ..d.clone()
            };
            self.broadcast(&relay.encode()).await;
        }
        if flood.deliver {
            let rx = RxOwned {
                from: d.from,
                dest: d.dest,
                hops_away: flood.hops_away,
                rssi_dbm: NOMINAL_RSSI_DBM,
                snr_db: NOMINAL_SNR_DB,
                payload: d.payload,
            };
            let _ = self.events.send(RadioEvent::Received(rx)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_core::Priority;
    use proptest::prelude::*;

    #[test]
    fn datagrams_round_trip_and_reject_garbage() {
        let d = DatagramRepr {
            from: NodeId(7),
            packet_id: 99,
            dest: Destination::Node(NodeId(3)),
            hop_limit: 1,
            hop_start: 3,
            payload: vec![1, 2, 3],
        };
        assert_eq!(DatagramRepr::decode(&d.encode()), Ok(d.clone()));
        assert_eq!(
            DatagramRepr::decode(&[0; 5]),
            Err(DatagramError::Truncated(5))
        );
        let mut bad = d.encode();
        bad[0] = b'X';
        assert_eq!(DatagramRepr::decode(&bad), Err(DatagramError::Magic));
        let mut bad = d.encode();
        bad[16] = 4;
        assert!(matches!(
            DatagramRepr::decode(&bad),
            Err(DatagramError::Hops { .. })
        ));
        let big = DatagramRepr {
            payload: vec![0; 232],
            ..d
        };
        assert_eq!(
            DatagramRepr::decode(&big.encode()),
            Err(DatagramError::TooLarge(232))
        );
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = DatagramRepr::decode(&bytes);
        }
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    async fn free_ports(n: usize) -> Vec<u16> {
        let mut socks = Vec::new();
        for _ in 0..n {
            socks.push(std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
        }
        socks
            .iter()
            .map(|s| s.local_addr().unwrap().port())
            .collect()
    }

    fn config(id: u32, port: u16, peers: &[u16]) -> UdpConfig {
        UdpConfig {
            bind: addr(port),
            peers: peers.iter().map(|&p| addr(p)).collect(),
            node_id: NodeId(id),
            loss: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            rate_bps: None,
            seed: 1,
        }
    }

    fn broadcast(hop_limit: u8, payload: &[u8]) -> OutFrame {
        OutFrame {
            dest: Destination::Broadcast,
            hop_limit,
            priority: Priority::Normal,
            payload: payload.to_vec(),
        }
    }

    async fn next_rx(link: &mut RadioLink) -> RxOwned {
        loop {
            let ev = tokio::time::timeout(std::time::Duration::from_secs(5), link.events.recv())
                .await
                .expect("a frame within 5 s")
                .expect("link open");
            if let RadioEvent::Received(rx) = ev {
                return rx;
            }
        }
    }

    #[tokio::test]
    async fn packet_ids_cannot_be_predicted_from_the_last_one() {
        let p = free_ports(2).await;
        let a = spawn(config(1, p[0], &[p[1]])).await.unwrap();
        let listener = tokio::net::UdpSocket::bind(addr(p[1])).await.unwrap();
        let mut ids = Vec::new();
        for _ in 0..8 {
            a.frames.send(broadcast(0, b"x")).await.unwrap();
            let mut buf = [0u8; 512];
            let n =
                tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv(&mut buf))
                    .await
                    .expect("a datagram")
                    .unwrap();
            ids.push(DatagramRepr::decode(&buf[..n]).unwrap().packet_id);
        }
        // The low 10 bits count; the rest changes at random, so "the last
        // id plus one" is almost never the next id.
        for w in ids.windows(2) {
            assert_eq!(w[0].wrapping_add(1) & 0x3ff, w[1] & 0x3ff);
        }
        let successors = ids
            .windows(2)
            .filter(|w| w[1] == w[0].wrapping_add(1))
            .count();
        assert!(successors <= 1, "{ids:x?}");
        assert_eq!(packet_id(5, 0), 5);
        assert_eq!(packet_id(0x405, 1), 0x005 | (1 << 10));
    }

    #[tokio::test]
    async fn a_line_of_three_relays_once_and_counts_hops() {
        // a — b — c: a and c do not hear each other.
        let p = free_ports(3).await;
        let mut a = spawn(config(1, p[0], &[p[1]])).await.unwrap();
        let mut b = spawn(config(2, p[1], &[p[0], p[2]])).await.unwrap();
        let mut c = spawn(config(3, p[2], &[p[1]])).await.unwrap();
        a.frames.send(broadcast(3, b"hello")).await.unwrap();
        let at_b = next_rx(&mut b).await;
        assert_eq!(
            (at_b.from, at_b.hops_away, &at_b.payload[..]),
            (NodeId(1), 0, &b"hello"[..])
        );
        let at_c = next_rx(&mut c).await;
        assert_eq!((at_c.from, at_c.hops_away), (NodeId(1), 1));
        // c's relay reaches b again and a hears b's relay: both are duplicates.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(b.events.try_recv().is_err());
        assert!(!matches!(a.events.try_recv(), Ok(RadioEvent::Received(_))));
        // Zero hops: direct neighbours only.
        a.frames.send(broadcast(0, b"near")).await.unwrap();
        assert_eq!(next_rx(&mut b).await.payload, b"near");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(c.events.try_recv().is_err(), "c is two hops away");
    }

    #[tokio::test]
    async fn total_loss_hears_nothing_and_delay_holds_frames_back() {
        let p = free_ports(3).await;
        let a = spawn(config(1, p[0], &[p[1], p[2]])).await.unwrap();
        let mut lossy = spawn(UdpConfig {
            loss: 1.0,
            ..config(2, p[1], &[p[0]])
        })
        .await
        .unwrap();
        let mut slow = spawn(UdpConfig {
            delay: Duration::from_millis(300),
            ..config(3, p[2], &[p[0]])
        })
        .await
        .unwrap();
        let sent = std::time::Instant::now();
        a.frames.send(broadcast(0, b"x")).await.unwrap();
        next_rx(&mut slow).await;
        assert!(sent.elapsed() >= std::time::Duration::from_millis(300));
        assert!(!matches!(
            lossy.events.try_recv(),
            Ok(RadioEvent::Received(_))
        ));
    }

    #[tokio::test]
    async fn a_link_rate_paces_frames_and_sizes_the_queue() {
        let p = free_ports(2).await;
        // 400 kbit/s: 60 full frames of 249 datagram bytes take 299 ms.
        let a = spawn(UdpConfig {
            rate_bps: Some(400_000),
            ..config(1, p[0], &[p[1]])
        })
        .await
        .unwrap();
        let mut b = spawn(config(2, p[1], &[p[0]])).await.unwrap();
        let rate = a.fixed_rate.expect("a fixed rate");
        assert_eq!(rate.airtime(231), Duration::from_micros(4_980));
        assert_eq!(a.capabilities.bitrate_bps, 400_000);
        let sent = std::time::Instant::now();
        let frames = 60;
        let payload = [7u8; 231];
        let sender = tokio::spawn(async move {
            for _ in 0..frames {
                a.frames.send(broadcast(0, &payload)).await.unwrap();
            }
            a
        });
        for _ in 0..frames {
            next_rx(&mut b).await;
        }
        let took = sent.elapsed();
        // The last frame starts when the first 59 have had their time, less
        // the burst it may run ahead; never much later.
        let ideal = std::time::Duration::from_micros(4_980 * frames);
        let earliest = std::time::Duration::from_micros(4_980 * (frames - 1)) - PACE_BURST;
        assert!(took >= earliest, "{took:?} for {ideal:?}");
        assert!(took < ideal * 3, "{took:?} for {ideal:?}");
        drop(sender.await.unwrap());
        // The queue holds QUEUE_SPAN of sending, within bounds.
        let q = |bps| {
            queue_frames(radio::FixedRate {
                bitrate_bps: bps,
                frame_overhead_bytes: HEADER_BYTES,
            })
        };
        assert_eq!(q(8_000_000), 240);
        assert_eq!(q(10_000), radio::OUT_QUEUE_FRAMES);
        assert_eq!(q(MAX_RATE_BPS), MAX_QUEUE_FRAMES);
        let e = spawn(UdpConfig {
            rate_bps: Some(10),
            ..config(3, 0, &[])
        })
        .await
        .unwrap_err();
        assert!(e.to_string().contains("rate 10"), "{e}");
    }

    #[tokio::test]
    async fn a_taken_port_is_a_clear_error() {
        let held = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let err = spawn(config(1, port, &[])).await.unwrap_err();
        assert!(err.to_string().contains("cannot bind"), "{err}");
    }
}
