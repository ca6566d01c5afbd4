//! Why a run (or a sweep of runs) could not be done.

use std::path::PathBuf;

use reports::sweep::SweepError;
use scenarios::ScenarioError;

/// What was being done to a file when it failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileOp {
    /// Creating a file or folder.
    Create,
    /// Writing a file.
    Write,
}

impl core::fmt::Display for FileOp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            FileOp::Create => "create",
            FileOp::Write => "write",
        })
    }
}

/// Why the run pipeline stopped.
///
/// [`PipelineError::is_bad_input`] tells a problem with what the user gave
/// (a scenario, an output folder) from a run that could not finish.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The scenario's simulation could not be built (e.g. a topology that
    /// cannot be placed).
    #[error(transparent)]
    Build(#[from] sim::BuildError),
    /// The run stopped before its end (a run limit was hit).
    #[error(transparent)]
    Run(#[from] sim::RunError),
    /// The flooding baseline run stopped before its end.
    #[error("flooding baseline: {0}")]
    Baseline(#[source] sim::RunError),
    /// The metrics hit one of their limits, so the figures would be incomplete.
    #[error(transparent)]
    Limit(#[from] reports::LimitHit),
    /// A file or folder could not be created or written.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: FileOp,
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The run's report (tables, plots, HTML) could not be written.
    #[error(transparent)]
    Report(#[from] reports::report::ReportError),
    /// A swept value, applied alone, does not give a valid scenario.
    #[error("sweep value {path}={value}: {source}")]
    SweepValue {
        /// The swept field.
        path: String,
        /// The value as given.
        value: String,
        /// Why the scenario is invalid.
        #[source]
        source: ScenarioError,
    },
    /// A grid point of a sweep is not a valid scenario.
    #[error("sweep grid point {point} ({sets}): {source}")]
    SweepPoint {
        /// The grid point's number.
        point: usize,
        /// Its `--set` overrides, space-separated.
        sets: String,
        /// Why the scenario is invalid.
        #[source]
        source: ScenarioError,
    },
    /// One run of a sweep failed.
    #[error("grid point {point} ({sets}), seed {seed}: {source}")]
    SweepRun {
        /// The grid point's number.
        point: usize,
        /// Its `--set` overrides, space-separated.
        sets: String,
        /// The run's seed.
        seed: u64,
        /// What went wrong.
        #[source]
        source: Box<PipelineError>,
    },
    /// The worker threads of a sweep could not be started.
    #[error("cannot start {threads} threads: {source}")]
    Threads {
        /// How many were asked for.
        threads: usize,
        /// Why not.
        #[source]
        source: rayon::ThreadPoolBuildError,
    },
    /// A sweep's `runs.csv`, just written, does not parse back (a bug).
    #[error("internal: runs.csv does not read back: {0}")]
    RunsReadBack(#[source] SweepError),
    /// A sweep's plot was asked for a metric the sweep does not record.
    #[error(transparent)]
    SweepPlot(SweepError),
    /// A sweep's plot could not be drawn.
    #[error(transparent)]
    Plot(#[from] reports::plot::PlotError),
}

impl PipelineError {
    /// Whether the cause is the input (a scenario or sweep grid that cannot
    /// be simulated, an output folder that cannot be written) rather than a
    /// run that started and could not finish.
    pub fn is_bad_input(&self) -> bool {
        match self {
            PipelineError::Build(_)
            | PipelineError::Io { .. }
            | PipelineError::Report(_)
            | PipelineError::SweepValue { .. }
            | PipelineError::SweepPoint { .. }
            | PipelineError::SweepPlot(_)
            | PipelineError::Plot(_) => true,
            PipelineError::Run(_)
            | PipelineError::Baseline(_)
            | PipelineError::Limit(_)
            | PipelineError::Threads { .. }
            | PipelineError::RunsReadBack(_) => false,
            PipelineError::SweepRun { source, .. } => source.is_bad_input(),
        }
    }

    /// An I/O error of `op` on `path`.
    pub(crate) fn io(op: FileOp, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| PipelineError::Io { op, path, source }
    }
}
