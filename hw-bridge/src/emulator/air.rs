//! The emulated devices and the air they share, sans-IO.
//!
//! [`Air`] takes decoded `ToRadio` messages from the devices' API clients
//! and the time, and produces framed `FromRadio` bytes for those clients. It
//! behaves like the firmware where a client can tell:
//!
//! * the config handshake (`air/handshake.rs`) answers `want_config_id` with
//!   MyInfo, the device's own NodeInfo, DeviceMetadata, 8 channels, every
//!   Config and ModuleConfig section, the other devices' NodeInfos (skipped
//!   for the nodeless config id) and `config_complete_id`;
//! * a packet from the client gets `from` set to the device, is refused with
//!   `TOO_LARGE` when its `Data` does not fit a LoRa frame and with
//!   `DUTY_CYCLE_LIMIT` when the device's hourly transmit budget is spent
//!   (node-core's [`DutyCycleBudget`] over the scaled hour),
//!   and is answered with a `QueueStatus` (the firmware puts the error code
//!   in `res`); a refused packet also gets a Routing NAK;
//! * the transmit queue holds [`EmulatorConfig::queue_len`] packets; one more
//!   is refused with `free = 0` and counted as an overflow (a client that
//!   honours QueueStatus never causes one); after reporting `free = 0` the
//!   device reports again, with packet id 0, once room frees up;
//! * packets leave one at a time, each taking its LoRa time on air (scaled),
//!   and reach every device that hears the sender, unless the seeded loss
//!   draw drops them; each receiver applies node-core's managed-flood rule
//!   ([`ManagedFlood`]): delivered once per `(from, id)` if it is for it,
//!   relayed (in plain FIFO order, never cancelled) while hops remain;
//! * `want_ack` packets are acknowledged (a Routing ACK from the destination,
//!   or an implicit ACK for broadcasts when some neighbour heard them);
//!   unanswered ones are sent again up to 3 times, then NAKed with
//!   `MAX_RETRANSMIT`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

use node_core::{Duration, Instant, Rng};
use prost::Message;

use crate::meshtastic::proto::{self, BROADCAST_NUM, MAX_DATA_ENCODED_BYTES, pb};
use crate::meshtastic::stream::encode_frame;
use node_core::NodeId;
use node_core::radio::{
    DUTY_CYCLE_WINDOW, DutyCycleBudget, FloodHeader, MESHTASTIC_HEADER_BYTES, ManagedFlood, Role,
};
use node_core::transport::MAX_HOP_LIMIT;

mod handshake;

/// Transmissions of a `want_ack` packet before `MAX_RETRANSMIT`
/// (firmware `NUM_RELIABLE_RETX`).
pub const MAX_TRANSMISSIONS: u32 = 3;
/// FromRadio messages kept for a client that is not reading.
pub const MAX_CLIENT_BACKLOG: usize = 256;
/// The firmware's "unknown error" code, used in `QueueStatus.res` when the
/// transmit queue is full.
pub const ERRNO_UNKNOWN: i32 = 32;

/// One emulated device.
#[derive(Clone, PartialEq, Debug)]
pub struct DeviceConfig {
    /// Its node number.
    pub node_num: u32,
    /// Its long name.
    pub long_name: String,
}

/// The emulation's settings.
#[derive(Clone, PartialEq, Debug)]
pub struct EmulatorConfig {
    /// The devices.
    pub devices: Vec<DeviceConfig>,
    /// Who hears whom, as pairs of device indices heard both ways; `None`:
    /// everybody hears everybody.
    pub links: Option<Vec<(usize, usize)>>,
    /// Probability that one receiver misses one transmission.
    pub loss: f64,
    /// Seed of the loss draws.
    pub seed: u64,
    /// Factor applied to time on air (1.0: real time, 0.0: instant).
    pub time_scale: f64,
    /// Hourly transmit budget in percent of the time, if any (EU868: 10).
    pub duty_cycle_percent: Option<f64>,
    /// Transmit queue length (firmware `MAX_TX_QUEUE`).
    pub queue_len: u32,
}

