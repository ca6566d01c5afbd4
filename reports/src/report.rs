//! A run's report: the CSV tables, the plots (PNG and SVG), one
//! self-contained `report.html` (plots inline as SVG, no external
//! references) and `summary.md` (the same text, plots linked as PNG).
//!
//! The report is written from the finished [`Metrics`] and [`Summary`];
//! it never looks at the trace again, so making it costs the same for a
//! run of a minute or a day.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sim::check::DutyCycleMeter;
use sim::trace::RunInfo;

use crate::channel::CLASSES;
use crate::latency::{LatencySummary, cdf};
use crate::plot::{
    AirtimePlot, ChannelPlot, CoveragePlot, LatencyPlot, MapNode, MapPlot, Plot, PlotError,
    TimeUnit, to_png, to_svg,
};
use crate::{AssertionOutcome, Metrics, Summary, tables};

/// Largest number of links drawn on the map (beyond it every k-th link is
/// drawn, so that the SVG stays a few megabytes at most).
pub const MAX_MAP_LINKS: usize = 20_000;

/// What the map shows besides the metrics: the mesh links and partitions.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct MapOverlay {
    /// Undirected mesh links (decodable in at least one direction).
    pub links: Vec<(u32, u32)>,
    /// Each node's group in the run's first partition (empty: none).
    pub partition_groups: Vec<u16>,
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A plot could not be drawn.
    #[error("{name}: {source}")]
    Plot {
        /// The plot.
        name: &'static str,
        /// Why.
        source: PlotError,
    },
}

/// Every plot of a run report.
#[derive(Clone, Debug)]
pub enum AnyPlot {
    /// The map.
    Map(MapPlot),
    /// Coverage over time.
    Coverage(CoveragePlot),
    /// Channel utilisation.
    Channel(ChannelPlot),
    /// Airtime per node.
    Airtime(AirtimePlot),
    /// Latency CDF.
    Latency(LatencyPlot),
}

impl Plot for AnyPlot {
    fn size(&self) -> (u32, u32) {
        match self {
            AnyPlot::Map(p) => p.size(),
            AnyPlot::Coverage(p) => p.size(),
            AnyPlot::Channel(p) => p.size(),
            AnyPlot::Airtime(p) => p.size(),
            AnyPlot::Latency(p) => p.size(),
        }
    }

    fn draw<DB: plotters::prelude::DrawingBackend>(
        &self,
        root: &plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), PlotError> {
        match self {
            AnyPlot::Map(p) => p.draw(root),
            AnyPlot::Coverage(p) => p.draw(root),
            AnyPlot::Channel(p) => p.draw(root),
            AnyPlot::Airtime(p) => p.draw(root),
            AnyPlot::Latency(p) => p.draw(root),
        }
    }
}

/// The plot files of a run report: (file stem, caption).
pub const PLOTS: [(&str, &str); 5] = [
    (
        "map",
        "Nodes and links, coloured by when each node held everything",
    ),
    ("coverage", "Share of nodes holding each item over time"),
    ("channel", "Channel utilisation over time"),
    ("airtime", "Airtime per node"),
    ("latency", "Latency distribution"),
];

/// The CSV files of a run: (file name, what).
pub const TABLES: [(&str, &str); 5] = [
    ("nodes.csv", "one row per node"),
    ("items.csv", "one row per catalogue item"),
    (
        "coverage.csv",
        "per time bucket and item, nodes holding its newest version",
    ),
    (
        "channel.csv",
        "per time bucket, channel busy share and airtime by frame class",
    ),
    (
        "latency.csv",
        "message delivery and item propagation percentiles",
    ),
];

/// A finished run, ready to be reported.
#[derive(Clone, Copy, Debug)]
pub struct RunReport<'a> {
    /// What ran.
    pub info: &'a RunInfo,
    /// Its metrics.
    pub metrics: &'a Metrics,
    /// Its duty-cycle measurements.
    pub duty: &'a DutyCycleMeter,
    /// Its summary.
    pub summary: &'a Summary,
    /// Links and partitions for the map.
    pub overlay: &'a MapOverlay,
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ReportError> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|source| ReportError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

