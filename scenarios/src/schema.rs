//! The scenario schema: every key a scenario file may contain.
//!
//! Unknown keys are rejected. Defaults are applied here, so a parsed
//! [`Scenario`] is fully resolved and can be written back out as the exact
//! run configuration.

use node_core::Duration;
use node_core::radio::{ModemPreset, Region, Role};
use node_core::sync::Strategy;
use serde::{Deserialize, Serialize};
use sim::config::{
    DEFAULT_ANTENNA_HEIGHT_M, DEFAULT_MAX_EVENTS, DEFAULT_MAX_QUEUE_DELAY, DEFAULT_QUEUE_CAPACITY,
    DEFAULT_SHADOWING_SIGMA_DB, NodeSelection, Publication,
};
use sim::phy::capture::DEFAULT_CAPTURE_DB;
use sim::phy::pathloss::PathLossModel;
use sim::phy::receiver::DEFAULT_NOISE_FIGURE_DB;

use crate::duration;
use crate::metric::Metric;

/// A whole simulation scenario.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used for output folders (`[a-z0-9_-]`).
    pub name: String,
    /// What the scenario is for.
    #[serde(default)]
    pub description: String,
    /// The root seed; one seed reproduces the run bit for bit.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time to run.
    #[serde(with = "duration")]
    pub duration: Duration,
    /// Radio and propagation.
    #[serde(default)]
    pub radio: Radio,
    /// Where the nodes are.
    pub topology: Topology,
    /// Which nodes are routers or muted clients.
    #[serde(default)]
    pub roles: Roles,
    /// The Meshtastic link layer.
    #[serde(default)]
    pub mesh: Mesh,
    /// Catalogue sync.
    #[serde(default)]
    pub sync: SyncSettings,
    /// Whom honest nodes believe, and how much one peer or key may cost.
    #[serde(default)]
    pub trust: TrustSettings,
    /// What the nodes do.
    #[serde(default)]
    pub workload: Workload,
    /// Faults injected at given times.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Conditions the run's results must meet.
    #[serde(default)]
    pub assertions: Vec<Assertion>,
    /// Bounds that stop a run that would otherwise go on too long.
    #[serde(default)]
    pub limits: Limits,
}

fn default_seed() -> u64 {
    1
}

/// Radio settings shared by every node; missing keys take the defaults.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Radio {
    /// Regulatory region: frequency, power limit and duty cycle.
    #[serde(with = "by_name")]
    pub region: Region,
    /// A Meshtastic modem preset; ignored when `lora` is given.
    #[serde(with = "by_name")]
    pub preset: ModemPreset,
    /// Explicit LoRa settings instead of a preset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lora: Option<LoraSettings>,
    /// Transmit power in dBm (default: the region's maximum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_power_dbm: Option<f64>,
    /// Antenna gain in dBi, applied at both ends.
    pub antenna_gain_dbi: f64,
    /// Antenna height above ground in metres, unless a node has its own.
    pub antenna_height_m: f64,
    /// Receiver noise figure in dB.
    pub noise_figure_db: f64,
    /// Centre frequency in MHz (default: the region's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_mhz: Option<f64>,
    /// The path-loss model.
    pub path_loss: PathLossModel,
    /// Per-link shadowing.
    pub shadowing: Shadowing,
    /// Same-SF capture threshold in dB.
    pub capture_db: f64,
    /// The capture model's choices, each switchable (see `docs/radio-model.md`).
    pub capture: Capture,
    /// Channel activity detection before transmitting (listen before talk).
    pub listen_before_talk: bool,
    /// Duty-cycle limit in percent (default: the region's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duty_cycle_pct: Option<f64>,
}

impl Default for Radio {
    fn default() -> Self {
        Radio {
            region: Region::EU868,
            preset: ModemPreset::LongFast,
            lora: None,
            tx_power_dbm: None,
            antenna_gain_dbi: 0.0,
            antenna_height_m: DEFAULT_ANTENNA_HEIGHT_M,
            noise_figure_db: DEFAULT_NOISE_FIGURE_DB,
            frequency_mhz: None,
            path_loss: PathLossModel::default(),
            shadowing: Shadowing::default(),
            capture_db: DEFAULT_CAPTURE_DB,
            capture: Capture::default(),
            listen_before_talk: true,
            duty_cycle_pct: None,
        }
    }
}

