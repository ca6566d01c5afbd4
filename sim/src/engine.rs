//! The event queue: a priority queue keyed by (time, sequence number), so
//! events at the same instant run in the order they were scheduled (FIFO)
//! and every run replays identically.
//!
//! Timers that are re-armed far more often than they fire (a radio's
//! transmit timer is replaced after every frame it hears) live in a
//! [`TimerSlot`]: re-arming takes the sequence number a fresh event would
//! get, so the timer still fires in exactly the order a new event would,
//! but the queue holds one entry per slot at its earliest deadline instead
//! of one stale entry per re-arm.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use node_core::Instant;

/// An event's place in the queue's order: its time, then the sequence
/// number it got when it was scheduled.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Key {
    at: Instant,
    seq: u64,
}

impl Key {
    /// When the event runs.
    pub fn at(self) -> Instant {
        self.at
    }
}

struct Entry<E> {
    key: Key,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so the max-heap pops the earliest (time, seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// A deterministic discrete-event queue.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    /// The key of the event popped last: nothing may be scheduled before it.
    popped: Option<Key>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
            popped: None,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `at`.
    pub fn schedule(&mut self, at: Instant, event: E) {
        let key = self.key(at);
        self.schedule_at_key(key, event);
    }

    /// The key an event scheduled now for `at` gets; the sequence number is
    /// used up whether or not an event is ever scheduled with it.
    pub fn key(&mut self, at: Instant) -> Key {
        let seq = self.next_seq;
        self.next_seq += 1;
        Key { at, seq }
    }

    /// Schedules `event` at a key handed out by [`EventQueue::key`], which
    /// must not come before the event popped last.
    pub fn schedule_at_key(&mut self, key: Key, event: E) {
        debug_assert!(
            self.popped.is_none_or(|p| key > p),
            "scheduled before the present"
        );
        self.heap.push(Entry { key, event });
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(Instant, E)> {
        let e = self.heap.pop()?;
        self.popped = Some(e.key);
        Some((e.key.at, e.event))
    }

    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.key.at)
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no events wait.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// A timer on an [`EventQueue`] that is re-armed and disarmed often.
///
/// The slot keeps the live deadline's [`Key`] and at most one queue entry
/// it tracks, at or before that deadline. Arming pushes an entry only when
/// the new deadline comes before the tracked one; when the tracked entry
/// is popped ([`TimerSlot::pop`]) the timer either fires (the entry is the
/// deadline) or the entry is pushed again at the live deadline's key.
/// Because that key was taken when the timer was armed, the timer fires at
/// the same place in the order of events as if every re-arm had scheduled
/// a new event (and left the old one to be ignored): runs are unchanged,
/// only the stale entries are gone.
///
/// Entries are told apart by a generation carried in the event; entries of
/// the slot it no longer tracks are ignored when popped.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimerSlot {
    /// The live deadline.
    due: Option<Key>,
    /// The entry in the queue the slot tracks and its generation (no later
    /// than `due` while that is set).
    entry: Option<(Key, u32)>,
    generation: u32,
}

impl TimerSlot {
    /// When the timer fires, if it is armed.
    pub fn due(&self) -> Option<Instant> {
        self.due.map(Key::at)
    }

    /// Arms the timer for `at`, replacing a pending deadline; `event` makes
    /// the queue entry from its generation.
    pub fn arm<E>(&mut self, queue: &mut EventQueue<E>, at: Instant, event: impl FnOnce(u32) -> E) {
        let key = queue.key(at);
        self.due = Some(key);
        if self.entry.is_none_or(|(tracked, _)| key < tracked) {
            self.push(queue, key, event);
        }
    }

    /// Disarms the timer (its entry, if any, is ignored when popped).
    pub fn disarm(&mut self) {
        self.due = None;
    }

