//! The observers of a run — the trace hash, the invariant checks, the
//! metrics and the sync figures — set up and summarised in one place, so the
//! command line, the tests and the benchmarks observe runs identically.

use sim::RunStats;
use sim::check::Checks;
use sim::trace::{RunInfo, TraceHasher, TraceSink};

use crate::sync::{SyncMetrics, SyncSummary};
use crate::{Metrics, RunFacts, Summary, SyncReport};

/// Everything that watches one run's trace.
#[derive(Clone, Debug)]
pub struct Observers {
    /// The trace hash.
    pub hasher: TraceHasher,
    /// The invariant checks (and the duty-cycle meter).
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
            checks: Checks::new(
                info.sites.len(),
                info.radio.duty_cycle_limit_pct,
                info.radio.duty_cycle_window,
            ),
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

    /// The summary of the finished run.
    pub fn summary(
        &self,
        info: &RunInfo,
        stats: &RunStats,
        wall_time_s: f64,
        baseline: Option<SyncSummary>,
        assertions: &[scenarios::Assertion],
    ) -> Summary {
        Summary::new(
            info,
            &self.metrics,
            self.checks.duty_meter(),
            RunFacts {
                events: stats.events,
                trace_records: stats.records,
                trace_hash: self.hasher.hex(),
                wall_time_s,
            },
            self.checks.outcomes(),
            SyncReport {
                run: self.sync.summary(info, &self.metrics),
                baseline,
            },
            assertions,
        )
    }
}
