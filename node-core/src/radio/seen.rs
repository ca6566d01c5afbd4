//! The managed flood's duplicate filter, held by [`ManagedFlood`](super::ManagedFlood)
//! for every place that plays a Meshtastic radio.

use std::collections::VecDeque;
use std::hash::Hash;

// Lookup only, fixed hasher, never iterated (a BTreeSet costs the simulator ~5 %).
#[allow(clippy::disallowed_types)]
use rustc_hash::FxHashSet;

/// Packets a radio remembers before forgetting the oldest (the firmware's
/// packet history holds a few hundred; more only costs memory here).
pub const SEEN_CAPACITY: usize = 4096;

/// The packets (originator, packet id) a receiver has seen, the oldest
/// forgotten beyond a capacity: a packet seen before is a duplicate (or our
/// own, relayed back) and is neither delivered nor relayed again.
///
/// The set is only looked up, never iterated, and its hasher is fixed, so
/// it cannot make a simulation depend on anything but its seed.
#[allow(clippy::disallowed_types)] // lookup only, fixed hasher, never iterated
#[derive(Clone, Debug)]
pub struct SeenPackets<K> {
    set: FxHashSet<K>,
    order: VecDeque<K>,
    capacity: usize,
}

#[allow(clippy::disallowed_types)] // lookup only, fixed hasher, never iterated
impl<K: Copy + Eq + Hash> SeenPackets<K> {
    /// Remembers at most `capacity` packets.
    pub fn new(capacity: usize) -> Self {
        SeenPackets {
            set: FxHashSet::default(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Records `key`; false if it had been seen already.
    pub fn insert(&mut self, key: K) -> bool {
        if !self.set.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }

    /// Forgets everything (a reboot).
    pub fn clear(&mut self) {
        self.set.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_caught_until_forgotten() {
        let mut seen = SeenPackets::new(3);
        assert!(seen.insert((1u32, 7u32)));
        assert!(!seen.insert((1, 7)), "a duplicate");
        assert!(seen.insert((2, 7)), "another originator");
        assert!(seen.insert((1, 8)));
        assert!(seen.insert((1, 9)), "pushes (1, 7) out");
        assert!(seen.insert((1, 7)), "the oldest was forgotten");
        assert!(!seen.insert((1, 9)), "the newest is kept");
        seen.clear();
        assert!(seen.insert((1, 9)));
    }
}