    /// The slot's entry of `generation` was popped: returns whether the
    /// timer fires now (it is then disarmed). An entry the slot no longer
    /// tracks does nothing; the tracked one, if the deadline has moved
    /// later since it was pushed, is pushed again for the deadline.
    pub fn pop<E>(
        &mut self,
        queue: &mut EventQueue<E>,
        generation: u32,
        event: impl FnOnce(u32) -> E,
    ) -> bool {
        let Some((key, tracked)) = self.entry else {
            return false;
        };
        if tracked != generation {
            return false;
        }
        self.entry = None;
        match self.due {
            Some(due) if due == key => {
                self.due = None;
                true
            }
            Some(due) => {
                debug_assert!(due > key, "the tracked entry is never after the deadline");
                self.push(queue, due, event);
                false
            }
            None => false,
        }
    }

    fn push<E>(&mut self, queue: &mut EventQueue<E>, key: Key, event: impl FnOnce(u32) -> E) {
        self.generation = self.generation.wrapping_add(1);
        self.entry = Some((key, self.generation));
        queue.schedule_at_key(key, event(self.generation));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    #[test]
    fn earliest_first_and_fifo_on_ties() {
        let mut q = EventQueue::default();
        q.schedule(t(5), "c");
        q.schedule(t(1), "a");
        q.schedule(t(5), "d");
        q.schedule(t(1), "b");
        q.schedule(t(3), "x");
        let order: Vec<&str> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["a", "b", "x", "c", "d"]);
    }

    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Ev {
        Other(&'static str),
        Slot(u32),
    }

    /// Runs `q` to the end, firing `slot`; what ran, in order.
    fn drain(q: &mut EventQueue<Ev>, slot: &mut TimerSlot) -> (Vec<(u64, &'static str)>, usize) {
        let (mut ran, mut pops) = (Vec::new(), 0);
        while let Some((at, e)) = q.pop() {
            pops += 1;
            match e {
                Ev::Other(name) => ran.push((at.as_micros(), name)),
                Ev::Slot(g) => {
                    if slot.pop(q, g, Ev::Slot) {
                        ran.push((at.as_micros(), "timer"));
                    }
                }
            }
        }
        (ran, pops)
    }

    #[test]
    fn a_re_armed_timer_fires_once_in_the_place_of_its_last_arming() {
        let mut q = EventQueue::default();
        let mut slot = TimerSlot::default();
        slot.arm(&mut q, t(10), Ev::Slot);
        q.schedule(t(20), Ev::Other("before"));
        // Moved later, past an event of the same instant scheduled before
        // the re-arm and ahead of one scheduled after it.
        slot.arm(&mut q, t(20), Ev::Slot);
        q.schedule(t(20), Ev::Other("after"));
        assert_eq!(slot.due(), Some(t(20)));
        assert_eq!(q.len(), 3, "the re-arm pushed nothing");
        let (ran, pops) = drain(&mut q, &mut slot);
        assert_eq!(ran, [(20, "before"), (20, "timer"), (20, "after")]);
        assert_eq!(pops, 4, "the early entry, pushed again once");
        assert_eq!(slot.due(), None, "fired");
    }

    #[test]
    fn moving_a_timer_earlier_or_disarming_it_leaves_the_old_entry_ignored() {
        let mut q = EventQueue::default();
        let mut slot = TimerSlot::default();
        slot.arm(&mut q, t(30), Ev::Slot);
        slot.arm(&mut q, t(5), Ev::Slot);
        q.schedule(t(5), Ev::Other("same instant, later"));
        let (ran, _) = drain(&mut q, &mut slot);
        assert_eq!(ran, [(5, "timer"), (5, "same instant, later")]);
        // Disarmed, then armed again later than its old entry.
        slot.arm(&mut q, t(50), Ev::Slot);
        slot.disarm();
        assert_eq!(slot.due(), None);
        let (ran, pops) = drain(&mut q, &mut slot);
        assert_eq!((ran.len(), pops), (0, 1), "disarmed: nothing fires");
        slot.arm(&mut q, t(60), Ev::Slot);
        slot.disarm();
        slot.arm(&mut q, t(70), Ev::Slot);
        let (ran, pops) = drain(&mut q, &mut slot);
        assert_eq!(ran, [(70, "timer")]);
        assert_eq!(pops, 2);
    }
}
