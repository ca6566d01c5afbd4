//! Parameter sweeps: the grid, its runs table and its aggregate.
//!
//! A sweep is a list of dimensions (a scenario field and its values) and a
//! number of seeds. Its *jobs* are every combination of values (the first
//! dimension varying slowest) times every seed, numbered in that order; a
//! shard `I/N` runs the jobs whose number is `I − 1` modulo `N`. Each job
//! gives one row of `runs.csv`; `aggregate.csv` has, per grid point and
//! metric, the median, min and max across seeds.
//!
//! The aggregate is always computed from the *text* of `runs.csv` (a whole
//! sweep formats its rows and parses them back), so a sweep run whole and
//! the same sweep run as shards and merged give byte-identical files.
//!
//! ## `runs.csv`
//!
//! `job, point,` one column per dimension (named by its path), `seed_index,
//! seed,` then one column per metric in [`SWEEP_METRICS`] (empty when a run
//! has no value, e.g. no item was published; `never` when a time until
//! something — convergence — never came: "never" is a value, and it is
//! larger than any time).
//!
//! ## `aggregate.csv`
//!
//! `point,` one column per dimension, `metric, runs, present, never,
//! median, min, max` — one row per grid point and metric; `present` counts
//! the seeds that had a value, `never` those of them whose value is
//! `never` (the median and max are `never` when enough of them are).
//!
//! ## `sweep.json`
//!
//! The grid ([`SweepSpec`]) and which shard the folder holds; `okmesh
//! merge` checks that the shards it joins come from the same grid.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use scenarios::Metric;

use crate::plot::{SweepLine, SweepPlot};

/// The metrics recorded for every run of a sweep, in `runs.csv` column order.
pub const SWEEP_METRICS: [Metric; 31] = [
    Metric::Nodes,
    Metric::ReachPct,
    Metric::ReachWithinHopLimitPct,
    Metric::UsefulnessPct,
    Metric::MessageLatencyP50S,
    Metric::MessageLatencyP90S,
    Metric::MessageLatencyP99S,
    Metric::FramesSent,
    Metric::Relays,
    Metric::Collisions,
    Metric::Drops,
    Metric::AirUtilisationPct,
    Metric::ChannelBusyMeanPct,
    Metric::ChannelBusyMaxPct,
    Metric::DutyCycleMaxPct,
    Metric::ItemsPublished,
    Metric::ItemsCompleteS,
    Metric::NodesHoldingAllPct,
    Metric::ItemLatencyP50S,
    Metric::ItemLatencyP90S,
    Metric::ItemLatencyP99S,
    Metric::ConvergedAtS,
    Metric::EfficiencyRatio,
    Metric::Passed,
    Metric::NodesConvergedP50S,
    Metric::NodesConvergedP90S,
    Metric::NodesNeverConverged,
    Metric::UnreachableNodes,
    Metric::Islands,
    Metric::ReachableConvergedAtS,
    Metric::ChannelUtilisationMaxPct,
];

/// How the sweep tables write a time that never came.
pub const NEVER: &str = "never";

/// Most jobs a sweep may have.
pub const MAX_JOBS: usize = 100_000;

/// One swept field.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Dim {
    /// Scenario field path, as `--set` takes it.
    pub path: String,
    /// Its values, as written.
    pub values: Vec<String>,
}

/// A sweep's grid.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SweepSpec {
    /// The scenario (file or library name), as given.
    pub scenario: String,
    /// The dimensions, in command-line order.
    pub dims: Vec<Dim>,
    /// Seeds per grid point (seed k is the point's scenario seed + k).
    pub seeds: u32,
    /// The metric columns of `runs.csv`.
    pub metrics: Vec<Metric>,
}

/// A slice of a sweep: jobs numbered `index − 1` modulo `count`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Shard {
    /// From 1.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl core::str::FromStr for Shard {
    type Err = SweepError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SweepError::BadShard(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// What a sweep folder holds (`sweep.json`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SweepManifest {
    /// The grid.
    pub spec: SweepSpec,
    /// The slice this folder holds (`null`: all of it).
    pub shard: Option<Shard>,
}

/// One job: a grid point and a seed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Job {
    /// Job number.
    pub index: usize,
    /// Grid point number.
    pub point: usize,
    /// Per dimension, the index of its value.
    pub values: Vec<usize>,
    /// Which seed of the point (0-based).
    pub seed_index: u32,
}

