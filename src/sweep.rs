//! Running a sweep: every grid point checked before anything runs, the
//! jobs in parallel through the run pipeline, then `sweep.json`,
//! `runs.csv`, `aggregate.csv` and the plot (formats in `reports::sweep`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use reports::sweep::{self, Job, RunRow, Shard, SweepManifest, SweepSpec};
use scenarios::{Metric, Scenario};

use crate::error::FileOp;
use crate::{PipelineError, Prepared, load_scenario};

/// The scenario of every grid point of `spec`, after checking every value
/// alone and then every combination (so a bad value is named on its own).
pub fn load_points(spec: &SweepSpec) -> Result<Vec<Scenario>, PipelineError> {
    for d in &spec.dims {
        for v in &d.values {
            load_scenario(&spec.scenario, &[format!("{}={v}", d.path)]).map_err(|source| {
                PipelineError::SweepValue {
                    path: d.path.clone(),
                    value: v.clone(),
                    source,
                }
            })?;
        }
    }
    (0..spec.points())
        .map(|p| {
            let sets = spec.point_sets(p);
            load_scenario(&spec.scenario, &sets).map_err(|source| PipelineError::SweepPoint {
                point: p,
                sets: sets.join(" "),
                source,
            })
        })
        .collect()
}

/// Runs one job: its grid point's scenario with the job's seed, baseline
/// included, and records the spec's metrics.
pub fn run_job(points: &[Scenario], spec: &SweepSpec, job: &Job) -> Result<RunRow, PipelineError> {
    let mut scenario = points[job.point].clone();
    scenario.seed = scenario.seed.wrapping_add(u64::from(job.seed_index));
    let output = Prepared::new(&scenario)
        .and_then(Prepared::with_baseline)
        .and_then(|p| p.run(None, &mut |_| {}))
        .map_err(|e| PipelineError::SweepRun {
            point: job.point,
            sets: spec.point_sets(job.point).join(" "),
            seed: scenario.seed,
            source: Box::new(e),
        })?;
    Ok(RunRow {
        job: job.index,
        point: job.point,
        seed: scenario.seed,
        seed_index: job.seed_index,
        metrics: spec
            .metrics
            .iter()
            .map(|m| output.summary.value(*m))
            .collect(),
    })
}

/// Runs `jobs` on `threads` threads, calling `done` after each; the rows
/// come back in job order. After a failure the jobs not yet started are
/// skipped, and the error of the first failed job in job order is returned
/// (runs are deterministic, so it does not depend on `threads`).
pub fn run_jobs(
    points: &[Scenario],
    spec: &SweepSpec,
    jobs: &[Job],
    threads: usize,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<RunRow>, PipelineError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| PipelineError::Threads { threads, source })?;
    let stop = AtomicBool::new(false);
    // `None`: skipped because a job failed.
    let results: Vec<Result<Option<RunRow>, PipelineError>> = pool.install(|| {
        jobs.par_iter()
            .map(|job| {
                if stop.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                let result = run_job(points, spec, job).map(Some);
                if result.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
                done();
                result
            })
            .collect()
    });
    let rows: Vec<RunRow> = results
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        rows.len(),
        jobs.len(),
        "jobs are only skipped after an error"
    );
    Ok(rows)
}

/// How many `rows` failed a check or assertion (column `passed`).
pub fn failed_runs(spec: &SweepSpec, rows: &[RunRow]) -> usize {
    let Some(k) = spec.metrics.iter().position(|m| *m == Metric::Passed) else {
        return 0;
    };
    rows.iter().filter(|r| r.metrics[k] == Some(0.0)).count()
}

/// Creates a sweep's output folder.
pub fn create_out(dir: &Path) -> Result<(), PipelineError> {
    std::fs::create_dir_all(dir).map_err(PipelineError::io(FileOp::Create, dir))
}

/// Writes `name` in `dir`; returns its path.
fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> Result<PathBuf, PipelineError> {
    let path = dir.join(name);
    std::fs::write(&path, contents).map_err(PipelineError::io(FileOp::Write, &path))?;
    Ok(path)
}

