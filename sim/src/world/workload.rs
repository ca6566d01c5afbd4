//! Publications: the configured schedule, and items published into a
//! running simulation with [`Simulation::publish`]; design packages given
//! to nodes and requested by them ([`Simulation::give_package`],
//! [`Simulation::request_package`]), and what their swarms did
//! ([`Simulation::package_log`]).

use node_core::identity::Keypair;
use node_core::node::{PackageConfig, PackageEvent, Published, check_record};
use node_core::packages::swarm::{Progress, SwarmConfig};
use node_core::packages::{Package, PackageId};
use node_core::transport::{MESHTASTIC_MAX_PAYLOAD_BYTES, Transport};
use node_core::{Destination, Duration, Instant, ItemKind, OutFrame, Priority, Rng};

use super::Simulation;
use crate::radio::RadioSetup;

/// Why [`Simulation::publish`] published nothing.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// There is no node with that id.
    #[error("no node {0} in the mesh")]
    NoSuchNode(u32),
    /// The node is switched off (crashed, or not joined yet).
    #[error("node {0} is down")]
    NodeDown(u32),
    /// The node refused the file.
    #[error(transparent)]
    Refused(#[from] node_core::node::PublishError),
}

impl Simulation {
    /// Publishes a manifest or facility file at `node`, now (at
    /// [`Simulation::now`]); returns what its node-core published. The
    /// records it makes reach the sinks of the next
    /// [`run_until`](Simulation::run_until).
    pub fn publish(
        &mut self,
        node: u32,
        kind: ItemKind,
        bytes: &[u8],
        source: &str,
    ) -> Result<Vec<Published>, PublishError> {
        let Some(n) = self.nodes.get(node as usize) else {
            return Err(PublishError::NoSuchNode(node));
        };
        if !n.alive() {
            return Err(PublishError::NodeDown(node));
        }
        let now = self.now;
        let published = self
            .drive(now, node, |core, t| {
                core.publish(now, kind, bytes, source, t)
            })
            .ok_or(PublishError::NodeDown(node))?;
        self.sync_node(now, node);
        Ok(published?)
    }

    /// A scheduled publication. A node that is down (or an adversary)
    /// cannot publish it; the next live honest node (by id, wrapping) does
    /// so instead, so the workload stays the same size whatever the faults.
    pub(super) fn on_publish(&mut self, now: node_core::Instant, index: u32) {
        let p = self.config.publications[index as usize].clone();
        let n = self.nodes.len() as u32;
        let Some(i) = (0..n)
            .map(|k| (p.node + k) % n)
            .find(|i| self.nodes[*i as usize].alive() && !self.nodes[*i as usize].hostile)
        else {
            return;
        };
        // The schedule was checked when the scenario loaded; a refusal here
        // (a full store) is reported by the node as an event.
        let published = self.drive(now, i, |core, t| {
            let _ = core.publish(now, p.kind, &p.bytes, &p.source, t);
        });
        if published.is_some() {
            self.sync_node(now, i);
        }
    }
}

/// Why a package could not be given to or requested at a node.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// There is no node with that id.
    #[error("no node {0} in the mesh")]
    NoSuchNode(u32),
    /// The node is switched off (crashed, or not joined yet).
    #[error("node {0} is down")]
    NodeDown(u32),
    /// The node would not publish the package's manifest.
    #[error("node {node} refused the package's manifest: {error}")]
    Manifest {
        /// The node.
        node: u32,
        /// Why.
        error: node_core::node::PublishError,
    },
    /// The node refused the package.
    #[error("node {node} refused the package: {error}")]
    Refused {
        /// The node.
        node: u32,
        /// Why.
        error: node_core::node::AddPackageError,
    },
}

/// One thing a node's package swarm did, with when and where.
#[derive(Clone, PartialEq, Debug)]
pub struct PackageLogEntry {
    /// When.
    pub at: Instant,
    /// Which node.
    pub node: u32,
    /// What.
    pub event: PackageEvent,
}

/// Bytes one 4 KiB LoRa piece takes on the air, as frames of the largest
/// payload: the piece, a proof of up to 8 hashes and the message header.
const PIECE_FRAMES: u64 = 21;

/// The swarm's timers for the radio: a request waits for two pieces' time
/// on air at the duty cycle (a holder serves one piece after another, and
/// each piece that arrives restarts the wait for the others from that
/// holder; four pieces' time sends fewer pieces twice but waits longer for
/// a lost one, and was slower over four hops), and holders re-advertise
/// once per piece time, at least every 30 s.
pub(super) fn package_config(radio: &RadioSetup) -> PackageConfig {
    let frame = radio.airtime(MESHTASTIC_MAX_PAYLOAD_BYTES);
    let duty = (radio.duty_cycle_pct / 100.0).clamp(0.01, 1.0);
    let piece_us = (PIECE_FRAMES * frame.as_micros()) as f64 / duty;
    let piece = Duration::from_micros(piece_us as u64);
    let defaults = SwarmConfig::default();
    PackageConfig {
        swarm: SwarmConfig {
            request_timeout: defaults
                .request_timeout
                .max(Duration::from_micros(2 * piece_us as u64)),
            advert_interval: defaults.advert_interval.max(piece),
            ..defaults
        },
        ..PackageConfig::default()
    }
}

