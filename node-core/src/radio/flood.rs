//! The Meshtastic managed flood (firmware `FloodingRouter.cpp`), the one
//! rule every place that plays a Meshtastic radio applies to a packet it
//! receives: the simulator's link layer, the UDP testbed and the device
//! emulator.
//!
//! The rule only decides; the caller acts. It owns no queue and no clock:
//! a driver that queues relays behind a contention delay (the simulator)
//! honours [`FloodDecision::cancel_relay`], one that relays at once (the
//! UDP testbed) or in plain FIFO order (the emulator) has nothing to cancel.

use crate::id::NodeId;
use crate::radio::meshtastic::Role;
use crate::radio::seen::{SEEN_CAPACITY, SeenPackets};
use crate::transport::Destination;

/// What the flood reads from a received packet's header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FloodHeader {
    /// The node that originated the packet.
    pub origin: NodeId,
    /// The originator's packet id; with `origin` it names the packet.
    pub id: u32,
    /// Where the originator addressed it.
    pub dest: Destination,
    /// Relays still allowed.
    pub hop_limit: u8,
    /// The hop limit the originator set (Meshtastic `hop_start`).
    pub hop_start: u8,
}

/// What to do with one received packet.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FloodDecision {
    /// Seen before, or our own packet relayed back: neither delivered nor
    /// relayed again.
    pub duplicate: bool,
    /// Relays between the originator and us (`hop_start - hop_limit`).
    pub hops_away: u8,
    /// Hand the packet to the node above (broadcast, or addressed to us).
    pub deliver: bool,
    /// Relay a copy carrying this hop limit (one less than received).
    pub relay_hop_limit: Option<u8>,
    /// A duplicate heard while our own relay of the packet may still wait
    /// in the queue: someone else relayed it, so a client drops its copy
    /// (routers never do).
    pub cancel_relay: bool,
}

/// One radio's managed-flood state: who it is, its role, and the packets
/// (originator, id) it has seen, the oldest forgotten beyond a capacity.
#[derive(Clone, Debug)]
pub struct ManagedFlood {
    node: NodeId,
    role: Role,
    seen: SeenPackets<(NodeId, u32)>,
}

impl ManagedFlood {
    /// The flood of radio `node` in `role`, remembering [`SEEN_CAPACITY`]
    /// packets.
    pub fn new(node: NodeId, role: Role) -> Self {
        ManagedFlood::with_capacity(node, role, SEEN_CAPACITY)
    }

    /// As [`ManagedFlood::new`], remembering at most `capacity` packets.
    pub fn with_capacity(node: NodeId, role: Role, capacity: usize) -> Self {
        ManagedFlood {
            node,
            role,
            seen: SeenPackets::new(capacity),
        }
    }

    /// The radio's node id.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The radio's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Decides what to do with a received packet, and remembers it.
    ///
    /// * our own packet (by originator) or one seen before is a duplicate;
    ///   a client is told to cancel a relay of it it may still have queued;
    /// * otherwise it is delivered if it is a broadcast or addressed to us,
    ///   and relayed with one hop less while hops remain, unless it was
    ///   addressed to us alone or we are a muted client.
    pub fn receive(&mut self, h: &FloodHeader) -> FloodDecision {
        // Our own packets are never remembered: the originator check is enough.
        let duplicate = h.origin == self.node || !self.seen.insert((h.origin, h.id));
        let hops_away = h.hop_start.saturating_sub(h.hop_limit);
        if duplicate {
            return FloodDecision {
                duplicate,
                hops_away,
                deliver: false,
                relay_hop_limit: None,
                cancel_relay: self.role == Role::Client,
            };
        }
        let to_me = h.dest == Destination::Node(self.node);
        let relays = h.hop_limit > 0 && self.role != Role::ClientMute && !to_me;
        FloodDecision {
            duplicate,
            hops_away,
            deliver: to_me || h.dest == Destination::Broadcast,
            relay_hop_limit: relays.then(|| h.hop_limit - 1),
            cancel_relay: false,
        }
    }

    /// Forgets every packet seen (a reboot).
    pub fn forget(&mut self) {
        self.seen.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(origin: u32, id: u32, dest: Destination, hop_limit: u8) -> FloodHeader {
        FloodHeader {
            origin: NodeId(origin),
            id,
            dest,
            hop_limit,
            hop_start: 3,
        }
    }

    const B: Destination = Destination::Broadcast;

    #[test]
    fn a_new_broadcast_is_delivered_and_relayed_with_one_hop_less() {
        let mut f = ManagedFlood::new(NodeId(1), Role::Client);
        let d = f.receive(&header(7, 1, B, 2));
        assert_eq!(
            d,
            FloodDecision {
                duplicate: false,
                hops_away: 1,
                deliver: true,
                relay_hop_limit: Some(1),
                cancel_relay: false,
            }
        );
        let last = f.receive(&header(7, 2, B, 0));
        assert_eq!(
            (last.deliver, last.relay_hop_limit),
            (true, None),
            "no hops left"
        );
    }

    #[test]
    fn duplicates_and_own_packets_go_no_further_and_cancel_a_clients_relay() {
        let mut f = ManagedFlood::new(NodeId(1), Role::Client);
        assert!(!f.receive(&header(7, 1, B, 3)).duplicate);
        let again = f.receive(&header(7, 1, B, 2));
        assert!(again.duplicate && !again.deliver && again.relay_hop_limit.is_none());
        assert!(again.cancel_relay);
        let own = f.receive(&header(1, 9, B, 2));
        assert!(own.duplicate && own.cancel_relay);
        assert!(
            f.receive(&header(1, 9, B, 2)).duplicate,
            "own packets stay duplicates (never remembered, always recognised)"
        );
        let mut router = ManagedFlood::new(NodeId(1), Role::Router);
        router.receive(&header(7, 1, B, 3));
        assert!(
            !router.receive(&header(7, 1, B, 2)).cancel_relay,
            "routers never cancel"
        );
        f.forget();
        assert!(
            !f.receive(&header(7, 1, B, 3)).duplicate,
            "a reboot forgets"
        );
    }

    #[test]
    fn unicast_is_delivered_to_its_addressee_only_and_relayed_by_the_others() {
        let to = |n| Destination::Node(NodeId(n));
        let mut me = ManagedFlood::new(NodeId(1), Role::Client);
        let d = me.receive(&header(7, 1, to(1), 3));
        assert_eq!((d.deliver, d.relay_hop_limit), (true, None));
        let mut other = ManagedFlood::new(NodeId(2), Role::Client);
        let d = other.receive(&header(7, 1, to(1), 3));
        assert_eq!((d.deliver, d.relay_hop_limit), (false, Some(2)));
    }

    #[test]
    fn a_muted_client_delivers_but_never_relays() {
        let mut f = ManagedFlood::new(NodeId(1), Role::ClientMute);
        let d = f.receive(&header(7, 1, B, 3));
        assert_eq!((d.deliver, d.relay_hop_limit), (true, None));
    }

    #[test]
    fn the_history_is_bounded() {
        let mut f = ManagedFlood::with_capacity(NodeId(0), Role::Client, 4);
        for id in 0..5 {
            assert!(!f.receive(&header(7, id, B, 3)).duplicate);
        }
        assert!(
            !f.receive(&header(7, 0, B, 3)).duplicate,
            "the oldest was forgotten"
        );
        assert!(
            f.receive(&header(7, 4, B, 3)).duplicate,
            "the newest is kept"
        );
    }
}
