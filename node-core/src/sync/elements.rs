//! What sync reconciles: every node's catalogue as a set of 64-bit
//! [`Element`]s, one per item (a hash of its current version), with the
//! set's [`Fingerprint`] and the head of its sketch kept up to date as items
//! come and go.

use core::fmt;
use std::collections::BTreeMap;

use catalogue::{ItemId, ItemKind};

use super::bucket::Bucket;
use super::reconcile::SUMMARY_SYNDROMES;
use super::sketch;
use crate::rng::mix64;
use crate::store::VersionStamp;
use crate::time::Instant;

/// The sync element of one item version ([`element_of`]): what summaries,
/// sketches, wants and data frames name it by. Never zero (sketches cannot
/// hold zero).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Element(pub u64);

/// A fingerprint of a set of elements: the wrapping sum of their mixed
/// values, so adding and removing one is O(1). Equal fingerprints mean
/// equal sets (up to a 2⁻⁶⁴ chance).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    /// The fingerprint with `element` added.
    pub fn with(self, element: Element) -> Self {
        Fingerprint(self.0.wrapping_add(mix64(element.0)))
    }

    /// The fingerprint with `element` removed.
    pub fn without(self, element: Element) -> Self {
        Fingerprint(self.0.wrapping_sub(mix64(element.0)))
    }

    /// The low 32 bits, which a sketch request names the set by.
    pub fn low_half(self) -> u32 {
        self.0 as u32
    }
}

/// `Display` as 16 hex digits (how logs, reports and the status API show
/// them) and `LowerHex` of the inner value, for the 64-bit newtypes here.
macro_rules! hex_u64 {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:016x}", self.0)
            }
        }

        impl fmt::LowerHex for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }
    )*};
}

hex_u64!(Element, Fingerprint);

/// The sync element of an item version: 64 bits of a keyed BLAKE3 hash of
/// its kind, id and stamp, never zero (sketches cannot hold zero).
pub fn element_of(kind: ItemKind, id: ItemId, stamp: VersionStamp) -> Element {
    let mut h = blake3::Hasher::new_derive_key("okmesh 2026-11 sync element v1");
    h.update(&[kind as u8]);
    h.update(&id.0);
    h.update(&stamp.seq.to_le_bytes());
    h.update(&stamp.content.0);
    let v = u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().expect("8 bytes"));
    Element(v.max(1))
}

/// The set of elements a node holds, with its fingerprint and the first
/// syndromes of its sketch kept up to date incrementally.
#[derive(Clone, Debug, Default)]
pub(super) struct ElementSet {
    /// Each element with its item and when it was added here.
    elements: BTreeMap<Element, (ItemId, Instant)>,
    by_item: BTreeMap<ItemId, Element>,
    fingerprint: Fingerprint,
    head: [u64; SUMMARY_SYNDROMES],
    /// Longer sketches, cached for the current fingerprint.
    cache: Option<(Fingerprint, Vec<u64>)>,
}

impl ElementSet {
    /// Makes `element` the current version of `item` (replacing the old one).
    pub(super) fn insert(&mut self, element: Element, item: ItemId, at: Instant) {
        match self.by_item.insert(item, element) {
            Some(old) if old == element => return,
            Some(old) => {
                self.elements.remove(&old);
                self.toggle(old, false);
            }
            None => {}
        }
        self.elements.insert(element, (item, at));
        self.toggle(element, true);
    }

    /// Updates the fingerprint and the sketch head (adding and removing are
    /// the same XOR there).
    fn toggle(&mut self, element: Element, added: bool) {
        self.fingerprint = if added {
            self.fingerprint.with(element)
        } else {
            self.fingerprint.without(element)
        };
        sketch::add_syndromes(&mut self.head, 0, [element.0]);
        self.cache = None;
    }