impl RunReport<'_> {
    /// The CSV tables: (file name, text).
    pub fn tables(&self) -> Vec<(&'static str, String)> {
        let m = self.metrics;
        vec![
            ("nodes.csv", tables::nodes_csv(self.info, m, self.duty)),
            ("items.csv", tables::items_csv(m)),
            ("coverage.csv", tables::coverage_csv(m)),
            ("channel.csv", tables::channel_csv(m)),
            ("latency.csv", tables::latency_csv(m)),
        ]
    }

    /// Writes the CSV tables to `dir`.
    pub fn write_tables(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        self.tables()
            .iter()
            .map(|(name, text)| write_file(dir, name, text.as_bytes()))
            .collect()
    }

    /// The plots, in [`PLOTS`] order.
    pub fn plots(&self) -> Vec<AnyPlot> {
        vec![
            AnyPlot::Map(self.map()),
            AnyPlot::Coverage(self.coverage()),
            AnyPlot::Channel(self.channel()),
            AnyPlot::Airtime(self.airtime()),
            AnyPlot::Latency(self.latency()),
        ]
    }

    fn unit(&self) -> TimeUnit {
        TimeUnit::for_span(self.info.sim_time.as_secs_f64())
    }

    fn title(&self, what: &str) -> String {
        format!("{} · seed {} · {what}", self.info.scenario, self.info.seed)
    }

    fn map(&self) -> MapPlot {
        let m = self.metrics;
        let items = !m.items().items().is_empty();
        let unit = self.unit();
        let originated: u64 = m.nodes().iter().map(|n| n.originated).sum();
        let nodes = self
            .info
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let nm = &m.nodes()[i];
                let value = if items {
                    m.items()
                        .converged_at(i)
                        .map(|t| (t - node_core::Instant::ZERO).as_secs_f64() / unit.secs)
                } else {
                    let others = originated - nm.originated;
                    Some(if others == 0 {
                        0.0
                    } else {
                        100.0 * nm.received as f64 / others as f64
                    })
                };
                MapNode {
                    x_m: s.x_m,
                    y_m: s.y_m,
                    value,
                    down: !m.up()[i],
                    crashed: nm.crashes > 0,
                    group: self.overlay.partition_groups.get(i).copied().unwrap_or(0),
                }
            })
            .collect();
        let links = &self.overlay.links;
        let step = links.len().div_ceil(MAX_MAP_LINKS).max(1);
        MapPlot {
            title: self.title(if items {
                "time to hold every item"
            } else {
                "share of chat messages received"
            }),
            value_label: if items { "converged" } else { "received" }.into(),
            value_unit: if items { unit.name } else { "%" }.into(),
            low_is_good: items,
            nodes,
            links: links.iter().step_by(step).copied().collect(),
        }
    }

    fn coverage(&self) -> CoveragePlot {
        let m = self.metrics;
        let n = m.nodes().len().max(1) as f64;
        let timeline = m.channel().timeline();
        let mut items: Vec<Vec<(f64, f64)>> = vec![Vec::new(); m.items().items().len()];
        for (b, holders) in m.items().coverage().iter().enumerate() {
            let t = timeline.end_of_us(b) as f64 / 1e6;
            for (i, h) in holders.iter().enumerate() {
                items[i].push((t, 100.0 * f64::from(*h) / n));
            }
        }
        CoveragePlot {
            title: self.title("coverage"),
            unit: self.unit(),
            end_s: self.info.sim_time.as_secs_f64(),
            items,
        }
    }

    fn channel(&self) -> ChannelPlot {
        let ch = self.metrics.channel();
        let timeline = ch.timeline();
        let buckets = ch.buckets();
        let len = |b: usize| (timeline.end_of_us(b) - timeline.start_us(b)).max(1) as f64;
        let totals = ch.totals();
        ChannelPlot {
            title: self.title("channel utilisation"),
            unit: self.unit(),
            t_s: (0..buckets.len())
                .map(|b| timeline.end_of_us(b) as f64 / 1e6)
                .collect(),
            busy_pct: buckets
                .iter()
                .enumerate()
                .map(|(b, x)| 100.0 * x.busy_us as f64 / len(b))
                .collect(),
            classes: CLASSES
                .iter()
                .enumerate()
                .filter(|(c, _)| totals[*c].0 > 0)
                .map(|(c, class)| {
                    (
                        class.name().to_string(),
                        buckets
                            .iter()
                            .enumerate()
                            .map(|(b, x)| 100.0 * x.airtime_us[c] as f64 / len(b))
                            .collect(),
                    )
                })
                .collect(),
        }
    }

    fn airtime(&self) -> AirtimePlot {
        let run_us = self.info.sim_time.as_micros().max(1) as f64;
        AirtimePlot {
            title: self.title("airtime per node"),
            share_pct: self
                .metrics
                .nodes()
                .iter()
                .map(|n| 100.0 * n.airtime_us as f64 / run_us)
                .collect(),
            window_max_pct: (0..self.metrics.nodes().len())
                .map(|i| self.duty.max_pct(i))
                .collect(),
            limit_pct: self.info.radio.duty_cycle_limit_pct,
        }
    }

    fn latency(&self) -> LatencyPlot {
        let m = self.metrics;
        let mut series = Vec::new();
        for (label, h) in [
            ("chat message delivery", m.messages().histogram()),
            ("item propagation", m.items().latency()),
        ] {
            if !h.is_empty() {
                series.push((format!("{label} (n = {})", h.len()), cdf(h)));
            }
        }
        LatencyPlot {
            title: self.title("latency"),
            series,
        }
    }

    /// Writes the tables, the plots, `report.html` and `summary.md` to
    /// `dir`; returns the path of `report.html`.
    pub fn write_all(&self, dir: &Path) -> Result<PathBuf, ReportError> {
        self.write_tables(dir)?;
        let mut svgs = Vec::new();
        for ((stem, _), plot) in PLOTS.iter().zip(self.plots()) {
            let plot_err = |source| ReportError::Plot { name: stem, source };
            let svg = to_svg(&plot).map_err(plot_err)?;
            let png = to_png(&plot).map_err(plot_err)?;
            write_file(dir, &format!("{stem}.svg"), svg.as_bytes())?;
            write_file(dir, &format!("{stem}.png"), &png)?;
            svgs.push(svg);
        }
        let doc = self.document();
        write_file(dir, "summary.md", doc.to_markdown().as_bytes())?;
        write_file(dir, "report.html", doc.to_html(&svgs).as_bytes())
    }

    /// The report's text, shared by `summary.md` and `report.html`.
    pub fn document(&self) -> Document {
        let s = self.summary;
        let info = self.info;
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
        let _ = info;
        doc
    }
}

