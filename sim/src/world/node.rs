//! Driving the nodes: switching a node-core on (over the store it had) and
//! off (a power loss), handing it timers, turning its events into trace
//! records, and [`SimTransport`], the simulated radio it sends through.

use std::sync::Arc;

use node_core::packages::PackageCache;
use node_core::transport::{
    Capabilities, MESHTASTIC_MAX_PAYLOAD_BYTES, OutFrame, SendError, Transport,
};
use node_core::{Duration, Instant, Node, NodeEvent, NodeId};

use super::air::set_transmit_delay;
use super::{Event, PackageLogEntry, Simulation};
use crate::engine::EventQueue;
use crate::mac::{Mac, Packet};
use crate::radio::RadioSetup;
use crate::trace::{DropReason, NodeRecord, PacketKey, Record};

impl Simulation {
    /// Switches a node on with a fresh node-core state machine over the
    /// store it had (replayed, as after a reboot).
    pub(super) fn boot(&mut self, now: Instant, i: u32) {
        let node = &mut self.nodes[i as usize];
        let storage = node.parked.take().unwrap_or_default();
        let packages = node.parked_packages.take().unwrap_or_default();
        let (cache, _) = PackageCache::open(packages, node.config.packages.cache)
            .expect("an in-memory package cache written by this run reopens");
        let core = Node::with_cache(node.config.clone(), storage, cache, now)
            .expect("an in-memory store written by this run reopens");
        node.core = Some(core);
        self.sync_node(now, i);
    }

    /// Switches a node off: power loss. Its queue is lost (each frame a
    /// drop record), its store keeps what it acknowledged.
    pub(super) fn shut_down(&mut self, now: Instant, i: u32) {
        let node = &mut self.nodes[i as usize];
        if let Some(core) = node.core.take() {
            // Power loss: acknowledged writes survive, anything unsynced is lost.
            let (mut storage, mut packages) = core.into_storages();
            storage.crash(0);
            packages.crash(0);
            node.parked = Some(storage);
            node.parked_packages = Some(packages);
        }
        node.config.incarnation += 1;
        node.timer.disarm();
        for q in node.mac.take_all() {
            self.trace.push(Record::Drop {
                at: now,
                node: NodeId(i),
                packet: q.packet.key,
                reason: DropReason::NodeDown,
            });
        }
        node.mac.reboot();
        // The radio is off: whatever it was receiving is lost with it (the
        // crash record is those receptions' outcome), and a restart before
        // those frames end does not pick them up halfway.
        self.on_air[i as usize].clear();
    }

    /// After node-core ran: record its events and re-arm its timer.
    pub(super) fn sync_node(&mut self, now: Instant, i: u32) {
        let node = &mut self.nodes[i as usize];
        let Some(core) = node.core.as_mut() else {
            return;
        };
        while let Some(event) = core.poll_event() {
            let event = match event {
                // Package events go to the package log (the trace has no
                // record kind for them yet).
                NodeEvent::Package(event) => {
                    self.package_log.push(PackageLogEntry {
                        at: now,
                        node: i,
                        event,
                    });
                    continue;
                }
                NodeEvent::SendFailed { .. } => NodeRecord::SendFailed,
                NodeEvent::FrameRejected { .. } => NodeRecord::FrameRejected,
                NodeEvent::Published {
                    item,
                    seq,
                    element,
                    size_bytes,
                    fragments,
                } => NodeRecord::Published {
                    item,
                    seq,
                    element: element.0,
                    size_bytes,
                    fragments,
                },
                NodeEvent::Stored { item, seq, element } => NodeRecord::Stored {
                    item,
                    seq,
                    element: element.0,
                },
                NodeEvent::ItemRejected { .. } => NodeRecord::ItemRejected,
                NodeEvent::Signal(e) => NodeRecord::Signal(super::signals::record_of(e)),
            };
            self.trace.push(Record::Node {
                at: now,
                node: NodeId(i),
                event,
            });
        }
        let next = core.poll_timeout().map(|t| t.max(now));
        let next = next.filter(|t| *t != Instant::MAX);
        if next != node.timer.due() {
            match next {
                Some(at) => node.timer.arm(&mut self.queue, at, timer_event(i)),
                None => node.timer.disarm(),
            }
        }
    }

