//! What a [`Node`](super::Node) is started with.

use crate::id::NodeId;
use crate::identity::{Keypair, TrustPolicy};
use crate::signals::SignalConfig;
use crate::store::StoreConfig;
use crate::sync::SyncConfig;
use crate::time::Duration;
use crate::wire::CHAT_MIN_LEN;

/// Background traffic like Meshtastic chat or position reports: the node
/// broadcasts fixed-size messages as a Poisson process.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct TrafficConfig {
    /// Mean time between two messages from this node.
    pub mean_period: Duration,
    /// Size of each message's payload in bytes (at least [`CHAT_MIN_LEN`]).
    pub payload_bytes: usize,
    /// Hop limit each message is sent with.
    pub hop_limit: u8,
}

/// Smallest payload a [`TrafficConfig`] may ask for.
pub const MIN_TRAFFIC_PAYLOAD_BYTES: usize = CHAT_MIN_LEN;

/// Everything a node needs to start.
#[derive(Clone, PartialEq, Debug)]
pub struct NodeConfig {
    /// This node's id.
    pub id: NodeId,
    /// The run's root seed; the node derives its own stream from it.
    pub root_seed: u64,
    /// How many times this node has (re)started; a restarted node draws a
    /// fresh random stream rather than replaying its first life's.
    pub incarnation: u32,
    /// Background traffic, if any.
    pub traffic: Option<TrafficConfig>,
    /// Catalogue sync.
    pub sync: SyncConfig,
    /// The store's limits and policies.
    pub store: StoreConfig,
    /// The publisher key this node signs what it publishes with; it owns
    /// the designs published under it.
    pub publisher: Keypair,
    /// Which publisher keys this node accepts versions from.
    pub trust: TrustPolicy,
    /// Supply and demand signals.
    pub signals: SignalConfig,
    /// Design packages: the swarm and its cache.
    pub packages: super::PackageConfig,
}

impl NodeConfig {
    /// A node with no application load, default sync and store settings,
    /// trust on first use, and the simulated publisher key of `root_seed`
    /// ([`NodeConfig::simulated_publisher`]): every node made this way
    /// publishes as one organisation. A field node sets its own key.
    pub fn new(id: NodeId, root_seed: u64) -> Self {
        NodeConfig {
            id,
            root_seed,
            incarnation: 0,
            traffic: None,
            sync: SyncConfig::default(),
            store: StoreConfig::default(),
            publisher: Self::simulated_publisher(root_seed, 0),
            trust: TrustPolicy::default(),
            signals: SignalConfig::default(),
            packages: super::PackageConfig::default(),
        }
    }

    /// The simulated publisher key number `n` of a run: derived from the
    /// seed, so anyone who knows the seed can sign with it (never use it
    /// on a real node).
    pub fn simulated_publisher(root_seed: u64, n: u64) -> Keypair {
        Keypair::derive(root_seed, "publisher", n)
    }
}
