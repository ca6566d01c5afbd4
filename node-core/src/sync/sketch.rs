//! Set sketches (PinSketch, as in Minisketch and Erlay): a summary of a set
//! of 64-bit elements from which the *difference* between two sets can be
//! recovered, costing 8 bytes per difference — the information-theoretic
//! bound — whatever the size of the sets.
//!
//! A sketch of capacity `c` is the odd power sums `s_1, s_3, …, s_{2c−1}` of
//! the set's elements in GF(2^64) (`s_j = Σ x^j`). Sums in characteristic 2
//! cancel pairs, so XOR-ing two sets' sketches gives the sketch of their
//! symmetric difference. If that difference has at most `c` elements they
//! are the roots of the error-locator polynomial that Berlekamp–Massey finds
//! from the power sums (even sums are squares of smaller odd ones); the
//! roots are found with the Berlekamp trace algorithm. A difference larger
//! than the capacity is detected (the locator does not split into distinct
//! roots) except with negligible probability; callers additionally check a
//! set fingerprint, so a wrong decode is never acted on.
//!
//! Sketches are *extensible*: the first `c` syndromes of a larger sketch are
//! the sketch of capacity `c`, so a peer can send more syndromes when a
//! decode fails without repeating the ones already sent.

use super::gf64::{self, Poly};

/// Largest capacity a sketch may be decoded at (bounds CPU work per frame).
pub const MAX_CAPACITY: usize = 512;

/// The first `capacity` odd power sums of `elements` (zero elements are not
/// representable and must not occur).
pub fn syndromes(elements: impl IntoIterator<Item = u64>, capacity: usize) -> Vec<u64> {
    let mut out = vec![0u64; capacity];
    add_syndromes(&mut out, 0, elements);
    out
}

/// XORs into `out` the odd power sums `s_{2(first+k)+1}` of `elements`, for
/// `k` in `0..out.len()`: a slice of a sketch starting at syndrome `first`.
pub fn add_syndromes(out: &mut [u64], first: usize, elements: impl IntoIterator<Item = u64>) {
    if out.is_empty() {
        return;
    }
    for x in elements {
        debug_assert!(x != 0, "sketch elements are nonzero");
        let x2 = gf64::square(x);
        // x^(2·first + 1)
        let mut p = x;
        let mut e = first;
        let mut base = x2;
        while e != 0 {
            if e & 1 == 1 {
                p = gf64::mul(p, base);
            }
            base = gf64::square(base);
            e >>= 1;
        }
        for s in out.iter_mut() {
            *s ^= p;
            p = gf64::mul(p, x2);
        }
    }
}

/// Why a sketch could not be decoded.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum DecodeError {
    /// The difference has more elements than the sketch's capacity.
    #[error("the difference exceeds the sketch capacity of {0}")]
    Capacity(usize),
    /// More syndromes than [`MAX_CAPACITY`].
    #[error("a capacity of {0} is above the limit of {MAX_CAPACITY}")]
    TooLarge(usize),
}

/// Recovers the elements of the set whose sketch is `syndromes` (typically
/// the XOR of two sets' sketches), in ascending order.
pub fn decode(syndromes: &[u64]) -> Result<Vec<u64>, DecodeError> {
    let c = syndromes.len();
    if c > MAX_CAPACITY {
        return Err(DecodeError::TooLarge(c));
    }
    if syndromes.iter().all(|s| *s == 0) {
        return Ok(Vec::new());
    }
    // Power sums s_1..s_2c: odd ones given, s_2k = s_k².
    let mut sums = vec![0u64; 2 * c + 1];
    for (k, s) in syndromes.iter().enumerate() {
        sums[2 * k + 1] = *s;
    }
    for j in 1..=c {
        sums[2 * j] = gf64::square(sums[j]);
    }
    let locator = berlekamp_massey(&sums[1..]);
    let l = locator.degree().unwrap_or(0);
    if l == 0 || l > c {
        return Err(DecodeError::Capacity(c));
    }
    // C(z) = Π(1 − x_i z): its reversal has the elements as roots.
    let mut rev = locator.0.clone();
    rev.reverse();
    let f = Poly(rev).trim().monic();
    if f.degree() != Some(l) || f.0[0] == 0 {
        return Err(DecodeError::Capacity(c));
    }
    let mut roots = Vec::with_capacity(l);
    if !find_roots(f, &mut roots) || roots.len() != l {
        return Err(DecodeError::Capacity(c));
    }
    roots.sort_unstable();
    if roots.windows(2).any(|w| w[0] == w[1]) || roots.contains(&0) {
        return Err(DecodeError::Capacity(c));
    }
    // The roots must reproduce every syndrome, or the decode is spurious.
    if self::syndromes(roots.iter().copied(), c) != syndromes {
        return Err(DecodeError::Capacity(c));
    }
    Ok(roots)
}

