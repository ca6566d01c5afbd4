//! Simulator benchmarks.
//!
//! * `meshtastic-default` at 100 nodes (Meshtasticator's default setup; the
//!   Python reference takes over five minutes for it): a whole run, build
//!   included, with the sinks `okmesh run` uses (trace hash, checks, metrics).
//! * `disaster-zone` scaled to 1,000 nodes with a 15-minute chat period,
//!   for one simulated hour: the hot path at scale. The full 24-hour figure
//!   comes from `okmesh run` (see the README), since one iteration takes
//!   tens of seconds.
//! * `disaster-zone` as in the library for its first two hours: 220 nodes
//!   reconciling 50 manifests, where set-sketch decoding is the hot path.

use criterion::{Criterion, criterion_group, criterion_main};
use reports::observe::Observers;
use sim::Simulation;

fn run(s: &scenarios::Scenario) -> u64 {
    let mut sim = Simulation::new(&s.sim_config()).expect("builds");
    let info = sim.run_info();
    let mut observers = Observers::new(&info);
    let stats = sim
        .run(&mut observers.sinks(Vec::new()), &mut |_| {})
        .expect("runs");
    stats.events
}

fn scenario(name: &str, sets: &[&str]) -> scenarios::Scenario {
    let overrides: Vec<scenarios::Override> =
        sets.iter().map(|s| s.parse().expect("valid")).collect();
    scenarios::resolve(name, &overrides).expect("loads")
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("sim");
    g.sample_size(10);
    let md = scenario("meshtastic-default", &[]);
    g.bench_function("meshtastic-default 100 nodes 30 min", |b| {
        b.iter(|| run(&md))
    });
    let dz = scenario(
        "disaster-zone",
        &[
            "topology.nodes=1000",
            "duration=1h",
            "workload.traffic.period=15m",
        ],
    );
    g.bench_function("disaster-zone 1000 nodes 1 h", |b| b.iter(|| run(&dz)));
    let sync = scenario("disaster-zone", &["duration=2h"]);
    g.bench_function("disaster-zone catalogue sync 2 h", |b| {
        b.iter(|| run(&sync))
    });
    g.finish();
}

criterion_group!(sim_benches, benches);
criterion_main!(sim_benches);