impl SweepSpec {
    /// The recorded metric called `name` (as `--metric` gives it).
    pub fn metric(&self, name: &str) -> Result<Metric, SweepError> {
        name.parse::<Metric>()
            .ok()
            .filter(|m| self.metrics.contains(m))
            .ok_or_else(|| SweepError::UnknownMetric(name.to_string(), self.metric_names()))
    }

    /// The metric columns' names, joined with `, `.
    fn metric_names(&self) -> String {
        scenarios::metric::names(self.metrics.iter().copied())
    }

    /// Grid points.
    pub fn points(&self) -> usize {
        self.dims.iter().map(|d| d.values.len()).product()
    }

    /// Per dimension, the index of its value at grid point `point`.
    pub fn point_values(&self, point: usize) -> Vec<usize> {
        let mut rest = point;
        let mut out = vec![0; self.dims.len()];
        for (k, d) in self.dims.iter().enumerate().rev() {
            out[k] = rest % d.values.len();
            rest /= d.values.len();
        }
        out
    }

    /// The `--set PATH=VALUE` overrides of grid point `point`.
    pub fn point_sets(&self, point: usize) -> Vec<String> {
        self.dims
            .iter()
            .zip(self.point_values(point))
            .map(|(d, v)| format!("{}={}", d.path, d.values[v]))
            .collect()
    }

    /// Every job, or only those of `shard`.
    pub fn jobs(&self, shard: Option<Shard>) -> Vec<Job> {
        let seeds = self.seeds.max(1) as usize;
        (0..self.points() * seeds)
            .filter(|j| shard.is_none_or(|s| j % s.count as usize == s.index as usize - 1))
            .map(|j| Job {
                index: j,
                point: j / seeds,
                values: self.point_values(j / seeds),
                seed_index: (j % seeds) as u32,
            })
            .collect()
    }
}

/// One row of `runs.csv`.
#[derive(Clone, PartialEq, Debug)]
pub struct RunRow {
    /// Job number.
    pub job: usize,
    /// Grid point.
    pub point: usize,
    /// The seed used.
    pub seed: u64,
    /// Which seed of the point.
    pub seed_index: u32,
    /// Metric values, in the spec's metric order.
    pub metrics: Vec<Option<f64>>,
}

/// Why a sweep's files could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file is not what a sweep writes.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Line, from 1 (0: the whole file).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Shards of different sweeps.
    #[error("{}: not the same sweep as {}: {what} differ", path.display(), first.display())]
    Mismatch {
        /// The odd one out.
        path: PathBuf,
        /// The first folder.
        first: PathBuf,
        /// What differs.
        what: &'static str,
    },
    /// Some jobs are in no folder.
    #[error(
        "{missing} of {total} runs are missing (first: job {first}, grid point {point}, seed {seed_index}); merge every shard"
    )]
    Missing {
        /// How many.
        missing: usize,
        /// Jobs in the grid.
        total: usize,
        /// The first missing job.
        first: usize,
        /// Its grid point.
        point: usize,
        /// Its seed index.
        seed_index: u32,
    },
    /// A job is in two folders.
    #[error("{}: job {job} is also in another folder (the same shard given twice?)", path.display())]
    Duplicate {
        /// The second folder.
        path: PathBuf,
        /// The job.
        job: usize,
    },
    /// The metric to plot is not recorded (the name as given, and the
    /// recorded ones).
    #[error("--metric {0}: unknown metric (known: {1})")]
    UnknownMetric(String, String),
    /// A `--shard` that is not `I/N` with 1 <= I <= N (as given).
    #[error("--shard {0}: expected I/N with 1 <= I <= N, e.g. 2/8")]
    BadShard(String),
    /// A `--target` that is not `METRIC<=VALUE` or `METRIC>=VALUE` over a
    /// recorded metric (as given, and why).
    #[error("--target {0}: {1}")]
    BadTarget(String, String),
    /// A plot could not be drawn.
    #[error("plot: {0}")]
    Plot(#[from] crate::plot::PlotError),
}