/// The capture model's modelling choices (`radio.capture`), each
/// switchable so a planner can see how much a result depends on it. All on
/// (the default) is okmesh's model; `{sum_interference: false, lock_first:
/// false, interference_floor_db: 0}` is Meshtasticator's.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Capture {
    /// A frame survives same-SF interference only while it stays
    /// `capture_db` above the *sum* of the interfering power (true), or
    /// above each interferer alone (false).
    pub sum_interference: bool,
    /// A receiver locked on an earlier decodable preamble loses a later
    /// overlapping frame whatever its power (true), or power alone decides
    /// (false).
    pub lock_first: bool,
    /// Weakest signal kept as an interferer, dB relative to the receiver's
    /// sensitivity, −30..=0 (default: minus `capture_db`, the weakest that
    /// can destroy a decodable frame on its own; 0: only decodable signals
    /// interfere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interference_floor_db: Option<f64>,
}

impl Default for Capture {
    fn default() -> Self {
        Capture {
            sum_interference: true,
            lock_first: true,
            interference_floor_db: None,
        }
    }
}

/// Explicit LoRa modulation settings.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoraSettings {
    /// Spreading factor 6..=12.
    pub sf: u8,
    /// Bandwidth in kHz (e.g. 125, 250, 500).
    pub bandwidth_khz: f64,
    /// Coding rate denominator: 5..=8 for 4/5..4/8.
    pub coding_rate: u8,
    /// Preamble length in symbols.
    #[serde(default = "default_preamble")]
    pub preamble_symbols: u16,
}

fn default_preamble() -> u16 {
    node_core::radio::lora::MESHTASTIC_PREAMBLE_SYMBOLS
}

/// Per-link log-normal shadowing, drawn once per link from the seed.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Shadowing {
    /// Standard deviation in dB (0 turns shadowing off).
    pub sigma_db: f64,
    /// One draw per pair of nodes (true) or per direction (false, as
    /// Meshtasticator does, so links can be asymmetric).
    pub reciprocal: bool,
}

impl Default for Shadowing {
    fn default() -> Self {
        Shadowing {
            sigma_db: DEFAULT_SHADOWING_SIGMA_DB,
            reciprocal: true,
        }
    }
}

/// Node placement.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Topology {
    /// Nodes placed uniformly at random in a rectangle.
    Random {
        /// How many nodes.
        nodes: u32,
        /// Width and height of the area in metres.
        area_m: [f64; 2],
        /// Smallest distance between two nodes.
        #[serde(default = "default_spacing")]
        min_spacing_m: f64,
        /// Place each node within `connect_range_m` of one already placed
        /// (as Meshtasticator places each node in range of an earlier one).
        /// Off by default: nodes fill the whole area and connectivity is
        /// a result the run reports.
        #[serde(default)]
        ensure_connected: bool,
        /// The distance `ensure_connected` keeps each new node within, in
        /// metres: a stated reference range, never the radio's, so that
        /// positions stay the same whatever the radio settings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connect_range_m: Option<f64>,
    },
    /// Nodes on a square-ish grid, row by row.
    Grid {
        /// How many nodes.
        nodes: u32,
        /// Distance between neighbours in metres.
        spacing_m: f64,
    },
    /// Towns: nodes gathered around random centres, a share spread
    /// uniformly in between.
    Clusters {
        /// How many nodes.
        nodes: u32,
        /// Width and height of the area in metres.
        area_m: [f64; 2],
        /// How many towns.
        towns: u32,
        /// Standard deviation of a town's spread, metres.
        town_radius_m: f64,
        /// Share of nodes placed uniformly outside towns, 0..=1.
        #[serde(default)]
        rural_share: f64,
        /// Place each node within `connect_range_m` of one already placed
        /// (off by default).
        #[serde(default)]
        ensure_connected: bool,
        /// The distance `ensure_connected` keeps each new node within, in
        /// metres (a stated reference range, never the radio's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connect_range_m: Option<f64>,
    },
    /// Nodes on a straight line (hop tests).
    Chain {
        /// How many nodes.
        nodes: u32,
        /// Distance between neighbours in metres.
        spacing_m: f64,
    },
    /// Positions from a CSV file with header `x_m,y_m[,z_m][,role]`.
    Csv {
        /// The file, relative to the scenario file.
        path: String,
        /// The rows, read when the scenario is loaded.
        #[serde(skip)]
        nodes: Vec<CsvNode>,
    },
}

fn default_spacing() -> f64 {
    10.0
}

/// One row of a positions CSV file.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct CsvNode {
    /// East, metres.
    pub x_m: f64,
    /// North, metres.
    pub y_m: f64,
    /// Antenna height, metres (default: `radio.antenna_height_m`).
    pub z_m: Option<f64>,
    /// Role, if the file gives one.
    pub role: Option<Role>,
}

