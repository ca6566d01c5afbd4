//! Simulated or driver-supplied time.
//!
//! node-core never reads a clock: the driver hands it an [`Instant`] with every
//! call. Both types are plain microsecond counts so that arithmetic is exact
//! and identical on every machine.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Serialize};

/// A point in time, in microseconds since the start of the run (or since the
/// driver's epoch on real hardware). Serialises as the bare microsecond count.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Instant(u64);

/// A span of time in microseconds. Serialises as the bare microsecond count.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Duration(u64);

impl Instant {
    /// The start of the run.
    pub const ZERO: Instant = Instant(0);
    /// The far future; used as "never".
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `us` microseconds after the epoch.
    pub const fn from_micros(us: u64) -> Self {
        Instant(us)
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Seconds since the epoch, for display and metrics only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// Time elapsed since `earlier`, or zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, or `None` on overflow.
    pub const fn checked_add(self, d: Duration) -> Option<Instant> {
        match self.0.checked_add(d.0) {
            Some(v) => Some(Instant(v)),
            None => None,
        }
    }

    /// `self - d`, clamped at the epoch.
    pub const fn saturating_sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(d.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);
    /// The longest representable span; used as "forever".
    pub const MAX: Duration = Duration(u64::MAX);

    /// A span of `us` microseconds.
    pub const fn from_micros(us: u64) -> Self {
        Duration(us)
    }
    /// A span of `ms` milliseconds (saturating).
    pub const fn from_millis(ms: u64) -> Self {
        Duration(ms.saturating_mul(1_000))
    }
    /// A span of `s` seconds (saturating).
    pub const fn from_secs(s: u64) -> Self {
        Duration(s.saturating_mul(1_000_000))
    }
    /// The span in microseconds.
    pub const fn as_micros(self) -> u64 {
        self.0
    }
    /// The span in milliseconds, for display and metrics.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e3
    }
    /// The span in seconds, for display and metrics.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// `self * n`, saturating.
    pub const fn saturating_mul(self, n: u64) -> Duration {
        Duration(self.0.saturating_mul(n))
    }
    /// `self + other`, saturating.
    pub const fn saturating_add(self, other: Duration) -> Duration {
        Duration(self.0.saturating_add(other.0))
    }
    /// `self - other`, clamped at zero.
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration(self.0.saturating_sub(other.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates at [`Instant::MAX`], which every driver treats as "never".
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero: asking how long ago a future instant was is zero.
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_since(earlier)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, other: Duration) -> Duration {
        self.saturating_add(other)
    }
}

impl AddAssign for Duration {
    fn add_assign(&mut self, other: Duration) {
        *self = *self + other;
    }
}

impl fmt::Display for Duration {
    /// Human form: `250ms`, `12.5s`, `3m20s`, `2h05m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us < 1_000 {
            write!(f, "{us}us")
        } else if us < 1_000_000 {
            write!(f, "{}ms", us / 1_000)
        } else if us < 60_000_000 {
            write!(f, "{:.1}s", us as f64 / 1e6)
        } else if us < 3_600_000_000 {
            write!(f, "{}m{:02}s", us / 60_000_000, (us / 1_000_000) % 60)
        } else {
            write!(f, "{}h{:02}m", us / 3_600_000_000, (us / 60_000_000) % 60)
        }
    }
}

impl fmt::Display for Instant {
    /// Seconds since the epoch with millisecond precision, e.g. `t=12.345s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "t={}.{:03}s",
            self.0 / 1_000_000,
            (self.0 / 1_000) % 1_000
        )
    }
}

// ---- text form (scenario files, command lines) ----

const UNITS: [(&str, u64); 6] = [
    ("ms", 1_000),
    ("us", 1),
    ("s", 1_000_000),
    ("m", 60_000_000),
    ("h", 3_600_000_000),
    ("d", 86_400_000_000),
];

/// Parses `250ms`, `30s`, `2.5s`, `10m`, `1h30m`, `2d`, `500us`, or a bare
/// number of seconds; the error says what was expected.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return from_secs_f64(secs, text);
    }
    let mut rest = s;
    let mut total_us: u64 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{text}` is missing a unit (ms, s, m, h, d)"))?;
        if num_len == 0 {
            return Err(format!(
                "`{text}` is not a duration such as 250ms, 30s, 10m, 1h30m"
            ));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("`{}` in `{text}` is not a number", &rest[..num_len]))?;
        rest = &rest[num_len..];
        let (unit, scale) = UNITS
            .iter()
            .find(|(u, _)| {
                rest.starts_with(u)
                    && !rest[u.len()..].starts_with(|c: char| c.is_ascii_alphabetic())
            })
            .ok_or_else(|| format!("unknown unit in `{text}` (use ms, s, m, h or d)"))?;
        rest = &rest[unit.len()..];
        let part = value * *scale as f64;
        if !part.is_finite() || part > u64::MAX as f64 / 2.0 {
            return Err(format!("`{text}` is too long"));
        }
        total_us = total_us.saturating_add(part.round() as u64);
    }
    Ok(Duration::from_micros(total_us))
}

fn from_secs_f64(secs: f64, text: &str) -> Result<Duration, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{text}` is not a non-negative duration"));
    }
    if secs > 1e12 {
        return Err(format!("`{text}` is too long"));
    }
    Ok(Duration::from_micros((secs * 1e6).round() as u64))
}

/// The canonical text form, e.g. `1h30m`, `2.5s`, `250ms`; it parses back
/// to the same duration.
pub fn format_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us == 0 {
        return "0s".into();
    }
    if !us.is_multiple_of(1_000_000) {
        return if us.is_multiple_of(1_000) {
            format!("{}ms", us / 1_000)
        } else {
            format!("{us}us")
        };
    }
    let mut secs = us / 1_000_000;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(
            Instant::from_micros(5) - Instant::from_micros(9),
            Duration::ZERO
        );
        assert_eq!(
            Instant::from_micros(9) - Instant::from_micros(5),
            Duration::from_micros(4)
        );
    }

    #[test]
    fn display_picks_a_readable_unit() {
        assert_eq!(Duration::from_micros(250).to_string(), "250us");
        assert_eq!(Duration::from_millis(250).to_string(), "250ms");
        assert_eq!(Duration::from_millis(12_500).to_string(), "12.5s");
        assert_eq!(Duration::from_secs(200).to_string(), "3m20s");
        assert_eq!(Duration::from_secs(7_500).to_string(), "2h05m");
        assert_eq!(Instant::from_micros(12_345_678).to_string(), "t=12.345s");
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let cases = [
            ("250ms", 250_000),
            ("30s", 30_000_000),
            ("2.5s", 2_500_000),
            ("10m", 600_000_000),
            ("1h30m", 5_400_000_000),
            ("2d", 172_800_000_000),
            ("90", 90_000_000),
            ("0.5", 500_000),
            ("1m30s", 90_000_000),
        ];
        for (text, us) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_micros(us)),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_nonsense_with_a_reason() {
        for bad in ["", "abc", "10", "-5", "10x", "5 minutes", "1e400", "h"] {
            if bad == "10" {
                continue;
            }
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
        assert!(parse_duration("10parsecs").unwrap_err().contains("unit"));
    }

    #[test]
    fn formats_canonically_and_round_trips() {
        for us in [0, 250_000, 30_000_000, 5_400_000_000, 90_061_000_000, 1_500] {
            let d = Duration::from_micros(us);
            assert_eq!(
                parse_duration(&format_duration(d)),
                Ok(d),
                "{}",
                format_duration(d)
            );
        }
        assert_eq!(format_duration(Duration::from_secs(5_400)), "1h30m");
    }
}
