//! `okmesh merge`: join the folders of a sharded sweep into the aggregate
//! a single run of the whole sweep would have written.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use okmesh::sweep::{create_out, write_runs};
use reports::sweep::{self, RunRow, SweepError, SweepManifest};

use super::CliError;
use super::out::outln;
use super::sweep::{check_metric, default_out, finish};

/// Arguments of `okmesh merge`.
#[derive(Args, Debug)]
pub(crate) struct MergeArgs {
    /// The shard folders (`okmesh sweep --shard I/N --out DIR`), every one of them.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Output directory [default: out/sweep-<scenario>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Metric to plot [default: converged_at_s when present, else reach_pct].
    #[arg(long)]
    metric: Option<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

fn read(path: PathBuf) -> Result<String, SweepError> {
    fs::read_to_string(&path).map_err(|source| SweepError::Io { path, source })
}

pub(crate) fn run(args: MergeArgs) -> Result<ExitCode, CliError> {
    let mut first: Option<(PathBuf, SweepManifest)> = None;
    let mut rows: BTreeMap<usize, RunRow> = BTreeMap::new();
    for dir in &args.dirs {
        let json_path = dir.join("sweep.json");
        let manifest: SweepManifest =
            serde_json::from_str(&read(json_path.clone())?).map_err(|e| SweepError::Parse {
                path: json_path.clone(),
                line: e.line(),
                message: e.to_string(),
            })?;
        if let Some((first_dir, m)) = &first {
            let what = if m.spec.scenario != manifest.spec.scenario {
                Some("the scenarios")
            } else if m.spec.dims != manifest.spec.dims {
                Some("the swept fields or values")
            } else if m.spec.seeds != manifest.spec.seeds {
                Some("the seed counts")
            } else if m.spec.metrics != manifest.spec.metrics {
                Some("the metric columns (another okmesh version?)")
            } else {
                None
            };
            if let Some(what) = what {
                return Err(SweepError::Mismatch {
                    path: dir.clone(),
                    first: first_dir.clone(),
                    what,
                }
                .into());
            }
        }
        let runs_path = dir.join("runs.csv");
        let text = read(runs_path.clone())?;
        for row in sweep::parse_runs(&manifest.spec, &text, &runs_path)? {
            let job = row.job;
            if rows.insert(job, row).is_some() {
                return Err(SweepError::Duplicate {
                    path: dir.clone(),
                    job,
                }
                .into());
            }
        }
        if first.is_none() {
            first = Some((dir.clone(), manifest));
        }
    }
    let (_, manifest) = first.expect("clap requires at least one folder");
    let spec = manifest.spec;
    let metric = check_metric(&spec, args.metric.as_deref())?;
    let all = spec.jobs(None);
    let missing: Vec<_> = all
        .iter()
        .filter(|j| !rows.contains_key(&j.index))
        .collect();
    if let Some(j) = missing.first() {
        return Err(SweepError::Missing {
            missing: missing.len(),
            total: all.len(),
            first: j.index,
            point: j.point,
            seed_index: j.seed_index,
        }
        .into());
    }
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&spec.scenario));
    create_out(&out_dir)?;
    let rows: Vec<RunRow> = rows.into_values().collect();
    let runs_text = write_runs(&out_dir, &spec, None, &rows)?;
    if !args.quiet {
        outln!(
            "merged {} folders: {} runs of {}",
            args.dirs.len(),
            rows.len(),
            spec.scenario
        );
    }
    finish(&out_dir, &spec, &runs_text, metric, None, !args.quiet)?;
    Ok(ExitCode::SUCCESS)
}
