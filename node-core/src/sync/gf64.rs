//! Arithmetic in GF(2^64) and polynomials over it — the algebra under the
//! set sketches.
//!
//! The field is GF(2)\[x\] / (x^64 + x^4 + x^3 + x + 1), a standard irreducible
//! pentanomial. Carry-less multiplication is done with ordinary integer
//! multiplications on operands whose bits are spread four apart, so that the
//! partial sums of one bit position never carry into another of the same
//! residue class (the "holes" technique BearSSL uses for GHASH); it is
//! constant-time and needs no CPU intrinsics (the workspace forbids
//! `unsafe`).

/// x^4 + x^3 + x + 1: what x^64 reduces to (the reduction below is
/// unrolled for it).
#[cfg(test)]
const REDUCTION: u64 = 0b1_1011;

/// The low 64 bits of the carry-less product of `x` and `y`.
fn clmul_lo(x: u64, y: u64) -> u64 {
    const M0: u64 = 0x1111_1111_1111_1111;
    const M1: u64 = M0 << 1;
    const M2: u64 = M0 << 2;
    const M3: u64 = M0 << 3;
    let (x0, x1, x2, x3) = (x & M0, x & M1, x & M2, x & M3);
    let (y0, y1, y2, y3) = (y & M0, y & M1, y & M2, y & M3);
    let m = |a: u64, b: u64| a.wrapping_mul(b);
    let z0 = m(x0, y0) ^ m(x1, y3) ^ m(x2, y2) ^ m(x3, y1);
    let z1 = m(x0, y1) ^ m(x1, y0) ^ m(x2, y3) ^ m(x3, y2);
    let z2 = m(x0, y2) ^ m(x1, y1) ^ m(x2, y0) ^ m(x3, y3);
    let z3 = m(x0, y3) ^ m(x1, y2) ^ m(x2, y1) ^ m(x3, y0);
    (z0 & M0) | (z1 & M1) | (z2 & M2) | (z3 & M3)
}

/// The full 128-bit carry-less product as (low, high).
fn clmul(x: u64, y: u64) -> (u64, u64) {
    let lo = clmul_lo(x, y);
    // The high half is the low half of the product of the bit-reversed
    // operands, reversed back (and shifted: the product has 127 bits).
    let hi = clmul_lo(x.reverse_bits(), y.reverse_bits()).reverse_bits() >> 1;
    (lo, hi)
}

/// Reduces `hi·x^64 + lo` modulo the field polynomial.
fn reduce(lo: u64, hi: u64) -> u64 {
    // hi·x^64 ≡ hi·(x^4 + x^3 + x + 1); the up-to-4 bits shifted out wrap once more.
    let t = hi ^ (hi << 1) ^ (hi << 3) ^ (hi << 4);
    let over = (hi >> 63) ^ (hi >> 61) ^ (hi >> 60);
    lo ^ t ^ over ^ (over << 1) ^ (over << 3) ^ (over << 4)
}

/// Product in GF(2^64).
pub fn mul(a: u64, b: u64) -> u64 {
    let (lo, hi) = clmul(a, b);
    reduce(lo, hi)
}

/// Square in GF(2^64).
pub fn square(a: u64) -> u64 {
    mul(a, a)
}

/// Multiplicative inverse (`a` must not be zero): a^(2^64 − 2).
pub fn inv(a: u64) -> u64 {
    debug_assert!(a != 0, "zero has no inverse");
    // Square-and-multiply over the exponent 2^64 − 2 = 0b111…110.
    let mut result = 1u64;
    let mut base = a;
    let mut e: u64 = u64::MAX - 1;
    while e != 0 {
        if e & 1 == 1 {
            result = mul(result, base);
        }
        base = square(base);
        e >>= 1;
    }
    result
}

/// A polynomial over GF(2^64), lowest coefficient first, without trailing
/// zero coefficients (the zero polynomial is empty).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Poly(pub Vec<u64>);

impl Poly {
    /// Drops trailing zero coefficients.
    pub fn trim(mut self) -> Self {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        self
    }

    /// The degree; `None` for the zero polynomial.
    pub fn degree(&self) -> Option<usize> {
        self.0.len().checked_sub(1)
    }

    /// Whether this is the zero polynomial.
    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// Makes the leading coefficient 1.
    pub fn monic(self) -> Self {
        match self.0.last() {
            Some(&lead) if lead != 1 => {
                let k = inv(lead);
                Poly(self.0.into_iter().map(|c| mul(c, k)).collect())
            }
            _ => self,
        }
    }

    /// `self mod m` (`m` nonzero).
    pub fn modulo(self, m: &Poly) -> Poly {
        self.divide(m, None)
    }

