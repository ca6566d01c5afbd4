//! The shared air: a radio taking a frame from its queue (listen before
//! talk, the duty-cycle budget), the signal reaching every receiver in
//! interference range (collisions and capture, half duplex), and at its end
//! each reception decided — below sensitivity, missed, collided, dropped by
//! a fault, or decoded and handed to the managed flood.
//!
//! Faults are not decided here: the [`FaultPlan`](crate::fault::FaultPlan)
//! is asked whether a signal crosses and whether a decoded frame is dropped.

use node_core::radio::meshtastic::{self, TimerExpiry};
use node_core::wire::FrameClass;
use node_core::{Duration, Instant, NodeId, RxFrame};

use super::{Event, Simulation};
use crate::engine::EventQueue;
use crate::mac::{Mac, Packet, Queued};
use crate::phy::capture::Heard;
use crate::trace::{DropReason, Record, TxId};

/// Symbols a channel-activity detection needs to see before it reports a
/// signal (SX126x CAD runs over 2 symbols by default): transmissions that
/// start less than this apart cannot hear each other.
pub(super) const CAD_SYMBOLS: u64 = 2;

/// A transmission on the air.
pub(super) struct Transmission {
    serial: TxId,
    sender: u32,
    packet: Packet,
    /// What the payload is, classified once for every reception's record.
    class: FrameClass,
    start: Instant,
    end: Instant,
}

/// A signal on the air at one receiver.
#[derive(Clone, Copy, Debug)]
pub(super) struct OnAir {
    serial: TxId,
    heard: Heard,
    half_duplex: bool,
}

impl Simulation {
    // ---- transmit -----------------------------------------------------

    /// The transmit timer fired (firmware `RadioLibInterface::onNotify`,
    /// `TRANSMIT_DELAY_COMPLETED`): the head goes out if the radio is free
    /// and the channel clear, else the head's delay is drawn afresh.
    pub(super) fn on_mac_wake(&mut self, now: Instant, i: u32, generation: u32) {
        let node = &mut self.nodes[i as usize];
        if !node
            .mac
            .wake
            .pop(&mut self.queue, generation, wake_event(i))
        {
            self.idle_events += 1;
            return;
        }
        if !node.alive() {
            return;
        }
        debug_assert_eq!(node.mac.timer_due(), Some(now), "the live timer fires");
        node.mac.fire_timer();
        let max_queue_delay = self.config.mesh.max_queue_delay;
        self.stale.clear();
        node.mac.take_stale(now, max_queue_delay, &mut self.stale);
        for q in self.stale.drain(..) {
            self.trace.push(Record::Drop {
                at: now,
                node: NodeId(i),
                packet: q.packet.key,
                reason: DropReason::Stale,
            });
        }
        loop {
            let node = &mut self.nodes[i as usize];
            let Some(head) = node.mac.head() else {
                return; // nothing to send
            };
            // Listening before talking covers both of the firmware's checks:
            // `canSendImmediately` (actively receiving a frame) and
            // `isChannelActive` (CAD); without it a radio only waits out its
            // own transmission.
            let busy = self.radio.listen_before_talk
                && channel_busy(&self.on_air[i as usize], now, self.cad_time);
            match meshtastic::on_transmit_timer(false, node.tx_until > now, busy) {
                TimerExpiry::Idle => return,
                TimerExpiry::Redraw => {
                    // A relay re-draws its SNR-weighted window, an own
                    // packet the utilisation window (`setTransmitDelay`).
                    set_transmit_delay(
                        &mut self.queue,
                        i,
                        &mut node.mac,
                        now,
                        self.radio.slot_time,
                    );
                    return;
                }
                TimerExpiry::Send => {}
            }
            let q = node.mac.queued(head);
            let (airtime, enqueued_at) =
                (self.radio.airtime(q.packet.payload.len()), q.enqueued_at);
            match node.mac.duty_allowed_at(now, airtime) {
                Some(t) if t <= now => {
                    let q = node.mac.take(head);
                    self.start_tx(now, i, q, airtime);
                    return;
                }
                Some(t) if t - enqueued_at <= max_queue_delay => {
                    // okmesh holds the head until the budget allows it.
                    if node.mac.arm(t) {
                        schedule_wake(&mut self.queue, i, &mut node.mac, t);
                    }
                    return;
                }
                _ => {
                    let q = node.mac.take(head);
                    self.trace.push(Record::Drop {
                        at: now,
                        node: NodeId(i),
                        packet: q.packet.key,
                        reason: DropReason::DutyCycle,
                    });
                }
            }
        }
    }