    /// The first `count` syndromes of the set's sketch.
    pub(super) fn syndromes(&mut self, count: usize) -> Vec<u64> {
        if count <= SUMMARY_SYNDROMES {
            return self.head[..count].to_vec();
        }
        match &self.cache {
            Some((fp, s)) if *fp == self.fingerprint && s.len() >= count => s[..count].to_vec(),
            _ => {
                let want = count
                    .next_power_of_two()
                    .min(sketch::MAX_CAPACITY)
                    .max(count);
                let s = sketch::syndromes(self.elements.keys().map(|e| e.0), want);
                self.cache = Some((self.fingerprint, s.clone()));
                s[..count].to_vec()
            }
        }
    }

    pub(super) fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    pub(super) fn len(&self) -> u32 {
        self.elements.len() as u32
    }

    pub(super) fn contains(&self, element: Element) -> bool {
        self.elements.contains_key(&element)
    }

    /// Syndromes `first..first + count` of the sketch of the elements in
    /// `bucket`.
    pub(super) fn bucket_syndromes(&self, bucket: Bucket, first: usize, count: usize) -> Vec<u64> {
        let mut out = vec![0u64; count];
        sketch::add_syndromes(
            &mut out,
            first,
            self.elements.range(bucket.range()).map(|(e, _)| e.0),
        );
        out
    }

    /// How many elements `bucket` holds.
    pub(super) fn bucket_len(&self, bucket: Bucket) -> u32 {
        self.elements.range(bucket.range()).count() as u32
    }

    /// The element counts of the `n` buckets from `from` at `depth`, in one
    /// pass over them.
    pub(super) fn bucket_counts(&self, depth: u8, from: u32, n: u32) -> Vec<u32> {
        let mut out = vec![0u32; n as usize];
        let (Some(first), Some(last)) = (
            Bucket::new(depth, from),
            Bucket::new(depth, from.saturating_add(n.saturating_sub(1))),
        ) else {
            return out;
        };
        let range = *first.range().start()..=*last.range().end();
        for e in self.elements.range(range).map(|(e, _)| *e) {
            let i = (Bucket::of(e, depth).prefix() - from) as usize;
            if let Some(c) = out.get_mut(i) {
                *c += 1;
            }
        }
        out
    }

    /// The item `element` is a version of, and when it was added here.
    pub(super) fn get(&self, element: Element) -> Option<(ItemId, Instant)> {
        self.elements.get(&element).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalogue::ContentId;

    fn stamp(seq: u32) -> VersionStamp {
        VersionStamp {
            seq,
            content: ContentId([seq as u8; 32]),
        }
    }

    #[test]
    fn a_new_version_replaces_the_old_and_the_fingerprint_follows() {
        let (a, b) = (ItemId([1; 16]), ItemId([2; 16]));
        let (a1, a2) = (
            element_of(ItemKind::Manifest, a, stamp(1)),
            element_of(ItemKind::Manifest, a, stamp(2)),
        );
        let b1 = element_of(ItemKind::Facility, b, stamp(1));
        assert_ne!(a1, a2);
        let mut set = ElementSet::default();
        set.insert(a1, a, Instant::ZERO);
        set.insert(b1, b, Instant::ZERO);
        set.insert(a2, a, Instant::ZERO);
        assert_eq!(set.len(), 2);
        assert!(!set.contains(a1) && set.contains(a2));
        assert_eq!(set.fingerprint(), Fingerprint::default().with(b1).with(a2));
        // The same set built in another order has the same fingerprint and sketch.
        let mut other = ElementSet::default();
        other.insert(a2, a, Instant::ZERO);
        other.insert(b1, b, Instant::ZERO);
        assert_eq!(other.fingerprint(), set.fingerprint());
        assert_eq!(other.syndromes(5), set.syndromes(5));
        assert_eq!(set.syndromes(1), sketch::syndromes([a2.0, b1.0], 1));
    }

    #[test]
    fn elements_print_as_sixteen_hex_digits() {
        assert_eq!(Element(0xab).to_string(), "00000000000000ab");
        assert_eq!(format!("{:016x}", Fingerprint(0xab)), "00000000000000ab");
        assert_eq!(Fingerprint(0x1_0000_0002).low_half(), 2);
    }
}
