//! The simulator's own configuration: everything a run needs, in the
//! simulator's and node-core's types, every value resolved.
//!
//! A [`Config`] is built in code ([`Config::new`] gives Meshtastic's
//! defaults; the fields are public, so struct update syntax is the
//! builder) or compiled from a validated scenario file by the `scenarios`
//! crate. [`Config::build`] makes the [`Simulation`].

use std::sync::Arc;

use node_core::ItemKind;
use node_core::radio::{LoraParams, ModemPreset, Region};
use node_core::sync::{Strategy, SyncConfig};
use node_core::{Duration, TrafficConfig};
use serde::{Deserialize, Serialize};

pub use crate::fault::{Fault, Split};
pub use crate::phy::capture::CaptureRules;
use crate::phy::capture::DEFAULT_CAPTURE_DB;
use crate::phy::pathloss::PathLossModel;
use crate::phy::receiver::DEFAULT_NOISE_FIGURE_DB;
pub use crate::signal_plan::{SignalAction, SignalPlan, SignalWhat};
use crate::world::{BuildError, Simulation};

pub use node_core::radio::Role;

/// Frames a radio's transmit queue holds by default (the firmware's).
pub const DEFAULT_QUEUE_CAPACITY: u32 = node_core::radio::meshtastic::MAX_TX_QUEUE;
/// Longest a frame waits in the transmit queue by default.
pub const DEFAULT_MAX_QUEUE_DELAY: Duration = Duration::from_secs(600);
/// Events a run may process by default before it stops with an error.
pub const DEFAULT_MAX_EVENTS: u64 = 2_000_000_000;
/// Antenna height above ground by default, metres.
pub const DEFAULT_ANTENNA_HEIGHT_M: f64 = 1.5;
/// Shadowing standard deviation by default, dB (FLoRa's for the LoRaSim
/// log-distance model).
pub const DEFAULT_SHADOWING_SIGMA_DB: f64 = 3.57;

/// Every sync strategy, in the order files list them.
pub const SYNC_STRATEGIES: [Strategy; 3] = [Strategy::Reconcile, Strategy::Flood, Strategy::Off];

/// The name files and reports use for a sync strategy: the one place a
/// [`Strategy`] becomes text ([`parse_sync_strategy`] goes back through it).
pub fn sync_strategy_name(s: Strategy) -> &'static str {
    match s {
        Strategy::Reconcile => "reconcile",
        Strategy::Flood => "flood",
        Strategy::Off => "off",
    }
}

/// The strategy [`sync_strategy_name`] calls `name`.
pub fn parse_sync_strategy(name: &str) -> Option<Strategy> {
    SYNC_STRATEGIES
        .into_iter()
        .find(|s| sync_strategy_name(*s) == name)
}

/// A whole run.
#[derive(Clone, PartialEq, Debug)]
pub struct Config {
    /// What the run is called (reports, output folders).
    pub name: String,
    /// The root seed: one seed reproduces the run bit for bit.
    pub seed: u64,
    /// Simulated time the run covers; [`Simulation::run_until`] never goes
    /// past it.
    pub duration: Duration,
    /// The radios and the air.
    pub radio: RadioConfig,
    /// Where the nodes are.
    pub placement: Placement,
    /// Which nodes are routers or muted clients (on top of the roles a
    /// fixed placement gives).
    pub roles: Roles,
    /// The Meshtastic link layer.
    pub mesh: MeshConfig,
    /// Every node's catalogue sync settings.
    pub sync: SyncConfig,
    /// Which publisher keys honest nodes accept.
    pub trust: node_core::identity::TrustPolicy,
    /// Background chat traffic, if any.
    pub traffic: Option<Traffic>,
    /// Items published during the run, at given times and nodes.
    pub publications: Vec<Publication>,
    /// Design packages given to holders at the start and requested later.
    pub packages: Vec<PackageTransfer>,
    /// Supply and demand signals: facilities, settings, actions.
    pub signals: SignalPlan,
    /// Faults injected at given times.
    pub faults: Vec<Fault>,
    /// Stop with [`RunError::EventLimit`](crate::RunError::EventLimit)
    /// after this many events.
    pub max_events: u64,
}

impl Config {
    /// A run called `name` over `placement` with every other setting at
    /// its default: seed 1, one hour, EU868 LongFast, node-core's sync
    /// defaults, no traffic, no publications, no faults.
    pub fn new(name: impl Into<String>, placement: Placement) -> Self {
        Config {
            name: name.into(),
            seed: 1,
            duration: Duration::from_secs(3_600),
            radio: RadioConfig::default(),
            placement,
            roles: Roles::default(),
            mesh: MeshConfig::default(),
            sync: SyncConfig::default(),
            trust: node_core::identity::TrustPolicy::default(),
            traffic: None,
            publications: Vec::new(),
            packages: Vec::new(),
            signals: SignalPlan::default(),
            faults: Vec::new(),
            max_events: DEFAULT_MAX_EVENTS,
        }
    }