/// A number as the sweep tables write it: integers plainly, others with
/// six decimals, and an infinite time (something that never happened) as
/// `never`.
pub fn fmt_num(v: f64) -> String {
    if v.is_infinite() {
        NEVER.to_string()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.6}")
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Splits one CSV line (RFC 4180 quoting, no embedded newlines).
fn csv_split(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if cur.is_empty() => quoted = true,
            (false, ',') => out.push(std::mem::take(&mut cur)),
            (_, c) => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    out.push(cur);
    Ok(out)
}

/// `runs.csv`'s header.
fn runs_header(spec: &SweepSpec) -> String {
    let mut cols = vec!["job".to_string(), "point".into()];
    cols.extend(spec.dims.iter().map(|d| csv_field(&d.path)));
    cols.push("seed_index".into());
    cols.push("seed".into());
    cols.extend(spec.metrics.iter().map(|m| csv_field(m.name())));
    cols.join(",")
}

/// `runs.csv`'s text for `rows` (sorted by job).
pub fn runs_csv(spec: &SweepSpec, rows: &[RunRow]) -> String {
    let mut rows: Vec<&RunRow> = rows.iter().collect();
    rows.sort_by_key(|r| r.job);
    let mut out = runs_header(spec);
    out.push('\n');
    for r in rows {
        let _ = write!(out, "{},{}", r.job, r.point);
        for (d, v) in spec.dims.iter().zip(spec.point_values(r.point)) {
            let _ = write!(out, ",{}", csv_field(&d.values[v]));
        }
        let _ = write!(out, ",{},{}", r.seed_index, r.seed);
        for m in &r.metrics {
            let _ = write!(out, ",{}", m.map_or(String::new(), fmt_num));
        }
        out.push('\n');
    }
    out
}

/// Parses `runs.csv` text written for `spec`.
pub fn parse_runs(spec: &SweepSpec, text: &str, path: &Path) -> Result<Vec<RunRow>, SweepError> {
    let err = |line: usize, message: String| SweepError::Parse {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if header != runs_header(spec) {
        return Err(err(1, "header does not match the sweep's grid".into()));
    }
    let seeds = spec.seeds.max(1) as usize;
    let total = spec.points() * seeds;
    let width = 4 + spec.dims.len() + spec.metrics.len();
    let mut rows = Vec::new();
    for (k, line) in lines.enumerate() {
        let n = k + 2;
        let cells = csv_split(line).map_err(|m| err(n, m))?;
        if cells.len() != width {
            return Err(err(n, format!("{} fields, expected {width}", cells.len())));
        }
        let int = |i: usize, what: &str| -> Result<u64, SweepError> {
            cells[i]
                .parse::<u64>()
                .map_err(|_| err(n, format!("{what}: `{}` is not a whole number", cells[i])))
        };
        let job = int(0, "job")? as usize;
        let point = int(1, "point")? as usize;
        let seed_index = int(2 + spec.dims.len(), "seed_index")? as u32;
        let seed = int(3 + spec.dims.len(), "seed")?;
        if job >= total || point != job / seeds || seed_index as usize != job % seeds {
            return Err(err(n, format!("job {job} is not part of this grid")));
        }
        for (d, (dim, v)) in spec.dims.iter().zip(spec.point_values(point)).enumerate() {
            if cells[2 + d] != dim.values[v] {
                return Err(err(
                    n,
                    format!(
                        "{}: `{}` is not grid point {point}'s value",
                        dim.path,
                        cells[2 + d]
                    ),
                ));
            }
        }
        let metrics = cells[4 + spec.dims.len()..]
            .iter()
            .zip(&spec.metrics)
            .map(|(c, m)| {
                if c.is_empty() {
                    Ok(None)
                } else if c == NEVER && m.is_time_to_event() {
                    Ok(Some(f64::INFINITY))
                } else {
                    c.parse::<f64>()
                        .map(Some)
                        .map_err(|_| err(n, format!("{m}: `{c}` is not a number")))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        rows.push(RunRow {
            job,
            point,
            seed,
            seed_index,
            metrics,
        });
    }
    Ok(rows)
}

/// Median, min and max of some values.
fn stats(values: &mut [f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    Some((median, values[0], values[n - 1]))
}

/// Per grid point and metric: (runs, median/min/max of the present values).
pub type Aggregate = BTreeMap<(usize, usize), (usize, Vec<f64>)>;

fn collect(spec: &SweepSpec, rows: &[RunRow]) -> Aggregate {
    let mut agg: Aggregate = BTreeMap::new();
    for r in rows {
        for (m, v) in r.metrics.iter().enumerate().take(spec.metrics.len()) {
            let e = agg.entry((r.point, m)).or_default();
            e.0 += 1;
            if let Some(v) = v {
                e.1.push(*v);
            }
        }
    }
    agg
}

/// `aggregate.csv`'s text for the rows of a complete sweep.
pub fn aggregate_csv(spec: &SweepSpec, rows: &[RunRow]) -> String {
    let mut out = String::from("point");
    for d in &spec.dims {
        let _ = write!(out, ",{}", csv_field(&d.path));
    }
    out.push_str(",metric,runs,present,never,median,min,max\n");
    for ((point, m), (runs, mut values)) in collect(spec, rows) {
        let _ = write!(out, "{point}");
        for (d, v) in spec.dims.iter().zip(spec.point_values(point)) {
            let _ = write!(out, ",{}", csv_field(&d.values[v]));
        }
        let never = values.iter().filter(|v| v.is_infinite()).count();
        let _ = write!(out, ",{},{runs},{},{never}", spec.metrics[m], values.len());
        match stats(&mut values) {
            Some((med, lo, hi)) => {
                let _ = writeln!(out, ",{},{},{}", fmt_num(med), fmt_num(lo), fmt_num(hi));
            }
            None => out.push_str(",,,\n"),
        }
    }
    out
}

/// A planner's target over a sweep: `METRIC<=VALUE` or `METRIC>=VALUE`
/// (times may be written `4h`, `90m`, …).
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Target {
    /// The metric.
    pub metric: Metric,
    /// `<=` (true) or `>=`.
    pub at_most: bool,
    /// The bound, in the metric's unit (seconds for times).
    pub value: f64,
}

impl Target {
    /// Parses `text` against the metrics `spec` records.
    pub fn parse(spec: &SweepSpec, text: &str) -> Result<Target, SweepError> {
        let bad = |why: String| SweepError::BadTarget(text.to_string(), why);
        let (name, at_most, value) = if let Some((n, v)) = text.split_once("<=") {
            (n, true, v)
        } else if let Some((n, v)) = text.split_once(">=") {
            (n, false, v)
        } else {
            return Err(bad(
                "expected METRIC<=VALUE or METRIC>=VALUE, e.g. converged_at_s<=4h".into(),
            ));
        };
        let metric = spec.metric(name.trim()).map_err(|_| {
            bad(format!(
                "unknown metric `{}` (known: {})",
                name.trim(),
                spec.metric_names()
            ))
        })?;
        let v = value.trim();
        let value = if metric.unit() == scenarios::MetricUnit::Seconds {
            node_core::time::parse_duration(v)
                .map(|d| d.as_secs_f64())
                .map_err(|e| bad(format!("`{v}`: {e}")))?
        } else {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(format!("`{v}` is not a number")))?
        };
        Ok(Target {
            metric,
            at_most,
            value,
        })
    }

    /// Whether one run's value meets it (no value, or never, does not).
    pub fn met_by(&self, v: Option<f64>) -> bool {
        v.is_some_and(|v| {
            if self.at_most {
                v <= self.value
            } else {
                v >= self.value
            }
        })
    }
}

impl core::fmt::Display for Target {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.metric,
            if self.at_most { "<=" } else { ">=" },
            human(self.metric, Some(self.value))
        )
    }
}

/// What a target asks of one line of the sweep.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TargetAnswer {
    /// The other dimensions' values (e.g. `radio.preset=LongFast`; empty:
    /// a one-dimensional sweep).
    pub label: String,
    /// The swept dimension (e.g. `topology.nodes`).
    pub dim: String,
    /// The smallest value of it whose runs all meet the target, in every
    /// seed (`None`: none does).
    pub value: Option<String>,
}

/// The dimension a sweep plots along: the first with more than one value.
fn x_dim(spec: &SweepSpec) -> usize {
    spec.dims
        .iter()
        .position(|d| d.values.len() > 1)
        .unwrap_or(0)
}

/// Per combination of the other dimensions' values (per preset, say): the
/// smallest value of the swept dimension at which every seed meets
/// `target`. Numeric values are taken smallest first, others in the order
/// given.
pub fn target_answers(spec: &SweepSpec, rows: &[RunRow], target: Target) -> Vec<TargetAnswer> {
    let Some(m) = spec.metrics.iter().position(|x| *x == target.metric) else {
        return Vec::new();
    };
    let xd = x_dim(spec);
    let seeds = spec.seeds.max(1) as usize;
    // Per point: (runs, all met).
    let mut met: BTreeMap<usize, (usize, bool)> = BTreeMap::new();
    for r in rows {
        let e = met.entry(r.point).or_insert((0, true));
        e.0 += 1;
        e.1 &= target.met_by(r.metrics.get(m).copied().flatten());
    }
    let mut lines: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
    for point in 0..spec.points() {
        let pv = spec.point_values(point);
        let key = pv
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != xd)
            .map(|(_, v)| *v)
            .collect();
        lines.entry(key).or_default().push(point);
    }
    let Some(dim) = spec.dims.get(xd) else {
        return Vec::new();
    };
    let numeric = dim.values.iter().all(|v| v.parse::<f64>().is_ok());
    lines
        .into_values()
        .map(|mut points| {
            let value_of = |p: usize| &dim.values[spec.point_values(p)[xd]];
            if numeric {
                points.sort_by(|a, b| {
                    let n = |p: usize| value_of(p).parse::<f64>().unwrap_or(f64::MAX);
                    n(*a).total_cmp(&n(*b))
                });
            }
            let pv = spec.point_values(points[0]);
            let label = spec
                .dims
                .iter()
                .zip(&pv)
                .enumerate()
                .filter(|(k, _)| *k != xd)
                .map(|(_, (d, v))| format!("{}={}", d.path, d.values[*v]))
                .collect::<Vec<_>>()
                .join(", ");
            let value = points
                .iter()
                .find(|p| met.get(p).is_some_and(|(runs, ok)| *runs == seeds && *ok))
                .map(|p| value_of(*p).clone());
            TargetAnswer {
                label,
                dim: dim.path.clone(),
                value,
            }
        })
        .collect()
}

/// A metric's value in human units: `5.08 h`, `42.0 %`, `17`, `never`,
/// `—` (no value).
pub fn human(metric: Metric, v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(v) if v.is_infinite() => NEVER.into(),
        Some(v) => match metric.unit() {
            scenarios::MetricUnit::Seconds => crate::report::duration_text(v),
            scenarios::MetricUnit::Percent => crate::report::pct_text(v),
            scenarios::MetricUnit::Number if v.fract() == 0.0 => format!("{v:.0}"),
            scenarios::MetricUnit::Number => format!("{v:.3}"),
        },
    }
}