    pub(super) fn on_timer(&mut self, now: Instant, i: u32, generation: u32) {
        let node = &mut self.nodes[i as usize];
        if !node.timer.pop(&mut self.queue, generation, timer_event(i)) {
            self.idle_events += 1;
            return;
        }
        if !node.alive() {
            return;
        }
        if self
            .drive(now, i, |core, t| core.handle_timeout(now, t))
            .is_some()
        {
            self.sync_node(now, i);
        }
    }

    /// Runs `f` on node `i`'s node-core with its simulated radio as the
    /// transport; `None` (and nothing run) while the node is down.
    pub(super) fn drive<R>(
        &mut self,
        now: Instant,
        i: u32,
        f: impl FnOnce(&mut Node, &mut SimTransport<'_>) -> R,
    ) -> Option<R> {
        let node = &mut self.nodes[i as usize];
        let core = node.core.as_mut()?;
        let mut transport = SimTransport {
            node: i,
            now,
            mac: &mut node.mac,
            queue: &mut self.queue,
            trace: &mut self.trace,
            radio: &self.radio,
            max_hop_limit: self.max_hop_limit,
        };
        Some(f(core, &mut transport))
    }
}

/// The packet id of a node's `counter`-th packet as Meshtastic firmware
/// makes it (`generatePacketId`): the counter in the low 10 bits, the top
/// 22 bits random — here a hash of the node and counter, so the run stays
/// a function of its seed. Nobody can predict a node's next ids from the
/// ones it sent, so no one can poison the duplicate filter against it in
/// advance (the `censor` adversary).
fn packet_id(node: u32, counter: u32) -> u32 {
    let high = node_core::rng::mix64((u64::from(node) << 32) | u64::from(counter)) as u32;
    ((counter & 0x3ff) | (high << 10)).max(1)
}

/// node-core's view of its simulated Meshtastic radio.
pub(super) struct SimTransport<'a> {
    node: u32,
    now: Instant,
    mac: &'a mut Mac,
    queue: &'a mut EventQueue<Event>,
    trace: &'a mut Vec<Record>,
    radio: &'a RadioSetup,
    max_hop_limit: u8,
}

impl Transport for SimTransport<'_> {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_payload_bytes: MESHTASTIC_MAX_PAYLOAD_BYTES,
            broadcast: true,
            bitrate_bps: self.radio.lora.bitrate_bps() as u32,
            max_hop_limit: self.max_hop_limit,
        }
    }

    fn airtime(&self, payload_bytes: usize) -> Duration {
        self.radio.airtime(payload_bytes)
    }

    fn queue_room(&self) -> usize {
        self.mac.queue_room()
    }

    fn channel_utilisation_pct(&self) -> Option<f64> {
        Some(self.mac.channel_util_now_pct(self.now))
    }

    fn send(&mut self, frame: OutFrame) -> Result<(), SendError> {
        self.check(&frame)?;
        let key = PacketKey {
            origin: NodeId(self.node),
            id: packet_id(self.node, self.mac.next_packet_id()),
        };
        let packet = Packet {
            key,
            dest: frame.dest,
            hop_limit: frame.hop_limit,
            hop_start: frame.hop_limit,
            priority: frame.priority,
            payload: Arc::from(frame.payload),
        };
        let payload_bytes = packet.payload.len() as u16;
        let class = node_core::wire::classify(&packet.payload).0;
        if self.mac.enqueue(packet, None, self.now).is_err() {
            self.trace.push(Record::Drop {
                at: self.now,
                node: NodeId(self.node),
                packet: key,
                reason: DropReason::QueueFull,
            });
            return Err(SendError::QueueFull);
        }
        self.trace.push(Record::Originate {
            at: self.now,
            node: NodeId(self.node),
            packet: key,
            payload_bytes,
            hop_limit: frame.hop_limit,
            class,
        });
        // The firmware's `RadioLibInterface::send` calls `setTransmitDelay`.
        set_transmit_delay(
            self.queue,
            self.node,
            self.mac,
            self.now,
            self.radio.slot_time,
        );
        Ok(())
    }
}

/// The event of node `node`'s node-core timer, from its slot's generation.
fn timer_event(node: u32) -> impl Fn(u32) -> Event {
    move |generation| Event::Timer { node, generation }
}