    /// How many nodes the placement has.
    pub fn node_count(&self) -> u32 {
        self.placement.node_count()
    }

    /// Nodes switched off at the start: those that join later.
    pub fn initially_off(&self) -> Vec<u32> {
        self.faults
            .iter()
            .filter_map(|f| match f {
                Fault::Join { node, .. } => Some(*node),
                _ => None,
            })
            .collect()
    }

    /// Sets the run up: topology, radios, nodes, traffic and the fault plan.
    pub fn build(&self) -> Result<Simulation, BuildError> {
        Simulation::new(self)
    }
}

/// The modulation every radio uses.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Modem {
    /// A Meshtastic modem preset.
    Preset(ModemPreset),
    /// Explicit LoRa settings.
    Custom(LoraParams),
}

impl Modem {
    /// The LoRa parameters.
    pub fn params(&self) -> LoraParams {
        match self {
            Modem::Preset(p) => p.params(),
            Modem::Custom(l) => *l,
        }
    }

    /// The preset's name, or `custom`.
    pub fn name(&self) -> &'static str {
        match self {
            Modem::Preset(p) => p.name(),
            Modem::Custom(_) => "custom",
        }
    }
}

/// Per-link log-normal shadowing, drawn once per link from the seed.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Shadowing {
    /// Standard deviation, dB (0: off).
    pub sigma_db: f64,
    /// One draw per pair of nodes (true) or per direction.
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

/// The radios (all alike) and the air between them.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct RadioConfig {
    /// Regulatory region.
    pub region: Region,
    /// Modulation.
    pub modem: Modem,
    /// Centre frequency, MHz.
    pub frequency_mhz: f64,
    /// Transmit power, dBm.
    pub tx_power_dbm: f64,
    /// Antenna gain at each end, dBi.
    pub antenna_gain_dbi: f64,
    /// Antenna height, metres, unless a fixed site gives its own.
    pub antenna_height_m: f64,
    /// Receiver noise figure, dB.
    pub noise_figure_db: f64,
    /// Path-loss model.
    pub path_loss: PathLossModel,
    /// Per-link shadowing.
    pub shadowing: Shadowing,
    /// Same-SF capture threshold, dB.
    pub capture_db: f64,
    /// The capture model's switchable choices.
    pub capture: CaptureRules,
    /// Channel activity detection before transmitting.
    pub listen_before_talk: bool,
    /// Transmit duty-cycle limit, percent of the region's window.
    pub duty_cycle_pct: f64,
}

impl RadioConfig {
    /// Radios on `modem` in `region` at the region's frequency, power limit
    /// and duty cycle, with LoRaSim's path loss and FLoRa's shadowing.
    pub fn new(region: Region, modem: Modem) -> Self {
        RadioConfig {
            region,
            modem,
            frequency_mhz: region.frequency_mhz(),
            tx_power_dbm: region.max_power_dbm(),
            antenna_gain_dbi: 0.0,
            antenna_height_m: DEFAULT_ANTENNA_HEIGHT_M,
            noise_figure_db: DEFAULT_NOISE_FIGURE_DB,
            path_loss: PathLossModel::default(),
            shadowing: Shadowing::default(),
            capture_db: DEFAULT_CAPTURE_DB,
            capture: CaptureRules::default(),
            listen_before_talk: true,
            duty_cycle_pct: region.duty_cycle_pct(),
        }
    }
}

impl Default for RadioConfig {
    /// Meshtastic's defaults in Europe: EU868, LongFast.
    fn default() -> Self {
        RadioConfig::new(Region::EU868, Modem::Preset(ModemPreset::LongFast))
    }
}

