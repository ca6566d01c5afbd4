//! What the signal layer of a node is started with.

use super::book::BookLimits;
use super::signal::Tag;
use crate::identity::Keypair;
use crate::sync::TrickleConfig;
use crate::time::Duration;

/// The signal layer's settings.
#[derive(Clone, PartialEq, Debug)]
pub struct SignalConfig {
    /// The key this node signs its signals with; `None` derives one from
    /// the run's seed and the node id (simulations only: anyone who knows
    /// the seed knows the key).
    pub publisher: Option<Keypair>,
    /// Added to the driver's clock to get mesh time, the clock signal
    /// lifetimes are judged on: the Unix time of the driver's epoch on
    /// field nodes, zero in the simulator (whose clock all nodes share).
    pub epoch_offset: Duration,
    /// What this node's facility can do (empty: not a facility). Demand
    /// and queries whose tags it holds are reported as matching.
    pub capabilities: Vec<Tag>,
    /// Content-based subscription: report demand carrying any of these
    /// tags (empty: subscribe to the capabilities).
    pub subscriptions: Vec<Tag>,
    /// Route demand and queries by neighbours' capability and subscription
    /// filters (advertised, hop-local); off: every node takes and relays
    /// everything, as before the filters.
    pub filters: bool,
    /// Probability that a node rebroadcasts an urgent signal it takes.
    pub epidemic_p: f64,
    /// Rebroadcasts an urgent signal may take from its source.
    pub urgent_hops: u8,
    /// Longest random delay before a rebroadcast (spreads neighbours out).
    pub relay_jitter: Duration,
    /// Copies overheard that cancel a pending rebroadcast (0: never).
    pub suppress_copies: u32,
    /// Digest timer for the set of live announcements.
    pub trickle: TrickleConfig,
    /// Bounds on the book.
    pub limits: BookLimits,
    /// Frames the layer queues itself while the radio's queue is full.
    pub max_pending: usize,
}

impl Default for SignalConfig {
    /// Tuned on the `demand` scenario (disaster-zone sized, LongFast):
    /// P = 0.7, 6 hops, rebroadcasts within 4 s, suppressed after 3 copies;
    /// digests every 1 to 30 min.
    fn default() -> Self {
        SignalConfig {
            publisher: None,
            epoch_offset: Duration::ZERO,
            capabilities: Vec::new(),
            subscriptions: Vec::new(),
            filters: true,
            epidemic_p: 0.7,
            urgent_hops: 6,
            relay_jitter: Duration::from_secs(4),
            suppress_copies: 3,
            trickle: TrickleConfig {
                imin: Duration::from_secs(60),
                imax: Duration::from_secs(30 * 60),
                k: 1,
            },
            limits: BookLimits::default(),
            max_pending: 64,
        }
    }
}