    /// `(self / m, self mod m)` (`m` nonzero).
    pub fn div_rem(self, m: &Poly) -> (Poly, Poly) {
        let mut q = vec![0u64; self.0.len().saturating_sub(m.0.len() - 1)];
        let r = self.divide(m, Some(&mut q));
        (Poly(q).trim(), r)
    }

    /// Long division by `m`: returns the remainder and, if asked, writes the
    /// quotient's coefficients into `quotient` (long enough, zeroed).
    fn divide(mut self, m: &Poly, mut quotient: Option<&mut Vec<u64>>) -> Poly {
        let dm = m.degree().expect("division by the zero polynomial");
        // Root finding divides by monic polynomials over and over; an
        // inversion costs 127 multiplications, more than a small division.
        let lead_inv = match m.0[dm] {
            1 => 1,
            lead => inv(lead),
        };
        while let Some(d) = self.degree() {
            if d < dm {
                break;
            }
            let k = mul(self.0[d], lead_inv);
            if let Some(q) = quotient.as_deref_mut() {
                q[d - dm] = k;
            }
            for (i, c) in m.0.iter().enumerate() {
                self.0[d - dm + i] ^= mul(*c, k);
            }
            self = self.trim();
        }
        self
    }

    /// `self · other mod m`.
    pub fn mul_mod(&self, other: &Poly, m: &Poly) -> Poly {
        if self.is_zero() || other.is_zero() {
            return Poly::default();
        }
        let mut out = vec![0u64; self.0.len() + other.0.len() - 1];
        for (i, a) in self.0.iter().enumerate() {
            if *a == 0 {
                continue;
            }
            for (j, b) in other.0.iter().enumerate() {
                out[i + j] ^= mul(*a, *b);
            }
        }
        Poly(out).trim().modulo(m)
    }

    /// `self² mod m`; squaring is linear in characteristic 2, so only the
    /// coefficients are squared and spread out.
    pub fn square_mod(&self, m: &Poly) -> Poly {
        let mut out = vec![0u64; (self.0.len() * 2).saturating_sub(1)];
        for (i, a) in self.0.iter().enumerate() {
            out[2 * i] = square(*a);
        }
        Poly(out).trim().modulo(m)
    }

    /// Greatest common divisor, monic.
    pub fn gcd(mut a: Poly, mut b: Poly) -> Poly {
        while !b.is_zero() {
            let r = a.modulo(&b);
            a = b;
            b = r;
        }
        a.monic()
    }

    /// Adds `other` (XOR of coefficients).
    pub fn plus(mut self, other: &Poly) -> Poly {
        if other.0.len() > self.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a ^= *b;
        }
        self.trim()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Shift-and-add reference multiplication.
    fn slow_mul(mut a: u64, mut b: u64) -> u64 {
        let mut r = 0u64;
        while b != 0 {
            if b & 1 == 1 {
                r ^= a;
            }
            let carry = a >> 63;
            a <<= 1;
            if carry == 1 {
                a ^= REDUCTION;
            }
            b >>= 1;
        }
        r
    }

    #[test]
    fn multiplication_matches_the_reference() {
        let mut rng = Rng::derive(1, "gf64", 0);
        for _ in 0..10_000 {
            let (a, b) = (rng.next_u64(), rng.next_u64());
            assert_eq!(mul(a, b), slow_mul(a, b), "{a:x} * {b:x}");
        }
        assert_eq!(mul(u64::MAX, u64::MAX), slow_mul(u64::MAX, u64::MAX));
        assert_eq!(mul(1 << 63, 2), REDUCTION);
    }

    #[test]
    fn inverses_invert() {
        let mut rng = Rng::derive(2, "gf64", 0);
        for _ in 0..200 {
            let a = rng.next_u64() | 1;
            assert_eq!(mul(a, inv(a)), 1);
        }
    }

    #[test]
    fn polynomial_division_and_gcd() {
        // (z + 3)(z + 5) and (z + 3)(z + 7) share (z + 3).
        let lin = |r: u64| Poly(vec![r, 1]);
        let m = Poly(vec![1]).mul_mod(&lin(3), &Poly(vec![0, 0, 0, 0, 1]));
        let f = m.mul_mod(&lin(5), &Poly(vec![0, 0, 0, 0, 1]));
        let g = m.mul_mod(&lin(7), &Poly(vec![0, 0, 0, 0, 1]));
        assert_eq!(Poly::gcd(f.clone(), g), lin(3));
        let (q, r) = f.div_rem(&lin(5));
        assert!(r.is_zero());
        assert_eq!(q, lin(3));
    }
}