/// Node roles (Meshtastic `Config.DeviceConfig.Role`).
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Roles {
    /// Routers: always relay, never cancel a relay on overhearing.
    pub routers: NodeSelection,
    /// Muted clients: receive but never relay.
    pub client_mute: NodeSelection,
}

/// The Meshtastic link layer.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mesh {
    /// Default hop limit (Meshtastic: 3, at most 7).
    pub hop_limit: u8,
    /// Frames a radio's transmit queue holds (firmware: 16).
    pub queue_capacity: u32,
    /// Longest a frame waits in the queue (for the channel, the duty-cycle
    /// budget or its contention delay) before it is dropped.
    #[serde(with = "duration")]
    pub max_queue_delay: Duration,
}

impl Default for Mesh {
    fn default() -> Self {
        Mesh {
            hop_limit: node_core::transport::DEFAULT_HOP_LIMIT,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_queue_delay: DEFAULT_MAX_QUEUE_DELAY,
        }
    }
}

/// How catalogues sync.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSettings {
    /// `reconcile` (Trickle + sketches + wants), `flood` (the blind-flooding
    /// baseline) or `off`.
    #[serde(with = "strategy_name")]
    pub strategy: Strategy,
    /// Also run the same scenario with `flood` and report both.
    pub baseline: bool,
    /// Trickle's smallest interval.
    #[serde(with = "duration")]
    pub imin: Duration,
    /// Trickle's largest interval.
    #[serde(with = "duration")]
    pub imax: Duration,
    /// Trickle's redundancy constant.
    pub k: u32,
    /// Longest random delay before a node asks for an item it found
    /// missing (spreads out neighbours that noticed the same difference).
    #[serde(with = "duration")]
    pub ask_jitter: Duration,
    /// Delay before a holder serves a want (batches wants from several
    /// neighbours, lets one of several holders go first).
    #[serde(with = "duration")]
    pub serve_delay: Duration,
    /// How long a node waits for data before asking again.
    #[serde(with = "duration")]
    pub want_timeout: Duration,
}

impl Default for SyncSettings {
    /// The node's own defaults ([`node_core::sync::SyncConfig::default`]).
    fn default() -> Self {
        let node = node_core::sync::SyncConfig::default();
        SyncSettings {
            strategy: Strategy::Reconcile,
            baseline: false,
            imin: Duration::from_secs(180),
            imax: Duration::from_secs(32 * 60),
            k: 1,
            ask_jitter: node.ask_jitter,
            serve_delay: node.serve_delay,
            want_timeout: node.want_timeout,
        }
    }
}

/// The trust policy of honest nodes. Every honest node of a scenario
/// publishes under one organisation's key; an adversary under its own.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustSettings {
    /// Refuse versions signed by any key but the organisation's (default:
    /// trust on first use).
    pub refuse_unknown: bool,
    /// The counting window of the quotas.
    #[serde(with = "duration")]
    pub window: Duration,
    /// Sync frames handled from one neighbour per window.
    pub frames_per_peer: u32,
    /// Versions stored from the mesh per publisher key per window.
    pub items_per_publisher: u32,
    /// Item bytes stored from the mesh per publisher key per window.
    pub bytes_per_publisher: u64,
}

impl Default for TrustSettings {
    /// node-core's defaults ([`node_core::sync::QuotaConfig`]).
    fn default() -> Self {
        let q = node_core::sync::QuotaConfig::default();
        TrustSettings {
            refuse_unknown: false,
            window: q.window,
            frames_per_peer: q.frames_per_peer,
            items_per_publisher: q.items_per_publisher,
            bytes_per_publisher: q.bytes_per_publisher,
        }
    }
}

/// What the nodes do.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// Background chat/position-like traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic: Option<Traffic>,
    /// Items published from a corpus.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<PublishSpec>,
    /// New versions of items published earlier.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revise: Vec<ReviseSpec>,
    /// Supply and demand signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signals: Option<crate::signals::SignalWorkload>,
    /// Design packages held by some nodes and requested by others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<PackageSpec>,
    /// The resolved schedule (read from the corpus when the scenario loads).
    #[serde(skip)]
    pub schedule: Vec<Publication>,
}