    /// A transmission or a reception ended at node `i` (firmware `ISR_TX` /
    /// `ISR_RX`): the pending timer is replaced and the head gets a fresh
    /// delay ("we never immediately transmit after any operation").
    fn after_radio_operation(&mut self, now: Instant, i: u32) {
        let node = &mut self.nodes[i as usize];
        node.mac.reset_timer();
        set_transmit_delay(&mut self.queue, i, &mut node.mac, now, self.radio.slot_time);
    }

    fn start_tx(&mut self, now: Instant, i: u32, q: Queued, airtime: Duration) {
        let end = now + airtime;
        let lock_at = now + self.radio.lora.lock_offset();
        let serial = self.next_serial;
        self.next_serial += 1;
        let bytes_on_air = node_core::radio::meshtastic_frame_bytes(q.packet.payload.len()) as u16;
        let (class, subject) = node_core::wire::classify(&q.packet.payload);
        self.trace.push(Record::TxStart {
            at: now,
            node: NodeId(i),
            tx: serial,
            packet: q.packet.key,
            hop_limit: q.packet.hop_limit,
            relay: q.relay(),
            bytes_on_air,
            end,
            class,
            subject,
        });
        let sender = &mut self.nodes[i as usize];
        sender.tx_until = end;
        sender.mac.note_tx(now, airtime);
        sender.mac.note_busy(end, airtime);
        // Half-duplex: whatever the sender was receiving is lost.
        for s in &mut self.on_air[i as usize] {
            if s.heard.end > now {
                s.half_duplex = true;
            }
        }
        let sf = self.radio.lora.sf;
        for link in self.topo.links_from(i) {
            let r = link.to as usize;
            let receiver = &self.nodes[r];
            if !receiver.alive() || !self.faults.reaches(i, link.to) {
                continue;
            }
            let mut heard = Heard::new(
                now,
                end,
                lock_at,
                link.rssi_dbm,
                link.rssi_mw,
                sf,
                link.decodable,
            );
            // A signal leaves a receiver's list only at its own `TxEnd`, where
            // its reception is decided: one that ends at this very instant may
            // not have been decided yet (events at one instant run in the
            // order they were scheduled), so it stays, and only signals still
            // on the air interact with the new one.
            let signals = &mut self.on_air[r];
            for s in signals.iter_mut() {
                // Ended, or both already lost: nothing is left to decide.
                if s.heard.end > now && !(s.heard.collided && heard.collided) {
                    self.radio.capture.overlap(&mut s.heard, &mut heard);
                }
            }
            signals.push(OnAir {
                serial,
                heard,
                half_duplex: receiver.tx_until > now,
            });
        }
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.txs.push(None);
                (self.txs.len() - 1) as u32
            }
        };
        self.txs[slot as usize] = Some(Transmission {
            serial,
            sender: i,
            packet: q.packet,
            class,
            start: now,
            end,
        });
        self.queue.schedule(end, Event::TxEnd { slot });
    }

    // ---- receive ------------------------------------------------------

    pub(super) fn on_tx_end(&mut self, now: Instant, slot: u32) {
        let tx = self.txs[slot as usize].take().expect("a live transmission");
        self.free_slots.push(slot);
        let airtime = tx.end - tx.start;
        for li in 0..self.topo.links_from(tx.sender).len() {
            let link = self.topo.links_from(tx.sender)[li];
            let r = link.to;
            let signals = &mut self.on_air[r as usize];
            let Some(pos) = signals.iter().position(|s| s.serial == tx.serial) else {
                // The receiver was off or partitioned away when the frame
                // started, or went down since (its crash record says so).
                continue;
            };
            let s = signals.swap_remove(pos);
            let receiver = &mut self.nodes[r as usize];
            assert!(receiver.alive(), "a node going down forgets its signals");
            let node = NodeId(r);
            if !s.heard.demodulable {
                self.trace.push(Record::BelowSensitivity {
                    at: now,
                    node,
                    tx: tx.serial,
                });
                continue;
            }
            receiver.mac.note_busy(now, airtime);
            if s.half_duplex {
                self.trace.push(Record::HalfDuplexMiss {
                    at: now,
                    node,
                    tx: tx.serial,
                });
                continue;
            }
            // The radio followed this frame to its end (a good or a bad CRC
            // alike raise `ISR_RX`) unless it was locked on another.
            if !s.heard.locked_out {
                self.after_radio_operation(now, r);
            }
            if s.heard.collided {
                self.trace.push(Record::Collision {
                    at: now,
                    node,
                    tx: tx.serial,
                });
                continue;
            }
            if let Some(reason) = self.faults.drops(tx.sender, r) {
                self.trace.push(Record::Drop {
                    at: now,
                    node,
                    packet: tx.packet.key,
                    reason,
                });
                continue;
            }
            self.receive(now, r, &tx, link.rssi_dbm);
        }
        self.trace.push(Record::TxEnd {
            at: now,
            node: NodeId(tx.sender),
            tx: tx.serial,
        });
        if self.nodes[tx.sender as usize].alive() {
            self.after_radio_operation(now, tx.sender);
        }
    }

    /// A receiver decoded `tx`: the managed flood decides, the node above
    /// gets what is for it, and a relay is queued behind its contention
    /// delay.
    fn receive(&mut self, now: Instant, r: u32, tx: &Transmission, rssi_dbm: f64) {
        let p = &tx.packet;
        let node = &mut self.nodes[r as usize];
        let flood = node.mac.receive(p);
        self.trace.push(Record::RxOk {
            at: now,
            node: NodeId(r),
            tx: tx.serial,
            sender: NodeId(tx.sender),
            packet: p.key,
            hops_away: flood.hops_away,
            rssi_cdbm: (rssi_dbm * 100.0)
                .round()
                .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16,
            duplicate: flood.duplicate,
            class: tx.class,
        });
        if flood.duplicate {
            if flood.cancel_relay && node.mac.cancel_relay(p.key) {
                self.trace.push(Record::Drop {
                    at: now,
                    node: NodeId(r),
                    packet: p.key,
                    reason: DropReason::RelayCancelled,
                });
            }
            return;
        }
        let snr_db = self.radio.snr_db(rssi_dbm);
        if flood.deliver {
            let frame = RxFrame {
                from: p.key.origin,
                dest: p.dest,
                hops_away: flood.hops_away,
                rssi_dbm: rssi_dbm as f32,
                snr_db: snr_db as f32,
                payload: &p.payload,
            };
            self.drive(now, r, |core, t| core.handle_frame(now, &frame, t));
        }
        if let Some(hop_limit) = flood.relay_hop_limit {
            let node = &mut self.nodes[r as usize];
            let relay = Packet {
                hop_limit,
                ..p.clone()
            };
            match node.mac.enqueue(relay, Some(snr_db), now) {
                Ok(()) => {
                    set_transmit_delay(&mut self.queue, r, &mut node.mac, now, self.radio.slot_time)
                }
                Err(relay) => self.trace.push(Record::Drop {
                    at: now,
                    node: NodeId(r),
                    packet: relay.key,
                    reason: DropReason::QueueFull,
                }),
            }
        }
        self.sync_node(now, r);
    }
}

