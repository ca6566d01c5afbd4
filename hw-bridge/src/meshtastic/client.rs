//! A sans-IO Meshtastic API client: bytes and time in, bytes and events out.
//!
//! It does what the phone apps and the Python client do on connect, and what
//! okmesh needs after:
//!
//! 1. on serial, [`WAKE_BYTES`] first and a
//!    [`WAKE_SETTLE`] pause for a sleeping device; then `want_config_id` and, until the matching `config_complete_id` arrives
//!    (within [`HANDSHAKE_TIMEOUT`]), the device's MyInfo, NodeInfos,
//!    channels and config are read;
//! 2. frames from [`MeshtasticClient::send`] wait in a bounded queue and go
//!    to the radio only while the radio has room: the last `QueueStatus`'s
//!    `free` minus packets sent since (one at a time until the first
//!    `QueueStatus`); a packet whose `QueueStatus` never comes frees its slot
//!    after [`QUEUE_STATUS_TIMEOUT`] so the queue cannot wedge;
//! 3. every packet is `PRIVATE_APP` with `hop_limit` set from the frame
//!    (never left at the protobuf default of 0), `want_ack` for unicast;
//! 4. a refusing `QueueStatus` or a Routing NAK (TOO_LARGE,
//!    DUTY_CYCLE_LIMIT, MAX_RETRANSMIT, …) for one of our packets becomes a
//!    [`ClientEvent::SendFailed`], once per packet;
//! 5. a heartbeat every [`HEARTBEAT_INTERVAL`] keeps the device from closing
//!    an idle API connection.
//!
//! The caller owns the socket: it feeds received bytes to
//! [`MeshtasticClient::handle_bytes`], writes what
//! [`MeshtasticClient::poll_transmit`] returns, calls
//! [`MeshtasticClient::handle_timeout`] at
//! [`MeshtasticClient::poll_timeout`], and drains
//! [`MeshtasticClient::poll_event`].

use std::collections::VecDeque;

use node_core::{Duration, Instant, NodeId, OutFrame, SendError};
use prost::Message;

use super::proto::{
    self, BROADCAST_NUM, MAX_PAYLOAD_BYTES, PRIVATE_APP, ROUTING_APP, TELEMETRY_APP, pb,
};
use super::stream::{self, StreamDecoder, StreamEvent, WAKE_BYTES};
use crate::radio::RxOwned;

/// Pause between the wake bytes and the handshake (the official clients
/// wait the same 100 ms).
pub const WAKE_SETTLE: Duration = Duration::from_millis(100);
/// The device must finish the config handshake within this time.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);
/// A sent packet whose `QueueStatus` has not come after this long stops
/// counting against the radio's room.
pub const QUEUE_STATUS_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a heartbeat is sent on an otherwise idle connection.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(60);
/// Frames waiting for radio room before `send` says the queue is full.
pub const MAX_PENDING: usize = 16;
/// Sent packets remembered to attribute late Routing NAKs.
pub const MAX_RECENT: usize = 128;
/// Events kept before the oldest are dropped.
pub const MAX_EVENTS: usize = 1024;

/// Client settings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ClientConfig {
    /// Send wake bytes first (serial).
    pub wake: bool,
    /// The `want_config_id` of the handshake (any value but 0 and
    /// [`proto::NODELESS_WANT_CONFIG_ID`]).
    pub config_id: u32,
    /// First packet id; ids must differ across restarts.
    pub first_packet_id: u32,
}

/// The region and preset of a device's LoRa config, by their protobuf
/// names; a number this crate does not know is kept as a number.
fn lora_names(l: &pb::config::LoRaConfig) -> (Option<String>, Option<String>) {
    use pb::config::lo_ra_config::{ModemPreset, RegionCode};
    let region = RegionCode::try_from(l.region).map_or_else(
        |_| format!("region {}", l.region),
        |r| r.as_str_name().to_owned(),
    );
    let preset = if l.use_preset {
        ModemPreset::try_from(l.modem_preset).map_or_else(
            |_| format!("preset {}", l.modem_preset),
            |p| p.as_str_name().to_owned(),
        )
    } else {
        "CUSTOM".to_owned()
    };
    (Some(region), Some(preset))
}

