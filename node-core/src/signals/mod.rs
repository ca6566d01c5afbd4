//! Supply and demand signals over the mesh: "we need 40 face shields by
//! Friday", "who can laser-cut 6 mm plywood?", "we can print PLA", "we take
//! that order", and "never mind".
//!
//! Where `sync` moves the catalogue (what exists), this layer moves intent
//! (what is wanted and who can make it). Every signal is small (one radio
//! frame), signed by its source's publisher key, and has a lifetime; a
//! node verifies it before it stores, serves or relays it, and drops it at
//! expiry.
//!
//! Layers, bottom up:
//!
//! * [`signal`] — the five signal types and their one signed byte layout,
//!   with the checked codec ([`SignalBytes::new_checked`] →
//!   [`SignalRepr::parse`] → [`SignalRepr::verify`]);
//! * [`book`] — the [`SignalBook`]: live signals, the conflict rules
//!   (supply latest-wins, demand summed per design and deadline, first
//!   confirmation wins), TTLs with a documented clock-skew bound, limits
//!   and per-source quotas, and rejections counted by reason;
//! * [`bloom`] — the [`TagFilter`]: capabilities and subscriptions as a
//!   1024-bit, 5-hash Bloom filter with a stable BLAKE3 hash (parameters
//!   and the measured false-positive rate in its docs);
//! * [`SignalEngine`] — propagation between neighbours (epidemic relays for
//!   urgent signals, digest-and-pull reconciliation for the set of
//!   announcements, the plain-flooding baseline), demand and queries
//!   routed by neighbours' advertised filters (content-based
//!   subscriptions), priorities and the bounded send queue; owned by the
//!   [`Node`](crate::Node);
//! * the signal log lives in the node's event-sourced store
//!   ([`Store::put_signal`](crate::store::Store::put_signal)): a signal
//!   taken is logged, one dropped (expired, superseded, cancelled,
//!   evicted) is logged as dropped, and opening the store replays the
//!   live ones back into the book.

pub mod bloom;
pub mod book;
mod config;
mod engine;
pub mod signal;

#[cfg(test)]
mod mesh_tests;
#[cfg(test)]
mod tests;

pub use bloom::{FILTER_BITS, FILTER_BYTES, FILTER_CAPACITY_TAGS, FILTER_HASHES, TagFilter};
pub use book::{
    BookLimits, Conflict, DemandTotal, Held, MAX_CLOCK_SKEW, Outcome, RejectReason, Rejections,
    SignalBook, SignalStats, check_live, satisfies,
};
pub use config::SignalConfig;
pub use engine::{
    ADVERT_MIN_GAP, ADVERT_PERIOD, FILTER_MAX_AGE, FLOOD_FLAG, MAX_NEIGHBOUR_FILTERS,
    MAX_RELAY_HOPS, PublishSignalError, ROUTED_P, SignalEngine, SignalEvent, SignalSpec, concerns,
};
pub use signal::{
    Draft, MAX_QUANTITY, MAX_SIGNAL_BYTES, MAX_TAG_BYTES, MAX_TAGS, MAX_TTL_S, MIN_SIGNAL_BYTES,
    Payload, SignalBytes, SignalError, SignalId, SignalRepr, SignalType, Tag, tags_from,
    tags_from_list,
};
