//! `okmesh sweep`: run a scenario over a grid of `--set` values and seeds,
//! in parallel, and aggregate the results (see `reports::sweep`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use okmesh::sweep::{self as run_sweep, create_out, write_runs};
use reports::sweep::{Dim, MAX_JOBS, SWEEP_METRICS, Shard, SweepSpec, Target};
use scenarios::Metric;

use super::CliError;
use super::out::outln;

/// Arguments of `okmesh sweep`.
#[derive(Args, Debug)]
pub(crate) struct SweepArgs {
    /// A scenario file, or the name of a library scenario.
    scenario: String,
    /// A swept field and its values, e.g. `--set topology.nodes=50,100,200`
    /// (repeatable; commas inside brackets belong to one value).
    #[arg(long = "set", value_name = "PATH=V1,V2,…")]
    set: Vec<String>,
    /// Seeds per grid point: the point's scenario seed, +1, +2, …
    #[arg(long, default_value_t = 1)]
    seeds: u32,
    /// Runs at once [default: the number of CPUs].
    #[arg(long)]
    jobs: Option<usize>,
    /// Run only slice I of N (1 <= I <= N) of the jobs, for job arrays; join with `okmesh merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Output directory [default: out/sweep-<scenario name>, or …-shard-I-of-N].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Metric to plot [default: converged_at_s when present, else reach_pct].
    #[arg(long)]
    metric: Option<String>,
    /// A planner's target, `METRIC<=VALUE` or `METRIC>=VALUE` (times as
    /// `4h`, `90m` or seconds): prints, per combination of the other
    /// dimensions (per preset, say), the smallest value of the first swept
    /// field whose runs meet it in every seed.
    #[arg(long, value_name = "METRIC<=VALUE")]
    target: Option<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// Splits `a,b,[c,d]` at the commas outside brackets and quotes.
fn split_values(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

/// The grid from the command line.
fn parse_dims(sets: &[String]) -> Result<Vec<Dim>, CliError> {
    let mut dims: Vec<Dim> = Vec::new();
    for text in sets {
        let (path, values) = text.split_once('=').ok_or_else(|| {
            CliError::BadInput(format!(
                "--set {text}: expected PATH=V1,V2,…, e.g. topology.nodes=50,100"
            ))
        })?;
        let path = path.trim().to_string();
        let values = split_values(values);
        if values.iter().any(String::is_empty) {
            return Err(CliError::BadInput(format!("--set {path}: an empty value")));
        }
        if dims.iter().any(|d| d.path == path) {
            return Err(CliError::BadInput(format!(
                "--set {path}: given twice (list every value in one --set)"
            )));
        }
        dims.push(Dim { path, values });
    }
    Ok(dims)
}

/// Default output folder of a sweep of scenario `spec` (a file or library name).
pub(crate) fn default_out(spec: &str) -> PathBuf {
    let stem = Path::new(spec)
        .file_stem()
        .map_or_else(|| spec.to_string(), |s| s.to_string_lossy().into_owned());
    Path::new("out").join(format!("sweep-{stem}"))
}

pub(crate) fn run(args: SweepArgs) -> Result<ExitCode, CliError> {
    let dims = parse_dims(&args.set)?;
    if args.seeds == 0 {
        return Err(CliError::BadInput("--seeds: at least 1".into()));
    }
    let shard = args.shard.as_deref().map(str::parse::<Shard>).transpose()?;
    if args.jobs == Some(0) {
        return Err(CliError::BadInput("--jobs: at least 1".into()));
    }
    let spec = SweepSpec {
        scenario: args.scenario.clone(),
        dims,
        seeds: args.seeds,
        metrics: SWEEP_METRICS.to_vec(),
    };
    let metric = check_metric(&spec, args.metric.as_deref())?;
    let target = args
        .target
        .as_deref()
        .map(|t| Target::parse(&spec, t))
        .transpose()?;
    let total = spec.points().saturating_mul(spec.seeds as usize);
    if total > MAX_JOBS {
        return Err(CliError::BadInput(format!(
            "the grid has {total} runs; at most {MAX_JOBS}"
        )));
    }

    // Every value alone, then every grid point, before anything runs.
    let points = run_sweep::load_points(&spec)?;
    let out_dir = args.out.clone().unwrap_or_else(|| {
        let base = default_out(&spec.scenario);
        match shard {
            Some(s) => base.with_file_name(format!(
                "{}-shard-{}-of-{}",
                base.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                s.index,
                s.count
            )),
            None => base,
        }
    });
    create_out(&out_dir)?;

    let jobs = spec.jobs(shard);
    let threads = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let chatty = !args.quiet;
    if chatty {
        outln!(
            "okmesh sweep {} · {} grid point{} × {} seed{} = {total} runs{} · {threads} at once",
            spec.scenario,
            spec.points(),
            if spec.points() == 1 { "" } else { "s" },
            spec.seeds,
            if spec.seeds == 1 { "" } else { "s" },
            shard.map_or(String::new(), |s| format!(
                " · shard {}/{}: {} runs",
                s.index,
                s.count,
                jobs.len()
            )),
        );
    }
    let bar = ProgressBar::with_draw_target(Some(jobs.len() as u64), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} runs {pos}/{len} [{bar:30}] {elapsed} elapsed, ~{eta} left",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    if chatty && std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
    let rows = run_sweep::run_jobs(&points, &spec, &jobs, threads, &|| bar.inc(1));
    bar.finish_and_clear();
    let rows = rows?;

    let runs_text = write_runs(&out_dir, &spec, shard, &rows)?;
    let failed = run_sweep::failed_runs(&spec, &rows);
    if chatty && failed > 0 {
        outln!(
            "{failed} of {} runs failed a check or assertion (column `passed` of runs.csv)",
            rows.len()
        );
    }
    if shard.is_some() {
        if chatty {
            outln!(
                "shard written to {} (join the shards with `okmesh merge`)",
                out_dir.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    finish(&out_dir, &spec, &runs_text, metric, target, chatty)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints rows as columns, the first row as the header.
fn print_table(rows: &[Vec<String>]) {
    let cols = rows.first().map_or(0, Vec::len);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |x| x.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        outln!("  {}", cells.join("  ").trim_end());
    }
}

/// Rejects a `--metric` the sweep does not record, before anything is written.
pub(crate) fn check_metric(
    spec: &SweepSpec,
    metric: Option<&str>,
) -> Result<Option<Metric>, CliError> {
    Ok(metric.map(|m| spec.metric(m)).transpose()?)
}

/// Writes the aggregate and the plot of a complete sweep from the text of
/// its `runs.csv` (so whole and merged sweeps agree byte for byte).
pub(crate) fn finish(
    out_dir: &Path,
    spec: &SweepSpec,
    runs_text: &str,
    metric: Option<Metric>,
    target: Option<Target>,
    chatty: bool,
) -> Result<(), CliError> {
    let files = run_sweep::write_aggregate(out_dir, spec, runs_text, metric)?;
    let rows = reports::sweep::parse_runs(spec, runs_text, &out_dir.join("runs.csv"))?;
    if chatty {
        outln!();
        outln!("{} per grid point (human units):", files.metric);
        print_table(&reports::sweep::aggregate_table(spec, &rows, files.metric));
        outln!();
    }
    if let Some(t) = target {
        // The answer is the point of --target: printed even with --quiet.
        outln!("target {t}, met in every seed:");
        for a in reports::sweep::target_answers(spec, &rows, t) {
            let at = if a.label.is_empty() {
                String::new()
            } else {
                format!("{}: ", a.label)
            };
            match a.value {
                Some(v) => outln!("  {at}{} = {v}", a.dim),
                None => outln!("  {at}no value of {} in the sweep meets it", a.dim),
            }
        }
        outln!();
    }
    if chatty {
        outln!("runs:      {}", out_dir.join("runs.csv").display());
        outln!("aggregate: {}", files.aggregate.display());
        outln!("plot:      {}", files.plot_png.display());
    }
    Ok(())
}