/// What the client reports.
#[derive(Clone, PartialEq, Debug)]
pub enum ClientEvent {
    /// The handshake completed.
    Ready {
        /// The device's node number.
        my_node_num: u32,
        /// Other nodes in the device's database.
        known_nodes: usize,
        /// The device's firmware version, if it said.
        firmware: String,
        /// Its LoRa region (e.g. `EU_868`), if its config said.
        region: Option<String>,
        /// Its modem preset (e.g. `LONG_FAST`; `CUSTOM` for its own
        /// modem settings), if its config said.
        preset: Option<String>,
    },
    /// A `PRIVATE_APP` packet from another node.
    Received(RxOwned),
    /// The radio refused one of our packets.
    SendFailed {
        /// The packet's id.
        packet_id: u32,
        /// Why.
        error: SendError,
    },
    /// The radio acknowledged one of our unicast packets.
    Acked {
        /// The packet's id.
        packet_id: u32,
    },
    /// The device reported its own channel figures (its NodeInfo or a
    /// DeviceMetrics telemetry packet about itself).
    Utilisation {
        /// Share of time the channel was busy, all senders, percent.
        channel_pct: Option<f64>,
        /// The device's own transmit duty cycle over the last hour, percent.
        air_tx_pct: Option<f64>,
    },
    /// A device log line (console text or a `LogRecord`).
    DeviceLog(String),
    /// The connection is unusable (handshake timeout, reboot); reconnect.
    Failed(String),
    /// Bytes were dropped by the stream decoder.
    StreamError(stream::StreamError),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Waking { until: Instant },
    Handshake { deadline: Instant },
    Ready { my_node_num: u32 },
    Failed,
}

#[derive(Clone, Copy, Debug)]
struct Recent {
    id: u32,
    payload_bytes: usize,
    reported: bool,
}

/// The client state machine; see the module docs.
#[derive(Debug)]
pub struct MeshtasticClient {
    config: ClientConfig,
    phase: Phase,
    decoder: StreamDecoder,
    out: Vec<u8>,
    pending: VecDeque<(u32, OutFrame)>,
    /// Packets handed to the radio whose QueueStatus has not come, with the
    /// time they were sent.
    in_flight: VecDeque<(u32, Instant)>,
    /// `free` of the last QueueStatus; `None` before the first.
    radio_free: Option<u32>,
    /// When the last QueueStatus arrived.
    last_status: Instant,
    recent: VecDeque<Recent>,
    next_id: u32,
    my_info: Option<pb::MyNodeInfo>,
    known_nodes: usize,
    firmware: String,
    /// The LoRa region and preset from the device's config, by name.
    lora: (Option<String>, Option<String>),
    last_write: Instant,
    events: VecDeque<ClientEvent>,
}

impl MeshtasticClient {
    /// Starts a connection at `now`: queues the wake bytes and the handshake.
    pub fn new(config: ClientConfig, now: Instant) -> Self {
        let mut c = MeshtasticClient {
            config,
            phase: Phase::Waking { until: now },
            decoder: StreamDecoder::new(),
            out: Vec::new(),
            pending: VecDeque::new(),
            in_flight: VecDeque::new(),
            radio_free: None,
            last_status: now,
            recent: VecDeque::new(),
            next_id: config.first_packet_id,
            my_info: None,
            known_nodes: 0,
            firmware: String::new(),
            lora: (None, None),
            last_write: now,
            events: VecDeque::new(),
        };
        if config.wake {
            c.out.extend_from_slice(&WAKE_BYTES);
            c.phase = Phase::Waking {
                until: now + WAKE_SETTLE,
            };
        } else {
            c.start_handshake(now);
        }
        c
    }

    fn start_handshake(&mut self, now: Instant) {
        self.phase = Phase::Handshake {
            deadline: now + HANDSHAKE_TIMEOUT,
        };
        let id = self.config.config_id;
        self.write(
            now,
            &pb::ToRadio {
                payload_variant: Some(pb::to_radio::PayloadVariant::WantConfigId(id)),
            },
        );
    }

    /// Queues a `disconnect`, telling the device this client is done.
    pub fn disconnect(&mut self, now: Instant) {
        self.write(
            now,
            &pb::ToRadio {
                payload_variant: Some(pb::to_radio::PayloadVariant::Disconnect(true)),
            },
        );
        self.phase = Phase::Failed;
    }

    /// The device's node number once the handshake is done.
    pub fn my_node_num(&self) -> Option<u32> {
        match self.phase {
            Phase::Ready { my_node_num } => Some(my_node_num),
            _ => None,
        }
    }

    /// How many more frames [`MeshtasticClient::send`] accepts.
    pub fn queue_room(&self) -> usize {
        match self.phase {
            Phase::Ready { .. } => MAX_PENDING - self.pending.len(),
            _ => 0,
        }
    }

    /// How many packets the radio can take now.
    fn radio_room(&self) -> usize {
        let free = self.radio_free.unwrap_or(1) as usize;
        free.saturating_sub(self.in_flight.len())
    }

