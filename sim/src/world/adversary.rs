//! Adversaries at work: what a node named by a
//! [`Fault::Adversary`](crate::fault::Fault::Adversary) does at each attack, besides running
//! node-core like every node. The frames are built as an attacker would
//! build them by hand — with node-core's public codecs, never its
//! internals — and go out through the node's radio like any frame, so the
//! air, duty cycle and queues bound them as they bound everyone.

use std::sync::Arc;

use node_core::identity::{Authorship, Signature};
use node_core::store::StoredItem;
use node_core::sync::{Fingerprint, data_frames, element_of, encode_stream, sketch};
use node_core::transport::{Destination, MESHTASTIC_MAX_PAYLOAD_BYTES, Priority};
use node_core::wire::{SyncFrame, Syndromes, WIRE_VERSION, syndrome_bytes};
use node_core::{Instant, ItemKind, NodeId};

use super::air::set_transmit_delay;
use super::{Event, Simulation};
use crate::fault::Adversary;
use crate::mac::Packet;
use crate::trace::{DropReason, PacketKey, Record};

/// Syndromes an adversary's summary carries: enough for neighbours whose
/// set differs from its own by a few elements to decode the one it adds.
const ADVERTISED_SYNDROMES: usize = 4;

impl Simulation {
    /// Adversary `index` starts now: its first attack, then one every
    /// `every`.
    pub(super) fn start_adversary(&mut self, now: Instant, index: u32) {
        self.queue.schedule(now, Event::Adversary { index });
    }

    pub(super) fn on_adversary(&mut self, now: Instant, index: u32) {
        let (node, every, kind) = self.faults.adversary(index);
        if let Some(next) = now.checked_add(every)
            && next <= self.end
            && every > node_core::Duration::ZERO
        {
            self.queue.schedule(next, Event::Adversary { index });
        }
        if !self.nodes[node as usize].alive() {
            return;
        }
        match kind {
            Adversary::Forger => self.forge(now, node),
            Adversary::Replayer => self.replay(now, node),
            Adversary::Flooder { frames } => self.flood_junk(now, node, frames),
            Adversary::Censor { victim, ids } => self.censor(now, node, victim, ids),
        }
        self.sync_node(now, node);
    }

    /// A new version, at a seq near `u32::MAX`, of a design of another
    /// publisher: the owner's key named, a made-up signature, sent under
    /// the origin of another node.
    fn forge(&mut self, now: Instant, node: u32) {
        let Some(core) = self.nodes[node as usize].core.as_ref() else {
            return;
        };
        let own = self.nodes[node as usize].config.publisher.public();
        let victims: Vec<&StoredItem> = core
            .store()
            .items()
            .filter(|i| i.author.is_some_and(|a| a.publisher != own && !a.tombstone))
            .collect();
        if victims.is_empty() {
            return;
        }
        let rng = &mut self.adversary_rng;
        let mut forged = victims[rng.below(victims.len() as u64) as usize].clone();
        forged.stamp.seq = u32::MAX - rng.below(1 << 16) as u32;
        if let Some(a) = forged.author.as_mut() {
            let mut sig = [0u8; 64];
            sig.iter_mut().for_each(|b| *b = rng.next_u32() as u8);
            *a = Authorship {
                signature: Signature(sig),
                ..*a
            };
        }
        let spoofed = rng.below(self.nodes.len() as u64) as u32;
        self.advertise_and_send(now, node, spoofed, &forged);
    }

    /// The oldest signed version kept of a design that has a newer one.
    fn replay(&mut self, now: Instant, node: u32) {
        let Some(core) = self.nodes[node as usize].core.as_ref() else {
            return;
        };
        let old: Vec<StoredItem> = core
            .store()
            .items()
            .filter_map(|i| {
                let h = core.store().history(i.id);
                (h.len() > 1).then(|| h[0].clone())
            })
            .filter(|v| v.author.is_some())
            .collect();
        if old.is_empty() {
            return;
        }
        let pick = self.adversary_rng.below(old.len() as u64) as usize;
        self.advertise_and_send(now, node, node, &old[pick]);
    }

