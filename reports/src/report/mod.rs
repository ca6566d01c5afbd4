//! A run's report: the CSV tables, the plots (PNG and SVG), one
//! self-contained `report.html` (plots inline as SVG, no external
//! references) and `summary.md` (the same text, plots linked as PNG).
//!
//! The report is written from the finished [`Metrics`] and [`Summary`];
//! it never looks at the trace again, so making it costs the same for a
//! run of a minute or a day. [`figures`] turns the metrics into the plots'
//! data, [`text`] writes the report's words, [`document`] renders them as
//! Markdown and HTML.

pub mod document;
pub mod figures;
pub mod text;
pub mod verdict;

use std::path::{Path, PathBuf};

use sim::trace::RunInfo;

use crate::plot::{PlotError, to_png, to_svg};
use crate::{Metrics, Summary, tables};

pub use document::{Block, Document, Section};
pub use figures::AnyPlot;
pub use text::{bounds_text, duration_text, pct_text, value_text, zone_text};
pub use verdict::{Verdict, verdict};

/// Largest number of links drawn on the map (beyond it every k-th link is
/// drawn, so that the SVG stays a few megabytes at most).
pub const MAX_MAP_LINKS: usize = 20_000;

/// What the report shows besides the trace's figures: the mesh links and
/// partitions for the map, the zone the scenario placed nodes in, and
/// what the catalogue items are.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct MapOverlay {
    /// Undirected mesh links (decodable in at least one direction).
    pub links: Vec<(u32, u32)>,
    /// Each node's group in the run's first partition (empty: none).
    pub partition_groups: Vec<u16>,
    /// The placement area, metres east and north from (0, 0), drawn on the
    /// map (`None`: the placement has none, e.g. a CSV or a chain).
    pub zone_m: Option<[f64; 2]>,
    /// What the items are, in the plural: `manifests`, `facilities` or
    /// `items` (empty: `items`).
    pub item_noun: String,
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

/// The plot files of a run report: (file stem, caption).
pub const PLOTS: [(&str, &str); 5] = [
    (
        "map",
        "The zone to scale (1 km east = 1 km north), mesh links in grey, each node coloured by when it held every item; red cross: never did; magenta: out of reach of some item's publisher (another island); square: router; triangle: publisher",
    ),
    (
        "coverage",
        "Share of all nodes holding each item's newest version over time (thin lines), and their mean over the items published by then (bold)",
    ),
    (
        "channel",
        "Channel utilisation per node as Meshtastic devices report it (own transmissions plus every frame received or lost to a collision): the mean node and the busiest; shaded: the mean share of a node's time spent transmitting, by frame class",
    ),
    (
        "airtime",
        "Airtime per node: share of the run (bars) and largest share of any duty-cycle window (dots) against the regional limit",
    ),
    (
        "latency",
        "Latency distribution: chat delivery (origination to first decoding) and item propagation (publication to storing), log time axis",
    ),
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
            ("nodes.csv", tables::nodes_csv(self.info, m)),
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
}
