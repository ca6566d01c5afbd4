//! The answer a planner reads first: one sentence on whether everyone got
//! everything and when, and the warnings a run that passed may still
//! deserve (islands, the duty-cycle cap, a busy channel, low chat reach).
//! The terminal, `summary.md` and `report.html` print the same words.

use crate::Summary;

use super::text::{duration_text, pct_text};

/// Meshtastic's "polite" channel-utilisation level (firmware
/// `AirTime::isTxAllowedChannelUtil`, 25 %): above it okmesh sync sends
/// only control frames.
pub const POLITE_CHANNEL_UTIL_PCT: f64 = 25.0;

/// Meshtastic's stop level (40 %): above it okmesh sync sends nothing.
pub const STOP_CHANNEL_UTIL_PCT: f64 = 40.0;

/// Share of the duty-cycle limit from which a node counts as at the cap.
const DUTY_NEAR_LIMIT: f64 = 0.9;

/// Chat reach (within the hop limit) below which a run gets a warning, %.
const LOW_REACH_PCT: f64 = 50.0;

/// The one-sentence answer and the warnings of a run.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Verdict {
    /// One sentence: did every node get every item, and when.
    pub answer: String,
    /// Whether that is good news: every live node got every item (or, in
    /// a run without items, there was nothing to get).
    pub good: bool,
    /// Things to know even when the run passed, one sentence each.
    pub warnings: Vec<String>,
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The verdict on `s`; `noun` names the items (`manifests`, `facilities`
/// or `items`).
pub fn verdict(s: &Summary, noun: &str) -> Verdict {
    let live = s.nodes_up_at_end;
    let noun = if noun.is_empty() { "items" } else { noun };
    let answer = if s.items > 0 {
        let never = s.nodes_never_converged.unwrap_or(0);
        match (s.items_complete_s, s.nodes_converged_p90_s) {
            (Some(t), p90) => format!(
                "All {live} live nodes held all {} {noun} after {}{}{}.",
                s.items,
                duration_text(t),
                p90.map_or(String::new(), |p| format!(
                    "; 90 % after {}",
                    duration_text(p)
                )),
                s.slowest_node
                    .map_or(String::new(), |n| format!("; slowest node {n}")),
            ),
            (None, p90) => format!(
                "Not converged: {never} of {live} live nodes never held all {} {noun} \
                 ({} hold everything, {} none of them); {}{}.",
                s.items,
                pct_text(s.nodes_holding_all_pct.unwrap_or(0.0)),
                plural(s.nodes_holding_nothing.unwrap_or(0), "holds", "hold"),
                match (p90, s.nodes_converged_p50_s) {
                    (Some(p), _) =>
                        format!("90 % of nodes held everything after {}", duration_text(p)),
                    (None, Some(p)) => format!(
                        "half of the nodes held everything after {}, 90 % never did",
                        duration_text(p)
                    ),
                    (None, None) => "fewer than half of the nodes ever held everything".into(),
                },
                match s.unreachable_nodes.unwrap_or(0) {
                    0 => String::new(),
                    u => format!(
                        "; the mesh is {} and {} out of reach of some item's publisher",
                        plural(s.islands, "island", "islands"),
                        plural(u, "node is", "nodes are"),
                    ),
                },
            ),
        }
    } else if s.messages_originated > 0 {
        format!(
            "No catalogue items were published; chat messages reached {} of the other nodes on \
             average ({} of those within the hop limit), median delivery {}.",
            pct_text(s.reach_pct),
            pct_text(s.reach_within_hop_limit_pct),
            s.message_latency
                .map_or("—".into(), |l| duration_text(l.p50_s)),
        )
    } else {
        "Nothing was published and no chat was sent.".into()
    };

    let mut warnings = Vec::new();
    if s.islands > 1 {
        warnings.push(format!(
            "Islands: the mesh falls apart into {} (the largest holds {} of {} nodes): \
             nodes on different islands never hear each other{}.",
            s.islands,
            s.topology.largest_component,
            s.nodes,
            match s.unreachable_nodes {
                Some(u) if u > 0 => format!(
                    ", and {} cannot get every item whatever the protocol does",
                    plural(u, "live node", "live nodes")
                ),
                _ => String::new(),
            }
        ));
    }
    let limit = s.radio.duty_cycle_limit_pct;
    if limit < 100.0 && s.duty_cycle_max_pct >= DUTY_NEAR_LIMIT * limit {
        warnings.push(format!(
            "Duty cycle at the cap: node {} transmitted {:.1} % of a {} window (limit {limit} %); \
             beyond it frames wait, and are dropped after mesh.max_queue_delay ({} dropped so).",
            s.duty_cycle_max_node,
            s.duty_cycle_max_pct,
            duration_text(s.radio.duty_cycle_window.as_secs_f64()),
            s.drops_by_reason.get("duty_cycle").copied().unwrap_or(0),
        ));
    }
    if s.channel_utilisation_max_pct >= POLITE_CHANNEL_UTIL_PCT {
        warnings.push(format!(
            "Busy channel: node {} saw {:.1} % channel utilisation in a {} bucket (as the device \
             reports it); above {POLITE_CHANNEL_UTIL_PCT} % (Meshtastic's polite level) okmesh sync \
             sends only control frames, above {STOP_CHANNEL_UTIL_PCT} % nothing.",
            s.channel_utilisation_max_node,
            s.channel_utilisation_max_pct,
            duration_text(s.bucket_s),
        ));
    }
    if s.messages_originated > 0 && s.reach_within_hop_limit_pct < LOW_REACH_PCT {
        warnings.push(format!(
            "Low chat reach: a message reached {} of the nodes within its hop limit \
             ({} of all nodes); collisions ({}) and relay limits lose the rest.",
            pct_text(s.reach_within_hop_limit_pct),
            pct_text(s.reach_pct),
            s.collisions,
        ));
    }
    if live < s.nodes {
        warnings.push(format!(
            "{} down at the end of the run {} left out of these figures.",
            plural(s.nodes - live, "node", "nodes"),
            if s.nodes - live == 1 { "is" } else { "are" },
        ));
    }
    let good = s.items == 0 || s.items_complete_s.is_some();
    Verdict {
        answer,
        good,
        warnings,
    }
}
