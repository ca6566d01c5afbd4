//! Faults behind one seam: the [`FaultPlan`].
//!
//! The plan holds every fault of a run — the configured ones and any
//! [injected](crate::Simulation::inject) while it runs — and their state.
//! The air never decides a fault itself; for each reception it asks the plan
//! at the two points where a fault can strike:
//!
//! * [`FaultPlan::reaches`] when a transmission starts: does the signal
//!   from `a` reach `b`'s antenna at all? A partition cuts the air between
//!   groups, so no energy crosses and nothing interferes across it;
//! * [`FaultPlan::drops`] when `b` has decoded a frame from `a`: is it
//!   discarded anyway, and why? (Injected loss.)
//!
//! Crashes, restarts and joins are node-lifecycle events scheduled from the
//! same fault data: the plan names them ([`Lifecycle`]) and the world
//! carries them out. So are adversaries ([`Fault::Adversary`]): from its
//! start an adversary node runs node-core like any other and, every
//! `every`, also does what its [`Adversary`] kind says (the world's
//! `adversary` module). Every fault taking effect is a trace record.

use std::collections::BTreeSet;

use node_core::{Duration, Instant, Rng};

use crate::topology::Site;
use crate::trace::{DropReason, FaultRecord};

/// A fault injected into a run.
#[derive(Clone, PartialEq, Debug)]
pub enum Fault {
    /// Split the mesh from `at`: no signal crosses between groups.
    Partition {
        /// When it starts.
        at: Duration,
        /// When it heals (`None`: at a [`Fault::Heal`] or never).
        heal_at: Option<Duration>,
        /// Who is cut from whom.
        split: Split,
    },
    /// Ends every partition.
    Heal {
        /// When.
        at: Duration,
    },
    /// A node stops (losing its queue and volatile state) and maybe restarts
    /// from its store.
    Crash {
        /// When.
        at: Duration,
        /// Which node.
        node: u32,
        /// Restart this long after the crash (`None`: never).
        restart_after: Option<Duration>,
    },
    /// Decoded frames are dropped with a probability.
    Loss {
        /// From when.
        from: Duration,
        /// Until when (`None`: the end of the run).
        until: Option<Duration>,
        /// Probability of losing a frame, 0..=1.
        probability: f64,
        /// Only these links (node pairs, both directions; `None`: all).
        links: Option<Vec<(u32, u32)>>,
    },
    /// A node switched off from the start that is switched on at `at`.
    Join {
        /// When.
        at: Duration,
        /// Which node.
        node: u32,
    },
    /// A node turns adversary at `from`: every `every` it attacks as
    /// `kind` says. It publishes under a key of its own.
    Adversary {
        /// When it starts.
        from: Duration,
        /// Which node.
        node: u32,
        /// Time between two attacks.
        every: Duration,
        /// What it does.
        kind: Adversary,
    },
}

/// What an adversary node does at each attack.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Adversary {
    /// Forges a new version (seq near `u32::MAX`) of a design of another
    /// publisher it holds — the owner's key named, a signature nobody made
    /// — advertises it in a summary and sends its fragments, under the
    /// origin of another node (spoofed).
    Forger,
    /// Replays the oldest signed version it keeps of a design that has a
    /// newer one: advertises it and sends its fragments.
    Replayer,
    /// Publishes a junk item signed with its own key (which sync then
    /// spreads as far as quotas let it) and sends `frames` junk frames
    /// under random origins.
    Flooder {
        /// Junk frames per attack.
        frames: u32,
    },
    /// Duplicate-filter poisoning: floods `ids` packets under the
    /// `victim`'s origin with the packet ids it predicts the victim will
    /// use next, so that receivers would take the victim's real frames for
    /// duplicates.
    Censor {
        /// The node silenced.
        victim: u32,
        /// Packet ids pre-sent per attack.
        ids: u32,
    },
}

impl Adversary {
    /// The name used in scenarios and traces.
    pub fn name(self) -> &'static str {
        match self {
            Adversary::Forger => "forger",
            Adversary::Replayer => "replayer",
            Adversary::Flooder { .. } => "flooder",
            Adversary::Censor { .. } => "censor",
        }
    }
}