/// Writes `sweep.json` and `runs.csv` of a sweep (or of one shard of it);
/// returns the text of `runs.csv`.
pub fn write_runs(
    out_dir: &Path,
    spec: &SweepSpec,
    shard: Option<Shard>,
    rows: &[RunRow],
) -> Result<String, PipelineError> {
    let manifest = SweepManifest {
        spec: spec.clone(),
        shard,
    };
    let json = serde_json::to_string_pretty(&manifest).expect("manifests serialise");
    write(out_dir, "sweep.json", json)?;
    let runs_text = sweep::runs_csv(spec, rows);
    write(out_dir, "runs.csv", &runs_text)?;
    Ok(runs_text)
}

/// The files [`write_aggregate`] wrote.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AggregateFiles {
    /// `aggregate.csv`.
    pub aggregate: PathBuf,
    /// The plot's PNG.
    pub plot_png: PathBuf,
    /// The metric plotted.
    pub metric: Metric,
}

/// Writes the aggregate and the plot of `metric` (default: see
/// `reports::sweep::default_metric`) of a complete sweep from the text of
/// its `runs.csv`, so that whole and merged sweeps agree byte for byte.
pub fn write_aggregate(
    out_dir: &Path,
    spec: &SweepSpec,
    runs_text: &str,
    metric: Option<Metric>,
) -> Result<AggregateFiles, PipelineError> {
    let rows = sweep::parse_runs(spec, runs_text, &out_dir.join("runs.csv"))
        .map_err(PipelineError::RunsReadBack)?;
    let aggregate = write(out_dir, "aggregate.csv", sweep::aggregate_csv(spec, &rows))?;
    let metric = metric.unwrap_or_else(|| sweep::default_metric(spec, &rows));
    let plot = sweep::plot(spec, &rows, metric).map_err(PipelineError::SweepPlot)?;
    let svg = reports::plot::to_svg(&plot)?;
    let png = reports::plot::to_png(&plot)?;
    write(out_dir, &format!("sweep-{metric}.svg"), svg)?;
    let plot_png = write(out_dir, &format!("sweep-{metric}.png"), png)?;
    Ok(AggregateFiles {
        aggregate,
        plot_png,
        metric,
    })
}

#[cfg(test)]
mod tests {
    use reports::sweep::Dim;

    use super::*;

    fn spec(values: &[&str], seeds: u32) -> SweepSpec {
        SweepSpec {
            scenario: "chain".into(),
            dims: vec![Dim {
                path: "topology.nodes".into(),
                values: values.iter().map(|v| v.to_string()).collect(),
            }],
            seeds,
            metrics: vec![Metric::Nodes, Metric::Passed],
        }
    }

    #[test]
    fn jobs_run_in_job_order_whatever_the_threads() {
        let spec = spec(&["4", "5"], 2);
        let points = load_points(&spec).expect("valid grid");
        let jobs = spec.jobs(None);
        let done = std::sync::atomic::AtomicUsize::new(0);
        let count = || {
            done.fetch_add(1, Ordering::Relaxed);
        };
        let one = run_jobs(&points, &spec, &jobs, 1, &count).expect("runs");
        let two = run_jobs(&points, &spec, &jobs, 2, &count).expect("runs");
        assert_eq!(one, two);
        assert_eq!(done.load(Ordering::Relaxed), 8);
        let nodes: Vec<_> = one.iter().map(|r| r.metrics[0]).collect();
        assert_eq!(nodes, [Some(4.0), Some(4.0), Some(5.0), Some(5.0)]);
        assert_eq!(one[1].seed, one[0].seed + 1);
        // chain asserts max_hops_away = 3, which 4 nodes in a line cannot reach.
        let passed: Vec<_> = one.iter().map(|r| r.metrics[1]).collect();
        assert_eq!(passed, [Some(0.0), Some(0.0), Some(1.0), Some(1.0)]);
        assert_eq!(failed_runs(&spec, &one), 2);
    }

    #[test]
    fn a_bad_value_is_named_before_anything_runs() {
        let e = load_points(&spec(&["4", "x"], 1)).expect_err("bad value");
        assert!(e.is_bad_input());
        assert!(
            e.to_string().starts_with("sweep value topology.nodes=x: "),
            "{e}"
        );
    }
}