impl EmulatorConfig {
    /// `n` devices numbered from `first_node_num`, all in range, no loss,
    /// air time scaled by `time_scale`.
    pub fn new(n: usize, first_node_num: u32, time_scale: f64) -> Self {
        EmulatorConfig {
            devices: (0..n)
                .map(|i| DeviceConfig {
                    node_num: first_node_num + i as u32,
                    long_name: format!("okmesh emulated {i}"),
                })
                .collect(),
            links: None,
            loss: 0.0,
            seed: 1,
            time_scale,
            duty_cycle_percent: None,
            queue_len: node_core::radio::meshtastic::MAX_TX_QUEUE,
        }
    }
}

/// Counters per device.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct DeviceStats {
    /// Packets the client handed in.
    pub from_client: u64,
    /// Packets refused because the queue was full.
    pub queue_overflows: u64,
    /// Packets refused as too large.
    pub too_large: u64,
    /// Packets refused by the duty-cycle limit.
    pub duty_cycle_refusals: u64,
    /// Transmissions (own, retransmitted and relayed).
    pub transmissions: u64,
    /// Packets delivered to this device's client.
    pub to_client: u64,
    /// Packets lost for want of a connected client.
    pub dropped_no_client: u64,
    /// `hop_limit` values of client packets, and how often.
    pub hop_limits: BTreeMap<u32, u64>,
    /// Routing NAKs sent to the client.
    pub naks: u64,
    /// Handshakes answered.
    pub handshakes: u64,
}

#[derive(Clone, Debug)]
struct Queued {
    packet: pb::MeshPacket,
    /// Whether this is the device's own packet (ACK handling) or a relay.
    own: bool,
    transmissions: u32,
}

#[derive(Debug)]
struct Device {
    config: DeviceConfig,
    /// Connection currently attached, and whether its handshake finished.
    client: Option<(u64, bool)>,
    queue: VecDeque<Queued>,
    /// The packet on the air and when it ends.
    on_air: Option<(Queued, Instant)>,
    /// Its transmit budget over the (scaled) hour.
    duty: DutyCycleBudget,
    flood: ManagedFlood,
    rng: Rng,
    next_id: u32,
    /// The last QueueStatus said the queue was full: report when it frees
    /// (firmware `MeshService::loop`).
    told_full: bool,
    stats: DeviceStats,
}

/// Framed bytes for one device's client.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ToClient {
    /// The device index.
    pub device: usize,
    /// The connection it is for.
    pub conn: u64,
    /// Stream-framed FromRadio messages.
    pub bytes: Vec<u8>,
}

/// The shared air and every device on it.
#[derive(Debug)]
pub struct Air {
    config: EmulatorConfig,
    devices: Vec<Device>,
    hears: Vec<BTreeSet<usize>>,
    out: VecDeque<ToClient>,
    from_radio_id: u32,
    /// Retransmission timers: (when, device, packet id).
    retries: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    /// Packets waiting for an ACK: (device, id) → packet.
    awaiting_ack: BTreeMap<(usize, u32), Queued>,
}

