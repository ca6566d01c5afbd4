//! Issue 13's defects as tests: convergence that counts every node,
//! placement that does not move with the radio, sweeps that show failure,
//! the coverage mean, quiet broken pipes, `--cr 4/5`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reports::Metric;
use reports::report::AnyPlot;

use crate::corpus::CORPUS;
use crate::util::{okmesh, run, temp_dir};

/// 24 nodes scattered over 40 × 40 km on ShortFast: islands everywhere.
const FRAGMENTED: &str = "\
name: fragmented
seed: 3
duration: 40m
radio: {region: EU868, preset: ShortFast}
topology: {kind: random, nodes: 24, area_m: [40000, 40000]}
workload:
  publish:
    - {items: 3, from: 0s, until: 5m}
assertions:
  - {metric: converged_at_s, max: 7200}
  - {metric: items_complete_pct, min: 100}
";

fn scenario(text: &str, sets: &[&str]) -> scenarios::Scenario {
    let overrides: Vec<scenarios::Override> = sets
        .iter()
        .map(|s| s.parse().expect("valid override"))
        .collect();
    scenarios::load_str(text, "test.yaml", None, &overrides).expect("valid scenario")
}

#[test]
fn a_fragmented_mesh_cannot_pass_a_convergence_assertion() {
    let out = run(&scenario(FRAGMENTED, &[]));
    let s = &out.summary;
    assert!(s.islands > 1, "{} islands", s.islands);
    let unreachable = s.unreachable_nodes.expect("items were published");
    assert!(unreachable > 0);
    assert!(s.nodes_never_converged.unwrap() >= unreachable);
    assert_eq!(s.items_complete_s, None);
    assert_eq!(s.value(Metric::ConvergedAtS), Some(f64::INFINITY));
    assert_eq!(s.value(Metric::ItemsCompletePct), Some(0.0));
    assert!(!s.passed, "a fragmented mesh passed");
    for a in &s.assertions {
        assert!(!a.passed, "{} passed", a.metric);
    }
    // The reachable-only figure stays, under its own name.
    assert!(s.value(Metric::ReachableItemsCompletePct).is_some());
    // The verdict says so, and names the islands.
    let v = reports::report::verdict(s, "manifests");
    assert!(!v.good);
    assert!(v.answer.starts_with("Not converged: "), "{}", v.answer);
    assert!(v.answer.contains("out of reach"), "{}", v.answer);
    assert!(v.warnings.iter().any(|w| w.starts_with("Islands:")));
}

#[test]
fn the_library_asserts_the_honest_metric() {
    // Every library convergence assertion names a whole-deployment metric.
    for name in scenarios::library::names() {
        let s = scenarios::resolve(name, &[]).expect("library scenario");
        for a in &s.assertions {
            let m = a.metric.to_string();
            assert!(!m.starts_with("reachable_"), "{name} asserts {m}");
        }
    }
    let desc = Metric::ConvergedAtS.description();
    assert!(
        desc.contains("islands and unreachable nodes included"),
        "{desc}"
    );
}

#[test]
fn positions_are_identical_across_a_preset_sweep() {
    for (name, sets) in [
        ("quickstart", &[][..]),
        ("meshtastic-default", &[][..]),
        (
            "quickstart",
            &[
                "topology.ensure_connected=true",
                "topology.connect_range_m=1500",
            ][..],
        ),
    ] {
        let text = scenarios::library::get(name).expect("library scenario");
        let mut seen: Option<Vec<(f64, f64)>> = None;
        let mut degrees = Vec::new();
        for preset in ["ShortFast", "MediumFast", "LongFast", "LongSlow"] {
            let mut all = sets.to_vec();
            let p = format!("radio.preset={preset}");
            all.push(&p);
            let s = scenario(text, &all);
            let prepared = okmesh::Prepared::new(&s).expect("builds");
            let info = prepared.info();
            let at: Vec<(f64, f64)> = info.sites.iter().map(|x| (x.x_m, x.y_m)).collect();
            degrees.push(info.topology.degree_mean);
            match &seen {
                None => seen = Some(at),
                Some(first) => assert_eq!(first, &at, "{name} {sets:?}: {preset} moved nodes"),
            }
        }
        // The radio does change the mesh: the same nodes, other links.
        assert!(degrees[0] < degrees[3], "{name}: {degrees:?}");
    }
    // A 10 × 10 km zone is used as such: nodes reach its far corners.
    let s = scenario(
        "name: z\nduration: 10m\nradio: {preset: ShortFast}\ntopology: {kind: random, nodes: 50, area_m: [10000, 10000]}\n",
        &[],
    );
    let p = okmesh::Prepared::new(&s).expect("builds");
    let xs: Vec<f64> = p.info().sites.iter().map(|x| x.x_m).collect();
    let spread =
        xs.iter().cloned().fold(f64::MIN, f64::max) - xs.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread > 8000.0, "nodes span {spread} m of 10 km");
}