/// A design package of `size_bytes` random bytes (from `seed`) and a small
/// manifest, held with its manifest by `holders` from the start and
/// requested by `requesters` at `at`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSpec {
    /// Package size in bytes (at most [`MAX_SIM_PACKAGE_BYTES`]).
    pub size_bytes: u64,
    /// Seed of its bytes.
    #[serde(default = "default_package_seed")]
    pub seed: u64,
    /// Piece length in bytes: a power of two from 1024 to 1048576.
    #[serde(default = "default_piece_bytes")]
    pub piece_bytes: u32,
    /// Nodes holding it from the start.
    pub holders: Vec<u32>,
    /// Nodes asking for it at `at`.
    pub requesters: Vec<u32>,
    /// When the requesters ask.
    #[serde(with = "duration")]
    pub at: Duration,
}

/// Largest package a scenario may move (every holder keeps a copy in memory).
pub const MAX_SIM_PACKAGE_BYTES: u64 = 64 << 20;

fn default_package_seed() -> u64 {
    1
}

fn default_piece_bytes() -> u32 {
    4096
}

/// Publish `items` files from a corpus at random times in `[from, until]`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSpec {
    /// How many items.
    pub items: u32,
    /// `manifest` (OKH) or `facility` (OKW).
    #[serde(default)]
    pub kind: CatalogueKind,
    /// The folder to draw files from (default: the shared corpus's `okh` or
    /// `okw` folder; relative paths are relative to the scenario file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corpus: Option<String>,
    /// Which nodes publish (default: any, drawn at random).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<u32>>,
    /// Earliest publish time.
    #[serde(with = "duration", default)]
    pub from: Duration,
    /// Latest publish time (default: `from`).
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<Duration>,
}

/// Publish new versions of `items` already-published items at random times
/// in `[from, until]`, each edited at a random node.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviseSpec {
    /// How many items get a new version.
    pub items: u32,
    /// Earliest time.
    #[serde(with = "duration")]
    pub from: Duration,
    /// Latest time (default: `from`).
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<Duration>,
    /// Which nodes edit (default: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<u32>>,
}

/// Manifest or facility.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogueKind {
    /// An OKH design manifest.
    #[default]
    Manifest,
    /// An OKW facility.
    Facility,
}

/// Background broadcast traffic: every sending node originates messages as a
/// Poisson process.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Traffic {
    /// Mean time between two messages of one node.
    #[serde(with = "duration")]
    pub period: Duration,
    /// Application payload per message in bytes, at most 231 (the
    /// Meshtastic header and `Data` wrapper add 23–24 bytes on air).
    pub payload_bytes: usize,
    /// Hop limit (default: `mesh.hop_limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop_limit: Option<u8>,
    /// Which nodes send (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub senders: Option<Vec<u32>>,
}

/// A fault injected into the run. In YAML each fault is a one-key mapping
/// naming its kind: `- crash: {at: 10m, node: 4}`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(try_from = "FaultRepr", into = "FaultRepr")]
pub enum Fault {
    /// Split the mesh: no signal crosses between groups.
    Partition(Partition),
    /// End every partition.
    Heal(Heal),
    /// A node stops (losing its queue and volatile state) and maybe restarts.
    Crash(Crash),
    /// Received frames are dropped with a probability.
    Loss(Loss),
    /// A node is switched off from the start and joins late.
    Join(Join),
    /// A node turns adversary.
    Adversary(AdversarySpec),
}

/// The YAML shape of a [`Fault`]: serde_norway reads externally tagged
/// enums only from `!tags`, so the one-key mapping is spelled out here.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partition: Option<Partition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    heal: Option<Heal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crash: Option<Crash>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    loss: Option<Loss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    join: Option<Join>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    adversary: Option<AdversarySpec>,
}

impl TryFrom<FaultRepr> for Fault {
    type Error = &'static str;
    fn try_from(r: FaultRepr) -> Result<Self, Self::Error> {
        let mut found = [
            r.partition.map(Fault::Partition),
            r.heal.map(Fault::Heal),
            r.crash.map(Fault::Crash),
            r.loss.map(Fault::Loss),
            r.join.map(Fault::Join),
            r.adversary.map(Fault::Adversary),
        ]
        .into_iter()
        .flatten();
        match (found.next(), found.next()) {
            (Some(f), None) => Ok(f),
            _ => Err(
                "a fault is exactly one of `partition`, `heal`, `crash`, `loss`, `join`, `adversary`",
            ),
        }
    }
}