/// The aggregate of `metric` as a table for the terminal, in human units:
/// a header row (one column per dimension, then `median`, `min`, `max`,
/// `present/runs`, `never`) and one row per grid point.
pub fn aggregate_table(spec: &SweepSpec, rows: &[RunRow], metric: Metric) -> Vec<Vec<String>> {
    let mut out = vec![
        spec.dims
            .iter()
            .map(|d| d.path.clone())
            .chain(["median", "min", "max", "present/runs", "never"].map(String::from))
            .collect::<Vec<_>>(),
    ];
    let Some(m) = spec.metrics.iter().position(|x| *x == metric) else {
        return out;
    };
    let agg = collect(spec, rows);
    for point in 0..spec.points() {
        let Some((runs, values)) = agg.get(&(point, m)) else {
            continue;
        };
        let never = values.iter().filter(|v| v.is_infinite()).count();
        let st = stats(&mut values.clone());
        let mut row: Vec<String> = spec
            .dims
            .iter()
            .zip(spec.point_values(point))
            .map(|(d, v)| d.values[v].clone())
            .collect();
        row.push(human(metric, st.map(|s| s.0)));
        row.push(human(metric, st.map(|s| s.1)));
        row.push(human(metric, st.map(|s| s.2)));
        row.push(format!("{}/{runs}", values.len()));
        row.push(never.to_string());
        out.push(row);
    }
    out
}

