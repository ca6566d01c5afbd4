//! Durations in scenario files: `250ms`, `30s`, `2.5s`, `10m`, `1h30m`, `2d`,
//! or a bare number of seconds (the text form lives in `node_core::time`,
//! shared with the field node's command line); serde adapters here.

use node_core::Duration;
pub use node_core::time::{format_duration as format, parse_duration as parse};
use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

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
        parse(&v.to_string()).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        parse(&v.to_string()).map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        parse(&v.to_string()).map_err(E::custom)
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
