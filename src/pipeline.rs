//! Running one scenario: build the simulation, run the flooding baseline
//! when asked, run the scenario with the observers on its trace, assemble
//! the summary and evaluate the assertions.

use std::time::Instant as WallClock;

use node_core::sync::Strategy;
use reports::report::{MapOverlay, RunReport};
use reports::sync::{SyncMetrics, SyncSummary};
use reports::{Metrics, Summary};
use scenarios::{Scenario, ScenarioError};
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
    let simulation = Simulation::new(&scenario.sim_config())?;
    let info = simulation.run_info();
    Ok((simulation, info))
}

/// The zone a scenario places its nodes in, metres (random and town
/// placements have one).
fn zone_m(scenario: &Scenario) -> Option<[f64; 2]> {
    match &scenario.topology {
        scenarios::Topology::Random { area_m, .. }
        | scenarios::Topology::Clusters { area_m, .. } => Some(*area_m),
        _ => None,
    }
}

/// What a scenario's items are, in the plural.
fn item_noun(scenario: &Scenario) -> &'static str {
    use scenarios::CatalogueKind::{Facility, Manifest};
    let kinds = &scenario.workload.publish;
    if kinds.is_empty() {
        "items"
    } else if kinds.iter().all(|p| p.kind == Manifest) {
        "manifests"
    } else if kinds.iter().all(|p| p.kind == Facility) {
        "facilities"
    } else {
        "items"
    }
}

/// The links and the first partition's groups, for the map; the zone and
/// what the items are, for the report.
fn overlay(simulation: &Simulation, scenario: &Scenario) -> MapOverlay {
    let partition_groups = simulation.partition_groups();
    MapOverlay {
        links: simulation.topology().mesh_edges(),
        partition_groups,
        zone_m: zone_m(scenario),
        item_noun: item_noun(scenario).to_string(),
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
#[derive(Debug)]
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
            (scenario.sync.baseline && scenario.sync.strategy != Strategy::Flood).then(|| {
                let mut flood = scenario.clone();
                flood.sync.strategy = Strategy::Flood;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(sets: &[&str]) -> Scenario {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        load_scenario("quickstart", &sets).expect("valid scenario")
    }

    #[test]
    fn a_run_is_summarised_checked_and_asserted() {
        let s = scenario(&["duration=30m", "topology.nodes=20"]);
        let out = run(&s).expect("runs");
        let summary = &out.summary;
        assert_eq!(summary.nodes, 20);
        assert_eq!(summary.trace_records, out.stats.records);
        let checks: Vec<&str> = summary.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            checks,
            [
                "duty_cycle",
                "half_duplex",
                "hop_limit",
                "reception_conservation",
                "trust"
            ]
        );
        let asserted: Vec<_> = summary.assertions.iter().map(|a| a.metric).collect();
        let wanted: Vec<_> = s.assertions.iter().map(|a| a.metric).collect();
        assert_eq!(asserted, wanted);
        assert_eq!(
            summary.passed,
            summary.checks.iter().all(|c| c.passed) && summary.assertions.iter().all(|a| a.passed)
        );
        // The same scenario through the pipeline again: the same trace.
        assert_eq!(
            run(&s).expect("runs").summary.trace_hash,
            summary.trace_hash
        );
    }

    #[test]
    fn the_baseline_runs_only_when_the_scenario_asks() {
        let asked = scenario(&["duration=30m", "topology.nodes=20", "sync.baseline=true"]);
        let with = run(&asked).expect("runs");
        let flood = with.summary.baseline.as_ref().expect("baseline figures");
        assert_eq!(flood.strategy, "flood");
        // Skipping `with_baseline` skips it.
        let without = Prepared::new(&asked)
            .expect("builds")
            .run(None, &mut |_| {})
            .expect("runs");
        assert!(without.summary.baseline.is_none());
        assert_eq!(without.summary.trace_hash, with.summary.trace_hash);
        let plain = run(&scenario(&["duration=30m", "topology.nodes=20"])).expect("runs");
        assert!(plain.summary.baseline.is_none());
    }

    #[test]
    fn errors_say_whether_the_input_or_the_run_failed() {
        let e = run(&scenario(&["limits.max_events=10"])).expect_err("limit hit");
        assert!(matches!(e, PipelineError::Run(_)), "{e:?}");
        assert!(!e.is_bad_input());
        assert!(
            e.to_string().starts_with("event limit of 10 reached"),
            "{e}"
        );
        let build = PipelineError::Build(sim::BuildError::Topology(
            sim::topology::TopologyError::Placement {
                node: 3,
                tries: 1,
                why: "spacing",
            },
        ));
        assert!(build.is_bad_input());
        let in_sweep = PipelineError::SweepRun {
            point: 1,
            sets: "topology.nodes=5".into(),
            seed: 9,
            source: Box::new(build),
        };
        assert!(in_sweep.is_bad_input());
        assert!(
            in_sweep.to_string().starts_with(
                "grid point 1 (topology.nodes=5), seed 9: topology: could not place node 3"
            ),
            "{in_sweep}"
        );
        assert!(load_scenario("quickstart", &["nodes".into()]).is_err());
    }
}
