//! `workload.signals`: supply and demand signals in a scenario — which
//! nodes are facilities and what they can do, the demands, confirmations
//! and queries made from chosen or random nodes — checked with field paths
//! and resolved into the simulator's [`SignalPlan`] when the scenario
//! loads. Every random choice is drawn from the scenario's seed.
//!
//! ```yaml
//! workload:
//!   signals:
//!     epidemic_p: 0.7          # rebroadcast probability (default 0.7)
//!     urgent_hops: 6           # relay budget (default 6, at most 15)
//!     facilities:
//!       - count: 40            # random distinct nodes (or `nodes: [..]`)
//!         capabilities: [3d-printing, material=pla]
//!         announce_until: 10m  # announce at a random time before this
//!     demands:
//!       - count: 4             # at random times in [from, until]
//!         from: 1h
//!         until: 2h
//!         quantity: 40
//!         deadline: 2h         # after creation; also the lifetime
//!         tags: [3d-printing]
//!         urgent: true
//!         flood: false         # true: the plain-flooding baseline
//!         confirmations: 2     # concerned facilities that confirm
//!         confirm_after: 10m
//!     queries:
//!       - count: 2
//!         from: 3h
//!         need: [glass-blowing]
//!         ttl: 30m
//!         flood: false         # true: the plain-flooding baseline
//! ```

use std::collections::BTreeSet;

use node_core::signals::{MAX_RELAY_HOPS, MAX_TTL_S, SignalConfig, Tag, satisfies, tags_from};
use node_core::{Duration, ItemId, Rng};
use serde::{Deserialize, Serialize};
use sim::config::{SignalAction, SignalPlan, SignalWhat};

use crate::duration;
use crate::path::FieldPath;
use crate::workload::{draw_node, draw_time, shuffle};

/// The `workload.signals` section.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalWorkload {
    /// Rebroadcast probability of epidemic relays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epidemic_p: Option<f64>,
    /// Relay budget of urgent signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgent_hops: Option<u8>,
    /// Facilities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facilities: Vec<FacilitySpec>,
    /// Demands (with their confirmations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub demands: Vec<DemandSpec>,
    /// Capability queries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<QuerySpec>,
    /// The resolved plan.
    #[serde(skip)]
    pub plan: SignalPlan,
}

/// Facilities with one set of capabilities.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilitySpec {
    /// How many, at random nodes not already facilities (with `nodes`: at
    /// most that many of them; default all listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Which nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<u32>>,
    /// What they can do.
    pub capabilities: Vec<String>,
    /// Announce the capabilities at a random time before this (default:
    /// never; they then answer queries only).
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub announce_until: Option<Duration>,
}

/// Demands made at random times and nodes.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandSpec {
    /// How many demands (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// Which nodes demand (default: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<u32>>,
    /// Earliest time.
    #[serde(with = "duration", default)]
    pub from: Duration,
    /// Latest time (default: `from`).
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<Duration>,
    /// Quantity wanted.
    #[serde(default = "one")]
    pub quantity: u32,
    /// Deadline after creation (also the lifetime).
    #[serde(with = "duration")]
    pub deadline: Duration,
    /// What making it takes.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Spread by epidemic relays.
    #[serde(default)]
    pub urgent: bool,
    /// Spread by plain flooding (the baseline).
    #[serde(default)]
    pub flood: bool,
    /// Concerned facilities that confirm each demand.
    #[serde(default)]
    pub confirmations: u32,
    /// When they confirm, after the demand.
    #[serde(with = "duration", default = "ten_minutes")]
    pub confirm_after: Duration,
}

/// Capability queries made at random times and nodes.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    /// How many (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// Which nodes ask (default: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<u32>>,
    /// Earliest time.
    #[serde(with = "duration", default)]
    pub from: Duration,
    /// Latest time (default: `from`).
    #[serde(
        default,
        with = "duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<Duration>,
    /// Tags needed.
    pub need: Vec<String>,
    /// Lifetime.
    #[serde(with = "duration")]
    pub ttl: Duration,
    /// Spread by plain flooding (the baseline), not asked of the book or
    /// routed by filters.
    #[serde(default)]
    pub flood: bool,
}

