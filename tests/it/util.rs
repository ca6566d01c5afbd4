//! Helpers shared by the integration tests.

use std::path::PathBuf;
use std::process::{Command, Output};

use reports::sync::SyncMetrics;
use reports::{AssertionSpec, Metrics, RunFacts, Summary, SyncReport};
use sim::Simulation;
use sim::check::Checks;
use sim::trace::{Record, RunInfo, TraceHasher, TraceSink};

/// Keeps every record (for small scenarios only).
#[derive(Default)]
pub(crate) struct Recorder(pub Vec<Record>);

impl TraceSink for Recorder {
    fn observe(&mut self, batch: &[Record]) {
        self.0.extend_from_slice(batch);
    }
}

/// A finished run.
pub(crate) struct Outcome {
    pub info: RunInfo,
    pub summary: Summary,
    pub records: Vec<Record>,
}

/// Runs a scenario in-process, keeping the whole trace.
pub(crate) fn run(s: &scenarios::Scenario) -> Outcome {
    let mut sim = Simulation::new(s).expect("scenario builds");
    let info = sim.run_info(s);
    let mut hasher = TraceHasher::default();
    let mut checks = Checks::new(
        info.sites.len(),
        info.radio.duty_cycle_limit_pct,
        info.radio.duty_cycle_window,
    );
    let mut metrics = Metrics::new(&info);
    let mut sync_metrics = SyncMetrics::default();
    let mut recorder = Recorder::default();
    let stats = sim
        .run(
            &mut [
                &mut hasher,
                &mut checks,
                &mut metrics,
                &mut sync_metrics,
                &mut recorder,
            ],
            &mut |_| {},
        )
        .expect("run completes");
    let assertions: Vec<AssertionSpec> = s
        .assertions
        .iter()
        .map(|a| AssertionSpec {
            metric: a.metric.clone(),
            min: a.min,
            max: a.max,
        })
        .collect();
    let summary = Summary::new(
        &info,
        &metrics,
        checks.duty_meter(),
        RunFacts {
            events: stats.events,
            trace_records: stats.records,
            trace_hash: hasher.hex(),
            wall_time_s: 1.0,
        },
        checks.outcomes(),
        SyncReport {
            run: sync_metrics.summary(&info, &metrics),
            baseline: None,
        },
        &assertions,
    );
    Outcome {
        info,
        summary,
        records: recorder.0,
    }
}

/// Loads a library scenario or scenario text with overrides.
pub(crate) fn library(name: &str, sets: &[&str]) -> scenarios::Scenario {
    let overrides: Vec<scenarios::Override> = sets
        .iter()
        .map(|s| s.parse().expect("valid --set"))
        .collect();
    scenarios::resolve(name, &overrides).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Parses scenario text.
pub(crate) fn scenario(yaml: &str) -> scenarios::Scenario {
    scenarios::load_str(yaml, "test.yaml", None, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs the `okmesh` binary.
pub(crate) fn okmesh(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_okmesh"))
        .args(args)
        .output()
        .expect("okmesh runs")
}

/// A fresh empty directory for one test.
pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("okmesh-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
