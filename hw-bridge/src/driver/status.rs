//! What the driver shows: catalogue listings and the status report.

use std::collections::BTreeMap;

use node_core::identity::{Authorship, PublicKey};
use node_core::store::VersionStamp;
use node_core::store::{Storage, StoredItem};
use node_core::sync::SyncStats;
use node_core::{Duration, Instant, Node, NodeId, NodeStats, Transport};
use node_core::{ItemId, ItemKind};

#[cfg(doc)]
use super::DUTY_CYCLE_WINDOW;
use super::transport::ChannelTransport;
use super::{DriverStats, Loop};

/// One catalogue item as listings show it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ItemSummary {
    /// Manifest or facility.
    pub kind: ItemKind,
    /// The item.
    pub id: ItemId,
    /// Its current version.
    pub stamp: VersionStamp,
    /// Its title.
    pub name: String,
    /// Size of its file.
    pub size_bytes: usize,
    /// Who signed the current version (`None`: stored before items were
    /// signed).
    pub author: Option<Authorship>,
}

impl ItemSummary {
    /// The listing of a stored version.
    pub fn of(item: &StoredItem) -> Self {
        ItemSummary {
            kind: item.kind,
            id: item.id,
            stamp: item.stamp,
            name: item.name.clone(),
            size_bytes: item.bytes.len(),
            author: item.author,
        }
    }
}

/// One item with its file and the versions the store keeps.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ItemDetail {
    /// The current version, bytes included.
    pub item: StoredItem,
    /// Every version kept, oldest first.
    pub history: Vec<VersionStamp>,
}

/// A sender heard by the radio.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Neighbour {
    /// Frames received from it.
    pub frames: u64,
    /// Relays between it and us on its last frame (0: a direct neighbour).
    pub hops_away: u8,
    /// Signal strength of its last frame, dBm.
    pub rssi_dbm: f32,
    /// Signal-to-noise ratio of its last frame, dB.
    pub snr_db: f32,
    /// When its last frame arrived.
    pub last_heard: Instant,
}

/// The catalogue's size and fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CatalogueStatus {
    /// Sync fingerprint (equal fingerprints: equal catalogues).
    pub fingerprint: u64,
    /// Items held.
    pub items: u32,
    /// Manifests held.
    pub manifests: usize,
    /// Facilities held.
    pub facilities: usize,
    /// Bytes charged against the store's capacity.
    pub used_bytes: u64,
}

/// The node's public keys.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct KeyStatus {
    /// The node key.
    pub node: PublicKey,
    /// The publisher key.
    pub publisher: PublicKey,
    /// Where they came from.
    pub origin: crate::keys::KeysOrigin,
}

/// The trust settings as the status report shows them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TrustStatus {
    /// The `--trust` file, if one was given.
    pub source: Option<String>,
    /// Keys pinned by it.
    pub pinned: usize,
    /// Whether `--refuse-unknown` was given.
    pub refuse_unknown: bool,
}

/// What happened, for the status page's recent events.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EventKind {
    /// An item version was published here.
    Published,
    /// An item version arrived from the mesh.
    Stored,
    /// An item transfer from the mesh was refused.
    ItemRejected,
    /// A frame from the mesh was refused.
    FrameRejected,
    /// A signal (demand, confirmation, …) was published here.
    SignalPublished,
    /// A signal arrived from the mesh.
    SignalTaken,
    /// A sender was heard for the first time.
    NewNeighbour,
    /// The radio link came up again.
    LinkUp,
    /// The radio link went down.
    LinkDown,
    /// The radio refused a frame it had accepted.
    SendRefused,
    /// The operator asked for a package.
    PackageRequested,
    /// A wanted package is complete and verified.
    PackageComplete,
    /// A package piece failed its proof, or a record matched no signed
    /// manifest held.
    PackageRefused,
    /// The package cache refused a write (full, or the disk failed).
    PackageCacheFailed,
}

impl EventKind {
    /// The name the API reports (snake case).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Published => "published",
            EventKind::Stored => "stored",
            EventKind::ItemRejected => "item_rejected",
            EventKind::FrameRejected => "frame_rejected",
            EventKind::SignalPublished => "signal_published",
            EventKind::SignalTaken => "signal_taken",
            EventKind::NewNeighbour => "new_neighbour",
            EventKind::LinkUp => "link_up",
            EventKind::LinkDown => "link_down",
            EventKind::SendRefused => "send_refused",
            EventKind::PackageRequested => "package_requested",
            EventKind::PackageComplete => "package_complete",
            EventKind::PackageRefused => "package_refused",
            EventKind::PackageCacheFailed => "package_cache_failed",
        }
    }
}