impl Fault {
    /// The nodes the fault names (a loss rule's link ends included).
    pub fn nodes(&self) -> Vec<u32> {
        match self {
            Fault::Crash { node, .. } | Fault::Join { node, .. } => vec![*node],
            Fault::Adversary {
                node,
                kind: Adversary::Censor { victim, .. },
                ..
            } => vec![*node, *victim],
            Fault::Adversary { node, .. } => vec![*node],
            Fault::Loss { links, .. } => {
                links.iter().flatten().flat_map(|&(a, b)| [a, b]).collect()
            }
            Fault::Partition { .. } | Fault::Heal { .. } => Vec::new(),
        }
    }

    /// When its actions take effect, from the start of the run.
    pub fn times(&self) -> Vec<Duration> {
        let (first, second) = match self {
            Fault::Partition { at, heal_at, .. } => (*at, *heal_at),
            Fault::Heal { at } | Fault::Join { at, .. } => (*at, None),
            Fault::Crash {
                at, restart_after, ..
            } => (*at, restart_after.map(|r| *at + r)),
            Fault::Loss { from, until, .. } => (*from, *until),
            Fault::Adversary { from, .. } => (*from, None),
        };
        [Some(first), second].into_iter().flatten().collect()
    }
}

/// How a partition splits the mesh.
#[derive(Clone, PartialEq, Debug)]
pub enum Split {
    /// Explicit groups of node ids; unlisted nodes form one more group.
    Groups(Vec<Vec<u32>>),
    /// A line from one point to another (metres): nodes on its left and on
    /// its right are cut apart.
    Line([[f64; 2]; 2]),
}

impl Split {
    /// Each node's group (0: in no listed group; for a line, 0 and 1 are
    /// its two sides). Reports draw partitions with it.
    pub fn groups(&self, sites: &[Site]) -> Vec<u16> {
        match self {
            Split::Groups(groups) => {
                let mut g = vec![0u16; sites.len()];
                for (k, ids) in groups.iter().enumerate() {
                    for id in ids {
                        if let Some(slot) = g.get_mut(*id as usize) {
                            *slot = k as u16 + 1;
                        }
                    }
                }
                g
            }
            Split::Line([[ax, ay], [bx, by]]) => sites
                .iter()
                .map(|s| u16::from((bx - ax) * (s.y_m - ay) - (by - ay) * (s.x_m - ax) > 0.0))
                .collect(),
        }
    }
}

/// A node-lifecycle event a fault asks the world to carry out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lifecycle {
    /// Switch the node off (power loss: its store keeps what it acknowledged).
    Crash(u32),
    /// Switch a crashed node back on from its store.
    Restart(u32),
    /// Switch a late node on.
    Join(u32),
    /// Start the adversary [`FaultPlan::adversary`] `index`.
    Adversary(u32),
}

#[derive(Clone, Debug)]
enum Action {
    Partition(Vec<u16>),
    Heal,
    Crash(u32),
    Restart(u32),
    Join(u32),
    LossStart(u32),
    LossEnd(u32),
    Adversary(u32),
}

#[derive(Clone, Debug)]
struct LossRule {
    probability: f64,
    /// Sorted (low, high) node pairs; `None` means every link.
    links: Option<Vec<(u32, u32)>>,
    active: bool,
}

/// Every fault of a run and where each stands.
#[derive(Clone, Debug)]
pub struct FaultPlan {
    actions: Vec<Action>,
    /// Each node's group under the partition in force (0 everywhere: none).
    group: Vec<u16>,
    loss: Vec<LossRule>,
    /// Adversaries: (node, every, kind).
    adversaries: Vec<(u32, Duration, Adversary)>,
    /// The loss draws, in reception order.
    rng: Rng,
}

impl FaultPlan {
    /// A plan with no faults yet for the nodes at `sites`, drawing loss from
    /// the run's `seed`.
    pub fn new(sites: &[Site], seed: u64) -> Self {
        FaultPlan {
            actions: Vec::new(),
            group: vec![0; sites.len()],
            loss: Vec::new(),
            adversaries: Vec::new(),
            rng: Rng::derive(seed, "loss", 0),
        }
    }

