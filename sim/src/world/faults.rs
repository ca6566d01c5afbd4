//! Faults taking effect: the [`FaultPlan`](crate::fault::FaultPlan) updates
//! its state and names any node-lifecycle event, which is carried out here;
//! and faults injected into a running simulation.

use node_core::{Instant, NodeId};

use super::{Event, Simulation};
use crate::fault::{Fault, Lifecycle};
use crate::trace::{FaultRecord, Record};

/// Why [`Simulation::inject`] refused a fault.
#[derive(Clone, PartialEq, Debug, thiserror::Error)]
pub enum InjectError {
    /// The fault would take effect before the simulated time already reached.
    #[error("a fault at {at} is in the past (the run is at {now})")]
    InThePast {
        /// When the fault (or one of its actions) would take effect.
        at: Instant,
        /// The simulated time reached.
        now: Instant,
    },
    /// The fault names a node the mesh does not have.
    #[error("no node {0} in the mesh")]
    NoSuchNode(u32),
}

impl Simulation {
    /// Adds a fault to the running simulation (the configuration is left as
    /// it was built): its actions take effect at
    /// their times (`at`, `heal_at`, …, from the start of the run), none of
    /// which may be before [`Simulation::now`]. An action at exactly `now`
    /// takes effect in the next [`run_until`](Simulation::run_until).
    pub fn inject(&mut self, fault: Fault) -> Result<(), InjectError> {
        let n = self.nodes.len() as u32;
        if let Some(bad) = fault.nodes().into_iter().find(|i| *i >= n) {
            return Err(InjectError::NoSuchNode(bad));
        }
        if let Some(at) = fault
            .times()
            .into_iter()
            .map(|t| Instant::ZERO + t)
            .find(|at| *at < self.now)
        {
            return Err(InjectError::InThePast { at, now: self.now });
        }
        for (at, index) in self.faults.add(&fault, self.topo.sites()) {
            self.queue.schedule(at, Event::Fault { index });
        }
        Ok(())
    }

    pub(super) fn on_fault(&mut self, now: Instant, index: u32) {
        let (record, lifecycle) = self.faults.apply(index);
        match lifecycle {
            Some(Lifecycle::Crash(i)) if self.nodes[i as usize].alive() => self.shut_down(now, i),
            Some(Lifecycle::Restart(i) | Lifecycle::Join(i)) if !self.nodes[i as usize].alive() => {
                self.boot(now, i);
            }
            Some(Lifecycle::Adversary(index)) => self.start_adversary(now, index),
            _ => {}
        }
        self.trace.push(Record::Fault {
            at: now,
            fault: record,
        });
        if matches!(record, FaultRecord::Partition { .. }) {
            // Who is in which group, so the trace alone says which signals
            // a partition cuts.
            for (node, &group) in self.faults.groups().iter().enumerate() {
                if group != 0 {
                    self.trace.push(Record::Fault {
                        at: now,
                        fault: FaultRecord::Member {
                            node: NodeId(node as u32),
                            group,
                        },
                    });
                }
            }
        }
    }
}
