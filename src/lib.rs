//! # okmesh — the run pipeline
//!
//! "Run a scenario" written once, for the `okmesh` command line, the
//! integration tests and the benchmarks alike:
//!
//! 1. [`load_scenario`]: a scenario file or library entry with `--set`
//!    overrides;
//! 2. [`Prepared::new`]: the simulation built (topology, radio, faults);
//! 3. [`Prepared::with_baseline`]: the flooding baseline run first when the
//!    scenario asks for one;
//! 4. [`Prepared::run`]: the run, with the trace hash, the simulator's
//!    invariant checks, the metrics and the sync figures observing its trace
//!    ([`observe`]); then the summary assembled, the check outcomes
//!    converted once into `reports`' plain [`reports::CheckResult`]s, and the
//!    scenario's assertions evaluated.
//!
//! [`output`] writes a run's folder and [`sweep`] runs a grid of runs
//! through the same pipeline. Failures are [`PipelineError`]s, each with
//! its typed source.
//!
//! ## Layer and imports
//!
//! This crate sits on top: it may import every workspace crate (`scenarios`,
//! `sim`, `reports`, `node-core`), and it is the only place where the
//! simulator's internals (the checkers, the topology) meet `reports`. It
//! holds no command-line concerns (argument parsing, printing, progress
//! bars, exit codes): those live in the `okmesh` binary (`src/main.rs`,
//! `src/commands/`), which calls this library.

pub mod error;
pub mod observe;
pub mod output;
pub mod pipeline;
pub mod sweep;

pub use error::{FileOp, PipelineError};
pub use output::{RunFolder, TraceFile};
pub use pipeline::{Prepared, RunOutput, load_scenario, run};
