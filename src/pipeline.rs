//! Running one scenario: build the simulation, run the flooding baseline
//! when asked, run the scenario with the observers on its trace, assemble
//! the summary and evaluate the assertions.

use std::collections::BTreeSet;
use std::time::Instant as WallClock;

use reports::report::{MapOverlay, RunReport};
use reports::sync::{SyncMetrics, SyncSummary};
use reports::{Metrics, Summary};
use scenarios::{Fault, Scenario, ScenarioError, SyncStrategy};
use sim::trace::{RunInfo, TraceSink};
use sim::{Progress, RunStats, Simulation};

use crate::PipelineError;
use crate::observe::Observers;

/// Loads `spec` (a scenario file or the name of a library scenario) with
/// `--set PATH=VALUE` overrides.
pub fn load_scenario(spec: &str, sets: &[String]) -> Result<Scenario, ScenarioError> {
    let overrides = sets
        .iter()
        .map(|s| s.parse::<scenarios::Override>())
        .collect::<Result<Vec<_>, _>>()?;
    scenarios::resolve(spec, &overrides)
}

/// The simulation of `scenario` and its description (the one place the
/// pipeline builds a simulator).
fn build(scenario: &Scenario) -> Result<(Simulation, RunInfo), PipelineError> {
    let simulation = Simulation::new(scenario)?;
    let info = simulation.run_info(scenario);
    Ok((simulation, info))
}

/// The links and the first partition's groups, for the map.
fn overlay(simulation: &Simulation, scenario: &Scenario) -> MapOverlay {
    let topo = simulation.topology();
    let mut links = BTreeSet::new();
    for a in 0..topo.len() as u32 {
        for l in topo.links_from(a) {
            if l.decodable && l.to != a {
                links.insert((a.min(l.to), a.max(l.to)));
            }
        }
    }
    let partition_groups = scenario
        .faults
        .iter()
        .find_map(|f| match f {
            Fault::Partition(p) => Some(simulation.partition_groups(p)),
            _ => None,
        })
        .unwrap_or_default();
    MapOverlay {
        links: links.into_iter().collect(),
        partition_groups,
    }
}

/// A simulation built and ready to run.
pub struct Prepared {
    simulation: Simulation,
    info: RunInfo,
    overlay: MapOverlay,
    assertions: Vec<scenarios::Assertion>,
    /// The flooding variant of the scenario, when it asks for a baseline.
    flood: Option<Scenario>,
    baseline: Option<SyncSummary>,
}

/// A finished run.
pub struct RunOutput {
    /// What ran.
    pub info: RunInfo,
    /// The figures accumulated from the trace.
    pub metrics: Metrics,
    /// `summary.json`, checks and assertions included.
    pub summary: Summary,
    /// Links and partitions for the map.
    pub overlay: MapOverlay,
    /// What the engine did.
    pub stats: RunStats,
}

impl RunOutput {
    /// The run's report (tables, plots, HTML).
    pub fn report(&self) -> RunReport<'_> {
        RunReport {
            info: &self.info,
            metrics: &self.metrics,
            summary: &self.summary,
            overlay: &self.overlay,
        }
    }
}

impl Prepared {
    /// Builds the simulation of `scenario` (topology, radio, faults).
    pub fn new(scenario: &Scenario) -> Result<Self, PipelineError> {
        let (simulation, info) = build(scenario)?;
        let flood =
            (scenario.sync.baseline && scenario.sync.strategy != SyncStrategy::Flood).then(|| {
                let mut flood = scenario.clone();
                flood.sync.strategy = SyncStrategy::Flood;
                flood
            });
        Ok(Prepared {
            overlay: overlay(&simulation, scenario),
            info,
            assertions: scenario.assertions.clone(),
            simulation,
            flood,
            baseline: None,
        })
    }

    /// What the run is (topology statistics, radio), before it runs.
    pub fn info(&self) -> &RunInfo {
        &self.info
    }

    /// Runs the blind-flooding baseline first (the same scenario and seed
    /// with `sync.strategy: flood`) when the scenario asks for it with
    /// `sync.baseline`, so the summary shows both; otherwise does nothing.
    pub fn with_baseline(mut self) -> Result<Self, PipelineError> {
        let Some(flood) = self.flood.take() else {
            return Ok(self);
        };
        let (mut sim, info) = build(&flood)?;
        let (mut metrics, mut sync) = (Metrics::new(&info), SyncMetrics::default());
        sim.run(&mut [&mut metrics, &mut sync], &mut |_| {})
            .map_err(PipelineError::Baseline)?;
        self.baseline = sync.summary(&info, &metrics);
        Ok(self)
    }

    /// Runs to the end with the trace hash, the checks and the metrics
    /// observing; `extra` also observes the trace (e.g. a trace file).
    pub fn run(
        mut self,
        extra: Option<&mut dyn TraceSink>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RunOutput, PipelineError> {
        let info = self.info;
        let mut observers = Observers::new(&info);
        let started = WallClock::now();
        let result = {
            let extra: Vec<_> = extra.into_iter().map(|w| &mut *w).collect();
            let mut sinks = observers.sinks(extra);
            self.simulation.run(&mut sinks, progress)
        };
        let wall_time_s = started.elapsed().as_secs_f64();
        let stats = result?;
        if let Some(limit) = observers.metrics.limit_hit() {
            return Err(limit.into());
        }
        let summary =
            observers.summary(&info, &stats, wall_time_s, self.baseline, &self.assertions);
        Ok(RunOutput {
            info,
            metrics: observers.metrics,
            summary,
            overlay: self.overlay,
            stats,
        })
    }
}

/// Builds and runs `scenario`, with its flooding baseline when it asks for
/// one, and nothing else observing.
pub fn run(scenario: &Scenario) -> Result<RunOutput, PipelineError> {
    Prepared::new(scenario)?
        .with_baseline()?
        .run(None, &mut |_| {})
}
