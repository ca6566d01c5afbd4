//! A map from transmission serial to what an observer remembers of it while
//! it is on the air.
//!
//! Trace observers (the checkers, the utilisation meter) look up the
//! transmission of every reception record: tens of lookups per frame. The
//! engine numbers transmissions in the order they start and a frame is on
//! the air for at most a few seconds, so the serials on the air form a short
//! run: a ring of slots indexed by `serial - base` finds each in O(1), where
//! an ordered or hashed map paid a search or a hash per record.
//!
//! Observers also read traces they did not produce (a trace file, a test's
//! edited trace), so nothing here assumes the order: a serial below the
//! ring's start, one far ahead of it, or one that outlives [`WINDOW_SLOTS`]
//! later serials is kept in an ordered overflow map instead. Memory is
//! bounded by the ring's size plus what actually stays on the air.

use std::collections::{BTreeMap, VecDeque};

use super::TxId;

/// Slots the ring holds before its oldest entry moves to the overflow map.
///
/// A 1,000-node run has a few hundred frames on the air at once; this keeps
/// every normal lookup in the ring with room to spare.
pub const WINDOW_SLOTS: usize = 1 << 14;

/// Values keyed by transmission serial, fast for serials that start in
/// order and end soon.
#[derive(Clone, Debug)]
pub struct InFlight<T> {
    /// The serial of `slots[0]`.
    base: TxId,
    slots: VecDeque<Option<T>>,
    /// Entries outside the ring.
    overflow: BTreeMap<TxId, T>,
    len: usize,
}

impl<T> Default for InFlight<T> {
    fn default() -> Self {
        InFlight {
            base: 0,
            slots: VecDeque::new(),
            overflow: BTreeMap::new(),
            len: 0,
        }
    }
}

impl<T> InFlight<T> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Position of `tx` in the ring, if it falls inside it.
    fn slot(&self, tx: TxId) -> Option<usize> {
        let i = usize::try_from(tx.checked_sub(self.base)?).ok()?;
        (i < self.slots.len()).then_some(i)
    }

    /// Sets the value for `tx`, returning the value it replaces.
    pub fn insert(&mut self, tx: TxId, value: T) -> Option<T> {
        if let Some(held) = self.overflow.get_mut(&tx) {
            return Some(std::mem::replace(held, value));
        }
        if self.slots.is_empty() {
            self.base = tx;
        }
        let ahead = tx
            .checked_sub(self.base)
            .and_then(|d| usize::try_from(d).ok());
        let old = match ahead {
            Some(i) if i < self.slots.len() => self.slots[i].replace(value),
            Some(i) if i < self.slots.len() + WINDOW_SLOTS => {
                self.slots.resize_with(i, || None);
                self.slots.push_back(Some(value));
                self.spill_excess();
                None
            }
            // Behind the ring, or so far ahead that the gap would be all
            // empty slots.
            _ => self.overflow.insert(tx, value),
        };
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// The value for `tx`.
    pub fn get(&self, tx: TxId) -> Option<&T> {
        match self.slot(tx).and_then(|i| self.slots[i].as_ref()) {
            Some(v) => Some(v),
            None => self.overflow.get(&tx),
        }
    }

    /// The value for `tx`, mutably.
    pub fn get_mut(&mut self, tx: TxId) -> Option<&mut T> {
        match self.slot(tx).filter(|&i| self.slots[i].is_some()) {
            Some(i) => self.slots[i].as_mut(),
            None => self.overflow.get_mut(&tx),
        }
    }

    /// Removes and returns the value for `tx`.
    pub fn remove(&mut self, tx: TxId) -> Option<T> {
        let old = match self.slot(tx).filter(|&i| self.slots[i].is_some()) {
            Some(i) => {
                let old = self.slots[i].take();
                self.trim_front();
                old
            }
            None => self.overflow.remove(&tx),
        };
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Every value, mutably: the ring's in serial order, then the
    /// overflow's.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots
            .iter_mut()
            .flatten()
            .chain(self.overflow.values_mut())
    }

    /// Drops empty slots at the front so the ring starts at the oldest
    /// serial still on the air (an empty ring restarts at the next insert).
    fn trim_front(&mut self) {
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base += 1;
        }
    }

    /// Moves the oldest entries to the overflow map while the ring is over
    /// its size (a transmission that never ended, in an edited trace).
    fn spill_excess(&mut self) {
        while self.slots.len() > WINDOW_SLOTS {
            if let Some(Some(v)) = self.slots.pop_front() {
                self.overflow.insert(self.base, v);
            }
            self.base += 1;
        }
        self.trim_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_in_order_stay_in_the_ring() {
        let mut m = InFlight::new();
        for tx in 10..20 {
            m.insert(tx, tx * 2);
        }
        assert_eq!(m.len(), 10);
        assert!(m.overflow.is_empty());
        assert_eq!(m.get(15), Some(&30));
        assert_eq!(m.remove(10), Some(20));
        assert_eq!(m.base, 11, "the front advances past ended serials");
        assert_eq!(m.remove(12), Some(24));
        assert_eq!(m.base, 11, "a gap behind a live serial stays");
        assert_eq!(m.get(12), None);
        assert_eq!(m.len(), 8);
    }

    #[test]
    fn out_of_order_and_far_serials_go_to_the_overflow() {
        let mut m = InFlight::new();
        m.insert(100, 'a');
        m.insert(50, 'b'); // behind the ring
        m.insert(100 + 10 * WINDOW_SLOTS as u64, 'c'); // far ahead
        assert_eq!(m.len(), 3);
        assert_eq!(m.overflow.len(), 2);
        assert_eq!(m.get(50), Some(&'b'));
        assert_eq!(m.remove(100 + 10 * WINDOW_SLOTS as u64), Some('c'));
        assert_eq!(m.remove(50), Some('b'));
        assert_eq!(m.remove(50), None);
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn a_serial_that_never_ends_leaves_the_ring_bounded() {
        let mut m = InFlight::new();
        m.insert(0, 0u64); // never removed
        for tx in 1..(3 * WINDOW_SLOTS as u64) {
            m.insert(tx, tx);
            m.remove(tx);
        }
        assert!(m.slots.len() <= WINDOW_SLOTS);
        assert_eq!(m.get(0), Some(&0), "kept, in the overflow");
        assert_eq!(m.len(), 1);
        let next = 3 * WINDOW_SLOTS as u64;
        m.insert(next, next);
        assert_eq!(m.overflow.len(), 1, "later serials use the ring again");
        assert_eq!(m.remove(next), Some(next));
        let mut values: Vec<u64> = m.values_mut().map(|v| *v).collect();
        values.sort_unstable();
        assert_eq!(values, [0]);
    }

    #[test]
    fn a_serial_is_held_in_one_place() {
        let mut m = InFlight::new();
        m.insert(100, 'a');
        m.insert(90, 'b'); // behind: overflow
        m.remove(100); // the ring empties
        m.insert(80, 'c'); // the ring restarts below the overflow entry
        assert_eq!(m.insert(90, 'd'), Some('b'), "replaced where it is held");
        assert_eq!(m.get(90), Some(&'d'));
        assert_eq!(m.len(), 2);
        assert_eq!(m.remove(90), Some('d'));
        assert_eq!(m.get(90), None);
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn replacing_a_value_keeps_the_count() {
        let mut m = InFlight::new();
        assert_eq!(m.insert(7, 1), None);
        assert_eq!(m.insert(7, 2), Some(1));
        assert_eq!(m.len(), 1);
        *m.get_mut(7).unwrap() += 1;
        assert_eq!(m.get(7), Some(&3));
    }
}
