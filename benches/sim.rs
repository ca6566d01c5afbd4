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
//!
//! Each bench also prints how many events one run processes (the engine's
//! work, independent of the machine) after criterion's times.

#![allow(clippy::print_stderr, reason = "the bench prints its event counts")]

use criterion::{Criterion, criterion_group, criterion_main};

/// One run through the pipeline `okmesh run` uses (without the flooding
/// baseline); what the engine did.
fn run(s: &scenarios::Scenario) -> sim::RunStats {
    okmesh::Prepared::new(s)
        .expect("builds")
        .run(None, &mut |_| {})
        .expect("runs")
        .stats
}

fn scenario(name: &str, sets: &[&str]) -> scenarios::Scenario {
    let overrides: Vec<scenarios::Override> =
        sets.iter().map(|s| s.parse().expect("valid")).collect();
    scenarios::resolve(name, &overrides).expect("loads")
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("sim");
    g.sample_size(10);
    let mut bench = |name: &str, s: scenarios::Scenario| {
        let mut stats = None;
        g.bench_function(name, |b| {
            b.iter(|| {
                let e = run(&s);
                stats = Some(e);
                e
            })
        });
        // Printed only if criterion's filter selected the bench.
        if let Some(stats) = stats {
            eprintln!(
                "sim/{name}: {} events per run ({} of them idle timer entries)",
                stats.events, stats.idle_events
            );
        }
    };
    bench(
        "meshtastic-default 100 nodes 30 min",
        scenario("meshtastic-default", &[]),
    );
    bench(
        "disaster-zone 1000 nodes 1 h",
        scenario(
            "disaster-zone",
            &[
                "topology.nodes=1000",
                "duration=1h",
                "workload.traffic.period=15m",
            ],
        ),
    );
    bench(
        "disaster-zone catalogue sync 2 h",
        scenario("disaster-zone", &["duration=2h"]),
    );
    g.finish();
}

criterion_group!(sim_benches, benches);
criterion_main!(sim_benches);
