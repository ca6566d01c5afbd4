//! Buckets of the element space: the elements whose top `depth` bits are
//! `prefix`. Partitioned reconciliation (see `partition`) counts and
//! sketches a neighbour's set bucket by bucket, so that a difference of any
//! size splits into differences one sketch can decode.

use core::ops::RangeInclusive;

use super::Element;

/// Deepest bucket a frame may name (65,536 buckets): far more than any
/// catalogue needs, and it bounds what a request can make a node count.
pub const MAX_BUCKET_DEPTH: u8 = 16;

/// The elements whose top [`Bucket::depth`] bits equal [`Bucket::prefix`];
/// depth 0 is the whole space.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Bucket {
    depth: u8,
    prefix: u32,
}

impl Bucket {
    /// The whole element space.
    pub const ROOT: Bucket = Bucket {
        depth: 0,
        prefix: 0,
    };

    /// The bucket `prefix` at `depth`, if `depth` is at most
    /// [`MAX_BUCKET_DEPTH`] and `prefix` has at most `depth` bits.
    pub fn new(depth: u8, prefix: u32) -> Option<Bucket> {
        (depth <= MAX_BUCKET_DEPTH && u64::from(prefix) < Self::buckets_at(depth))
            .then_some(Bucket { depth, prefix })
    }

    /// How many buckets there are at `depth` (`2^depth`).
    pub fn buckets_at(depth: u8) -> u64 {
        1u64 << depth.min(MAX_BUCKET_DEPTH)
    }

    /// The bucket at `depth` (at most [`MAX_BUCKET_DEPTH`]) holding `element`.
    pub fn of(element: Element, depth: u8) -> Bucket {
        let depth = depth.min(MAX_BUCKET_DEPTH);
        let prefix = if depth == 0 {
            0
        } else {
            (element.0 >> (64 - u32::from(depth))) as u32
        };
        Bucket { depth, prefix }
    }

    /// How many top bits name the bucket.
    pub fn depth(self) -> u8 {
        self.depth
    }

    /// The bucket's top bits.
    pub fn prefix(self) -> u32 {
        self.prefix
    }

    /// The element values in the bucket.
    pub fn range(self) -> RangeInclusive<Element> {
        if self.depth == 0 {
            return Element(0)..=Element(u64::MAX);
        }
        let shift = 64 - u32::from(self.depth);
        let lo = u64::from(self.prefix) << shift;
        Element(lo)..=Element(lo | (u64::MAX >> u32::from(self.depth)))
    }

    /// Whether `element` is in the bucket.
    pub fn contains(self, element: Element) -> bool {
        self.range().contains(&element)
    }

    /// The two halves one level deeper (none at [`MAX_BUCKET_DEPTH`]).
    pub fn children(self) -> Option<[Bucket; 2]> {
        (self.depth < MAX_BUCKET_DEPTH).then(|| {
            let depth = self.depth + 1;
            let prefix = self.prefix << 1;
            [
                Bucket { depth, prefix },
                Bucket {
                    depth,
                    prefix: prefix | 1,
                },
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_name_their_top_bits() {
        assert_eq!(Bucket::new(0, 0), Some(Bucket::ROOT));
        assert_eq!(Bucket::new(2, 4), None);
        assert_eq!(Bucket::new(MAX_BUCKET_DEPTH + 1, 0), None);
        let b = Bucket::new(2, 0b10).unwrap();
        assert_eq!(
            b.range(),
            Element(0x8000 << 48)..=Element(0xbfff_ffff_ffff_ffff)
        );
        assert!(Bucket::ROOT.contains(Element(u64::MAX)));
    }

    proptest! {
        #[test]
        fn every_element_is_in_exactly_one_child(e in any::<u64>(), depth in 0u8..MAX_BUCKET_DEPTH) {
            let e = Element(e);
            let b = Bucket::of(e, depth);
            prop_assert!(b.contains(e));
            let [l, r] = b.children().unwrap();
            prop_assert!(l.contains(e) != r.contains(e));
            prop_assert_eq!(Bucket::of(e, depth + 1), if l.contains(e) { l } else { r });
        }
    }
}