impl Air {
    /// Devices as configured, no client attached.
    pub fn new(config: EmulatorConfig) -> Self {
        let n = config.devices.len();
        let mut hears = vec![BTreeSet::new(); n];
        match &config.links {
            None => {
                for (i, h) in hears.iter_mut().enumerate() {
                    h.extend((0..n).filter(|&j| j != i));
                }
            }
            Some(links) => {
                for &(a, b) in links {
                    if a < n && b < n && a != b {
                        hears[a].insert(b);
                        hears[b].insert(a);
                    }
                }
            }
        }
        let window = scale(DUTY_CYCLE_WINDOW, config.time_scale);
        let limit_pct = config.duty_cycle_percent.unwrap_or(100.0);
        let devices = config
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| Device {
                config: d.clone(),
                client: None,
                queue: VecDeque::new(),
                on_air: None,
                duty: DutyCycleBudget::new(window, limit_pct),
                flood: ManagedFlood::new(NodeId(d.node_num), Role::Client),
                rng: Rng::derive(config.seed, "emulator-air", i as u64),
                next_id: (i as u32 + 1) << 24,
                told_full: false,
                stats: DeviceStats::default(),
            })
            .collect();
        Air {
            config,
            devices,
            hears,
            out: VecDeque::new(),
            from_radio_id: 0,
            retries: BinaryHeap::new(),
            awaiting_ack: BTreeMap::new(),
        }
    }

    /// Number of devices.
    pub fn device_count(&self) -> usize {
        self.devices.len()
    }

    /// A device's counters.
    pub fn stats(&self, device: usize) -> &DeviceStats {
        &self.devices[device].stats
    }

    /// A device's node number.
    pub fn node_num(&self, device: usize) -> u32 {
        self.devices[device].config.node_num
    }

    /// A client connected to `device`; it replaces any earlier one, like the
    /// firmware's single API client.
    pub fn connect(&mut self, device: usize, conn: u64) {
        self.devices[device].client = Some((conn, false));
    }

    /// A client went away.
    pub fn disconnect(&mut self, device: usize, conn: u64) {
        let d = &mut self.devices[device];
        if d.client.is_some_and(|(c, _)| c == conn) {
            d.client = None;
        }
    }

    /// Bytes for a client, if any.
    pub fn poll_output(&mut self) -> Option<ToClient> {
        self.out.pop_front()
    }

    /// When [`Air::handle_timeout`] is next needed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let tx = self
            .devices
            .iter()
            .filter_map(|d| d.on_air.as_ref().map(|(_, end)| *end))
            .min();
        let retry = self.retries.peek().map(|Reverse((t, _, _))| *t);
        match (tx, retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A `ToRadio` from the client `conn` of `device`.
    pub fn handle_to_radio(&mut self, now: Instant, device: usize, conn: u64, msg: pb::ToRadio) {
        if self.devices[device].client.map(|(c, _)| c) != Some(conn) {
            return; // a replaced client
        }
        use pb::to_radio::PayloadVariant as V;
        match msg.payload_variant {
            Some(V::WantConfigId(id)) => self.handshake(device, conn, id),
            Some(V::Packet(p)) => self.packet_from_client(now, device, p),
            // The client is done: stop queueing packets for it.
            Some(V::Disconnect(true)) => self.disconnect(device, conn),
            // Heartbeats, disconnects and the rest need no answer here.
            _ => {}
        }
        self.start_transmissions(now);
    }

    /// Advances transmissions and retries to `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.devices.len() {
            if let Some((_, end)) = &self.devices[i].on_air
                && *end <= now
            {
                let (q, _) = self.devices[i].on_air.take().expect("checked above");
                self.finish_transmission(now, i, q);
            }
        }
        while let Some(&Reverse((t, dev, id))) = self.retries.peek() {
            if t > now {
                break;
            }
            self.retries.pop();
            if let Some(mut q) = self.awaiting_ack.remove(&(dev, id)) {
                if q.transmissions >= MAX_TRANSMISSIONS {
                    let from = self.devices[dev].config.node_num;
                    self.nak(dev, from, id, pb::routing::Error::MaxRetransmit);
                } else {
                    q.transmissions += 1;
                    self.devices[dev].queue.push_front(q);
                }
            }
        }
        self.start_transmissions(now);
    }

    fn send_to_client(
        &mut self,
        device: usize,
        v: pb::from_radio::PayloadVariant,
        needs_ready: bool,
    ) -> bool {
        let Some((conn, ready)) = self.devices[device].client else {
            return false;
        };
        if needs_ready && !ready {
            return false;
        }
        if self.out.iter().filter(|o| o.device == device).count() >= MAX_CLIENT_BACKLOG {
            return false;
        }
        self.from_radio_id = self.from_radio_id.wrapping_add(1);
        let msg = pb::FromRadio {
            id: self.from_radio_id,
            payload_variant: Some(v),
        };
        let mut bytes = Vec::new();
        // Every message the emulator builds is far below 512 bytes.
        encode_frame(&msg.encode_to_vec(), &mut bytes).expect("FromRadio fits a frame");
        self.out.push_back(ToClient {
            device,
            conn,
            bytes,
        });
        true
    }

    fn queue_status(&mut self, device: usize, res: i32, id: u32) {
        let d = &mut self.devices[device];
        let used = d.queue.len() as u32;
        let free = self.config.queue_len.saturating_sub(used);
        d.told_full = free == 0;
        self.send_to_client(
            device,
            pb::from_radio::PayloadVariant::QueueStatus(pb::QueueStatus {
                res,
                free,
                maxlen: self.config.queue_len,
                mesh_packet_id: id,
            }),
            false,
        );
    }

    /// A Routing packet to `device`'s client about packet `id`, sent by `from`.
    fn routing(&mut self, device: usize, from: u32, id: u32, error: pb::routing::Error) {
        let me = self.devices[device].config.node_num;
        let packet = pb::MeshPacket {
            from,
            to: me,
            id: self.fresh_id(device),
            hop_limit: 0,
            hop_start: 0,
            priority: pb::mesh_packet::Priority::Ack as i32,
            payload_variant: Some(pb::mesh_packet::PayloadVariant::Decoded(
                proto::routing_reply(id, error),
            )),
            ..Default::default()
        };
        self.send_to_client(device, pb::from_radio::PayloadVariant::Packet(packet), true);
    }

    fn nak(&mut self, device: usize, from: u32, id: u32, error: pb::routing::Error) {
        self.devices[device].stats.naks += 1;
        self.routing(device, from, id, error);
    }

    fn fresh_id(&mut self, device: usize) -> u32 {
        let d = &mut self.devices[device];
        d.next_id = d.next_id.wrapping_add(1).max(1);
        d.next_id
    }

    fn packet_from_client(&mut self, now: Instant, device: usize, mut p: pb::MeshPacket) {
        let me = self.devices[device].config.node_num;
        self.devices[device].stats.from_client += 1;
        *self.devices[device]
            .stats
            .hop_limits
            .entry(p.hop_limit)
            .or_default() += 1;
        if p.id == 0 {
            p.id = self.fresh_id(device);
        }
        p.from = me;
        p.hop_limit = p
            .hop_limit
            .min(u32::from(node_core::transport::MAX_HOP_LIMIT));
        p.hop_start = p.hop_limit;
        let Some(pb::mesh_packet::PayloadVariant::Decoded(data)) = &mut p.payload_variant else {
            self.queue_status(device, pb::routing::Error::BadRequest as i32, p.id);
            return;
        };
        // The firmware adds the bitfield before encoding.
        data.bitfield = Some(data.bitfield.unwrap_or(0));
        if data.encoded_len() > MAX_DATA_ENCODED_BYTES {
            self.devices[device].stats.too_large += 1;
            self.nak(device, me, p.id, pb::routing::Error::TooLarge);
            self.queue_status(device, pb::routing::Error::TooLarge as i32, p.id);
            return;
        }
        if self.over_duty_cycle(now, device, &p) {
            self.devices[device].stats.duty_cycle_refusals += 1;
            self.nak(device, me, p.id, pb::routing::Error::DutyCycleLimit);
            self.queue_status(device, pb::routing::Error::DutyCycleLimit as i32, p.id);
            return;
        }
        if self.devices[device].queue.len() as u32 >= self.config.queue_len {
            self.devices[device].stats.queue_overflows += 1;
            self.queue_status(device, ERRNO_UNKNOWN, p.id);
            return;
        }
        self.devices[device].queue.push_back(Queued {
            packet: p.clone(),
            own: true,
            transmissions: 1,
        });
        self.queue_status(device, 0, p.id);
    }

    fn airtime_of(&self, p: &pb::MeshPacket) -> Duration {
        let data_len = match &p.payload_variant {
            Some(pb::mesh_packet::PayloadVariant::Decoded(d)) => d.encoded_len(),
            Some(pb::mesh_packet::PayloadVariant::Encrypted(e)) => e.len(),
            None => 0,
        };
        proto::DEFAULT_PRESET
            .params()
            .airtime(MESHTASTIC_HEADER_BYTES + data_len)
    }

    fn scaled(&self, d: Duration) -> Duration {
        scale(d, self.config.time_scale)
    }

    fn over_duty_cycle(&mut self, now: Instant, device: usize, p: &pb::MeshPacket) -> bool {
        let this = self.scaled(self.airtime_of(p));
        !self.devices[device].duty.may_send(now, this)
    }

    fn start_transmissions(&mut self, now: Instant) {
        for i in 0..self.devices.len() {
            if self.devices[i].on_air.is_some() {
                continue;
            }
            let Some(q) = self.devices[i].queue.pop_front() else {
                continue;
            };
            if self.devices[i].told_full {
                self.queue_status(i, 0, 0);
            }
            let airtime = self.scaled(self.airtime_of(&q.packet));
            let d = &mut self.devices[i];
            d.stats.transmissions += 1;
            d.duty.record(now, airtime);
            d.on_air = Some((q, now + airtime));
        }
        // Instant air: finish what just started right away.
        if self.config.time_scale <= 0.0
            && self
                .devices
                .iter()
                .any(|d| d.on_air.as_ref().is_some_and(|(_, end)| *end <= now))
        {
            self.handle_timeout(now);
        }
    }

    fn finish_transmission(&mut self, now: Instant, sender: usize, q: Queued) {
        let p = q.packet.clone();
        let mut heard_by_dest = false;
        let mut heard_by_any = false;
        let receivers: Vec<usize> = self.hears[sender].iter().copied().collect();
        for r in receivers {
            if self.config.loss > 0.0 && self.devices[r].rng.chance(self.config.loss) {
                continue;
            }
            heard_by_any = true;
            let rnum = self.devices[r].config.node_num;
            if p.to == rnum {
                heard_by_dest = true;
            }
            let flood = self.devices[r].flood.receive(&FloodHeader {
                origin: NodeId(p.from),
                id: p.id,
                dest: proto::from_node_num(p.to),
                // The air only carries packets it clamped to the maximum.
                hop_limit: u8::try_from(p.hop_limit).unwrap_or(MAX_HOP_LIMIT),
                hop_start: u8::try_from(p.hop_start).unwrap_or(MAX_HOP_LIMIT),
            });
            if flood.duplicate {
                continue;
            }
            if flood.deliver {
                let mut rx = p.clone();
                rx.rx_snr = 8.0;
                rx.rx_rssi = -80;
                rx.rx_time = (now.as_micros() / 1_000_000) as u32;
                rx.relay_node = self.devices[sender].config.node_num & 0xFF;
                if self.send_to_client(r, pb::from_radio::PayloadVariant::Packet(rx), true) {
                    self.devices[r].stats.to_client += 1;
                } else {
                    self.devices[r].stats.dropped_no_client += 1;
                }
            }
            if let Some(hop_limit) = flood.relay_hop_limit {
                let mut relay = p.clone();
                relay.hop_limit = u32::from(hop_limit);
                relay.want_ack = false;
                self.devices[r].queue.push_back(Queued {
                    packet: relay,
                    own: false,
                    transmissions: 1,
                });
            }
        }
        if !(q.own && p.want_ack) {
            return;
        }
        let acked = if p.to == BROADCAST_NUM {
            heard_by_any
        } else {
            heard_by_dest || self.reached_by_relay(sender, p.to)
        };
        if acked {
            let from = if p.to == BROADCAST_NUM {
                self.devices[sender].config.node_num
            } else {
                p.to
            };
            self.routing(sender, from, p.id, pb::routing::Error::None);
        } else {
            // Wait a few slots, as the firmware's retransmission timer does.
            let wait =
                self.scaled(self.airtime_of(&p).saturating_mul(2)) + Duration::from_millis(1);
            self.retries.push(Reverse((now + wait, sender, p.id)));
            self.awaiting_ack.insert((sender, p.id), q);
        }
    }

    /// Whether `dest` can be reached from `sender` over more than one hop
    /// (the relays carry the packet; the ACK comes back the same way).
    fn reached_by_relay(&self, sender: usize, dest: u32) -> bool {
        let Some(target) = self.devices.iter().position(|d| d.config.node_num == dest) else {
            return false;
        };
        let mut seen = vec![false; self.devices.len()];
        let mut todo = vec![sender];
        seen[sender] = true;
        let mut hops = 0;
        while !todo.is_empty() && hops <= node_core::transport::MAX_HOP_LIMIT {
            let mut next = Vec::new();
            for i in todo {
                for &j in &self.hears[i] {
                    if !seen[j] {
                        seen[j] = true;
                        next.push(j);
                    }
                }
            }
            todo = next;
            hops += 1;
        }
        seen[target] && !self.hears[sender].contains(&target)
    }
}

