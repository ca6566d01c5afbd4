//! The words of a run report: what ran, key results, checks and
//! assertions, efficiency, plots and files — shared by `summary.md` and
//! `report.html`.

use crate::AssertionOutcome;
use crate::channel::CLASSES;
use crate::latency::LatencySummary;

use super::document::{Block, Document, Section, mark};
use super::{PLOTS, RunReport, TABLES};

impl RunReport<'_> {
    /// The report's text, shared by `summary.md` and `report.html`.
    pub fn document(&self) -> Document {
        let s = self.summary;
        let t = &s.topology;
        let r = &s.radio;
        let mut doc = Document {
            title: format!("okmesh run: {} (seed {})", s.scenario, s.seed),
            passed: s.passed,
            sections: Vec::new(),
        };
        doc.sections.push(Section {
            title: "What was simulated".into(),
            blocks: vec![Block::pairs(&[
                ("scenario", s.scenario.clone()),
                ("seed", s.seed.to_string()),
                ("nodes", s.nodes.to_string()),
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
                        "{} links ({} one-way), degree {}/{:.1}/{} (min/mean/max), {} component{} (largest {}), diameter {}{} hops",
                        t.links,
                        t.asymmetric_links,
                        t.degree_min,
                        t.degree_mean,
                        t.degree_max,
                        t.components,
                        if t.components == 1 { "" } else { "s" },
                        t.largest_component,
                        if t.diameter_exact { "" } else { "≥ " },
                        t.diameter_hops
                    ),
                ),
                (
                    "trace",
                    format!(
                        "{} events, {} records, hash {}",
                        s.events, s.trace_records, s.trace_hash
                    ),
                ),
            ])],
        });
        let mut key = vec![
            (
                "messages",
                format!(
                    "{} originated; reach {:.1} % of all nodes, {:.1} % of those within the hop limit; max {} hops away",
                    s.messages_originated,
                    s.reach_pct,
                    s.reach_within_hop_limit_pct,
                    s.max_hops_away
                ),
            ),
            ("message delivery latency", latency_text(s.message_latency)),
            (
                "frames",
                format!(
                    "{} sent ({} relays), {} received ({} duplicates, usefulness {:.1} %)",
                    s.frames_sent, s.relays, s.frames_received, s.duplicates, s.usefulness_pct
                ),
            ),
            (
                "losses",
                format!(
                    "{} collisions, {} half-duplex misses, {} drops{}",
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
                "channel",
                format!(
                    "busy {:.2} % of the time on average, {:.2} % in the busiest bucket; nodes transmit {:.2} % of the time on average",
                    s.channel_busy_mean_pct, s.channel_busy_max_pct, s.air_utilisation_pct
                ),
            ),
            (
                "duty cycle",
                format!(
                    "busiest node {:.3} % of any window (limit {} %)",
                    s.duty_cycle_max_pct, r.duty_cycle_limit_pct
                ),
            ),
        ];
        if s.items > 0 {
            key.push((
                "catalogue items",
                format!(
                    "{} seen, {} published; {}; {} of the {} nodes up at the end hold every newest version",
                    s.items,
                    s.items_published,
                    s.items_complete_s.map_or(
                        "not every item reached every node that is up".into(),
                        |t| format!("all held by every node that is up at {}", duration_text(t))
                    ),
                    s.nodes_holding_all_pct
                        .map_or("none".into(), |p| format!("{p:.1} %")),
                    s.nodes_up_at_end
                ),
            ));
            key.push(("item propagation latency", latency_text(s.item_latency)));
        } else {
            key.push(("catalogue items", "none published in this run".into()));
        }
        doc.sections.push(Section {
            title: "Key results".into(),
            blocks: vec![Block::pairs(&key)],
        });

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
                a.value
                    .map_or("unknown metric".into(), |v| format!("got {v:.3}")),
            ]);
        }
        doc.sections.push(Section {
            title: "Checks and assertions".into(),
            blocks: vec![Block::Table {
                head: vec!["".into(), "what".into(), "detail".into()],
                rows,
            }],
        });

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
        ]];
        for (c, class) in CLASSES.iter().enumerate() {
            if totals[c].0 > 0 {
                eff.push(vec![
                    format!("{} frames: count, airtime, bytes on air", class.name()),
                    format!(
                        "{}, {}, {}",
                        totals[c].0,
                        duration_text(totals[c].1 as f64 / 1e6),
                        totals[c].2
                    ),
                ]);
            }
        }
        // Catalogue sync, and its flooding baseline when the scenario ran one.
        for (label, sync) in [("sync", &s.sync), ("flooding baseline", &s.baseline)] {
            let Some(y) = sync else { continue };
            let opt = |v: Option<f64>, unit: &str| {
                v.map_or("never".to_string(), |v| format!("{v:.3}{unit}"))
            };
            eff.push(vec![
                format!("{label}: converged at"),
                opt(y.converged_at_s, " s"),
            ]);
            eff.push(vec![
                format!("{label}: items complete"),
                format!(
                    "{} of {} ({} versions)",
                    y.items_complete, y.items, y.versions
                ),
            ]);
            eff.push(vec![
                format!("{label}: efficiency ratio"),
                format!(
                    "{} ({:.1} data frames per version / (CDS {} x {:.2} fragments))",
                    opt(y.efficiency_ratio, ""),
                    y.data_tx_per_version,
                    y.cds_size,
                    y.fragments_per_version
                ),
            ]);
            let bytes: Vec<String> = y
                .bytes_on_air
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            eff.push(vec![
                format!("{label}: bytes on air by class"),
                bytes.join(", "),
            ]);
            if let Some(v) = y.in_sync_summaries_per_node_per_imax {
                eff.push(vec![
                    format!("{label}: in-sync overhead"),
                    format!(
                        "{v:.3} summaries per node per Imax, {:.1} B per node per hour",
                        y.in_sync_bytes_per_node_hour.unwrap_or(0.0)
                    ),
                ]);
            }
        }
        doc.sections.push(Section {
            title: "Efficiency".into(),
            blocks: vec![Block::Table {
                head: vec!["figure".into(), "value".into()],
                rows: eff,
            }],
        });
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

/// An assertion's bounds as text, e.g. `within 1..=5` or `>= 90`.
pub fn bounds_text(a: &AssertionOutcome) -> String {
    match (a.min, a.max) {
        (Some(lo), Some(hi)) => format!("within {lo}..={hi}"),
        (Some(lo), None) => format!(">= {lo}"),
        (None, Some(hi)) => format!("<= {hi}"),
        (None, None) => String::new(),
    }
}

/// Seconds in a readable unit.
pub fn duration_text(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.2} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.2} h", s / 3600.0)
    }
}