    /// Adds `fault`; returns its actions as (when, index) for the world to
    /// schedule, in order (an index goes to [`FaultPlan::apply`] when its
    /// time comes).
    pub fn add(&mut self, fault: &Fault, sites: &[Site]) -> Vec<(Instant, u32)> {
        let mut out = Vec::new();
        let mut push = |plan: &mut FaultPlan, at: Duration, action: Action| {
            out.push((Instant::ZERO + at, plan.actions.len() as u32));
            plan.actions.push(action);
        };
        match fault {
            Fault::Partition { at, heal_at, split } => {
                push(self, *at, Action::Partition(split.groups(sites)));
                if let Some(h) = heal_at {
                    push(self, *h, Action::Heal);
                }
            }
            Fault::Heal { at } => push(self, *at, Action::Heal),
            Fault::Crash {
                at,
                node,
                restart_after,
            } => {
                push(self, *at, Action::Crash(*node));
                if let Some(after) = restart_after {
                    push(self, *at + *after, Action::Restart(*node));
                }
            }
            Fault::Join { at, node } => push(self, *at, Action::Join(*node)),
            Fault::Adversary {
                from,
                node,
                every,
                kind,
            } => {
                let index = self.adversaries.len() as u32;
                self.adversaries.push((*node, *every, *kind));
                push(self, *from, Action::Adversary(index));
            }
            Fault::Loss {
                from,
                until,
                probability,
                links,
            } => {
                let rule = self.loss.len() as u32;
                self.loss.push(LossRule {
                    probability: *probability,
                    links: links.as_ref().map(|links| {
                        let mut v: Vec<(u32, u32)> =
                            links.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
                        v.sort_unstable();
                        v
                    }),
                    active: false,
                });
                push(self, *from, Action::LossStart(rule));
                if let Some(u) = until {
                    push(self, *u, Action::LossEnd(rule));
                }
            }
        }
        out
    }

    /// Action `index` takes effect: the plan updates its state and returns
    /// the trace record, and the lifecycle event the world must carry out
    /// (if the node is not already in that state).
    pub fn apply(&mut self, index: u32) -> (FaultRecord, Option<Lifecycle>) {
        match &self.actions[index as usize] {
            Action::Partition(groups) => {
                let count = groups.iter().copied().collect::<BTreeSet<u16>>().len() as u32;
                self.group.clone_from(groups);
                (FaultRecord::Partition { groups: count }, None)
            }
            Action::Heal => {
                self.group.fill(0);
                (FaultRecord::Heal, None)
            }
            Action::Crash(i) => (
                FaultRecord::Crash {
                    node: node_core::NodeId(*i),
                },
                Some(Lifecycle::Crash(*i)),
            ),
            Action::Restart(i) => (
                FaultRecord::Restart {
                    node: node_core::NodeId(*i),
                },
                Some(Lifecycle::Restart(*i)),
            ),
            Action::Join(i) => (
                FaultRecord::Join {
                    node: node_core::NodeId(*i),
                },
                Some(Lifecycle::Join(*i)),
            ),
            &Action::LossStart(rule) => {
                self.loss[rule as usize].active = true;
                (FaultRecord::LossStart { rule }, None)
            }
            &Action::LossEnd(rule) => {
                self.loss[rule as usize].active = false;
                (FaultRecord::LossEnd { rule }, None)
            }
            &Action::Adversary(index) => {
                let (node, _, _) = self.adversaries[index as usize];
                (
                    FaultRecord::Adversary {
                        node: node_core::NodeId(node),
                    },
                    Some(Lifecycle::Adversary(index)),
                )
            }
        }
    }

    /// Adversary `index`: its node, the time between its attacks and what
    /// it does.
    pub fn adversary(&self, index: u32) -> (u32, Duration, Adversary) {
        self.adversaries[index as usize]
    }

    /// Each node's group under the partition in force (0 everywhere: none).
    pub fn groups(&self) -> &[u16] {
        &self.group
    }

    /// Whether a signal from node `from` reaches node `to`'s antenna at all
    /// (false across a partition). Asked when a transmission starts.
    pub fn reaches(&self, from: u32, to: u32) -> bool {
        self.group[from as usize] == self.group[to as usize]
    }