    /// Queues a frame; returns its packet id.
    pub fn send(&mut self, now: Instant, frame: OutFrame) -> Result<u32, SendError> {
        if !matches!(self.phase, Phase::Ready { .. }) {
            return Err(SendError::Unavailable(
                "radio handshake not complete".into(),
            ));
        }
        if frame.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(SendError::TooLarge {
                len: frame.payload.len(),
                max: MAX_PAYLOAD_BYTES,
            });
        }
        if frame.hop_limit > node_core::transport::MAX_HOP_LIMIT {
            return Err(SendError::HopLimit {
                hop_limit: frame.hop_limit,
                max: node_core::transport::MAX_HOP_LIMIT,
            });
        }
        if self.pending.len() >= MAX_PENDING {
            return Err(SendError::QueueFull);
        }
        let id = self.fresh_id();
        self.pending.push_back((id, frame));
        self.pump(now);
        Ok(id)
    }

    /// Feeds bytes read from the device.
    pub fn handle_bytes(&mut self, now: Instant, mut input: &[u8]) {
        loop {
            let d = self.decoder.decode(now, input);
            input = &input[d.consumed..];
            match d.event {
                None => break,
                Some(StreamEvent::Frame(bytes)) => match pb::FromRadio::decode(bytes.as_slice()) {
                    Ok(msg) => self.handle_from_radio(now, msg),
                    Err(_) => self.decoder.reject_frame(),
                },
                Some(StreamEvent::LogLine(line)) => self.push(ClientEvent::DeviceLog(line)),
                Some(StreamEvent::Dropped(e)) => self.push(ClientEvent::StreamError(e)),
            }
        }
        self.pump(now);
    }

    /// When [`MeshtasticClient::handle_timeout`] is next needed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.decoder.poll_timeout();
        let mut at = |x: Instant| t = Some(t.map_or(x, |t: Instant| t.min(x)));
        match self.phase {
            Phase::Waking { until } => at(until),
            Phase::Handshake { deadline } => at(deadline),
            Phase::Ready { .. } => at(self.last_write + HEARTBEAT_INTERVAL),
            Phase::Failed => {}
        }
        if let Some(&(_, sent)) = self.in_flight.front() {
            at(sent + QUEUE_STATUS_TIMEOUT);
        }
        if self.radio_free == Some(0) && !self.pending.is_empty() {
            at(self.last_status + QUEUE_STATUS_TIMEOUT);
        }
        t
    }

    /// Handles timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.decoder.handle_timeout(now);
        self.handle_bytes(now, &[]);
        match self.phase {
            Phase::Waking { until } if now >= until => self.start_handshake(now),
            Phase::Handshake { deadline } if now >= deadline => {
                self.fail(format!(
                    "no config_complete_id from the device within {HANDSHAKE_TIMEOUT}"
                ));
                return;
            }
            Phase::Ready { .. } if now >= self.last_write + HEARTBEAT_INTERVAL => {
                self.write(
                    now,
                    &pb::ToRadio {
                        payload_variant: Some(pb::to_radio::PayloadVariant::Heartbeat(
                            pb::Heartbeat::default(),
                        )),
                    },
                );
            }
            _ => {}
        }
        while let Some(&(id, sent)) = self.in_flight.front() {
            if now < sent + QUEUE_STATUS_TIMEOUT {
                break;
            }
            self.in_flight.pop_front();
            tracing::debug!(
                packet_id = id,
                "no QueueStatus for packet, freeing its slot"
            );
        }
        // The radio said it was full and has been silent since: probe with
        // one packet rather than wait forever for a QueueStatus.
        if self.radio_free == Some(0)
            && !self.pending.is_empty()
            && now >= self.last_status + QUEUE_STATUS_TIMEOUT
        {
            self.radio_free = Some(1);
            self.last_status = now;
        }
        self.pump(now);
    }

    /// Bytes to write to the device, if any.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.out.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.out))
        }
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Frames accepted by `send` that never reached the radio; the caller
    /// reports them when it drops the connection.
    pub fn take_unsent(&mut self) -> Vec<(u32, OutFrame)> {
        self.pending.drain(..).collect()
    }

    fn fresh_id(&mut self) -> u32 {
        // Zero means "let the device choose" in the protocol: skip it.
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.next_id
    }

    fn fail(&mut self, reason: String) {
        self.phase = Phase::Failed;
        self.push(ClientEvent::Failed(reason));
    }

    fn push(&mut self, ev: ClientEvent) {
        if self.events.len() == MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(ev);
    }

    fn write(&mut self, now: Instant, msg: &pb::ToRadio) {
        let bytes = proto::encode_to_radio(msg);
        // Every ToRadio we build is far below the frame limit.
        stream::encode_frame(&bytes, &mut self.out).expect("ToRadio fits a frame");
        self.last_write = now;
    }

    /// Moves pending frames to the radio while it has room.
    fn pump(&mut self, now: Instant) {
        let Phase::Ready { my_node_num } = self.phase else {
            return;
        };
        while self.radio_room() > 0 {
            let Some((id, frame)) = self.pending.pop_front() else {
                break;
            };
            let to = proto::to_node_num(frame.dest);
            let packet = pb::MeshPacket {
                from: my_node_num,
                to,
                id,
                hop_limit: u32::from(frame.hop_limit),
                want_ack: to != BROADCAST_NUM,
                priority: proto::priority(frame.priority) as i32,
                payload_variant: Some(pb::mesh_packet::PayloadVariant::Decoded(pb::Data {
                    portnum: PRIVATE_APP,
                    payload: frame.payload,
                    ..Default::default()
                })),
                ..Default::default()
            };
            let payload_bytes = match &packet.payload_variant {
                Some(pb::mesh_packet::PayloadVariant::Decoded(d)) => d.payload.len(),
                _ => 0,
            };
            self.write(
                now,
                &pb::ToRadio {
                    payload_variant: Some(pb::to_radio::PayloadVariant::Packet(packet)),
                },
            );
            self.in_flight.push_back((id, now));
            if self.recent.len() == MAX_RECENT {
                self.recent.pop_front();
            }
            self.recent.push_back(Recent {
                id,
                payload_bytes,
                reported: false,
            });
        }
    }

    fn report(&mut self, id: u32, code: i32) {
        let Some(r) = self.recent.iter_mut().find(|r| r.id == id) else {
            return;
        };
        match proto::routing_error(code, r.payload_bytes) {
            None => {
                self.push(ClientEvent::Acked { packet_id: id });
            }
            Some(error) => {
                if r.reported {
                    return;
                }
                r.reported = true;
                self.push(ClientEvent::SendFailed {
                    packet_id: id,
                    error,
                });
            }
        }
    }

    /// A `QueueStatus` refusing packet `id`. The firmware puts either a
    /// Routing error (below 32) or one of its own `ERRNO_*` codes (32 and
    /// up; a full queue gives `ERRNO_UNKNOWN` with `free = 0`) in `res`.
    fn refused(&mut self, id: u32, res: i32, free: u32) {
        if (0..32).contains(&res) {
            self.report(id, res);
            return;
        }
        let error = if free == 0 {
            SendError::QueueFull
        } else {
            SendError::Unavailable(format!("radio refused the packet (error code {res})"))
        };
        if let Some(r) = self.recent.iter_mut().find(|r| r.id == id)
            && !r.reported
        {
            r.reported = true;
            self.push(ClientEvent::SendFailed {
                packet_id: id,
                error,
            });
        }
    }

    fn handle_from_radio(&mut self, now: Instant, msg: pb::FromRadio) {
        use pb::from_radio::PayloadVariant as V;
        let Some(v) = msg.payload_variant else {
            return;
        };
        match v {
            V::MyInfo(info) => self.my_info = Some(info),
            V::NodeInfo(n) => {
                self.known_nodes += 1;
                if self
                    .my_info
                    .as_ref()
                    .is_some_and(|m| m.my_node_num == n.num)
                    && let Some(m) = n.device_metrics
                {
                    self.metrics(&m);
                }
            }
            V::Metadata(m) => self.firmware = m.firmware_version,
            V::Config(pb::Config {
                payload_variant: Some(pb::config::PayloadVariant::Lora(l)),
            }) => self.lora = lora_names(&l),
            V::ConfigCompleteId(id) => {
                if !matches!(self.phase, Phase::Handshake { .. }) || id != self.config.config_id {
                    return;
                }
                let Some(info) = &self.my_info else {
                    self.fail("config complete without MyInfo".into());
                    return;
                };
                let my_node_num = info.my_node_num;
                if my_node_num == 0 || my_node_num == BROADCAST_NUM {
                    self.fail(format!("device reports invalid node number {my_node_num}"));
                    return;
                }
                self.phase = Phase::Ready { my_node_num };
                self.push(ClientEvent::Ready {
                    my_node_num,
                    // The database includes the device itself.
                    known_nodes: self.known_nodes.saturating_sub(1),
                    firmware: self.firmware.clone(),
                    region: self.lora.0.clone(),
                    preset: self.lora.1.clone(),
                });
                self.pump(now);
            }
            V::QueueStatus(q) => {
                if let Some(pos) = self
                    .in_flight
                    .iter()
                    .position(|&(id, _)| id == q.mesh_packet_id)
                {
                    self.in_flight.remove(pos);
                }
                self.radio_free = Some(q.free);
                self.last_status = now;
                if q.res != 0 && q.mesh_packet_id != 0 {
                    self.refused(q.mesh_packet_id, q.res, q.free);
                }
            }
            V::Packet(p) => self.handle_packet(p),
            V::LogRecord(r) => self.push(ClientEvent::DeviceLog(r.message)),
            V::Rebooted(true) => self.fail("the device rebooted".into()),
            _ => {}
        }
    }

    fn metrics(&mut self, m: &pb::DeviceMetrics) {
        let channel_pct = m.channel_utilization.map(f64::from);
        let air_tx_pct = m.air_util_tx.map(f64::from);
        if channel_pct.is_some() || air_tx_pct.is_some() {
            self.push(ClientEvent::Utilisation {
                channel_pct,
                air_tx_pct,
            });
        }
    }

    fn handle_packet(&mut self, p: pb::MeshPacket) {
        let Some(pb::mesh_packet::PayloadVariant::Decoded(data)) = p.payload_variant else {
            return; // still encrypted: not for a channel we have
        };
        let me = self.my_node_num();
        if data.portnum == TELEMETRY_APP {
            // Only the device's figures about itself describe our channel.
            if Some(p.from) == me
                && let Ok(t) = pb::Telemetry::decode(data.payload.as_slice())
                && let Some(pb::telemetry::Variant::DeviceMetrics(m)) = t.variant
            {
                self.metrics(&m);
            }
            return;
        }
        if data.portnum == ROUTING_APP && data.request_id != 0 {
            if let Ok(routing) = pb::Routing::decode(data.payload.as_slice())
                && let Some(pb::routing::Variant::ErrorReason(code)) = routing.variant
            {
                self.report(data.request_id, code);
            }
            return;
        }
        if data.portnum != PRIVATE_APP || Some(p.from) == me || p.from == 0 {
            return;
        }
        let hops_away = if p.hop_start >= p.hop_limit {
            (p.hop_start - p.hop_limit).min(255) as u8
        } else {
            0
        };
        self.push(ClientEvent::Received(RxOwned {
            from: NodeId(p.from),
            dest: proto::from_node_num(p.to),
            hops_away,
            rssi_dbm: p.rx_rssi as f32,
            snr_db: p.rx_snr,
            payload: data.payload,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_core::{Destination, Priority};

    const ME: u32 = 0xA1B2_C3D4;

    fn decode_to_radio(bytes: &[u8]) -> Vec<pb::ToRadio> {
        let mut dec = StreamDecoder::new();
        stream::decode_all(&mut dec, Instant::ZERO, bytes)
            .into_iter()
            .filter_map(|e| match e {
                StreamEvent::Frame(f) => Some(pb::ToRadio::decode(f.as_slice()).unwrap()),
                _ => None,
            })
            .collect()
    }

    fn from_radio(v: pb::from_radio::PayloadVariant) -> Vec<u8> {
        let mut out = Vec::new();
        let msg = pb::FromRadio {
            id: 0,
            payload_variant: Some(v),
        };
        stream::encode_frame(&msg.encode_to_vec(), &mut out).unwrap();
        out
    }

    fn ready_client(wake: bool) -> MeshtasticClient {
        use pb::from_radio::PayloadVariant as V;
        let mut c = MeshtasticClient::new(
            ClientConfig {
                wake,
                config_id: 42,
                first_packet_id: 100,
            },
            Instant::ZERO,
        );
        let mut hello = c.poll_transmit().unwrap();
        if wake {
            assert_eq!(hello, WAKE_BYTES);
            assert_eq!(c.poll_timeout(), Some(Instant::ZERO + WAKE_SETTLE));
            c.handle_timeout(Instant::ZERO + WAKE_SETTLE);
            hello = c.poll_transmit().unwrap();
        }
        let msgs = decode_to_radio(&hello);
        assert_eq!(
            msgs[0].payload_variant,
            Some(pb::to_radio::PayloadVariant::WantConfigId(42))
        );
        let mut bytes = from_radio(V::MyInfo(pb::MyNodeInfo {
            my_node_num: ME,
            ..Default::default()
        }));
        bytes.extend(from_radio(V::NodeInfo(pb::NodeInfo {
            num: ME,
            ..Default::default()
        })));
        bytes.extend(b"DEBUG | console noise\r\n");
        bytes.extend(from_radio(V::Config(pb::Config {
            payload_variant: Some(pb::config::PayloadVariant::Lora(pb::config::LoRaConfig {
                use_preset: true,
                modem_preset: pb::config::lo_ra_config::ModemPreset::LongFast as i32,
                region: pb::config::lo_ra_config::RegionCode::Eu868 as i32,
                ..Default::default()
            })),
        })));
        bytes.extend(from_radio(V::ConfigCompleteId(41))); // someone else's
        assert!(c.my_node_num().is_none());
        c.handle_bytes(Instant::ZERO, &bytes);
        assert!(c.my_node_num().is_none(), "wrong config id ignored");
        c.handle_bytes(Instant::ZERO, &from_radio(V::ConfigCompleteId(42)));
        assert_eq!(c.my_node_num(), Some(ME));
        c
    }

    #[test]
    fn lora_config_names_custom_and_unknown_settings() {
        let l = |use_preset, modem_preset, region| pb::config::LoRaConfig {
            use_preset,
            modem_preset,
            region,
            ..Default::default()
        };
        assert_eq!(
            lora_names(&l(false, 0, 3)),
            (Some("EU_868".into()), Some("CUSTOM".into()))
        );
        assert_eq!(
            lora_names(&l(true, 999, 9999)),
            (Some("region 9999".into()), Some("preset 999".into()))
        );
    }

    fn frame(dest: Destination, len: usize, hops: u8) -> OutFrame {
        OutFrame {
            dest,
            hop_limit: hops,
            priority: Priority::Normal,
            payload: vec![0x94; len],
        }
    }

    fn sent_packets(c: &mut MeshtasticClient) -> Vec<pb::MeshPacket> {
        decode_to_radio(&c.poll_transmit().unwrap_or_default())
            .into_iter()
            .filter_map(|m| match m.payload_variant {
                Some(pb::to_radio::PayloadVariant::Packet(p)) => Some(p),
                _ => None,
            })
            .collect()
    }

    fn sent_ids(c: &mut MeshtasticClient) -> Vec<u32> {
        sent_packets(c).iter().map(|p| p.id).collect()
    }

    fn events(c: &mut MeshtasticClient) -> Vec<ClientEvent> {
        std::iter::from_fn(|| c.poll_event()).collect()
    }

    fn queue_status(id: u32, free: u32, res: i32) -> Vec<u8> {
        from_radio(pb::from_radio::PayloadVariant::QueueStatus(
            pb::QueueStatus {
                res,
                free,
                maxlen: 16,
                mesh_packet_id: id,
            },
        ))
    }

    #[test]
    fn the_device_s_own_metrics_report_channel_utilisation() {
        use pb::from_radio::PayloadVariant as V;
        let mut c = ready_client(false);
        events(&mut c);
        let telemetry = |from: u32, channel: f32, air: f32| {
            from_radio(V::Packet(pb::MeshPacket {
                from,
                to: BROADCAST_NUM,
                payload_variant: Some(pb::mesh_packet::PayloadVariant::Decoded(pb::Data {
                    portnum: TELEMETRY_APP,
                    payload: pb::Telemetry {
                        time: 0,
                        variant: Some(pb::telemetry::Variant::DeviceMetrics(pb::DeviceMetrics {
                            channel_utilization: Some(channel),
                            air_util_tx: Some(air),
                            ..Default::default()
                        })),
                    }
                    .encode_to_vec(),
                    ..Default::default()
                })),
                ..Default::default()
            }))
        };
        // Another node's telemetry says nothing about our channel.
        c.handle_bytes(Instant::ZERO, &telemetry(ME + 1, 50.0, 9.0));
        c.handle_bytes(Instant::ZERO, &telemetry(ME, 12.5, 1.5));
        // Garbage on the telemetry port is dropped.
        c.handle_bytes(
            Instant::ZERO,
            &from_radio(V::Packet(pb::MeshPacket {
                from: ME,
                payload_variant: Some(pb::mesh_packet::PayloadVariant::Decoded(pb::Data {
                    portnum: TELEMETRY_APP,
                    payload: vec![0xff; 7],
                    ..Default::default()
                })),
                ..Default::default()
            })),
        );
        assert_eq!(
            events(&mut c),
            vec![ClientEvent::Utilisation {
                channel_pct: Some(12.5),
                air_tx_pct: Some(1.5)
            }]
        );
    }

    #[test]
    fn handshake_then_packets_with_explicit_hop_limit_and_port() {
        let mut c = ready_client(true);
        let evs = events(&mut c);
        assert!(evs.contains(&ClientEvent::DeviceLog("DEBUG | console noise".into())));
        assert!(matches!(
            evs.last(),
            Some(ClientEvent::Ready {
                my_node_num: ME,
                known_nodes: 0,
                region: Some(r),
                preset: Some(p),
                ..
            }) if r == "EU_868" && p == "LONG_FAST"
        ));
        let id = c
            .send(Instant::ZERO, frame(Destination::Broadcast, 231, 0))
            .unwrap();
        let p = sent_packets(&mut c);
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].id, p[0].to, p[0].from, p[0].want_ack),
            (id, BROADCAST_NUM, ME, false)
        );
        assert_eq!(p[0].hop_limit, 0);
        let Some(pb::mesh_packet::PayloadVariant::Decoded(d)) = &p[0].payload_variant else {
            panic!()
        };
        assert_eq!((d.portnum, d.payload.len()), (256, 231));
        c.send(Instant::ZERO, frame(Destination::Node(NodeId(5)), 3, 5))
            .unwrap();
        c.handle_bytes(Instant::ZERO, &queue_status(id, 15, 0));
        let p = sent_packets(&mut c);
        assert_eq!((p[0].hop_limit, p[0].to, p[0].want_ack), (5, 5, true));
        assert_eq!(
            c.send(Instant::ZERO, frame(Destination::Broadcast, 232, 3)),
            Err(SendError::TooLarge { len: 232, max: 231 })
        );
    }

    #[test]
    fn nothing_is_sent_before_the_handshake_and_it_times_out() {
        let mut c = MeshtasticClient::new(
            ClientConfig {
                wake: false,
                config_id: 7,
                first_packet_id: 0,
            },
            Instant::ZERO,
        );
        assert!(matches!(
            c.send(Instant::ZERO, frame(Destination::Broadcast, 1, 1)),
            Err(SendError::Unavailable(_))
        ));
        assert_eq!(c.queue_room(), 0);
        let t = c.poll_timeout().unwrap();
        assert_eq!(t, Instant::ZERO + HANDSHAKE_TIMEOUT);
        c.handle_timeout(t);
        assert!(matches!(
            events(&mut c).last(),
            Some(ClientEvent::Failed(_))
        ));
    }

    #[test]
    fn never_more_in_flight_than_the_radio_has_room_for() {
        let mut c = ready_client(false);
        let t = Instant::ZERO;
        let ids: Vec<u32> = (0..8)
            .map(|_| c.send(t, frame(Destination::Broadcast, 10, 3)).unwrap())
            .collect();
        // Before any QueueStatus: one at a time.
        assert_eq!(sent_packets(&mut c).len(), 1);
        // The radio has room for 2 after the first.
        c.handle_bytes(t, &queue_status(ids[0], 2, 0));
        assert_eq!(sent_ids(&mut c), ids[1..3]);
        // ids[1]'s status says the queue is now full: nothing more.
        c.handle_bytes(t, &queue_status(ids[1], 0, 0));
        assert!(sent_packets(&mut c).is_empty());
        // ids[2]'s status frees one slot.
        c.handle_bytes(t, &queue_status(ids[2], 1, 0));
        assert_eq!(sent_ids(&mut c), ids[3..4]);
        // Full again, then the radio reports room unasked (packet id 0).
        c.handle_bytes(t, &queue_status(ids[3], 0, 0));
        assert!(sent_packets(&mut c).is_empty());
        c.handle_bytes(t, &queue_status(0, 1, 0));
        assert_eq!(sent_ids(&mut c), ids[4..5]);
        // A lost QueueStatus frees its slot after the timeout, not before.
        let t1 = t + Duration::from_secs(1);
        c.handle_timeout(t1);
        assert!(sent_packets(&mut c).is_empty(), "ids[4] is still in flight");
        c.handle_timeout(t + QUEUE_STATUS_TIMEOUT);
        assert_eq!(sent_ids(&mut c), ids[5..6]);
        // A radio that stays silent after saying "full" is probed with one
        // packet after the timeout.
        let t2 = t + QUEUE_STATUS_TIMEOUT + Duration::from_secs(1);
        c.handle_bytes(t2, &queue_status(ids[5], 0, 0));
        assert!(sent_packets(&mut c).is_empty());
        assert_eq!(c.poll_timeout(), Some(t2 + QUEUE_STATUS_TIMEOUT));
        c.handle_timeout(t2 + QUEUE_STATUS_TIMEOUT);
        assert_eq!(sent_ids(&mut c), ids[6..7]);
        assert_eq!(c.queue_room(), MAX_PENDING - 1);
    }

    #[test]
    fn naks_become_send_errors_once_per_packet() {
        use pb::routing::Error as E;
        let mut c = ready_client(false);
        let t = Instant::ZERO;
        let id = c
            .send(t, frame(Destination::Node(NodeId(9)), 200, 3))
            .unwrap();
        let _ = events(&mut c);
        // TOO_LARGE arrives both as QueueStatus.res and as a Routing NAK.
        let nak = |id: u32, e: E| {
            from_radio(pb::from_radio::PayloadVariant::Packet(pb::MeshPacket {
                from: ME,
                to: ME,
                payload_variant: Some(pb::mesh_packet::PayloadVariant::Decoded(
                    proto::routing_reply(id, e),
                )),
                ..Default::default()
            }))
        };
        c.handle_bytes(t, &queue_status(id, 16, E::TooLarge as i32));
        c.handle_bytes(t, &nak(id, E::TooLarge));
        assert_eq!(
            events(&mut c),
            vec![ClientEvent::SendFailed {
                packet_id: id,
                error: SendError::TooLarge { len: 200, max: 231 }
            }]
        );
        let id2 = c
            .send(t, frame(Destination::Node(NodeId(9)), 5, 3))
            .unwrap();
        c.handle_bytes(t, &nak(id2, E::DutyCycleLimit));
        let id3 = c
            .send(t, frame(Destination::Node(NodeId(9)), 5, 3))
            .unwrap();
        c.handle_bytes(t, &nak(id3, E::MaxRetransmit));
        let id4 = c
            .send(t, frame(Destination::Node(NodeId(9)), 5, 3))
            .unwrap();
        c.handle_bytes(t, &nak(id4, E::None));
        c.handle_bytes(t, &nak(12345, E::MaxRetransmit)); // not ours
        let evs = events(&mut c);
        assert_eq!(evs.len(), 3, "{evs:?}");
        assert_eq!(
            evs[0],
            ClientEvent::SendFailed {
                packet_id: id2,
                error: SendError::DutyCycle
            }
        );
        assert!(
            matches!(&evs[1], ClientEvent::SendFailed { packet_id, error: SendError::Unavailable(s) }
            if *packet_id == id3 && s.contains("MAX_RETRANSMIT"))
        );
        assert_eq!(evs[2], ClientEvent::Acked { packet_id: id4 });
    }

    #[test]
    fn private_app_packets_from_others_are_received() {
        let mut c = ready_client(false);
        let _ = events(&mut c);
        let pkt = |from: u32, port: i32| {
            from_radio(pb::from_radio::PayloadVariant::Packet(pb::MeshPacket {
                from,
                to: BROADCAST_NUM,
                hop_limit: 1,
                hop_start: 3,
                rx_rssi: -101,
                rx_snr: 4.5,
                payload_variant: Some(pb::mesh_packet::PayloadVariant::Decoded(pb::Data {
                    portnum: port,
                    payload: vec![0x94, 0xC3, 0, 1],
                    ..Default::default()
                })),
                ..Default::default()
            }))
        };
        let mut bytes = pkt(7, PRIVATE_APP);
        bytes.extend(pkt(ME, PRIVATE_APP)); // our own echo
        bytes.extend(pkt(8, 1)); // a text message
        c.handle_bytes(Instant::ZERO, &bytes);
        let evs = events(&mut c);
        assert_eq!(
            evs,
            vec![ClientEvent::Received(RxOwned {
                from: NodeId(7),
                dest: Destination::Broadcast,
                hops_away: 2,
                rssi_dbm: -101.0,
                snr_db: 4.5,
                payload: vec![0x94, 0xC3, 0, 1],
            })]
        );
    }

    #[test]
    fn heartbeats_keep_an_idle_link_alive_and_reboots_fail_it() {
        let mut c = ready_client(false);
        let t = c.poll_timeout().unwrap();
        assert_eq!(t, Instant::ZERO + HEARTBEAT_INTERVAL);
        c.handle_timeout(t);
        let msgs = decode_to_radio(&c.poll_transmit().unwrap());
        assert!(matches!(
            msgs[0].payload_variant,
            Some(pb::to_radio::PayloadVariant::Heartbeat(_))
        ));
        c.handle_bytes(
            t,
            &from_radio(pb::from_radio::PayloadVariant::Rebooted(true)),
        );
        assert!(matches!(
            events(&mut c).last(),
            Some(ClientEvent::Failed(_))
        ));
        assert_eq!(c.queue_room(), 0);
    }
}