/// Whether a receiver senses a decodable signal on the air: channel activity
/// detection reacts to LoRa chirps above the sensitivity once it has seen
/// `cad` worth of them.
fn channel_busy(signals: &[OnAir], now: Instant, cad: Duration) -> bool {
    signals
        .iter()
        .any(|s| s.heard.end > now && s.heard.demodulable && s.heard.start + cad <= now)
}

/// `setTransmitDelay` for node `node` (firmware `RadioLibInterface`): arms
/// its transmit timer with the head's delay unless a timer is pending or the
/// queue is empty, and schedules the timer's event.
pub(super) fn set_transmit_delay(
    queue: &mut EventQueue<Event>,
    node: u32,
    mac: &mut Mac,
    now: Instant,
    slot: Duration,
) {
    if let Some(at) = mac.set_transmit_delay(now, slot) {
        schedule_wake(queue, node, mac, at);
    }
}

/// Puts the timer `mac` has just armed for `at` on the event queue. Most
/// re-arms (after every frame the radio hears) move the deadline later and
/// push nothing: the slot's earlier entry carries it over when it is popped.
fn schedule_wake(queue: &mut EventQueue<Event>, node: u32, mac: &mut Mac, at: Instant) {
    mac.wake.arm(queue, at, wake_event(node));
}

/// The event of `node`'s transmit timer, from its slot's generation.
fn wake_event(node: u32) -> impl Fn(u32) -> Event {
    move |generation| Event::MacWake { node, generation }
}
