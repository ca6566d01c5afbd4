//! Bounded peers: what one neighbour or one publisher may cost this node.
//!
//! Time is cut into fixed windows ([`QuotaConfig::window`]). Within a
//! window a neighbour (the frame's originator as the transport reports it)
//! may have at most [`QuotaConfig::frames_per_peer`] sync frames handled,
//! and one publisher key at most [`QuotaConfig::items_per_publisher`]
//! versions and [`QuotaConfig::bytes_per_publisher`] bytes stored from the
//! mesh. The excess is dropped before any work is done on it and counted
//! per peer and per key, so an operator sees who was cut off. The node's
//! own key and pinned keys are not bounded: the operator vouched for them.
//!
//! Counting is by window, not by sliding average, so it costs one map entry
//! per peer or key heard in the window; the maps are cleared when a window
//! ends and capped at [`MAX_TRACKED`] entries (past that, new peers and keys
//! are refused until the window ends, so spoofed origins cannot grow them).

use std::collections::BTreeMap;

use crate::NodeId;
use crate::identity::PublicKey;
use crate::time::{Duration, Instant};

/// Most peers or keys counted in one window.
pub const MAX_TRACKED: usize = 1024;

/// Most peers or keys whose drops are remembered across windows.
const MAX_DROP_RECORDS: usize = 256;

/// Per-peer and per-publisher limits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct QuotaConfig {
    /// The counting window.
    pub window: Duration,
    /// Sync frames handled from one neighbour per window.
    pub frames_per_peer: u32,
    /// Versions stored from the mesh per publisher key per window.
    pub items_per_publisher: u32,
    /// Item bytes stored from the mesh per publisher key per window.
    pub bytes_per_publisher: u64,
}

impl Default for QuotaConfig {
    /// 10-minute windows; 600 frames per neighbour (one a second: more than
    /// LoRa's duty cycle lets an honest radio send), 200 versions and
    /// 1 MiB per publisher key.
    fn default() -> Self {
        QuotaConfig {
            window: Duration::from_secs(600),
            frames_per_peer: 600,
            items_per_publisher: 200,
            bytes_per_publisher: 1 << 20,
        }
    }
}

/// Counters of the current window, and drops since start.
#[derive(Clone, Debug, Default)]
pub(super) struct Quotas {
    window_start: Instant,
    frames: BTreeMap<NodeId, u32>,
    items: BTreeMap<PublicKey, (u32, u64)>,
    /// Frames dropped per neighbour since start.
    pub(super) frames_dropped: BTreeMap<NodeId, u64>,
    /// Versions dropped per publisher key since start.
    pub(super) items_dropped: BTreeMap<PublicKey, u64>,
}

impl Quotas {
    fn roll(&mut self, now: Instant, config: &QuotaConfig) {
        if now.saturating_since(self.window_start) >= config.window {
            self.window_start = now;
            self.frames.clear();
            self.items.clear();
        }
    }

    /// Counts a frame from `peer`; false if it is over its quota (dropped).
    pub(super) fn admit_frame(&mut self, now: Instant, peer: NodeId, config: &QuotaConfig) -> bool {
        self.roll(now, config);
        let tracked = self.frames.len() < MAX_TRACKED || self.frames.contains_key(&peer);
        let n = self.frames.entry(peer).or_insert(0);
        if tracked && *n < config.frames_per_peer {
            *n += 1;
            return true;
        }
        if !tracked {
            self.frames.remove(&peer);
        }
        bump(&mut self.frames_dropped, peer);
        false
    }

    /// Counts a version of `bytes` bytes signed by `key`; false if the key
    /// is over its quota (dropped).
    pub(super) fn admit_item(
        &mut self,
        now: Instant,
        key: PublicKey,
        bytes: usize,
        config: &QuotaConfig,
    ) -> bool {
        self.roll(now, config);
        let tracked = self.items.len() < MAX_TRACKED || self.items.contains_key(&key);
        if tracked {
            let (n, b) = self.items.entry(key).or_insert((0, 0));
            let b_after = b.saturating_add(bytes as u64);
            if *n < config.items_per_publisher && b_after <= config.bytes_per_publisher {
                *n += 1;
                *b = b_after;
                return true;
            }
        }
        bump(&mut self.items_dropped, key);
        false
    }
}

/// Adds one to `key`'s drop count, remembering at most
/// [`MAX_DROP_RECORDS`] keys (later ones are not itemised).
fn bump<K: Ord>(map: &mut BTreeMap<K, u64>, key: K) {
    if map.len() < MAX_DROP_RECORDS || map.contains_key(&key) {
        *map.entry(key).or_insert(0) += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Keypair;

    #[test]
    fn frames_over_the_quota_are_dropped_and_counted_until_the_window_ends() {
        let config = QuotaConfig {
            frames_per_peer: 3,
            ..QuotaConfig::default()
        };
        let mut q = Quotas::default();
        let t0 = Instant::ZERO;
        let admitted = (0..5)
            .filter(|_| q.admit_frame(t0, NodeId(1), &config))
            .count();
        assert_eq!(admitted, 3);
        assert!(
            q.admit_frame(t0, NodeId(2), &config),
            "another peer is not held back"
        );
        assert_eq!(q.frames_dropped.get(&NodeId(1)), Some(&2));
        let later = t0 + config.window;
        assert!(q.admit_frame(later, NodeId(1), &config));
    }

    #[test]
    fn items_are_bounded_by_count_and_bytes_per_key() {
        let config = QuotaConfig {
            items_per_publisher: 2,
            bytes_per_publisher: 1_000,
            ..QuotaConfig::default()
        };
        let mut q = Quotas::default();
        let a = Keypair::derive(1, "q", 0).public();
        let b = Keypair::derive(1, "q", 1).public();
        assert!(q.admit_item(Instant::ZERO, a, 10, &config));
        assert!(q.admit_item(Instant::ZERO, a, 10, &config));
        assert!(!q.admit_item(Instant::ZERO, a, 10, &config));
        assert!(!q.admit_item(Instant::ZERO, b, 1_001, &config));
        assert!(q.admit_item(Instant::ZERO, b, 1_000, &config));
        assert_eq!(q.items_dropped.get(&a), Some(&1));
    }

    #[test]
    fn spoofed_origins_cannot_grow_the_counters_past_the_cap() {
        let config = QuotaConfig::default();
        let mut q = Quotas::default();
        for i in 0..(MAX_TRACKED as u32 + 500) {
            q.admit_frame(Instant::ZERO, NodeId(i), &config);
        }
        assert_eq!(q.frames.len(), MAX_TRACKED);
        assert!(q.frames_dropped.len() <= MAX_DROP_RECORDS);
        assert!(!q.admit_frame(Instant::ZERO, NodeId(u32::MAX), &config));
    }
}
