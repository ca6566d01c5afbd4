//! Sync's parameters: how items spread ([`Strategy`]) and the timers and
//! limits of the protocol ([`SyncConfig`]).

use super::quota::QuotaConfig;
use super::trickle::TrickleConfig;
use crate::time::Duration;

/// How items spread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Strategy {
    /// Trickle summaries, sketch reconciliation, wants and data.
    Reconcile,
    /// Blind flooding: every node broadcasts every new item once.
    Flood,
    /// No sync: the node keeps what it publishes and sends nothing.
    Off,
}

/// Sync's parameters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SyncConfig {
    /// How items spread.
    pub strategy: Strategy,
    /// Summary timer.
    pub trickle: TrickleConfig,
    /// Longest random delay before asking (spreads out requests from
    /// neighbours that noticed the same difference).
    pub ask_jitter: Duration,
    /// Delay before serving a want, to batch wants from several neighbours.
    pub serve_delay: Duration,
    /// Ask again (for what is still missing) after this long without data.
    pub want_timeout: Duration,
    /// Data of items this recent goes before older catch-up.
    pub fresh_window: Duration,
    /// Frames the node queues itself when the radio's queue is full.
    pub max_outbox: usize,
    /// Item transfers being reassembled at once.
    pub max_partials: usize,
    /// Drop a half-received item after this long without a fragment.
    pub partial_timeout: Duration,
    /// Largest item accepted from the air, in bytes.
    pub max_item_bytes: usize,
    /// What one neighbour or publisher key may cost this node.
    pub quota: QuotaConfig,
}

impl Default for SyncConfig {
    /// Tuned for LongFast meshes of a few hundred nodes: Imin 3 min,
    /// Imax 32 min, k = 1.
    fn default() -> Self {
        SyncConfig {
            strategy: Strategy::Reconcile,
            trickle: TrickleConfig {
                imin: Duration::from_secs(180),
                imax: Duration::from_secs(32 * 60),
                k: 1,
            },
            ask_jitter: Duration::from_secs(8),
            serve_delay: Duration::from_secs(6),
            want_timeout: Duration::from_secs(60),
            fresh_window: Duration::from_secs(600),
            max_outbox: 128,
            max_partials: 32,
            partial_timeout: Duration::from_secs(900),
            max_item_bytes: 256 << 10,
            quota: QuotaConfig::default(),
        }
    }
}