/// One entry of the node's recent event log.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecentEvent {
    /// When (driver time).
    pub at: Instant,
    /// What.
    pub kind: EventKind,
    /// About what: an item's name and id, a signal, a sender, a reason
    /// (text from peers, escaped by whoever shows it).
    pub detail: String,
}

/// The last [`MAX_RECENT_EVENTS`] events, oldest first.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct RecentEvents(std::collections::VecDeque<RecentEvent>);

/// Events the status report keeps.
pub const MAX_RECENT_EVENTS: usize = 50;
/// Longest detail kept per event, in bytes (a peer's title can be long).
const MAX_DETAIL_BYTES: usize = 160;

impl RecentEvents {
    /// Records an event, dropping the oldest beyond [`MAX_RECENT_EVENTS`].
    pub fn push(&mut self, at: Instant, kind: EventKind, detail: impl Into<String>) {
        let mut detail = detail.into();
        if detail.len() > MAX_DETAIL_BYTES {
            detail = format!("{}…", catalogue::entry::cut_to(&detail, MAX_DETAIL_BYTES));
        }
        if self.0.len() == MAX_RECENT_EVENTS {
            self.0.pop_front();
        }
        self.0.push_back(RecentEvent { at, kind, detail });
    }
    /// Newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &RecentEvent> {
        self.0.iter().rev()
    }
}

/// Everything the status report shows.
#[derive(Clone, PartialEq, Debug)]
pub struct NodeStatus {
    /// The node.
    pub node: NodeId,
    /// When the status was taken (driver time).
    pub now: Instant,
    /// Whether the radio link is up.
    pub link_up: bool,
    /// Frames the transport can take right now.
    pub queue_room: usize,
    /// Senders heard, by originator.
    pub neighbours: BTreeMap<NodeId, Neighbour>,
    /// Driver counters (`heard` included).
    pub driver: DriverStats,
    /// Node counters.
    pub node_stats: NodeStats,
    /// Sync counters.
    pub sync: SyncStats,
    /// Neighbours whose last summary matched this catalogue, and
    /// neighbours summarised ([`Node::sync_peers`](node_core::Node::sync_peers)).
    pub sync_peers: (usize, usize),
    /// The catalogue.
    pub catalogue: CatalogueStatus,
    /// Airtime of the frames this node queued over the last [`DUTY_CYCLE_WINDOW`].
    pub airtime_last_window: Duration,
    /// That airtime as a share of the window, in percent.
    pub duty_cycle_pct: f64,
    /// The radio's own transmit duty cycle, if it reports one.
    pub radio_air_util_tx_pct: Option<f64>,
    /// The channel utilisation the radio reports, if it does.
    pub channel_utilisation_pct: Option<f64>,
    /// The node's public keys.
    pub keys: KeyStatus,
    /// The trust settings.
    pub trust: TrustStatus,
    /// What the radio link says about itself (kind, region, preset).
    pub radio: crate::radio::RadioReport,
    /// The node's recent events.
    pub recent: RecentEvents,
}

impl Loop {
    pub(super) fn status<S: Storage, P: Storage>(
        &self,
        node: &Node<S, P>,
        tx: &ChannelTransport,
        now: Instant,
    ) -> NodeStatus {
        let (fingerprint, items) = node.catalogue_summary();
        let store = node.store();
        let airtime = tx.duty_cycle();
        NodeStatus {
            node: self.id,
            now,
            link_up: tx.state.is_up(),
            queue_room: tx.queue_room(),
            neighbours: self.neighbours.clone(),
            driver: self.stats(tx),
            node_stats: node.stats(),
            sync: node.sync_stats(),
            sync_peers: node.sync_peers(),
            catalogue: CatalogueStatus {
                fingerprint: fingerprint.0,
                items,
                manifests: store.items_of(ItemKind::Manifest).count(),
                facilities: store.items_of(ItemKind::Facility).count(),
                used_bytes: store.used_bytes(),
            },
            airtime_last_window: airtime.used(now),
            duty_cycle_pct: airtime.used_pct(now),
            radio_air_util_tx_pct: tx.state.air_util_tx_pct(),
            channel_utilisation_pct: tx.state.channel_utilisation_pct(),
            keys: self.keys,
            trust: self.trust.clone(),
            radio: tx.state.report(),
            recent: self.recent.clone(),
        }
    }
}