fn mark(ok: bool) -> &'static str {
    if ok { "ok" } else { "FAIL" }
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

/// A report's text: sections of tables and plots.
#[derive(Clone, PartialEq, Debug)]
pub struct Document {
    /// Title.
    pub title: String,
    /// Whether every check and assertion passed.
    pub passed: bool,
    /// The sections.
    pub sections: Vec<Section>,
}

/// One section of a [`Document`].
#[derive(Clone, PartialEq, Debug)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// Content.
    pub blocks: Vec<Block>,
}

/// A piece of a [`Section`].
#[derive(Clone, PartialEq, Debug)]
pub enum Block {
    /// A table.
    Table {
        /// Column names.
        head: Vec<String>,
        /// Rows of cells.
        rows: Vec<Vec<String>>,
    },
    /// A plot (inline SVG in HTML, linked PNG in Markdown).
    Plot {
        /// Index into the SVGs handed to [`Document::to_html`].
        index: usize,
        /// File stem.
        stem: &'static str,
        /// Caption.
        caption: &'static str,
    },
}

impl Block {
    fn pairs(pairs: &[(&str, String)]) -> Block {
        Block::Table {
            head: vec!["".into(), "".into()],
            rows: pairs
                .iter()
                .map(|(k, v)| vec![k.to_string(), v.clone()])
                .collect(),
        }
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th:empty{display:none}.ok{color:#1a7f37;font-weight:bold}.FAIL{color:#cf222e;font-weight:bold}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{color:#555}";

impl Document {
    /// As Markdown (`summary.md`; plots linked as PNG files beside it).
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# {}\n\n**{}**\n",
            self.title,
            if self.passed { "PASSED" } else { "FAILED" }
        );
        for sec in &self.sections {
            let _ = write!(out, "\n## {}\n\n", sec.title);
            for b in &sec.blocks {
                match b {
                    Block::Table { head, rows } => {
                        let _ = writeln!(
                            out,
                            "| {} |",
                            head.iter()
                                .map(|h| md_cell(h))
                                .collect::<Vec<_>>()
                                .join(" | ")
                        );
                        let _ = writeln!(out, "|{}", "---|".repeat(head.len()));
                        for r in rows {
                            let _ = writeln!(
                                out,
                                "| {} |",
                                r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
                            );
                        }
                        out.push('\n');
                    }
                    Block::Plot { stem, caption, .. } => {
                        let _ = writeln!(out, "![{caption}]({stem}.png)\n");
                    }
                }
            }
        }
        out
    }

    /// As one self-contained HTML page with `svgs` (in [`PLOTS`] order) inline.
    pub fn to_html(&self, svgs: &[String]) -> String {
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p class=\"{}\">{}</p>\n",
            html_escape(&self.title),
            html_escape(&self.title),
            mark(self.passed),
            if self.passed { "PASSED" } else { "FAILED" }
        );
        for sec in &self.sections {
            let _ = writeln!(out, "<h2>{}</h2>", html_escape(&sec.title));
            for b in &sec.blocks {
                match b {
                    Block::Table { head, rows } => {
                        out.push_str("<table>\n<tr>");
                        for h in head {
                            let _ = write!(out, "<th>{}</th>", html_escape(h));
                        }
                        out.push_str("</tr>\n");
                        for r in rows {
                            out.push_str("<tr>");
                            for c in r {
                                if c == "ok" || c == "FAIL" {
                                    let _ = write!(out, "<td class=\"{c}\">{c}</td>");
                                } else {
                                    let _ = write!(out, "<td>{}</td>", html_escape(c));
                                }
                            }
                            out.push_str("</tr>\n");
                        }
                        out.push_str("</table>\n");
                    }
                    Block::Plot { index, caption, .. } => {
                        out.push_str("<figure>\n");
                        if let Some(svg) = svgs.get(*index) {
                            out.push_str(strip_xml_declaration(svg));
                        }
                        let _ = writeln!(
                            out,
                            "\n<figcaption>{}</figcaption>\n</figure>",
                            html_escape(caption)
                        );
                    }
                }
            }
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

fn strip_xml_declaration(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}