#[test]
fn ensure_connected_without_a_range_is_refused() {
    let dir = temp_dir("no-range");
    let f = dir.join("s.yaml");
    std::fs::write(
        &f,
        "name: t\nduration: 10m\ntopology: {kind: random, nodes: 5, area_m: [1000, 1000], ensure_connected: true}\n",
    )
    .unwrap();
    let o = okmesh(&["validate", f.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("connect_range_m"), "{err}");
}

#[test]
fn a_sweep_with_a_never_converging_seed_shows_it() {
    let dir = temp_dir("sweep-never");
    let f = dir.join("s.yaml");
    // Small zone: converges; 40 km: islands, never.
    std::fs::write(&f, FRAGMENTED.replace("assertions:\n  - {metric: converged_at_s, max: 7200}\n  - {metric: items_complete_pct, min: 100}\n", "")).unwrap();
    let out = dir.join("out");
    let o = okmesh(&[
        "sweep",
        f.to_str().unwrap(),
        "--set",
        "topology.area_m=[1500,1500],[40000,40000]",
        "--seeds",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--target",
        "converged_at_s<=40m",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let runs = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    let header: Vec<&str> = runs.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "converged_at_s").unwrap();
    let values: Vec<String> = runs
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(col + 1).unwrap().to_string()) // area_m is quoted with a comma
        .collect();
    // 1.5 km: seed 3 leaves one node on its own, seed 4 converges; 40 km: never.
    assert_eq!(values[0], "never", "{runs}");
    assert!(values[1].parse::<f64>().is_ok(), "{runs}");
    assert_eq!(&values[2..], ["never", "never"], "{runs}");
    let agg = std::fs::read_to_string(out.join("aggregate.csv")).unwrap();
    assert!(
        agg.lines()
            .next()
            .unwrap()
            .ends_with(",metric,runs,present,never,median,min,max")
    );
    assert!(
        agg.contains(",converged_at_s,2,2,2,never,never,never"),
        "{agg}"
    );
    assert!(agg.contains(",converged_at_s,2,2,1,never,"), "{agg}");
    let svg = std::fs::read_to_string(out.join("sweep-converged_at_s.svg")).unwrap();
    assert!(svg.contains("never 1/2"), "the plot hides the never seed");
    assert!(svg.contains("never 2/2"), "the plot hides the never point");
    // The terminal: the aggregate in human units, and the target's answer.
    assert!(text.contains("present/runs"), "{text}");
    assert!(text.contains("never"), "{text}");
    assert!(
        text.contains("no value of topology.area_m in the sweep meets it"),
        "{text}"
    );
}

#[test]
fn the_coverage_mean_equals_the_csv() {
    // Items published over 20 minutes: series of different lengths.
    let s = scenario(
        "name: cov\nseed: 2\nduration: 40m\nradio: {preset: ShortFast}\n\
         topology: {kind: grid, nodes: 16, spacing_m: 300}\n\
         workload:\n  publish:\n    - {items: 4, from: 0s, until: 20m}\n",
        &[],
    );
    let out = okmesh::Prepared::new(&s)
        .expect("builds")
        .run(None, &mut |_| {})
        .expect("runs");
    let report = out.report();
    let csv = reports::tables::coverage_csv(&out.metrics);
    let mut by_t: std::collections::BTreeMap<String, (f64, u32)> = Default::default();
    for line in csv.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let e = by_t.entry(c[0].to_string()).or_default();
        e.0 += c[3].parse::<f64>().unwrap();
        e.1 += 1;
    }
    let plot = report
        .plots()
        .into_iter()
        .find_map(|p| match p {
            AnyPlot::Coverage(c) => Some(c),
            _ => None,
        })
        .expect("a coverage plot");
    assert_eq!(plot.mean.len(), by_t.len());
    let mut fell = false;
    for (t, pct) in &plot.mean {
        let (sum, k) = by_t[&format!("{t:.3}")];
        assert!(
            (pct - sum / f64::from(k)).abs() < 0.01,
            "at {t} s: plot {pct}, csv {}",
            sum / f64::from(k)
        );
        fell |= *pct < 50.0 && *t > 1800.0;
    }
    assert!(!fell, "the mean fell at the end");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = temp_dir("pipe");
    let facility = format!("{CORPUS}/okw/helpfulengineering-library/alpha/okw/RobsArduinoShop.yml");
    // `okmesh run quickstart | head -1`: the first line read, then the pipe closes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_okmesh"))
        .args([
            "run",
            "quickstart",
            "--out",
            dir.join("run").to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("okmesh starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("okmesh run quickstart"), "{first}");
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        dir.join("run/summary.json").is_file(),
        "the run still finished"
    );
    // `| head -0`: closed before the first line.
    for args in [
        vec!["scenarios"],
        vec!["match", "--have", "3d printer, PLA", "--corpus", CORPUS],
        vec!["produce", "--facility", &facility, "--corpus", CORPUS],
        vec!["airtime", "--bytes", "20"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_okmesh"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("okmesh starts");
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        // (match and produce report skipped corpus files on stderr.)
        assert!(
            !err.contains("panicked") && !err.contains("stdout"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn airtime_takes_the_coding_rate_as_okmesh_prints_it() {
    let a = okmesh(&["airtime", "--bytes", "40", "--cr", "4/5"]);
    let b = okmesh(&["airtime", "--bytes", "40", "--cr", "5"]);
    let c = okmesh(&["airtime", "--bytes", "40", "--cr", "4/8"]);
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    assert!(String::from_utf8_lossy(&c.stdout).contains(" 4/8 "));
    let bad = okmesh(&["airtime", "--bytes", "40", "--cr", "3/5"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("4/5, 4/6, 4/7 or 4/8"));
}