    /// Whether a frame node `to` decoded from node `from` is discarded, and
    /// why. Asked once per decoded reception, in reception order: every
    /// active loss rule covering the link draws, so the draws do not depend
    /// on which rule decides.
    pub fn drops(&mut self, from: u32, to: u32) -> Option<DropReason> {
        let pair = (from.min(to), from.max(to));
        let mut lost = false;
        for rule in &self.loss {
            if rule.active
                && rule
                    .links
                    .as_ref()
                    .is_none_or(|l| l.binary_search(&pair).is_ok())
                && self.rng.chance(rule.probability)
            {
                lost = true;
            }
        }
        lost.then_some(DropReason::InjectedLoss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_core::radio::Role;

    fn sites(n: usize) -> Vec<Site> {
        (0..n)
            .map(|i| Site {
                x_m: i as f64 * 100.0,
                y_m: 0.0,
                z_m: 1.5,
                role: Role::Client,
            })
            .collect()
    }

    fn apply_all(plan: &mut FaultPlan, scheduled: &[(Instant, u32)]) -> Vec<FaultRecord> {
        scheduled.iter().map(|(_, i)| plan.apply(*i).0).collect()
    }

    #[test]
    fn a_partition_cuts_the_air_between_groups_until_it_heals() {
        let s = sites(4);
        let mut plan = FaultPlan::new(&s, 1);
        let at = plan.add(
            &Fault::Partition {
                at: Duration::from_secs(10),
                heal_at: Some(Duration::from_secs(20)),
                split: Split::Groups(vec![vec![0, 1]]),
            },
            &s,
        );
        assert_eq!(
            at.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            [
                Instant::ZERO + Duration::from_secs(10),
                Instant::ZERO + Duration::from_secs(20)
            ]
        );
        assert!(plan.reaches(0, 3));
        assert_eq!(
            plan.apply(at[0].1),
            (FaultRecord::Partition { groups: 2 }, None)
        );
        assert!(plan.reaches(0, 1) && plan.reaches(2, 3));
        assert!(!plan.reaches(1, 2) && !plan.reaches(3, 0));
        plan.apply(at[1].1);
        assert!(plan.reaches(1, 2));
    }

    #[test]
    fn a_line_splits_by_side() {
        let s = sites(4);
        let line = Split::Line([[150.0, -10.0], [150.0, 10.0]]);
        assert_eq!(line.groups(&s), [1, 1, 0, 0]);
    }

    #[test]
    fn loss_draws_only_while_active_and_only_on_its_links() {
        let s = sites(3);
        let mut plan = FaultPlan::new(&s, 1);
        let at = plan.add(
            &Fault::Loss {
                from: Duration::ZERO,
                until: Some(Duration::from_secs(1)),
                probability: 1.0,
                links: Some(vec![(1, 0)]),
            },
            &s,
        );
        assert_eq!(plan.drops(0, 1), None, "not active yet");
        let records = apply_all(&mut plan, &at[..1]);
        assert_eq!(records, [FaultRecord::LossStart { rule: 0 }]);
        assert_eq!(plan.drops(0, 1), Some(DropReason::InjectedLoss));
        assert_eq!(plan.drops(1, 0), Some(DropReason::InjectedLoss));
        assert_eq!(plan.drops(1, 2), None, "another link");
        plan.apply(at[1].1);
        assert_eq!(plan.drops(0, 1), None, "ended");
    }

    #[test]
    fn crashes_restarts_and_joins_are_lifecycle_events() {
        let s = sites(2);
        let mut plan = FaultPlan::new(&s, 1);
        let crash = plan.add(
            &Fault::Crash {
                at: Duration::from_secs(5),
                node: 1,
                restart_after: Some(Duration::from_secs(3)),
            },
            &s,
        );
        assert_eq!(crash[1].0, Instant::ZERO + Duration::from_secs(8));
        assert_eq!(plan.apply(crash[0].1).1, Some(Lifecycle::Crash(1)));
        assert_eq!(plan.apply(crash[1].1).1, Some(Lifecycle::Restart(1)));
        let join = plan.add(
            &Fault::Join {
                at: Duration::from_secs(9),
                node: 0,
            },
            &s,
        );
        assert_eq!(
            plan.apply(join[0].1),
            (
                FaultRecord::Join {
                    node: node_core::NodeId(0)
                },
                Some(Lifecycle::Join(0))
            )
        );
    }
}