/// The metric a sweep plots by default: `converged_at_s` when some run has
/// it, else `reach_pct`.
pub fn default_metric(spec: &SweepSpec, rows: &[RunRow]) -> Metric {
    let has = |metric: Metric| {
        spec.metrics
            .iter()
            .position(|m| *m == metric)
            .is_some_and(|k| {
                rows.iter()
                    .any(|r| r.metrics.get(k).copied().flatten().is_some())
            })
    };
    if has(Metric::ConvergedAtS) {
        Metric::ConvergedAtS
    } else {
        Metric::ReachPct
    }
}

/// The plot of `metric` against the first dimension with more than one
/// value, one line per combination of the other dimensions' values.
pub fn plot(spec: &SweepSpec, rows: &[RunRow], metric: Metric) -> Result<SweepPlot, SweepError> {
    let m = spec
        .metrics
        .iter()
        .position(|x| *x == metric)
        .ok_or_else(|| SweepError::UnknownMetric(metric.to_string(), spec.metric_names()))?;
    let x_dim = x_dim(spec);
    let numeric = spec
        .dims
        .get(x_dim)
        .is_some_and(|d| d.values.iter().all(|v| v.parse::<f64>().is_ok()));
    let agg = collect(spec, rows);
    // Times read in hours (or minutes) when they are that long.
    let longest = agg
        .iter()
        .filter(|((_, k), _)| *k == m)
        .flat_map(|(_, (_, v))| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let (scale, unit) = match metric.unit() {
        scenarios::MetricUnit::Seconds if longest >= 7200.0 => (3600.0, " (h)"),
        scenarios::MetricUnit::Seconds if longest >= 120.0 => (60.0, " (min)"),
        scenarios::MetricUnit::Seconds => (1.0, " (s)"),
        scenarios::MetricUnit::Percent => (1.0, " (%)"),
        scenarios::MetricUnit::Number => (1.0, ""),
    };
    let mut lines: BTreeMap<Vec<usize>, SweepLine> = BTreeMap::new();
    for point in 0..spec.points() {
        let Some((runs, values)) = agg.get(&(point, m)) else {
            continue;
        };
        let never = values.iter().filter(|v| v.is_infinite()).count();
        let Some((med, lo, hi)) = stats(&mut values.clone()) else {
            continue;
        };
        let pv = spec.point_values(point);
        let x = match spec.dims.get(x_dim) {
            Some(d) if numeric => d.values[pv[x_dim]].parse::<f64>().unwrap_or(0.0),
            Some(_) => pv[x_dim] as f64,
            None => 0.0,
        };
        let key: Vec<usize> = pv
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != x_dim)
            .map(|(_, v)| *v)
            .collect();
        let label = spec
            .dims
            .iter()
            .zip(&pv)
            .enumerate()
            .filter(|(k, _)| *k != x_dim)
            .map(|(_, (d, v))| format!("{}={}", d.path, d.values[*v]))
            .collect::<Vec<_>>()
            .join(", ");
        let line = lines.entry(key).or_insert_with(|| SweepLine {
            label: if label.is_empty() {
                metric.to_string()
            } else {
                label
            },
            points: Vec::new(),
            never: Vec::new(),
        });
        line.points.push((x, med / scale, lo / scale, hi / scale));
        if never > 0 {
            line.never.push((x, never, *runs));
        }
    }
    let mut lines: Vec<SweepLine> = lines.into_values().collect();
    for l in &mut lines {
        l.points.sort_by(|a, b| a.0.total_cmp(&b.0));
        l.never.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    Ok(SweepPlot {
        title: format!(
            "{} · {metric} (median, min–max over {} seed{})",
            spec.scenario,
            spec.seeds,
            if spec.seeds == 1 { "" } else { "s" }
        ),
        x_desc: spec
            .dims
            .get(x_dim)
            .map_or(String::new(), |d| d.path.clone()),
        y_desc: format!("{metric}{unit}"),
        x_labels: match spec.dims.get(x_dim) {
            Some(d) if !numeric => d.values.clone(),
            _ => Vec::new(),
        },
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SweepSpec {
        SweepSpec {
            scenario: "s".into(),
            dims: vec![
                Dim {
                    path: "topology.nodes".into(),
                    values: vec!["10".into(), "20".into(), "30".into()],
                },
                Dim {
                    path: "topology.area_m".into(),
                    values: vec!["[1000,1000]".into(), "[2000, 2000]".into()],
                },
            ],
            seeds: 3,
            metrics: vec![Metric::ReachPct, Metric::ConvergedAtS],
        }
    }

    #[test]
    fn shards_partition_the_jobs() {
        let s = spec();
        let all = s.jobs(None);
        assert_eq!(all.len(), 18);
        let mut joined: Vec<usize> = (1..=4)
            .flat_map(|i| s.jobs(Some(Shard { index: i, count: 4 })))
            .map(|j| j.index)
            .collect();
        joined.sort_unstable();
        assert_eq!(joined, (0..18).collect::<Vec<_>>());
        assert_eq!(all[7].values, vec![1, 0]);
        assert_eq!(all[7].seed_index, 1);
        assert_eq!(
            s.point_sets(2),
            ["topology.nodes=20", "topology.area_m=[1000,1000]"]
        );
    }

    #[test]
    fn runs_round_trip_through_text() {
        let s = spec();
        let rows: Vec<RunRow> = s
            .jobs(None)
            .into_iter()
            .map(|j| RunRow {
                job: j.index,
                point: j.point,
                seed: 7 + u64::from(j.seed_index),
                seed_index: j.seed_index,
                metrics: vec![
                    Some(j.index as f64 / 3.0),
                    (j.seed_index != 1).then_some(100.0),
                ],
            })
            .collect();
        let text = runs_csv(&s, &rows);
        let back = parse_runs(&s, &text, Path::new("runs.csv")).expect("parses");
        assert_eq!(runs_csv(&s, &back), text);
        let agg = aggregate_csv(&s, &back);
        assert_eq!(agg.lines().count(), 1 + 6 * 2);
        assert!(agg.contains("\"[2000, 2000]\""));
        assert!(agg.contains(",converged_at_s,3,2,0,100,100,100\n"));
    }

    #[test]
    fn never_is_a_value_in_the_tables_and_the_target() {
        let mut s = spec();
        s.seeds = 2;
        // converged_at_s: seed 1 of every 20-node point never converges;
        // 30 nodes converge in both seeds within 1 h.
        let rows: Vec<RunRow> = s
            .jobs(None)
            .into_iter()
            .map(|j| {
                let nodes = [10, 20, 30][j.values[0]];
                let t = match (nodes, j.seed_index) {
                    (10, _) => f64::INFINITY,
                    (20, 1) => f64::INFINITY,
                    (20, _) => 1800.0,
                    _ => 3000.0 + 100.0 * j.values[1] as f64,
                };
                RunRow {
                    job: j.index,
                    point: j.point,
                    seed: u64::from(j.seed_index),
                    seed_index: j.seed_index,
                    metrics: vec![Some(50.0), Some(t)],
                }
            })
            .collect();
        let text = runs_csv(&s, &rows);
        assert!(
            text.lines().nth(1).unwrap().ends_with(",50,never"),
            "{text}"
        );
        let back = parse_runs(&s, &text, Path::new("runs.csv")).expect("parses");
        assert_eq!(back, rows);
        let agg = aggregate_csv(&s, &back);
        // 10 nodes: both never; 20 nodes: one of two.
        assert!(
            agg.contains("0,10,\"[1000,1000]\",converged_at_s,2,2,2,never,never,never\n"),
            "{agg}"
        );
        assert!(
            agg.contains("2,20,\"[1000,1000]\",converged_at_s,2,2,1,never,1800,never\n"),
            "{agg}"
        );
        let table = aggregate_table(&s, &back, Metric::ConvergedAtS);
        assert_eq!(
            table[0][2..],
            ["median", "min", "max", "present/runs", "never"]
        );
        assert_eq!(table[3][2..], ["never", "30.0 min", "never", "2/2", "1"]);
        let p = plot(&s, &back, Metric::ConvergedAtS).expect("plots");
        let nevers: Vec<_> = p.lines[0].never.clone();
        assert_eq!(nevers, [(10.0, 2, 2), (20.0, 1, 2)]);
        let svg = crate::plot::to_svg(&p).expect("draws");
        assert!(svg.contains("never 1/2") && svg.contains("never 2/2"));
        // The smallest node count meeting 1 h in every seed: 30, not 20.
        let t = Target::parse(&s, "converged_at_s<=1h").expect("parses");
        assert_eq!(t.value, 3600.0);
        let a = target_answers(&s, &back, t);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].label, "topology.area_m=[1000,1000]");
        assert_eq!(a[0].value.as_deref(), Some("30"));
        let tight = Target::parse(&s, "converged_at_s <= 3050").expect("parses");
        let a = target_answers(&s, &back, tight);
        assert_eq!(a[0].value.as_deref(), Some("30"));
        assert_eq!(a[1].value, None);
        assert!(Target::parse(&s, "converged_at_s<4h").is_err());
        assert!(Target::parse(&s, "nodes<=4").is_err());
    }

    #[test]
    fn bad_shards_are_refused() {
        for bad in ["0/3", "4/3", "1", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(
            "2/3".parse::<Shard>().ok(),
            Some(Shard { index: 2, count: 3 })
        );
        let e = "0/3".parse::<Shard>().unwrap_err().to_string();
        assert_eq!(e, "--shard 0/3: expected I/N with 1 <= I <= N, e.g. 2/8");
    }
}
