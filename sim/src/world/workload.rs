//! Publications: the configured schedule, and items published into a
//! running simulation with [`Simulation::publish`].

use node_core::ItemKind;
use node_core::node::Published;

use super::Simulation;

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
