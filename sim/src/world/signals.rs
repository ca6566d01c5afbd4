//! The signal workload at run time: each action of the
//! [`SignalPlan`](crate::signal_plan::SignalPlan) executed at its node, and
//! the audience of every signal published (the nodes whose facility it
//! concerns, by the protocol's own matching rule) put in the trace, so
//! reports can tell delivery to the nodes that should get it.

use node_core::signals::{
    Payload, SignalEvent, SignalId, SignalRepr, SignalSpec, SignalType, concerns,
};
use node_core::{Duration, Instant, NodeId};

use super::Simulation;
use crate::signal_plan::SignalWhat;
use crate::trace::{NodeRecord, Record, SignalRecord};

impl Simulation {
    /// Runs the signal action `index` at its node.
    pub(super) fn on_signal(&mut self, now: Instant, index: u32) {
        let action = self.config.signals.actions[index as usize].clone();
        let i = action.node;
        let spec = match action.what {
            SignalWhat::Announce { ttl } => {
                let tags = self.config.signals.config_of(i).capabilities;
                SignalSpec {
                    payload: Payload::Capability { tags },
                    urgent: false,
                    ttl,
                    flood: false,
                }
            }
            SignalWhat::Demand {
                design,
                quantity,
                deadline_after,
                tags,
                urgent,
                flood,
            } => SignalSpec {
                payload: Payload::Demand {
                    design,
                    quantity,
                    deadline: now + deadline_after,
                    tags,
                },
                urgent,
                ttl: deadline_after,
                flood,
            },
            SignalWhat::Confirm { demand, quantity } => {
                let Some(id) = self.signal_ids.get(demand).copied().flatten() else {
                    return self.skipped(now, i);
                };
                let held = self
                    .node(i)
                    .and_then(|n| n.signals().book().get(id))
                    .map(|h| h.repr.clone());
                let Some(Payload::Demand {
                    design, deadline, ..
                }) = held.map(|r| r.payload)
                else {
                    // Not heard of it (yet): a facility confirms only what it knows.
                    return self.skipped(now, i);
                };
                SignalSpec {
                    payload: Payload::Confirmation {
                        demand: id,
                        design,
                        quantity,
                    },
                    urgent: false,
                    ttl: deadline.saturating_since(now).max(Duration::from_secs(1)),
                    flood: false,
                }
            }
            SignalWhat::Query {
                need,
                ttl,
                flood: true,
            } => SignalSpec {
                payload: Payload::Query { tags: need },
                urgent: true,
                ttl,
                flood: true,
            },
            SignalWhat::Query { need, ttl, .. } => {
                let asked = self.drive(now, i, |core, t| core.ask(now, need, ttl, t));
                if asked.is_none() {
                    return self.skipped(now, i);
                }
                // The publication's record first, then its audience.
                self.sync_node(now, i);
                if let Some(Ok((id, false))) = asked {
                    self.audience(now, i, id);
                }
                self.signal_ids[index as usize] = asked.and_then(|r| r.ok()).map(|r| r.0);
                return;
            }
        };
        let published = self.drive(now, i, |core, t| core.publish_signal(now, spec, t));
        match published {
            Some(Ok(id)) => {
                self.signal_ids[index as usize] = Some(id);
                self.sync_node(now, i);
                self.audience(now, i, id);
            }
            // Down, or refused (a quota): the refusal is the node's business;
            // the trace shows no publication.
            _ => self.skipped(now, i),
        }
    }

    fn skipped(&mut self, now: Instant, i: u32) {
        self.trace.push(Record::Node {
            at: now,
            node: NodeId(i),
            event: NodeRecord::Signal(SignalRecord::Skipped),
        });
    }

    /// Records who should get signal `id` of node `origin`: demand and
    /// queries go to the facilities they concern, everything else to
    /// every other node.
    fn audience(&mut self, now: Instant, origin: u32, id: SignalId) {
        let Some(repr) = self
            .node(origin)
            .and_then(|n| n.signals().book().get(id))
            .map(|h| h.repr.clone())
        else {
            return;
        };
        for j in 0..self.nodes.len() as u32 {
            if j != origin && self.should_get(j, &repr) {
                self.trace.push(Record::Node {
                    at: now,
                    node: NodeId(j),
                    event: NodeRecord::Signal(SignalRecord::Audience { id: id.0 }),
                });
            }
        }
    }

    fn should_get(&self, j: u32, repr: &SignalRepr) -> bool {
        match repr.signal_type() {
            SignalType::Demand | SignalType::Query => {
                concerns(&self.config.signals.config_of(j), repr)
            }
            SignalType::Capability | SignalType::Confirmation | SignalType::Cancellation => true,
        }
    }
}

/// A node-core signal event as a trace record.
pub(super) fn record_of(e: SignalEvent) -> SignalRecord {
    match e {
        SignalEvent::Published {
            id,
            ty,
            size_bytes,
            urgent,
            flood,
            ttl,
            refers,
        } => SignalRecord::Published {
            id: id.0,
            ty,
            size_bytes,
            urgent,
            flood,
            ttl_s: (ttl.as_micros() / 1_000_000) as u32,
            refers: refers.0,
        },
        SignalEvent::Taken {
            id, ty, matches, ..
        } => SignalRecord::Taken {
            id: id.0,
            ty,
            matches,
        },
        SignalEvent::Refused { reason, .. } => SignalRecord::Refused { reason },
        SignalEvent::Relayed { id } => SignalRecord::Relayed { id: id.0 },
        SignalEvent::Conflict {
            conflict,
            ours_lost,
        } => SignalRecord::Conflict {
            demand: conflict.demand.0,
            winner: conflict.winner.0,
            loser: conflict.loser.0,
            ours_lost,
        },
        SignalEvent::Answered {
            query,
            local,
            facilities,
        } => SignalRecord::Answered {
            query: query.0,
            local,
            facilities,
        },
        SignalEvent::Routed {
            id,
            filter_match,
            matches,
            taken,
            fallback,
            ..
        } => SignalRecord::Routed {
            id: id.0,
            filter_match,
            matches,
            taken,
            fallback,
        },
    }
}

impl Simulation {
    /// Publishes a signal at `node` now (at [`Simulation::now`]), as a
    /// driver would for its operator; `None` while the node is down or
    /// does not exist. Its records reach the sinks of the next
    /// [`run_until`](Simulation::run_until).
    pub fn publish_signal(
        &mut self,
        node: u32,
        spec: SignalSpec,
    ) -> Option<Result<SignalId, node_core::signals::PublishSignalError>> {
        let now = self.now;
        if self.nodes.get(node as usize).is_none_or(|n| !n.alive()) {
            return None;
        }
        let out = self.drive(now, node, |core, t| core.publish_signal(now, spec, t))?;
        self.sync_node(now, node);
        if let Ok(id) = out {
            self.audience(now, node, id);
        }
        Some(out)
    }
}
