//! Capability and subscription Bloom filters: what a node (or the mesh
//! behind it) may want, in [`FILTER_BYTES`] bytes, so that neighbours can
//! forward demand and queries only where they may match.
//!
//! # Parameters (measured, not guessed)
//!
//! * m = [`FILTER_BITS`] = 1024 bits: the largest power of two whose dense
//!   form (128 bytes) fits one Meshtastic frame with the frame header and
//!   the advert's level bytes; 2048 bits (256 bytes) would not.
//! * k = [`FILTER_HASHES`] = 5 hash indices per tag.
//! * design load n = [`FILTER_CAPACITY_TAGS`] = 128 distinct tags per filter.
//!
//! Measured by `false_positive_rate_at_the_design_load_is_within_1_to_5_pct`
//! over the real tag vocabulary of the corpus (every value of the OKH and
//! OKW files in `corpus/` that normalises into a [`Tag`]: 1,097 distinct
//! tags): every 7th tag in up to n, the other 969 probed.
//!
//! | k | n = 16 | n = 64 | n = 128 (theory) |
//! |---|---|---|---|
//! | 3 | 0 % | 0.97 % | 3.51 % (3.06 %) |
//! | 4 | 0 % | 0.58 % | 3.41 % (2.40 %) |
//! | **5** | 0 % | 0.19 % | **2.37 %** (2.17 %) |
//!
//! k = 5 has the fewest false positives at the design load (the optimum,
//! m/n·ln 2, is 5.5) and far fewer below it, where filters mostly are (a
//! facility's own profile is 2–40 tags). A node's own filter is its
//! capabilities and subscriptions; an aggregate of the mesh behind a
//! neighbour can go past the load, and then only costs relays (a false
//! positive forwards, it never answers).
//!
//! # Hash (stable across versions and platforms)
//!
//! A tag's indices come from one BLAKE3 hash of [`HASH_DOMAIN`] ‖ the
//! normalised tag bytes: h1 and h2 are its first two little-endian u64s,
//! and index i is (h1 + i·(h2 | 1)) mod m (double hashing; h2 odd and m a
//! power of two make the k indices distinct). Both ends of a link must
//! hash alike, across releases and machines, forever: the bytes of BLAKE3
//! are specified, and nothing else enters.
//!
//! Not the `bloomfilter` crate: it derives indices from two SipHash-1-3
//! hashers fed through `std::hash::Hash` (docs.rs, `bloomfilter` 1.x–3.x;
//! 0.0.x used SipHash-2-4), with random keys unless seeded, and
//! `std::hash::Hash` output is not guaranteed stable across Rust releases;
//! its bitmap layout and k choice are the crate's own and changed between
//! majors. Any of these changing would split a mesh of mixed versions into
//! nodes whose filters never match. The filter here is a hundred lines.

use super::signal::{Payload, Tag};

/// Bits in a filter.
pub const FILTER_BITS: usize = 1024;

/// Bytes of a filter's dense form.
pub const FILTER_BYTES: usize = FILTER_BITS / 8;

/// Indices set per tag.
pub const FILTER_HASHES: usize = 5;

/// The load the parameters are chosen for (2.4 % false positives, measured).
pub const FILTER_CAPACITY_TAGS: usize = 128;

/// What the tag hash starts with: a filter of another purpose never
/// shares indices with this one.
pub const HASH_DOMAIN: &[u8] = b"okmesh tag filter v1\0";

const WORDS: usize = FILTER_BITS / 64;

/// A Bloom filter of tags, m = 1024, k = 5 (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TagFilter([u64; WORDS]);

impl std::fmt::Debug for TagFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TagFilter({} bits set)", self.bits_set())
    }
}

/// The indices of `tag` (its normalised bytes).
pub fn indices(tag: &str) -> [u16; FILTER_HASHES] {
    let mut h = blake3::Hasher::new();
    h.update(HASH_DOMAIN);
    h.update(tag.as_bytes());
    let out = h.finalize();
    let b = out.as_bytes();
    let h1 = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
    let h2 = u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")) | 1;
    let mut idx = [0u16; FILTER_HASHES];
    for (i, slot) in idx.iter_mut().enumerate() {
        let v = h1.wrapping_add((i as u64).wrapping_mul(h2));
        *slot = (v % FILTER_BITS as u64) as u16;
    }
    idx
}

impl TagFilter {
    /// The empty filter (matches nothing).
    pub const EMPTY: TagFilter = TagFilter([0; WORDS]);

    /// The full filter (matches everything).
    pub const FULL: TagFilter = TagFilter([u64::MAX; WORDS]);

