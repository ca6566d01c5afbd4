//! Deterministic randomness.
//!
//! One root seed decides a whole run. Every consumer (a node, a link's
//! shadowing, the fault injector) draws from its own ChaCha stream whose seed
//! is derived from the root seed and a stable label, so adding a node or a
//! consumer never shifts anybody else's stream.
//!
//! The distributions are implemented here rather than taken from `rand` so
//! that their output is fixed by this file, not by a dependency's version, and
//! transcendental functions come from `libm`, which gives the same bits on
//! every platform.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng as _, SeedableRng};

/// Domain-separation context for seed derivation; changing it changes every run.
const SEED_CONTEXT: &str = "okmesh 2026-11 seed derivation v1";

/// Derives a 256-bit seed from the run's root seed, a stable label (what the
/// stream is for, e.g. `"node"`) and an index within that label (e.g. the
/// node id).
pub fn derive_seed(root_seed: u64, label: &str, index: u64) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key(SEED_CONTEXT);
    h.update(&root_seed.to_le_bytes());
    h.update(&(label.len() as u64).to_le_bytes());
    h.update(label.as_bytes());
    h.update(&index.to_le_bytes());
    *h.finalize().as_bytes()
}

/// SplitMix64's output function: a fast, well-mixed 64-bit hash of a
/// 64-bit value (for stateless draws and set fingerprints).
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic random stream with the few distributions okmesh needs.
#[derive(Clone, Debug)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// The stream for `(root_seed, label, index)`; see [`derive_seed`].
    pub fn derive(root_seed: u64, label: &str, index: u64) -> Self {
        Rng(ChaCha8Rng::from_seed(derive_seed(root_seed, label, index)))
    }

    /// 64 uniformly random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// 32 uniformly random bits.
    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// A uniform integer in `0..n` without modulo bias (Lemire's method).
    /// Returns 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A uniform integer in `lo..=hi` (`lo` if the range is empty).
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `true` with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit_f64() < p
    }

    /// An exponentially distributed value with the given mean (a Poisson
    /// process's inter-arrival time).
    pub fn exponential(&mut self, mean: f64) -> f64 {
        // 1 - u is in (0, 1], so the logarithm is finite.
        -mean * libm::log(1.0 - self.unit_f64())
    }

    /// A normally distributed value (Box–Muller; one draw per call keeps the
    /// stream's consumption simple to reason about).
    pub fn normal(&mut self, mean: f64, std_dev: f64) -> f64 {
        let u1 = 1.0 - self.unit_f64(); // (0, 1]
        let u2 = self.unit_f64();
        let z = libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * core::f64::consts::PI * u2);
        mean + std_dev * z
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_stable_and_independent() {
        let a1 = Rng::derive(42, "node", 1).next_u64();
        let a2 = Rng::derive(42, "node", 1).next_u64();
        let b = Rng::derive(42, "node", 2).next_u64();
        let c = Rng::derive(43, "node", 1).next_u64();
        let d = Rng::derive(42, "link", 1).next_u64();
        assert_eq!(a1, a2);
        assert!(a1 != b && a1 != c && a1 != d);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = Rng::derive(1, "t", 0);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let v = r.below(7);
            assert!(v < 7);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(r.below(0), 0);
        assert_eq!(r.range_inclusive(5, 5), 5);
    }

    #[test]
    fn distributions_have_the_right_moments() {
        let mut r = Rng::derive(7, "moments", 0);
        let n = 200_000;
        let mean_exp = (0..n).map(|_| r.exponential(100.0)).sum::<f64>() / n as f64;
        assert!((mean_exp - 100.0).abs() < 1.5, "exp mean {mean_exp}");
        let xs: Vec<f64> = (0..n).map(|_| r.normal(3.0, 2.0)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
        assert!((m - 3.0).abs() < 0.03, "normal mean {m}");
        assert!((var.sqrt() - 2.0).abs() < 0.03, "normal sd {}", var.sqrt());
    }
}