fn one() -> u32 {
    1
}

fn ten_minutes() -> Duration {
    Duration::from_secs(600)
}

type Problem = (FieldPath, String);

/// Checks `workload.signals` and resolves it into the simulator's plan
/// for a mesh of `nodes` nodes with root seed `seed`.
pub fn resolve(w: &SignalWorkload, nodes: u32, seed: u64) -> Result<SignalPlan, Problem> {
    let root = FieldPath::root().key("workload").key("signals");
    let mut config = SignalConfig::default();
    if let Some(p) = w.epidemic_p {
        if !(p > 0.0 && p <= 1.0) {
            return Err((root.key("epidemic_p"), format!("{p} is not in (0, 1]")));
        }
        config.epidemic_p = p;
    }
    if let Some(h) = w.urgent_hops {
        if h == 0 || h > MAX_RELAY_HOPS {
            return Err((
                root.key("urgent_hops"),
                format!("{h} is not in 1..={MAX_RELAY_HOPS}"),
            ));
        }
        config.urgent_hops = h;
    }
    let check_nodes = |at: &FieldPath, list: &Option<Vec<u32>>| -> Result<(), Problem> {
        match list {
            Some(l) if l.is_empty() => Err((at.key("nodes"), "an empty list".into())),
            Some(l) => match l.iter().find(|n| **n >= nodes) {
                Some(n) => Err((at.key("nodes"), format!("no node {n} in a mesh of {nodes}"))),
                None => Ok(()),
            },
            None => Ok(()),
        }
    };
    let tags_at = |at: FieldPath, texts: &[String]| -> Result<Vec<Tag>, Problem> {
        tags_from(texts.iter().map(String::as_str)).map_err(|e| (at, e.to_string()))
    };
    let ttl_at = |at: FieldPath, d: Duration| -> Result<Duration, Problem> {
        let s = d.as_micros() / 1_000_000;
        if s == 0 || s > MAX_TTL_S {
            return Err((at, "must be 1 s to 30 days".into()));
        }
        Ok(d)
    };
    let mut actions: Vec<SignalAction> = Vec::new();
    let mut facilities: Vec<(u32, Vec<Tag>)> = Vec::new();
    let mut taken: BTreeSet<u32> = BTreeSet::new();
    for (i, f) in w.facilities.iter().enumerate() {
        let at = root.key("facilities").index(i);
        check_nodes(&at, &f.nodes)?;
        let caps = tags_at(at.key("capabilities"), &f.capabilities)?;
        if caps.is_empty() {
            return Err((
                at.key("capabilities"),
                "a facility needs a capability".into(),
            ));
        }
        let mut pool: Vec<u32> = f
            .nodes
            .clone()
            .unwrap_or_else(|| (0..nodes).collect())
            .into_iter()
            .filter(|n| !taken.contains(n))
            .collect();
        pool.sort();
        pool.dedup();
        let mut rng = Rng::derive(seed, "workload.signals.facilities", i as u64);
        shuffle(&mut pool, &mut rng);
        let want = f.count.map_or(pool.len(), |c| c as usize);
        if want > pool.len() {
            return Err((
                at.key("count"),
                format!("{want} facilities asked for, {} nodes left", pool.len()),
            ));
        }
        for n in pool.into_iter().take(want) {
            taken.insert(n);
            facilities.push((n, caps.clone()));
            if let Some(until) = f.announce_until {
                actions.push(SignalAction {
                    at: draw_time(&mut rng, Duration::ZERO, Some(until)),
                    node: n,
                    what: SignalWhat::Announce {
                        ttl: Duration::from_secs(MAX_TTL_S),
                    },
                });
            }
        }
    }
    facilities.sort_by_key(|(n, _)| *n);
    for (i, d) in w.demands.iter().enumerate() {
        let at = root.key("demands").index(i);
        check_nodes(&at, &d.nodes)?;
        let tags = tags_at(at.key("tags"), &d.tags)?;
        let deadline = ttl_at(at.key("deadline"), d.deadline)?;
        if d.quantity == 0 || d.quantity > node_core::signals::MAX_QUANTITY {
            return Err((at.key("quantity"), "must be 1 to 1,000,000".into()));
        }
        if d.urgent && d.flood {
            return Err((
                at.key("flood"),
                "a demand is urgent (epidemic) or flooded, not both".into(),
            ));
        }
        let concerned: Vec<u32> = facilities
            .iter()
            .filter(|(_, caps)| satisfies(caps, &tags))
            .map(|(n, _)| *n)
            .collect();
        if d.confirmations as usize > concerned.len() {
            return Err((
                at.key("confirmations"),
                format!(
                    "{} confirmations asked for, {} facilities have {:?}",
                    d.confirmations,
                    concerned.len(),
                    d.tags
                ),
            ));
        }
        let mut rng = Rng::derive(seed, "workload.signals.demands", i as u64);
        for k in 0..d.count {
            let t = draw_time(&mut rng, d.from, d.until);
            let node = draw_node(&mut rng, d.nodes.as_deref(), nodes);
            let mut design = [0u8; 16];
            design[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
            design[8..12].copy_from_slice(&(i as u32).to_le_bytes());
            design[12..].copy_from_slice(&k.to_le_bytes());
            let index = actions.len();
            actions.push(SignalAction {
                at: t,
                node,
                what: SignalWhat::Demand {
                    design: ItemId(design),
                    quantity: d.quantity,
                    deadline_after: deadline,
                    tags: tags.clone(),
                    urgent: d.urgent,
                    flood: d.flood,
                },
            });
            let mut who: Vec<u32> = concerned.iter().copied().filter(|n| *n != node).collect();
            shuffle(&mut who, &mut rng);
            for f in who.into_iter().take(d.confirmations as usize) {
                actions.push(SignalAction {
                    // Confirmations of one demand in the same second race.
                    at: t + d.confirm_after,
                    node: f,
                    what: SignalWhat::Confirm {
                        demand: index,
                        quantity: d.quantity,
                    },
                });
            }
        }
    }
    for (i, q) in w.queries.iter().enumerate() {
        let at = root.key("queries").index(i);
        check_nodes(&at, &q.nodes)?;
        let need = tags_at(at.key("need"), &q.need)?;
        if need.is_empty() {
            return Err((at.key("need"), "a query needs at least one tag".into()));
        }
        let ttl = ttl_at(at.key("ttl"), q.ttl)?;
        let mut rng = Rng::derive(seed, "workload.signals.queries", i as u64);
        for _ in 0..q.count {
            actions.push(SignalAction {
                at: draw_time(&mut rng, q.from, q.until),
                node: draw_node(&mut rng, q.nodes.as_deref(), nodes),
                what: SignalWhat::Query {
                    need: need.clone(),
                    ttl,
                    flood: q.flood,
                },
            });
        }
    }
    // Stable: a confirmation stays after its demand at equal times.
    let mut order: Vec<usize> = (0..actions.len()).collect();
    order.sort_by_key(|&k| (actions[k].at, k));
    let remap: Vec<usize> = {
        let mut r = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            r[old] = new;
        }
        r
    };
    let mut sorted: Vec<SignalAction> = order.iter().map(|&k| actions[k].clone()).collect();
    for a in &mut sorted {
        if let SignalWhat::Confirm { demand, .. } = &mut a.what {
            *demand = remap[*demand];
        }
    }
    Ok(SignalPlan {
        config,
        facilities,
        actions: sorted,
    })
}