/// Node placement.
#[derive(Clone, PartialEq, Debug)]
pub enum Placement {
    /// Uniformly at random in a rectangle.
    Random {
        /// How many nodes.
        nodes: u32,
        /// Width and height, metres.
        area_m: [f64; 2],
        /// Smallest distance between two nodes, metres.
        min_spacing_m: f64,
        /// Place each node within this distance of one already placed
        /// (`None`: anywhere). A stated distance, never the radio's range,
        /// so that positions do not depend on the radio.
        connect_range_m: Option<f64>,
    },
    /// On a square-ish grid, row by row.
    Grid {
        /// How many nodes.
        nodes: u32,
        /// Distance between neighbours, metres.
        spacing_m: f64,
    },
    /// Towns: around random centres, a share spread uniformly in between.
    Clusters {
        /// How many nodes.
        nodes: u32,
        /// Width and height, metres.
        area_m: [f64; 2],
        /// How many towns.
        towns: u32,
        /// Standard deviation of a town's spread, metres.
        town_radius_m: f64,
        /// Share of nodes placed uniformly outside towns, 0..=1.
        rural_share: f64,
        /// Place each node within this distance of one already placed
        /// (`None`: anywhere); never the radio's range.
        connect_range_m: Option<f64>,
    },
    /// On a straight line.
    Chain {
        /// How many nodes.
        nodes: u32,
        /// Distance between neighbours, metres.
        spacing_m: f64,
    },
    /// At given sites.
    Fixed(Vec<FixedSite>),
}

impl Placement {
    /// How many nodes it places.
    pub fn node_count(&self) -> u32 {
        match self {
            Placement::Random { nodes, .. }
            | Placement::Grid { nodes, .. }
            | Placement::Clusters { nodes, .. }
            | Placement::Chain { nodes, .. } => *nodes,
            Placement::Fixed(sites) => sites.len() as u32,
        }
    }
}

/// One node of a [`Placement::Fixed`].
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct FixedSite {
    /// East, metres.
    pub x_m: f64,
    /// North, metres.
    pub y_m: f64,
    /// Antenna height, metres (`None`: [`RadioConfig::antenna_height_m`]).
    pub z_m: Option<f64>,
    /// Role.
    pub role: Role,
}

/// Which nodes something applies to.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NodeSelection {
    /// This many nodes, chosen by the simulator: the sites with the most
    /// other sites within [`crate::topology::SITE_NEIGHBOURHOOD_M`] first
    /// (a planner's map, not the radio, so the same sites whatever the
    /// radio settings).
    Count(u32),
    /// These node ids.
    Nodes(Vec<u32>),
}

impl Default for NodeSelection {
    fn default() -> Self {
        NodeSelection::Nodes(Vec::new())
    }
}

/// Roles given on top of the placement's (Meshtastic `DeviceConfig.Role`).
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Roles {
    /// Routers: always relay, never cancel a relay.
    pub routers: NodeSelection,
    /// Muted clients: never relay.
    pub client_mute: NodeSelection,
}

/// The Meshtastic link layer's settings.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct MeshConfig {
    /// The mesh's hop limit (reachability statistics use it when there is
    /// no traffic with its own).
    pub hop_limit: u8,
    /// Frames a radio's transmit queue holds.
    pub queue_capacity: u32,
    /// Longest a frame waits in the queue before it is dropped.
    pub max_queue_delay: Duration,
}

impl Default for MeshConfig {
    fn default() -> Self {
        MeshConfig {
            hop_limit: node_core::transport::DEFAULT_HOP_LIMIT,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_queue_delay: DEFAULT_MAX_QUEUE_DELAY,
        }
    }
}

/// Background chat traffic.
#[derive(Clone, PartialEq, Debug)]
pub struct Traffic {
    /// What each sending node does.
    pub per_node: TrafficConfig,
    /// Which nodes send (`None`: all).
    pub senders: Option<Vec<u32>>,
}

impl Traffic {
    /// Whether node `i` sends.
    pub fn sends(&self, i: u32) -> bool {
        self.senders.as_ref().is_none_or(|l| l.contains(&i))
    }
}

/// A design package the workload moves: built from `seed`
/// ([`seeded_package`](crate::world::seeded_package)), given with its
/// manifest to `holders` at the start, requested by `requesters` at `at`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PackageTransfer {
    /// When the requesters ask for it, from the start of the run.
    pub at: Duration,
    /// Package size in bytes (manifest included).
    pub size_bytes: u64,
    /// Seed of its bytes and manifest.
    pub seed: u64,
    /// Piece length in bytes (a power of two, 1 KiB to 1 MiB).
    pub piece_len_bytes: u32,
    /// Nodes that hold it from the start.
    pub holders: Vec<u32>,
    /// Nodes that ask for it at `at`.
    pub requesters: Vec<u32>,
}

/// One publication the workload makes.
#[derive(Clone, PartialEq, Debug)]
pub struct Publication {
    /// When, from the start of the run.
    pub at: Duration,
    /// At which node (a node that is down hands it to the next live one).
    pub node: u32,
    /// Manifest or facility.
    pub kind: ItemKind,
    /// Where the bytes came from (for messages).
    pub source: String,
    /// The file's bytes.
    pub bytes: Arc<[u8]>,
}