    /// A junk item published under the adversary's own key (sync spreads
    /// it as far as quotas let it), and `frames` junk frames under random
    /// origins.
    fn flood_junk(&mut self, now: Instant, node: u32, frames: u32) {
        let n = self.adversary_rng.next_u64();
        let junk = format!(
            "title: Junk {n:016x}\ndescription: junk number {n} from a flooder\nlicense: CC0-1.0\nproject-link: https://example.org/junk/{n:x}\n"
        );
        self.drive(now, node, |core, t| {
            let _ = core.publish(now, ItemKind::Manifest, junk.as_bytes(), "junk.yml", t);
        });
        for _ in 0..frames {
            let rng = &mut self.adversary_rng;
            let len = 2 + rng.below(MESHTASTIC_MAX_PAYLOAD_BYTES as u64 - 2) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
            bytes[0] = WIRE_VERSION;
            bytes[1] = 2 + rng.below(5) as u8; // a sync frame kind
            let origin = rng.next_u32();
            let id = rng.next_u32();
            self.inject_packet(now, node, origin, id, 0, bytes);
        }
    }

    /// Floods the packet ids the victim would use next if they were a plain
    /// counter (as the attack on the UDP testbed did), under its origin.
    fn censor(&mut self, now: Instant, node: u32, victim: u32, ids: u32) {
        let next = self.nodes[victim as usize].mac.peek_packet_id();
        for k in 0..ids {
            let id = next.wrapping_add(k).max(1);
            self.inject_packet(now, node, victim, id, 3, vec![WIRE_VERSION, 1, 0, 0, 0, 0]);
        }
    }

    /// A summary of the adversary's set plus `item`'s element, then `item`'s
    /// transfer stream as data fragments, from `origin`.
    fn advertise_and_send(&mut self, now: Instant, node: u32, origin: u32, item: &StoredItem) {
        let Some(core) = self.nodes[node as usize].core.as_ref() else {
            return;
        };
        let Some(stream) = encode_stream(item) else {
            return;
        };
        let element = element_of(item.kind, item.id, item.stamp);
        let mut set: Vec<u64> = core
            .store()
            .items()
            .filter(|i| i.author.is_some())
            .map(|i| element_of(i.kind, i.id, i.stamp).0)
            .collect();
        let (fingerprint, count) = core.catalogue_summary();
        set.push(element.0);
        let syn = syndrome_bytes(&sketch::syndromes(set, ADVERTISED_SYNDROMES));
        let summary = SyncFrame::Summary {
            fingerprint: Fingerprint(fingerprint.0).with(element),
            count: count + 1,
            syndromes: Syndromes::from_bytes(&syn).expect("whole syndromes"),
        }
        .encode();
        let id = self.adversary_rng.next_u32();
        self.inject_packet(now, node, origin, id, 0, summary);
        for frame in data_frames(element, &stream, MESHTASTIC_MAX_PAYLOAD_BYTES) {
            let id = self.adversary_rng.next_u32();
            self.inject_packet(now, node, origin, id, 0, frame);
        }
    }

    /// Puts a hand-built packet on node `node`'s radio queue with the
    /// header it chose (origin and packet id included).
    fn inject_packet(
        &mut self,
        now: Instant,
        node: u32,
        origin: u32,
        id: u32,
        hop_limit: u8,
        payload: Vec<u8>,
    ) {
        let key = PacketKey {
            origin: NodeId(origin),
            id,
        };
        let payload_bytes = payload.len() as u16;
        let class = node_core::wire::classify(&payload).0;
        let packet = Packet {
            key,
            dest: Destination::Broadcast,
            hop_limit,
            hop_start: hop_limit,
            priority: Priority::Normal,
            payload: Arc::from(payload),
        };
        let n = &mut self.nodes[node as usize];
        if n.mac.enqueue(packet, None, now).is_err() {
            self.trace.push(Record::Drop {
                at: now,
                node: NodeId(node),
                packet: key,
                reason: DropReason::QueueFull,
            });
            return;
        }
        self.trace.push(Record::Originate {
            at: now,
            node: NodeId(node),
            packet: key,
            payload_bytes,
            hop_limit,
            class,
        });
        set_transmit_delay(&mut self.queue, node, &mut n.mac, now, self.radio.slot_time);
    }
}