impl From<Fault> for FaultRepr {
    fn from(f: Fault) -> Self {
        let mut r = FaultRepr::default();
        match f {
            Fault::Partition(p) => r.partition = Some(p),
            Fault::Heal(h) => r.heal = Some(h),
            Fault::Crash(c) => r.crash = Some(c),
            Fault::Loss(l) => r.loss = Some(l),
            Fault::Join(j) => r.join = Some(j),
            Fault::Adversary(a) => r.adversary = Some(a),
        }
        r
    }
}

/// Ends every partition.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heal {
    /// When.
    #[serde(with = "duration")]
    pub at: Duration,
}

/// A node crash.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crash {
    /// When.
    #[serde(with = "duration")]
    pub at: Duration,
    /// Which node.
    pub node: u32,
    /// Restart this long after the crash (default: never).
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub restart_after: Option<Duration>,
}

/// Random frame loss at receivers.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Loss {
    /// From when.
    #[serde(with = "duration", default)]
    pub from: Duration,
    /// Until when (default: the end of the run).
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<Duration>,
    /// Probability of losing a frame, 0..=1.
    pub probability: f64,
    /// Only these links (pairs of node ids, both directions); default all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<[u32; 2]>>,
}

/// An adversary: `- adversary: {node: 5, kind: forger, every: 2m}`.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdversarySpec {
    /// Which node.
    pub node: u32,
    /// `forger`, `replayer`, `flooder` or `censor`.
    pub kind: AdversaryKind,
    /// When it starts (default: at once).
    #[serde(with = "duration", default)]
    pub from: Duration,
    /// Time between two attacks.
    #[serde(with = "duration")]
    pub every: Duration,
    /// Flooder: junk frames per attack (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<u32>,
    /// Censor: the node it silences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victim: Option<u32>,
    /// Censor: packet ids pre-sent per attack (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<u32>,
}

/// What an adversary does (see `sim::fault::Adversary`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdversaryKind {
    /// New versions of others' designs, spoofed origin.
    Forger,
    /// Old signed versions.
    Replayer,
    /// Junk items and frames.
    Flooder,
    /// Duplicate-filter poisoning.
    Censor,
}

/// A late joiner.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// When the node is switched on.
    #[serde(with = "duration")]
    pub at: Duration,
    /// Which node.
    pub node: u32,
}

/// How to split the mesh.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// When the partition starts.
    #[serde(with = "duration")]
    pub at: Duration,
    /// When it heals (default: at a `heal` fault or never).
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub heal_at: Option<Duration>,
    /// Explicit groups of node ids; unlisted nodes form one more group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Vec<u32>>>,
    /// A line across the area, from one point to another, in metres;
    /// nodes left of it and right of it are cut apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<[[f64; 2]; 2]>,
}

/// A condition on a result metric (a `summary.json` key).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assertion {
    /// The metric (only [`Metric::assertable`] ones; an unknown name is an
    /// error at its line that lists the valid ones).
    #[serde(with = "crate::metric::assertable")]
    pub metric: Metric,
    /// Smallest acceptable value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest acceptable value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Bounds on a run.
#[derive(Clone, Copy, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Stop with an error after this many events.
    pub max_events: u64,
    /// Largest `duration` accepted.
    #[serde(with = "duration")]
    pub max_sim_time: Duration,
    /// Largest number of nodes accepted.
    pub max_nodes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: DEFAULT_MAX_EVENTS,
            max_sim_time: Duration::from_secs(30 * 86_400),
            max_nodes: 20_000,
        }
    }
}

/// Serde adapter: (de)serialise through `FromStr`/`Display` (preset and
/// region names).
mod by_name {
    use core::fmt::Display;
    use core::str::FromStr;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(crate) fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Serde adapter for the sync strategy: node-core's [`Strategy`] by the
/// names [`sim::config::sync_strategy_name`] gives it.
mod strategy_name {
    use node_core::sync::Strategy;
    use serde::{Deserialize, Deserializer, Serializer};
    use sim::config::{parse_sync_strategy, sync_strategy_name};

    /// The names, for the error message (a test checks them against sim's).
    pub(crate) const EXPECTED: &[&str] = &["reconcile", "flood", "off"];

    pub(crate) fn serialize<S: Serializer>(v: &Strategy, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(sync_strategy_name(*v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Strategy, D::Error> {
        let text = String::deserialize(d)?;
        parse_sync_strategy(&text).ok_or_else(|| serde::de::Error::unknown_variant(&text, EXPECTED))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_expected_names_are_sims() {
            let names: Vec<&str> = sim::config::SYNC_STRATEGIES
                .into_iter()
                .map(sim::config::sync_strategy_name)
                .collect();
            assert_eq!(names, super::EXPECTED);
        }
    }
}
