//! The run pipeline shared by `okmesh run` and `okmesh sweep`: build the
//! simulation, run it with the hasher, the checkers and the metrics
//! observing the trace, and assemble the summary.

use std::collections::BTreeSet;
use std::time::Instant as WallClock;

use node_core::sync::Strategy;
use reports::observe::Observers;
use reports::report::{MapOverlay, RunReport};
use reports::sync::{SyncMetrics, SyncSummary};
use reports::{Metrics, Summary};
use scenarios::Scenario;
use sim::check::Checks;
use sim::trace::{RunInfo, TraceSink};
use sim::{Progress, Simulation};

use super::CliError;

/// A simulation built and ready to run.
pub(crate) struct Prepared {
    simulation: Simulation,
    /// What the run is, for the reports.
    pub(crate) info: RunInfo,
    overlay: MapOverlay,
    assertions: Vec<scenarios::Assertion>,
    baseline: Option<SyncSummary>,
}

/// A finished run.
pub(crate) struct RunOutput {
    pub(crate) info: RunInfo,
    pub(crate) metrics: Metrics,
    pub(crate) checks: Checks,
    pub(crate) summary: Summary,
    pub(crate) overlay: MapOverlay,
}

impl RunOutput {
    /// The run's report (tables, plots, HTML).
    pub(crate) fn report(&self) -> RunReport<'_> {
        RunReport {
            info: &self.info,
            metrics: &self.metrics,
            duty: self.checks.duty_meter(),
            summary: &self.summary,
            overlay: &self.overlay,
        }
    }
}

impl Prepared {
    /// Builds the simulation of `scenario` (topology, radio, faults).
    pub(crate) fn new(scenario: &Scenario) -> Result<Self, CliError> {
        let simulation = Simulation::new(&scenario.sim_config())
            .map_err(|e| CliError::BadInput(e.to_string()))?;
        let info = simulation.run_info();
        let topo = simulation.topology();
        let mut links = BTreeSet::new();
        for a in 0..topo.len() as u32 {
            for l in topo.links_from(a) {
                if l.decodable && l.to != a {
                    links.insert((a.min(l.to), a.max(l.to)));
                }
            }
        }
        let partition_groups = simulation.partition_groups();
        Ok(Prepared {
            info,
            overlay: MapOverlay {
                links: links.into_iter().collect(),
                partition_groups,
            },
            assertions: scenario.assertions.clone(),
            simulation,
            baseline: None,
        })
    }

    /// Runs the blind-flooding baseline of `scenario` first (the same
    /// scenario and seed with `sync.strategy: flood`) when the scenario asks
    /// for it with `sync.baseline`, so the summary shows both.
    pub(crate) fn with_baseline(mut self, scenario: &Scenario) -> Result<Self, CliError> {
        if !scenario.sync.baseline || scenario.sync.strategy == Strategy::Flood {
            return Ok(self);
        }
        let mut flood = scenario.clone();
        flood.sync.strategy = Strategy::Flood;
        let mut sim =
            Simulation::new(&flood.sim_config()).map_err(|e| CliError::BadInput(e.to_string()))?;
        let info = sim.run_info();
        let (mut metrics, mut sync) = (Metrics::new(&info), SyncMetrics::default());
        sim.run(&mut [&mut metrics, &mut sync], &mut |_| {})
            .map_err(|e| CliError::Failed(format!("flooding baseline: {e}")))?;
        self.baseline = sync.summary(&info, &metrics);
        Ok(self)
    }

    /// Runs to the end; `extra` also observes the trace (e.g. a trace file).
    pub(crate) fn run(
        mut self,
        extra: Option<&mut dyn TraceSink>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RunOutput, CliError> {
        let info = self.info;
        let mut observers = Observers::new(&info);
        let started = WallClock::now();
        let result = {
            let extra: Vec<_> = extra.into_iter().map(|w| &mut *w).collect();
            let mut sinks = observers.sinks(extra);
            self.simulation.run(&mut sinks, progress)
        };
        let wall_time_s = started.elapsed().as_secs_f64();
        let stats = result.map_err(|e| CliError::Failed(e.to_string()))?;
        if let Some(limit) = observers.metrics.limit_hit() {
            return Err(CliError::Failed(limit));
        }
        let summary =
            observers.summary(&info, &stats, wall_time_s, self.baseline, &self.assertions);
        let Observers {
            metrics, checks, ..
        } = observers;
        Ok(RunOutput {
            info,
            metrics,
            checks,
            summary,
            overlay: self.overlay,
        })
    }
}
