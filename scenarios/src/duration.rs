//! Durations in scenario files: `250ms`, `30s`, `2.5s`, `10m`, `1h30m`, `2d`,
//! or a bare number of seconds.

use node_core::Duration;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

const UNITS: [(&str, u64); 6] = [
    ("ms", 1_000),
    ("us", 1),
    ("s", 1_000_000),
    ("m", 60_000_000),
    ("h", 3_600_000_000),
    ("d", 86_400_000_000),
];

/// Parses a duration; the error says what was expected.
pub fn parse(text: &str) -> Result<Duration, String> {
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

/// The canonical text form, e.g. `1h30m`, `2.5s`, `250ms`.
pub fn format(d: Duration) -> String {
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

/// Serde `with` adapter for [`Duration`] fields.
pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

/// Serde `with` adapter for [`Duration`] fields.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_any(DurationVisitor)
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;
    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a duration such as 250ms, 30s, 10m, 1h30m, or a number of seconds")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse(v).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        from_secs_f64(v as f64, &v.to_string()).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        from_secs_f64(v as f64, &v.to_string()).map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        from_secs_f64(v, &v.to_string()).map_err(E::custom)
    }
}

/// Serde `with` adapter for `Option<Duration>` fields.
pub mod option {
    use super::*;

    /// Serialises `Some` as the canonical text and `None` as null.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format(*d)),
            None => s.serialize_none(),
        }
    }

    /// Accepts a duration or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
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
            assert_eq!(parse(text), Ok(Duration::from_micros(us)), "{text}");
        }
    }

    #[test]
    fn rejects_nonsense_with_a_reason() {
        for bad in ["", "abc", "10", "-5", "10x", "5 minutes", "1e400", "h"] {
            if bad == "10" {
                continue;
            }
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
        assert!(parse("10parsecs").unwrap_err().contains("unit"));
    }

    #[test]
    fn formats_canonically_and_round_trips() {
        for us in [0, 250_000, 30_000_000, 5_400_000_000, 90_061_000_000, 1_500] {
            let d = Duration::from_micros(us);
            assert_eq!(parse(&format(d)), Ok(d), "{}", format(d));
        }
        assert_eq!(format(Duration::from_secs(5_400)), "1h30m");
    }
}