/// The shortest linear feedback register generating `s` (Berlekamp–Massey),
/// as its connection polynomial `1 + c_1 z + … + c_L z^L`.
fn berlekamp_massey(s: &[u64]) -> Poly {
    let mut c = vec![1u64];
    let mut b = vec![1u64];
    let mut l = 0usize;
    let mut m = 1usize;
    let mut bb = 1u64;
    for n in 0..s.len() {
        let mut d = s[n];
        for i in 1..=l.min(c.len() - 1) {
            d ^= gf64::mul(c[i], s[n - i]);
        }
        if d == 0 {
            m += 1;
            continue;
        }
        let coef = gf64::mul(d, gf64::inv(bb));
        let t = c.clone();
        if c.len() < b.len() + m {
            c.resize(b.len() + m, 0);
        }
        for (i, bi) in b.iter().enumerate() {
            c[i + m] ^= gf64::mul(coef, *bi);
        }
        if 2 * l <= n {
            l = n + 1 - l;
            b = t;
            bb = d;
            m = 1;
        } else {
            m += 1;
        }
    }
    c.truncate(l + 1);
    Poly(c).trim()
}

/// Finds the roots of a monic `f` that splits into distinct linear factors
/// (Berlekamp trace algorithm); false if it does not split.
fn find_roots(f: Poly, out: &mut Vec<u64>) -> bool {
    let Some(d) = f.degree() else { return false };
    if d == 0 {
        return true;
    }
    if d == 1 {
        out.push(f.0[0]); // z + r has the root r (characteristic 2)
        return true;
    }
    // f splits into distinct linear factors iff z^(2^64) ≡ z (mod f).
    let z = Poly(vec![0, 1]);
    let mut p = z.clone().modulo(&f);
    for _ in 0..64 {
        p = p.square_mod(&f);
    }
    if p != z.clone().modulo(&f) {
        return false;
    }
    split(f, out, 1)
}

fn split(f: Poly, out: &mut Vec<u64>, mut beta: u64) -> bool {
    let d = f.degree().unwrap_or(0);
    if d == 0 {
        return true;
    }
    if d == 1 {
        out.push(f.0[0]);
        return true;
    }
    // Tr(βz) = Σ (βz)^(2^i) takes only the values 0 and 1 at the roots, so
    // gcd(f, Tr(βz)) separates them; a few β always suffice.
    for _ in 0..128 {
        let bz = Poly(vec![0, beta]).modulo(&f);
        let mut t = bz.clone();
        let mut acc = bz;
        for _ in 1..64 {
            t = t.square_mod(&f);
            acc = acc.plus(&t);
        }
        let g = Poly::gcd(f.clone(), acc);
        let dg = g.degree().unwrap_or(0);
        if dg > 0 && dg < d {
            let (h, r) = f.div_rem(&g);
            debug_assert!(r.is_zero());
            let next = gf64::mul(beta, 0x9e37_79b9_7f4a_7c15) | 1;
            return split(g, out, next) && split(h.monic(), out, next);
        }
        beta = gf64::mul(beta, 0x9e37_79b9_7f4a_7c15) ^ 2;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random_set(rng: &mut Rng, n: usize) -> Vec<u64> {
        (0..n).map(|_| rng.next_u64() | 1).collect()
    }

    fn xor(a: &[u64], b: &[u64]) -> Vec<u64> {
        a.iter().zip(b).map(|(x, y)| x ^ y).collect()
    }

    #[test]
    fn recovers_differences_up_to_the_capacity() {
        let mut rng = Rng::derive(3, "sketch", 0);
        for d in [1usize, 2, 3, 5, 10, 31, 64, 100] {
            let common = random_set(&mut rng, 1000);
            let only_a = random_set(&mut rng, d / 2 + d % 2);
            let only_b = random_set(&mut rng, d / 2);
            let a: Vec<u64> = common.iter().chain(&only_a).copied().collect();
            let b: Vec<u64> = common.iter().chain(&only_b).copied().collect();
            let diff = decode(&xor(
                &syndromes(a.iter().copied(), d),
                &syndromes(b.iter().copied(), d),
            ))
            .unwrap();
            let mut expected: Vec<u64> = only_a.iter().chain(&only_b).copied().collect();
            expected.sort_unstable();
            assert_eq!(diff, expected, "d = {d}");
        }
    }

    #[test]
    fn a_difference_above_the_capacity_is_reported_not_misdecoded() {
        let mut rng = Rng::derive(4, "sketch", 0);
        for trial in 0..50 {
            let set = random_set(&mut rng, 12);
            let capacity = 4 + trial % 6;
            assert!(decode(&syndromes(set.iter().copied(), capacity)).is_err());
        }
    }

    #[test]
    fn sketches_extend_without_resending() {
        let mut rng = Rng::derive(5, "sketch", 0);
        let set = random_set(&mut rng, 50);
        let whole = syndromes(set.iter().copied(), 20);
        let mut tail = vec![0u64; 12];
        add_syndromes(&mut tail, 8, set.iter().copied());
        assert_eq!(&whole[8..], &tail[..]);
    }

    #[test]
    fn equal_sets_have_an_empty_difference() {
        let mut rng = Rng::derive(6, "sketch", 0);
        let set = random_set(&mut rng, 30);
        let s = syndromes(set.iter().copied(), 8);
        assert_eq!(decode(&xor(&s, &s)), Ok(Vec::new()));
    }
}
