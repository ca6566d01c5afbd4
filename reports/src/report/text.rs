//! The words of a run report — the answer and its warnings, the catalogue
//! over the whole deployment, the worst-served nodes, what ran, key
//! results, checks and assertions, efficiency, plots and files — shared by
//! `summary.md` and `report.html`. Every term is explained where it
//! appears, and times read in the unit a planner means (s, min or h).

use scenarios::Metric;
use scenarios::MetricUnit;

use crate::AssertionOutcome;
use crate::channel::CLASSES;
use crate::deployment::Deployment;
use crate::latency::LatencySummary;

use super::document::{Block, Document, Section, mark};
use super::verdict::verdict;
use super::{PLOTS, RunReport, TABLES};

/// Rows of the worst-served table.
pub const WORST_SERVED_ROWS: usize = 10;

impl RunReport<'_> {
    /// The report's text, shared by `summary.md` and `report.html`.
    pub fn document(&self) -> Document {
        let s = self.summary;
        let t = &s.topology;
        let r = &s.radio;
        let v = verdict(s, &self.overlay.item_noun);
        let mut doc = Document {
            title: format!("okmesh run: {} (seed {})", s.scenario, s.seed),
            passed: s.passed,
            answer: v.answer,
            answer_good: v.good,
            warnings: v.warnings,
            sections: Vec::new(),
        };
        if s.items > 0 {
            doc.sections.push(self.catalogue_section());
            doc.sections.push(self.worst_served_section());
        }
        let zone = self
            .overlay
            .zone_m
            .map_or("—".to_string(), |[w, h]| zone_text(w, h));
        doc.sections.push(Section {
            title: "What was simulated".into(),
            blocks: vec![Block::pairs(&[
                ("scenario", s.scenario.clone()),
                ("seed", s.seed.to_string()),
                ("nodes", s.nodes.to_string()),
                ("zone", zone),
                ("simulated time", duration_text(s.sim_time_s)),
                (
                    "radio",
                    format!(
                        "{} {} (SF{} {} kHz {}), {} dBm, sensitivity {:.1} dBm, {} path loss",
                        r.region,
                        r.preset,
                        r.sf,
                        r.bandwidth_khz,
                        r.coding_rate,
                        r.tx_power_dbm,
                        r.sensitivity_dbm,
                        r.path_loss
                    ),
                ),
                (
                    "duty-cycle limit",
                    format!(
                        "{} % per {}",
                        r.duty_cycle_limit_pct,
                        duration_text(r.duty_cycle_window.as_secs_f64())
                    ),
                ),
                (
                    "topology",
                    format!(
                        "{} links ({} one-way), degree {}/{:.1}/{} (min/mean/max: neighbours \
                         each node decodes or is decoded by), {} (largest {}), diameter {}{} hops \
                         (the longest shortest path within the largest island)",
                        t.links,
                        t.asymmetric_links,
                        t.degree_min,
                        t.degree_mean,
                        t.degree_max,
                        count(t.components, "island", "islands"),
                        t.largest_component,
                        if t.diameter_exact { "" } else { "≥ " },
                        t.diameter_hops
                    ),
                ),
                (
                    "trace",
                    format!(
                        "{} events, {} records, hash {} (equal hashes: identical runs)",
                        s.events, s.trace_records, s.trace_hash
                    ),
                ),
            ])],
        });
        doc.sections.push(self.key_results_section());

        let mut rows = Vec::new();
        for c in &s.checks {
            rows.push(vec![
                mark(c.passed).into(),
                format!("check {}", c.name),
                c.detail.clone(),
            ]);
        }
        for a in &s.assertions {
            rows.push(vec![
                mark(a.passed).into(),
                format!("assert {} {}", a.metric, bounds_text(a)),
                format!("got {}", value_text(a.metric, a.value)),
            ]);
        }
        doc.sections.push(Section {
            title: "Checks and assertions".into(),
            blocks: vec![Block::Table {
                head: vec!["result".into(), "what".into(), "detail".into()],
                rows,
            }],
        });
        doc.sections.push(self.efficiency_section());
        doc.sections.push(Section {
            title: "Plots".into(),
            blocks: PLOTS
                .iter()
                .enumerate()
                .map(|(k, (stem, caption))| Block::Plot {
                    index: k,
                    stem,
                    caption,
                })
                .collect(),
        });
        doc.sections.push(Section {
            title: "Files".into(),
            blocks: vec![Block::Table {
                head: vec!["file".into(), "what".into()],
                rows: TABLES
                    .iter()
                    .map(|(f, w)| vec![f.to_string(), w.to_string()])
                    .chain([
                        vec![
                            "summary.json".into(),
                            "every figure, machine-readable".into(),
                        ],
                        vec![
                            "topology.json".into(),
                            "degree, components, diameter".into(),
                        ],
                        vec![
                            "scenario.resolved.yaml".into(),
                            "the exact run, every default filled in".into(),
                        ],
                        vec!["*.png, *.svg".into(), "the plots".into()],
                    ])
                    .collect(),
            }],
        });
        doc
    }

    fn noun(&self) -> &str {
        if self.overlay.item_noun.is_empty() {
            "items"
        } else {
            &self.overlay.item_noun
        }
    }

    fn catalogue_section(&self) -> Section {
        let s = self.summary;
        let live = s.nodes_up_at_end;
        let noun = self.noun();
        let when = |t: Option<f64>| t.map_or("never".to_string(), duration_text);
        let mut rows = vec![
            vec![
                format!("every live node held all {} {noun}", s.items),
                when(s.items_complete_s),
                format!(
                    "`converged_at_s`: the headline; every node up at the end counts, \
                     islands included ({live} nodes)"
                ),
            ],
            vec![
                "50 % / 90 % / 99 % of live nodes held everything".into(),
                format!(
                    "{} / {} / {}",
                    when(s.nodes_converged_p50_s),
                    when(s.nodes_converged_p90_s),
                    when(s.nodes_converged_p99_s)
                ),
                "`nodes_converged_p50_s`, `_p90_s`, `_p99_s`".into(),
            ],
            vec![
                "live nodes holding everything at the end".into(),
                format!(
                    "{} of {live} ({})",
                    live - s.nodes_never_converged.unwrap_or(0),
                    pct_text(s.nodes_holding_all_pct.unwrap_or(0.0))
                ),
                format!(
                    "{} never held everything, {} none of the {noun}",
                    s.nodes_never_converged.unwrap_or(0),
                    count(s.nodes_holding_nothing.unwrap_or(0), "holds", "hold")
                ),
            ],
            vec![
                "islands".into(),
                s.islands.to_string(),
                format!(
                    "connected pieces of the mesh at the start (largest: {} of {} nodes); \
                     1 means every node can reach every other",
                    s.topology.largest_component, s.nodes
                ),
            ],
            vec![
                "out of reach".into(),
                format!(
                    "{} live node{}",
                    s.unreachable_nodes.unwrap_or(0),
                    if s.unreachable_nodes == Some(1) {
                        ""
                    } else {
                        "s"
                    }
                ),
                "not on the island of some item's publisher: no protocol can bring them \
                 everything (`unreachable_nodes`)"
                    .into(),
            ],
        ];
        if let Some(y) = &s.sync {
            rows.push(vec![
                "reachable nodes only".into(),
                format!(
                    "{}; {} of {} {noun} complete",
                    when(y.reachable_converged_at_s),
                    y.reachable_items_complete,
                    y.items
                ),
                "what sync achieved where it could: each item counted over its publisher's \
                 island only (`reachable_converged_at_s`) — not the deployment's answer"
                    .into(),
            ]);
            rows.push(vec![
                format!("{noun} complete"),
                format!("{} of {}", y.items_complete, y.items),
                "held by every live node at the end".into(),
            ]);
        }
        rows.push(vec![
            "item propagation latency".into(),
            latency_text(s.item_latency),
            "from a version's publication to its storing at each node".into(),
        ]);
        Section {
            title: "Catalogue over the whole deployment".into(),
            blocks: vec![Block::Table {
                head: vec!["figure".into(), "value".into(), "what it means".into()],
                rows,
            }],
        }
    }

    fn worst_served_section(&self) -> Section {
        let d = Deployment::of(self.info, self.metrics);
        let rows = d
            .worst_served(WORST_SERVED_ROWS)
            .into_iter()
            .map(|i| {
                let n = &d.nodes[i as usize];
                let site = &self.info.sites[i as usize];
                vec![
                    i.to_string(),
                    site.role.name().to_string(),
                    format!("{:.2}, {:.2}", site.x_m / 1000.0, site.y_m / 1000.0),
                    format!("{} ({})", n.island, count(n.island_size, "node", "nodes")),
                    self.info.degrees[i as usize].to_string(),
                    format!("{} of {}", n.items_held, d.items),
                    n.converged_at.map_or("never".into(), |t| {
                        duration_text((t - node_core::Instant::ZERO).as_secs_f64())
                    }),
                    if n.unreachable {
                        "out of reach of some item's publisher".into()
                    } else if n.converged_at.is_none() {
                        "reachable, not finished in time".into()
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        Section {
            title: "Worst-served nodes".into(),
            blocks: vec![Block::Table {
                head: [
                    "node",
                    "role",
                    "at (km east, north)",
                    "island (size)",
                    "neighbours",
                    "items held",
                    "held everything at",
                    "why",
                ]
                .map(String::from)
                .to_vec(),
                rows,
            }],
        }
    }

    fn key_results_section(&self) -> Section {
        let s = self.summary;
        let r = &s.radio;
        let key = vec![
            (
                "messages",
                format!(
                    "{} originated; each reached {} of all other nodes on average, {} of those \
                     within its hop limit (hop limit + 1 links away); at most {} hops away",
                    s.messages_originated,
                    pct_text(s.reach_pct),
                    pct_text(s.reach_within_hop_limit_pct),
                    s.max_hops_away
                ),
            ),
            ("message delivery latency", latency_text(s.message_latency)),
            (
                "frames",
                format!(
                    "{} sent ({} relays), {} received ({} duplicates; usefulness {}: first \
                     receptions as a share of all receptions)",
                    s.frames_sent,
                    s.relays,
                    s.frames_received,
                    s.duplicates,
                    pct_text(s.usefulness_pct)
                ),
            ),
            (
                "losses",
                format!(
                    "{} collisions, {} half-duplex misses (arrived while the receiver was \
                     transmitting), {} drops{}",
                    s.collisions,
                    s.half_duplex_misses,
                    s.drops,
                    if s.drops_by_reason.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " ({})",
                            s.drops_by_reason
                                .iter()
                                .map(|(k, v)| format!("{k} {v}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ),
            ),
            (
                "channel utilisation per node",
                format!(
                    "{} on average, busiest node {} ({} in a {} bucket): as a Meshtastic device \
                     reports it — its own transmissions and every frame it received or lost to \
                     a collision",
                    pct_text(s.channel_utilisation_mean_pct),
                    s.channel_utilisation_max_node,
                    pct_text(s.channel_utilisation_max_pct),
                    duration_text(s.bucket_s),
                ),
            ),
            (
                "air anywhere in the zone",
                format!(
                    "something on the air {} of the time ({} in the busiest bucket), nodes \
                     transmit {} of the time on average",
                    pct_text(s.channel_busy_mean_pct),
                    pct_text(s.channel_busy_max_pct),
                    pct_text(s.air_utilisation_pct)
                ),
            ),
            (
                "duty cycle",
                format!(
                    "busiest node {} transmitted {:.3} % of a {} window (limit {} %)",
                    s.duty_cycle_max_node,
                    s.duty_cycle_max_pct,
                    duration_text(r.duty_cycle_window.as_secs_f64()),
                    r.duty_cycle_limit_pct
                ),
            ),
        ];
        Section {
            title: "Radio and chat".into(),
            blocks: vec![Block::pairs(&key)],
        }
    }

    fn efficiency_section(&self) -> Section {
        let s = self.summary;
        let delivered = s.reach_pct / 100.0
            * s.messages_originated as f64
            * f64::from(s.nodes.saturating_sub(1));
        let totals = self.metrics.channel().totals();
        let mut eff = vec![vec![
            "frames sent per message delivery".to_string(),
            if delivered > 0.0 {
                format!("{:.3}", s.frames_sent as f64 / delivered)
            } else {
                "—".into()
            },
            "every transmission (originals, relays, sync) per chat message first received"
                .to_string(),
        ]];
        for (c, class) in CLASSES.iter().enumerate() {
            if totals[c].0 > 0 {
                eff.push(vec![
                    format!("{} frames", class.name()),
                    format!(
                        "{}, {} on air, {} B",
                        totals[c].0,
                        duration_text(totals[c].1 as f64 / 1e6),
                        totals[c].2
                    ),
                    "count, airtime, LoRa bytes".into(),
                ]);
            }
        }
        // Catalogue sync, and its flooding baseline when the scenario ran one.
        for (label, sync) in [("sync", &s.sync), ("flooding baseline", &s.baseline)] {
            let Some(y) = sync else { continue };
            let when = |v: Option<f64>| v.map_or("never".to_string(), duration_text);
            eff.push(vec![
                format!("{label}: every live node held everything"),
                when(y.converged_at_s),
                format!(
                    "{} of {} items complete; reachable nodes only: {}",
                    y.items_complete,
                    y.items,
                    when(y.reachable_converged_at_s)
                ),
            ]);
            eff.push(vec![
                format!("{label}: efficiency ratio"),
                format!(
                    "{} ({:.1} data frames per version / (CDS {} × {:.2} fragments))",
                    y.efficiency_ratio.map_or("—".into(), |e| format!("{e:.2}")),
                    y.data_tx_per_version,
                    y.cds_size,
                    y.fragments_per_version
                ),
                "data transmissions per version ÷ the fewest a broadcast could take: the \
                 size of a connected dominating set (CDS: a connected set of nodes every \
                 node is in or next to; greedy, of the largest island) × fragments per \
                 version; 1 is ideal"
                    .into(),
            ]);
            let r = &y.data_reach;
            if let (Some(unhelpful), Some(lost)) = (r.unhelpful_pct(), r.lacking_lost_pct()) {
                eff.push(vec![
                    format!("{label}: where data frames went"),
                    format!(
                        "{unhelpful:.1} % helped no node; {lost:.1} % of needed receptions lost"
                    ),
                    format!(
                        "of {} data frames, {} reached no node lacking the version; receptions at \
                         nodes lacking it: {} decoded, {} lost to collisions or their own \
                         transmission; {} decoded by nodes already holding it",
                        r.frames,
                        r.frames_unhelpful,
                        r.lacking_decoded,
                        r.lacking_lost,
                        r.holding_decoded
                    ),
                ]);
            }
            let bytes: Vec<String> = y
                .bytes_on_air
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            eff.push(vec![
                format!("{label}: bytes on air by class"),
                bytes.join(", "),
                "LoRa payload bytes of every transmission".into(),
            ]);
            if let Some(v) = y.in_sync_summaries_per_node_per_imax {
                eff.push(vec![
                    format!("{label}: in-sync overhead"),
                    format!(
                        "{v:.3} summaries per node per Imax, {:.1} B per node per hour",
                        y.in_sync_bytes_per_node_hour.unwrap_or(0.0)
                    ),
                    "what keeping in sync costs once every reachable node holds everything \
                     (Imax: Trickle's longest interval)"
                        .into(),
                ]);
            }
        }
        Section {
            title: "Efficiency".into(),
            blocks: vec![Block::Table {
                head: vec!["figure".into(), "value".into(), "what it means".into()],
                rows: eff,
            }],
        }
    }
}

fn count(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn latency_text(l: Option<LatencySummary>) -> String {
    l.map_or("none recorded".into(), |l| {
        format!(
            "p50 {} · p90 {} · p99 {} · max {} ({} deliveries)",
            duration_text(l.p50_s),
            duration_text(l.p90_s),
            duration_text(l.p99_s),
            duration_text(l.max_s),
            l.count
        )
    })
}

/// A zone's size, e.g. `10 × 10 km`.
pub fn zone_text(w_m: f64, h_m: f64) -> String {
    let km = |m: f64| {
        let k = m / 1000.0;
        if k.fract() == 0.0 {
            format!("{k:.0}")
        } else {
            format!("{k:.1}")
        }
    };
    format!("{} × {} km", km(w_m), km(h_m))
}

/// An assertion's bounds as text, e.g. `within 1..=5` or `>= 90`.
pub fn bounds_text(a: &AssertionOutcome) -> String {
    match (a.min, a.max) {
        (Some(lo), Some(hi)) => format!("within {lo}..={hi}"),
        (Some(lo), None) => format!(">= {lo}"),
        (None, Some(hi)) => format!("<= {hi}"),
        (None, None) => String::new(),
    }
}

/// A metric's value as a planner reads it: `never` for a time that never
/// came, `no value` when the run has none, seconds in s, min or h (with
/// the exact seconds), percentages with `%`.
pub fn value_text(metric: Metric, value: Option<f64>) -> String {
    match value {
        None => "no value".into(),
        Some(v) if v.is_infinite() => "never".into(),
        Some(v) => match metric.unit() {
            MetricUnit::Seconds if v >= 120.0 => format!("{} ({v:.0} s)", duration_text(v)),
            MetricUnit::Seconds => duration_text(v),
            MetricUnit::Percent => pct_text(v),
            MetricUnit::Number if v.fract() == 0.0 => format!("{v:.0}"),
            MetricUnit::Number => format!("{v:.3}"),
        },
    }
}

/// A percentage with one decimal, e.g. `42.4 %` (three below 0.1 %).
pub fn pct_text(p: f64) -> String {
    if p != 0.0 && p.abs() < 0.1 {
        format!("{p:.3} %")
    } else {
        format!("{p:.1} %")
    }
}

/// Seconds in a readable unit.
pub fn duration_text(s: f64) -> String {
    if s.is_infinite() {
        "never".into()
    } else if s < 120.0 {
        format!("{s:.2} s")
    } else if s < 3600.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        // From one hour on, hours: what a planner means.
        format!("{:.2} h", s / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_in_their_units() {
        assert_eq!(value_text(Metric::ConvergedAtS, None), "no value");
        assert_eq!(
            value_text(Metric::ConvergedAtS, Some(f64::INFINITY)),
            "never"
        );
        assert_eq!(
            value_text(Metric::ConvergedAtS, Some(18_298.0)),
            "5.08 h (18298 s)"
        );
        assert_eq!(value_text(Metric::ReachPct, Some(42.44)), "42.4 %");
        assert_eq!(value_text(Metric::Islands, Some(3.0)), "3");
        assert_eq!(zone_text(10_000.0, 2_500.0), "10 × 2.5 km");
    }
}