/// A deterministic design package of about `size_bytes` (at least its
/// manifest) for simulations: a small OKH manifest named after `seed` and
/// one file of bytes drawn from `seed`, cut into pieces of
/// `piece_len_bytes`, signed by `key`.
pub fn seeded_package(
    seed: u64,
    size_bytes: usize,
    piece_len_bytes: u32,
    key: &Keypair,
) -> Package {
    let manifest = format!(
        "title: Simulated design package {seed}\n\
         description: Random bytes standing for the CAD and docs of design {seed}.\n\
         license: CC0-1.0\n\
         project-link: https://example.org/packages/{seed}\n\
         version: 1.0\n"
    )
    .into_bytes();
    let mut rng = Rng::derive(seed, "package", 0);
    let body_len = size_bytes.saturating_sub(manifest.len()).max(1);
    let mut body = Vec::with_capacity(body_len + 8);
    while body.len() < body_len {
        body.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    body.truncate(body_len);
    let files = vec![
        ("okh.yaml".to_string(), manifest),
        ("design.bin".to_string(), body),
    ];
    Package::build(files, "okh.yaml", piece_len_bytes, key).expect("a seeded package always builds")
}

impl Simulation {
    /// Gives `node` a whole package to serve, now: the node publishes the
    /// package's manifest (signed with its publisher key, which must be the
    /// package's signer) unless it holds it, then caches the package.
    pub fn give_package(
        &mut self,
        node: u32,
        package: &Package,
    ) -> Result<PackageId, PackageError> {
        self.check_up(node)?;
        let now = self.now;
        let record = package.record();
        let manifest = package.file(record.manifest_file as usize).to_vec();
        let path = record.files[record.manifest_file as usize].path.clone();
        let out = self
            .drive(now, node, |core, t| {
                if check_record(core.store(), record).is_err() {
                    core.publish(now, ItemKind::Manifest, &manifest, &path, t)
                        .map_err(|error| PackageError::Manifest { node, error })?;
                }
                core.add_package(package)
                    .map_err(|error| PackageError::Refused { node, error })
            })
            .ok_or(PackageError::NodeDown(node))?;
        self.sync_node(now, node);
        out
    }

    /// Makes `node` start fetching package `id`, now.
    pub fn request_package(&mut self, node: u32, id: PackageId) -> Result<(), PackageError> {
        self.check_up(node)?;
        let now = self.now;
        self.drive(now, node, |core, t| core.request_package(now, id, t))
            .ok_or(PackageError::NodeDown(node))?;
        self.sync_node(now, node);
        Ok(())
    }

    /// Hands `payload` to `node`'s radio as a broadcast for direct
    /// neighbours (hop limit 0), now, bypassing its node-core: how tests
    /// play a node that sends what no honest node would.
    pub fn transmit_raw(&mut self, node: u32, payload: Vec<u8>) -> Result<(), PackageError> {
        self.check_up(node)?;
        let now = self.now;
        let frame = OutFrame {
            dest: Destination::Broadcast,
            hop_limit: 0,
            priority: Priority::Background,
            payload,
        };
        // A full queue drops the frame, as it would any other.
        let _ = self
            .drive(now, node, |_, t| t.send(frame))
            .ok_or(PackageError::NodeDown(node))?;
        Ok(())
    }

    /// Progress of package `id` at `node` (`None`: down, or neither wanted
    /// nor cached there).
    pub fn package_progress(&self, node: u32, id: PackageId) -> Option<Progress> {
        self.node(node)?.package_progress(self.now, id)
    }

    /// What the nodes' package swarms did so far, in order.
    pub fn package_log(&self) -> &[PackageLogEntry] {
        &self.package_log
    }

    fn transfer_package(&self, index: u32) -> Package {
        let p = &self.config.packages[index as usize];
        let key = node_core::NodeConfig::simulated_publisher(self.config.seed, 0);
        seeded_package(p.seed, p.size_bytes as usize, p.piece_len_bytes, &key)
    }

    /// A configured package reaches its holders (those up and honest).
    pub(super) fn on_package_give(&mut self, index: u32) {
        let package = self.transfer_package(index);
        for h in self.config.packages[index as usize].holders.clone() {
            if !self.nodes[h as usize].hostile {
                // A holder that is down when the run starts holds nothing.
                let _ = self.give_package(h, &package);
            }
        }
    }

    /// A configured package is requested by its requesters (those up).
    pub(super) fn on_package_request(&mut self, index: u32) {
        let id = self.transfer_package(index).id();
        for r in self.config.packages[index as usize].requesters.clone() {
            let _ = self.request_package(r, id);
        }
    }

    fn check_up(&self, node: u32) -> Result<(), PackageError> {
        match self.nodes.get(node as usize) {
            None => Err(PackageError::NoSuchNode(node)),
            Some(n) if !n.alive() => Err(PackageError::NodeDown(node)),
            Some(_) => Ok(()),
        }
    }
}
