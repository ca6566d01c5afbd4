//! Helpers shared by the integration tests.

use std::path::PathBuf;
use std::process::{Command, Output};

use reports::Summary;
use sim::trace::{Record, RunInfo, TraceSink};

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

impl Outcome {
    /// Fails the test, naming `what`, unless every invariant checker passed.
    pub(crate) fn assert_checks_pass(&self, what: &str) {
        let failed: Vec<_> = self.summary.checks.iter().filter(|c| !c.passed).collect();
        assert!(failed.is_empty(), "{what}: checks failed: {failed:?}");
    }

    /// The invariant checker called `name`; fails the test if the run did
    /// not have one.
    pub(crate) fn check(&self, name: &str) -> &reports::CheckResult {
        let checks = &self.summary.checks;
        checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name} among {checks:?}"))
    }
}

/// Runs a scenario in-process through the run pipeline (without the
/// flooding baseline), keeping the whole trace.
pub(crate) fn run(s: &scenarios::Scenario) -> Outcome {
    let mut recorder = Recorder::default();
    let out = okmesh::Prepared::new(s)
        .expect("scenario builds")
        .run(Some(&mut recorder), &mut |_| {})
        .expect("run completes");
    Outcome {
        info: out.info,
        summary: out.summary,
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