    /// A filter holding `tags`.
    pub fn of<'a>(tags: impl IntoIterator<Item = &'a Tag>) -> TagFilter {
        let mut f = TagFilter::EMPTY;
        for t in tags {
            f.insert(t);
        }
        f
    }

    /// Adds a tag.
    pub fn insert(&mut self, tag: &Tag) {
        for i in indices(tag.as_str()) {
            self.set(i);
        }
    }

    /// Sets one bit (`index` below [`FILTER_BITS`]).
    pub fn set(&mut self, index: u16) {
        let i = usize::from(index) % FILTER_BITS;
        self.0[i / 64] |= 1 << (i % 64);
    }

    /// Whether bit `index` is set.
    pub fn get(&self, index: u16) -> bool {
        let i = usize::from(index) % FILTER_BITS;
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    /// Whether `tag` may be in the filter (never false for a tag added).
    pub fn may_contain(&self, tag: &Tag) -> bool {
        indices(tag.as_str()).iter().all(|i| self.get(*i))
    }

    /// Adds every tag of `other`.
    pub fn union(&mut self, other: &TagFilter) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }

    /// The bits set here and not in `other`.
    pub fn minus(&self, other: &TagFilter) -> TagFilter {
        let mut out = *self;
        for (a, b) in out.0.iter_mut().zip(other.0) {
            *a &= !b;
        }
        out
    }

    /// Whether any bit is set in both.
    pub fn intersects(&self, other: &TagFilter) -> bool {
        self.0.iter().zip(other.0).any(|(a, b)| a & b != 0)
    }

    /// Whether no bit is set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// Bits set.
    pub fn bits_set(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The set bits, ascending.
    pub fn set_bits(&self) -> impl Iterator<Item = u16> + '_ {
        (0..FILTER_BITS as u16).filter(|i| self.get(*i))
    }

    /// The dense form: bit i is bit i % 8 of byte i / 8.
    pub fn to_bytes(&self) -> [u8; FILTER_BYTES] {
        let mut out = [0u8; FILTER_BYTES];
        for (chunk, w) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// From the dense form.
    pub fn from_bytes(bytes: &[u8; FILTER_BYTES]) -> TagFilter {
        let mut f = TagFilter::EMPTY;
        for (w, chunk) in f.0.iter_mut().zip(bytes.chunks_exact(8)) {
            *w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        }
        f
    }

    /// Whether a node whose interests this filter holds may want a signal
    /// with `payload`, by the rules of
    /// [`concerns`](super::concerns): a query needs every tag (a facility
    /// holding them all); demand needs any tag (a subscription to one of
    /// them; a facility holding all of them holds any), and demand without
    /// tags concerns every facility. Other signals are not filtered.
    pub fn may_want(&self, payload: &Payload) -> bool {
        match payload {
            Payload::Query { tags } => !self.is_empty() && tags.iter().all(|t| self.may_contain(t)),
            Payload::Demand { tags, .. } if tags.is_empty() => !self.is_empty(),
            Payload::Demand { tags, .. } => tags.iter().any(|t| self.may_contain(t)),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// Every value in the corpus's OKH and OKW files that normalises into
    /// a tag: the text after `:`, `=` or `- ` on a line, unquoted, split
    /// at commas; sorted, so the measurement is deterministic.
    fn corpus_vocabulary() -> Vec<Tag> {
        fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            let Ok(rd) = std::fs::read_dir(dir) else {
                return;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p
                    .extension()
                    .is_some_and(|x| x == "toml" || x == "yml" || x == "yaml")
                {
                    out.push(p);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
        let mut files = Vec::new();
        walk(&root.join("okh"), &mut files);
        walk(&root.join("okw"), &mut files);
        files.sort();
        let mut vocab = BTreeSet::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            for line in text.lines() {
                let line = line.trim().trim_start_matches("- ");
                let value = match line.find([':', '=']) {
                    Some(at) => &line[at + 1..],
                    None => line,
                };
                for piece in value.split(',') {
                    let piece = piece.trim().trim_matches(['"', '\'', '[', ']', ' ']);
                    if let Ok(t) = Tag::new(piece) {
                        vocab.insert(t);
                    }
                }
            }
        }
        vocab.into_iter().collect()
    }

    /// False positives of a filter of `n` tags, over every other tag.
    fn measure(vocab: &[Tag], n: usize, k: usize) -> f64 {
        // Every 7th tag goes in (spread over the sorted vocabulary).
        let mut bits = vec![false; FILTER_BITS];
        let inside: Vec<&Tag> = vocab.iter().step_by(7).take(n).collect();
        let idx = |t: &Tag| -> Vec<usize> {
            // The same double hashing with a chosen k, for the comparison.
            let b = blake3::Hasher::new()
                .update(HASH_DOMAIN)
                .update(t.as_str().as_bytes())
                .finalize();
            let b = b.as_bytes();
            let h1 = u64::from_le_bytes(b[..8].try_into().unwrap());
            let h2 = u64::from_le_bytes(b[8..16].try_into().unwrap()) | 1;
            (0..k as u64)
                .map(|i| (h1.wrapping_add(i.wrapping_mul(h2)) % FILTER_BITS as u64) as usize)
                .collect()
        };
        for t in &inside {
            for i in idx(t) {
                bits[i] = true;
            }
        }
        let set: BTreeSet<&Tag> = inside.iter().copied().collect();
        let probes: Vec<&Tag> = vocab.iter().filter(|t| !set.contains(t)).collect();
        let fp = probes
            .iter()
            .filter(|t| idx(t).iter().all(|i| bits[*i]))
            .count();
        fp as f64 / probes.len() as f64
    }

    #[test]
    #[allow(clippy::print_stderr)] // prints the figures it measures
    fn false_positive_rate_at_the_design_load_is_within_1_to_5_pct() {
        let vocab = corpus_vocabulary();
        assert!(vocab.len() > 7 * FILTER_CAPACITY_TAGS, "{}", vocab.len());
        for k in 3..=5 {
            for n in [16, 64, FILTER_CAPACITY_TAGS] {
                let theory =
                    (1.0 - (-(k as f64) * n as f64 / FILTER_BITS as f64).exp()).powi(k as i32);
                eprintln!(
                    "m {FILTER_BITS} k {k} n {n}: {:.3} % measured, {:.3} % theory ({} tags)",
                    100.0 * measure(&vocab, n, k),
                    100.0 * theory,
                    vocab.len()
                );
            }
        }
        let fp = measure(&vocab, FILTER_CAPACITY_TAGS, FILTER_HASHES);
        assert!((0.01..=0.05).contains(&fp), "{fp}");
        // And the filter itself agrees with the measurement's hashing.
        let inside: Vec<&Tag> = vocab.iter().step_by(7).take(FILTER_CAPACITY_TAGS).collect();
        let f = TagFilter::of(inside.iter().copied());
        assert!(
            inside.iter().all(|t| f.may_contain(t)),
            "no false negatives"
        );
        let set: BTreeSet<&Tag> = inside.iter().copied().collect();
        let probes: Vec<&Tag> = vocab.iter().filter(|t| !set.contains(t)).collect();
        let hits = probes.iter().filter(|t| f.may_contain(t)).count();
        assert_eq!(hits as f64 / probes.len() as f64, fp);
    }

    #[test]
    fn the_hash_is_pinned() {
        // A change here splits meshes of mixed versions: a new filter version.
        let pinned = indices("3d-printing");
        let f = TagFilter::of(&[Tag::new("3d-printing").unwrap()]);
        assert_eq!(f.set_bits().collect::<Vec<_>>().len(), FILTER_HASHES);
        assert_eq!(
            pinned, PINNED_3D_PRINTING,
            "indices of 3d-printing: {pinned:?}"
        );
        assert_eq!(TagFilter::from_bytes(&f.to_bytes()), f);
    }

    const PINNED_3D_PRINTING: [u16; FILTER_HASHES] = [783, 842, 901, 960, 1019];

    #[test]
    fn matching_follows_the_concern_rules() {
        let caps = crate::signals::tags_from(["3d-printing", "material=pla"]).unwrap();
        let f = TagFilter::of(&caps);
        let q = |t: &[&str]| Payload::Query {
            tags: crate::signals::tags_from(t.iter().copied()).unwrap(),
        };
        let d = |t: &[&str]| Payload::Demand {
            design: catalogue::ItemId([0; 16]),
            quantity: 1,
            deadline: crate::time::Instant::ZERO,
            tags: crate::signals::tags_from(t.iter().copied()).unwrap(),
        };
        assert!(f.may_want(&q(&["3d-printing", "material=pla"])));
        assert!(!f.may_want(&q(&["3d-printing", "glass-blowing"])));
        assert!(f.may_want(&d(&["3d-printing", "glass-blowing"])));
        assert!(!f.may_want(&d(&["glass-blowing"])));
        assert!(f.may_want(&d(&[])));
        assert!(!TagFilter::EMPTY.may_want(&d(&[])));
        assert!(TagFilter::FULL.may_want(&q(&["anything"])));
    }
}
