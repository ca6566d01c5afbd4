//! The observers of a run — the trace hash, the simulator's invariant
//! checks, the metrics and the sync figures — set up and summarised in one
//! place, so every run is observed the same way.

use reports::sync::{SyncMetrics, SyncSummary};
use reports::{AssertionOutcome, CheckResult, Metrics, RunFacts, Summary, SyncReport};
use sim::RunStats;
use sim::check::Checks;
use sim::trace::{RunInfo, TraceHasher, TraceSink};

/// Everything that watches one run's trace.
#[derive(Clone, Debug)]
pub struct Observers {
    /// The trace hash.
    pub hasher: TraceHasher,
    /// The simulator's invariant checks.
    pub checks: Checks,
    /// The metrics.
    pub metrics: Metrics,
    /// Bytes by class and summary times for the sync figures.
    pub sync: SyncMetrics,
}

impl Observers {
    /// Observers for a run described by `info`.
    pub fn new(info: &RunInfo) -> Self {
        Observers {
            hasher: TraceHasher::default(),
            checks: Checks::for_run(info),
            metrics: Metrics::new(info),
            sync: SyncMetrics::default(),
        }
    }

    /// The sinks to hand to `Simulation::run`, followed by `extra` ones.
    pub fn sinks<'a, 'b: 'a>(
        &'a mut self,
        extra: Vec<&'a mut (dyn TraceSink + 'b)>,
    ) -> Vec<&'a mut (dyn TraceSink + 'b)> {
        let mut sinks: Vec<&'a mut (dyn TraceSink + 'b)> = vec![
            &mut self.hasher,
            &mut self.checks,
            &mut self.metrics,
            &mut self.sync,
        ];
        sinks.extend(extra);
        sinks
    }

    /// The summary of the finished run, with `assertions` evaluated.
    pub fn summary(
        &self,
        info: &RunInfo,
        stats: &RunStats,
        wall_time_s: f64,
        baseline: Option<SyncSummary>,
        assertions: &[scenarios::Assertion],
    ) -> Summary {
        let mut summary = Summary::new(
            info,
            &self.metrics,
            RunFacts {
                events: stats.events,
                trace_records: stats.records,
                trace_hash: self.hasher.hex(),
                wall_time_s,
            },
            check_results(&self.checks),
            SyncReport {
                run: self.sync.summary(info, &self.metrics),
                baseline,
            },
        );
        let outcomes = assertions
            .iter()
            .map(|a| AssertionOutcome::evaluate(&summary, a.metric, a.min, a.max))
            .collect();
        summary.set_assertions(outcomes);
        summary
    }
}

/// The checkers' outcomes as the plain data reports take (converted here,
/// once, so that reports need nothing of the checkers).
pub fn check_results(checks: &Checks) -> Vec<CheckResult> {
    checks
        .outcomes()
        .into_iter()
        .map(|c| CheckResult {
            name: c.name.to_string(),
            passed: c.passed,
            detail: c.detail,
        })
        .collect()
}