/// `d` scaled by the emulation's time factor (negative: instant).
fn scale(d: Duration, time_scale: f64) -> Duration {
    Duration::from_micros((d.as_micros() as f64 * time_scale.max(0.0)) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meshtastic::proto::{NODELESS_WANT_CONFIG_ID, PRIVATE_APP, ROUTING_APP};
    use crate::meshtastic::stream::{StreamDecoder, StreamEvent, decode_all};
    use pb::from_radio::PayloadVariant as F;
    use pb::routing::Error as RoutingError;

    const T0: Instant = Instant::ZERO;

    /// Everything the air sent to `device`'s client, decoded.
    fn drain(air: &mut Air) -> Vec<(usize, F)> {
        let mut out = Vec::new();
        while let Some(o) = air.poll_output() {
            for e in decode_all(&mut StreamDecoder::new(), T0, &o.bytes) {
                let StreamEvent::Frame(f) = e else {
                    panic!("{e:?}")
                };
                let msg = pb::FromRadio::decode(f.as_slice()).unwrap();
                out.push((o.device, msg.payload_variant.unwrap()));
            }
        }
        out
    }

    fn connected(config: EmulatorConfig) -> Air {
        let mut air = Air::new(config);
        for d in 0..air.device_count() {
            air.connect(d, d as u64);
            air.handle_to_radio(T0, d, d as u64, want_config(77));
        }
        drain(&mut air);
        air
    }

    fn want_config(id: u32) -> pb::ToRadio {
        pb::ToRadio {
            payload_variant: Some(pb::to_radio::PayloadVariant::WantConfigId(id)),
        }
    }

    fn packet(to: u32, id: u32, len: usize, hop_limit: u32, want_ack: bool) -> pb::ToRadio {
        pb::ToRadio {
            payload_variant: Some(pb::to_radio::PayloadVariant::Packet(pb::MeshPacket {
                to,
                id,
                hop_limit,
                want_ack,
                payload_variant: Some(pb::mesh_packet::PayloadVariant::Decoded(pb::Data {
                    portnum: PRIVATE_APP,
                    payload: vec![0x94; len],
                    ..Default::default()
                })),
                ..Default::default()
            })),
        }
    }

    /// The (request id, routing error) answers `device` got, in order.
    fn routing_errors(out: &[(usize, F)], device: usize) -> Vec<(u32, RoutingError)> {
        out.iter()
            .filter_map(|(d, v)| match v {
                F::Packet(p) if *d == device => match &p.payload_variant {
                    Some(pb::mesh_packet::PayloadVariant::Decoded(data))
                        if data.portnum == ROUTING_APP =>
                    {
                        match pb::Routing::decode(data.payload.as_slice())
                            .unwrap()
                            .variant
                        {
                            Some(pb::routing::Variant::ErrorReason(e)) => {
                                Some((data.request_id, RoutingError::try_from(e).unwrap()))
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    fn delivered(out: &[(usize, F)], device: usize) -> Vec<pb::MeshPacket> {
        out.iter()
            .filter_map(|(d, v)| match v {
                F::Packet(p) if *d == device => match &p.payload_variant {
                    Some(pb::mesh_packet::PayloadVariant::Decoded(data))
                        if data.portnum == PRIVATE_APP =>
                    {
                        Some(p.clone())
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_handshake_sends_what_the_firmware_sends_in_order() {
        let mut air = Air::new(EmulatorConfig::new(3, 0x100, 0.0));
        air.connect(1, 9);
        air.handle_to_radio(T0, 1, 9, want_config(1234));
        let out = drain(&mut air);
        assert!(matches!(&out[0].1, F::MyInfo(i) if i.my_node_num == 0x101));
        assert!(
            matches!(&out[1].1, F::NodeInfo(n) if n.num == 0x101 && n.user.as_ref().unwrap().id == "!00000101")
        );
        assert!(matches!(&out[2].1, F::Metadata(_)));
        assert_eq!(
            out.iter()
                .filter(|(_, v)| matches!(v, F::Channel(_)))
                .count(),
            8
        );
        assert_eq!(
            out.iter()
                .filter(|(_, v)| matches!(v, F::Config(_)))
                .count(),
            8
        );
        assert!(
            out.iter()
                .filter(|(_, v)| matches!(v, F::ModuleConfig(_)))
                .count()
                >= 10
        );
        let others: Vec<u32> = out[3..]
            .iter()
            .filter_map(|(_, v)| match v {
                F::NodeInfo(n) => Some(n.num),
                _ => None,
            })
            .collect();
        assert_eq!(others, vec![0x100, 0x102]);
        assert_eq!(out.last().unwrap().1, F::ConfigCompleteId(1234));
        assert!(out.iter().all(|(d, _)| *d == 1));
        // The nodeless id skips the other nodes.
        air.handle_to_radio(T0, 1, 9, want_config(NODELESS_WANT_CONFIG_ID));
        let out = drain(&mut air);
        assert_eq!(
            out.iter()
                .filter(|(_, v)| matches!(v, F::NodeInfo(_)))
                .count(),
            1
        );
    }

    #[test]
    fn packets_cross_the_air_with_queue_status_and_hop_fields() {
        let mut air = connected(EmulatorConfig::new(2, 10, 0.0));
        air.handle_to_radio(T0, 0, 0, packet(BROADCAST_NUM, 5, 231, 2, false));
        let out = drain(&mut air);
        assert!(out.contains(&(
            0,
            F::QueueStatus(pb::QueueStatus {
                res: 0,
                free: 15,
                maxlen: 16,
                mesh_packet_id: 5
            })
        )));
        let got = delivered(&out, 1);
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].from, got[0].id, got[0].hop_limit, got[0].hop_start),
            (10, 5, 2, 2)
        );
        assert!(
            delivered(&out, 0).is_empty(),
            "own packet relayed back is a duplicate"
        );
        assert_eq!(air.stats(0).hop_limits.get(&2), Some(&1));
    }

    #[test]
    fn too_large_and_duty_cycle_are_nakked() {
        let mut config = EmulatorConfig::new(2, 10, 1.0);
        config.duty_cycle_percent = Some(0.1); // 3.6 s of air per hour
        let mut air = connected(config);
        air.handle_to_radio(T0, 0, 0, packet(BROADCAST_NUM, 1, 232, 3, false));
        let out = drain(&mut air);
        assert_eq!(routing_errors(&out, 0), [(1, RoutingError::TooLarge)]);
        assert!(
            out.iter().any(
                |(_, v)| matches!(v, F::QueueStatus(q) if q.res == 7 && q.mesh_packet_id == 1)
            )
        );
        // 231-byte packets take ~2 s each at LongFast: the second one is over budget.
        air.handle_to_radio(T0, 0, 0, packet(BROADCAST_NUM, 2, 231, 3, false));
        air.handle_to_radio(T0, 0, 0, packet(BROADCAST_NUM, 3, 231, 3, false));
        let out = drain(&mut air);
        assert_eq!(routing_errors(&out, 0), [(3, RoutingError::DutyCycleLimit)]);
        assert_eq!(air.stats(0).duty_cycle_refusals, 1);
    }

    #[test]
    fn a_full_queue_refuses_with_free_zero() {
        let mut config = EmulatorConfig::new(2, 10, 1.0);
        config.queue_len = 2;
        let mut air = connected(config);
        // One goes on the air at once, two wait, the fourth overflows.
        for id in 1..=4 {
            air.handle_to_radio(T0, 0, 0, packet(BROADCAST_NUM, id, 10, 3, false));
        }
        let out = drain(&mut air);
        let statuses: Vec<(u32, i32, u32)> = out
            .iter()
            .filter_map(|(_, v)| match v {
                F::QueueStatus(q) => Some((q.mesh_packet_id, q.res, q.free)),
                _ => None,
            })
            .collect();
        assert_eq!(
            statuses,
            vec![(1, 0, 1), (2, 0, 1), (3, 0, 0), (4, ERRNO_UNKNOWN, 0)]
        );
        assert_eq!(air.stats(0).queue_overflows, 1);
        // When the queue frees up the device says so unasked.
        let t = air.poll_timeout().unwrap();
        air.handle_timeout(t);
        let mut out = drain(&mut air);
        assert!(out.contains(&(
            0,
            F::QueueStatus(pb::QueueStatus {
                res: 0,
                free: 1,
                maxlen: 2,
                mesh_packet_id: 0
            })
        )));
        // Time passes: everything queued is sent and delivered in order.
        while let Some(t) = air.poll_timeout() {
            air.handle_timeout(t);
        }
        out.extend(drain(&mut air));
        let ids: Vec<u32> = delivered(&out, 1).iter().map(|p| p.id).collect();
        assert_eq!(ids, vec![1, 2, 3]);
    }

    #[test]
    fn unicast_is_acked_when_reachable_and_max_retransmit_when_not() {
        // 0 — 1 — 2 in a line, 3 alone.
        let mut config = EmulatorConfig::new(4, 10, 0.0);
        config.links = Some(vec![(0, 1), (1, 2)]);
        let mut air = connected(config);
        air.handle_to_radio(T0, 0, 0, packet(12, 1, 10, 3, true));
        let out = drain(&mut air);
        assert_eq!(
            routing_errors(&out, 0),
            [(1, RoutingError::None)],
            "ACK from two hops away"
        );
        let at_2 = delivered(&out, 2);
        assert_eq!(
            (at_2.len(), at_2[0].hop_limit, at_2[0].hop_start),
            (1, 2, 3)
        );
        assert!(
            delivered(&out, 1).is_empty(),
            "relays do not deliver unicast"
        );
        air.handle_to_radio(T0, 0, 0, packet(13, 2, 10, 3, true));
        let mut out = drain(&mut air);
        while let Some(t) = air.poll_timeout() {
            air.handle_timeout(t);
            out.extend(drain(&mut air));
        }
        assert_eq!(routing_errors(&out, 0), [(2, RoutingError::MaxRetransmit)]);
        assert_eq!(air.stats(0).naks, 1);
    }

    #[test]
    fn loss_is_seeded() {
        let run = |seed| {
            let mut config = EmulatorConfig::new(2, 10, 0.0);
            config.loss = 0.5;
            config.seed = seed;
            let mut air = connected(config);
            for id in 1..=40 {
                air.handle_to_radio(T0, 0, 0, packet(BROADCAST_NUM, id, 10, 0, false));
            }
            delivered(&drain(&mut air), 1)
                .iter()
                .map(|p| p.id)
                .collect::<Vec<_>>()
        };
        let a = run(3);
        assert_eq!(a, run(3));
        assert_ne!(a, run(4));
        assert!(a.len() > 5 && a.len() < 35, "{}", a.len());
    }
}
