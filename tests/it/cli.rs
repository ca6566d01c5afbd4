//! The command line: exit codes, messages, files written.

use crate::util::{okmesh, temp_dir};

const GOOD: &str =
    "name: t\nduration: 10m\ntopology:\n  kind: chain\n  nodes: 5\n  spacing_m: 500\n";

/// Invalid scenarios: (what is wrong, the file, text the error must contain).
const BAD: &[(&str, &str, &str)] = &[
    (
        "unknown top-level key",
        "name: t\nduration: 10m\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\ncolour: red\n",
        ":4:1: colour: unknown field",
    ),
    (
        "misspelt nested key",
        "name: t\nduration: 10m\nradio:\n  txpower: 3\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\n",
        ":4:3: radio.txpower: unknown field",
    ),
    (
        "unknown preset",
        "name: t\nduration: 10m\nradio: {preset: LongFst}\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\n",
        "radio.preset: unknown modem preset `LongFst`",
    ),
    (
        "unknown region",
        "name: t\nduration: 10m\nradio: {region: MARS}\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\n",
        "radio.region: unknown region",
    ),
    (
        "missing duration",
        "name: t\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\n",
        "missing field `duration`",
    ),
    (
        "bad duration",
        "name: t\nduration: 10 parsecs\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\n",
        ":2:1: duration:",
    ),
    (
        "unknown topology kind",
        "name: t\nduration: 10m\ntopology: {kind: ring, nodes: 5}\n",
        "topology",
    ),
    (
        "too few nodes",
        "name: t\nduration: 10m\ntopology: {kind: chain, nodes: 1, spacing_m: 500}\n",
        "topology.nodes: 1 nodes",
    ),
    (
        "negative spacing",
        "name: t\nduration: 10m\ntopology: {kind: chain, nodes: 5, spacing_m: -3}\n",
        "topology.spacing_m: must be positive",
    ),
    (
        "hop limit above 7",
        "name: t\nduration: 10m\nmesh: {hop_limit: 9}\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\n",
        ":3:",
    ),
    (
        "spreading factor 13",
        "name: t\nduration: 10m\nradio: {lora: {sf: 13, bandwidth_khz: 125, coding_rate: 5}}\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\n",
        "radio.lora.sf: spreading factor 13",
    ),
    (
        "power above the region's",
        "name: t\nduration: 10m\nradio: {region: EU868, tx_power_dbm: 33}\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\n",
        "radio.tx_power_dbm: 33 dBm",
    ),
    (
        "crash of a missing node",
        "name: t\nduration: 10m\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\nfaults:\n  - crash: {at: 1m, node: 7}\n",
        ":5:",
    ),
    (
        "fault of two kinds",
        "name: t\nduration: 10m\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\nfaults:\n  - {crash: {at: 1m, node: 1}, heal: {at: 2m}}\n",
        "faults[0]: a fault is exactly one of",
    ),
    (
        "loss probability 1.5",
        "name: t\nduration: 10m\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\nfaults:\n  - loss: {probability: 1.5}\n",
        "faults[0].loss.probability: 1.5",
    ),
    (
        "partition with no groups or line",
        "name: t\nduration: 10m\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\nfaults:\n  - partition: {at: 1m}\n",
        "faults[0].partition: give exactly one",
    ),
    (
        "unknown assertion metric",
        "name: t\nduration: 10m\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\nassertions:\n  - {metric: happiness, min: 1}\n",
        "assertions[0].metric: unknown metric `happiness`",
    ),
    (
        "payload too large",
        "name: t\nduration: 10m\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\nworkload: {traffic: {period: 1m, payload_bytes: 500}}\n",
        "workload.traffic.payload_bytes: 500",
    ),
    (
        "bad name",
        "name: \"My Run!\"\nduration: 10m\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\n",
        ":1:1: name:",
    ),
    ("not YAML", "name: t\nduration: [10m\n", "not valid YAML"),
    (
        "duration beyond the limit",
        "name: t\nduration: 90d\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\n",
        "duration: 90d exceeds limits.max_sim_time",
    ),
    (
        "revision window ending after the run",
        "name: t\nduration: 10m\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\nworkload:\n  publish: [{items: 1}]\n  revise: [{items: 1, from: 1m, until: 20m}]\n",
        "workload.revise[0].until: is after the end of the run",
    ),
    (
        "CSV file missing",
        "name: t\nduration: 10m\ntopology: {kind: csv, path: nowhere.csv}\n",
        "topology.path: cannot read",
    ),
];

#[test]
fn every_bad_scenario_exits_2_naming_the_field() {
    let dir = temp_dir("bad-scenarios");
    for (i, (what, text, expected)) in BAD.iter().enumerate() {
        let path = dir.join(format!("bad{i}.yaml"));
        std::fs::write(&path, text).unwrap();
        for cmd in ["validate", "run"] {
            let out = okmesh(
                &[
                    cmd,
                    path.to_str().unwrap(),
                    "--out",
                    dir.join("out").to_str().unwrap(),
                ][..if cmd == "run" { 4 } else { 2 }],
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{what} ({cmd}): {stderr}");
            assert!(
                stderr.contains(expected),
                "{what} ({cmd}): expected `{expected}` in:\n{stderr}"
            );
            assert!(
                stderr.contains(&format!("bad{i}.yaml")),
                "{what}: names the file:\n{stderr}"
            );
            assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        }
    }
}

#[test]
fn bad_arguments_exit_2() {
    let dir = temp_dir("bad-args");
    let good = dir.join("good.yaml");
    std::fs::write(&good, GOOD).unwrap();
    let g = good.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["run", "no-such-scenario"],
            "no scenario file or library scenario named `no-such-scenario`",
        ),
        (
            vec!["run", g, "--set", "topology.nodez=4"],
            "--set topology.nodez: unknown field",
        ),
        (
            vec!["run", g, "--set", "topology.nodes"],
            "expected PATH=VALUE",
        ),
        (
            vec!["run", g, "--set", "radio.preset=Warp"],
            "--set radio.preset: unknown modem preset",
        ),
        (
            vec!["run", g, "--seed", "minus-one"],
            "invalid value 'minus-one'",
        ),
        (
            vec!["airtime", "--bytes", "20", "--preset", "Fastest"],
            "--preset: unknown modem preset",
        ),
        (
            vec!["airtime", "--bytes", "300"],
            "exceeds the LoRa maximum",
        ),
        (
            vec!["airtime", "--bytes", "20", "--cr", "9"],
            "--cr: 9 must be 5..=8",
        ),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ] {
        let out = okmesh(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected `{expected}` in {stderr}"
        );
    }
}

#[test]
fn run_writes_results_and_exits_by_outcome() {
    let dir = temp_dir("run");
    let out = okmesh(&["run", "chain", "--out", dir.to_str().unwrap(), "--quiet"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "--quiet prints nothing");
    for f in [
        "summary.json",
        "nodes.csv",
        "topology.json",
        "scenario.resolved.yaml",
    ] {
        assert!(dir.join(f).is_file(), "{f} written");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    for key in [
        "seed",
        "nodes",
        "sim_time_s",
        "wall_time_s",
        "events",
        "events_per_s",
        "frames_sent",
        "frames_received",
        "collisions",
        "reach_pct",
        "air_utilisation_pct",
        "trace_hash",
        "assertions",
    ] {
        assert!(summary.get(key).is_some(), "summary.json has {key}");
    }
    assert_eq!(summary["nodes"], 10);
    assert_eq!(summary["passed"], true);
    let csv = std::fs::read_to_string(dir.join("nodes.csv")).unwrap();
    assert_eq!(csv.lines().count(), 11, "header and one row per node");
    // The resolved scenario is itself a valid scenario that gives the same run.
    let again = temp_dir("run-again");
    let out = okmesh(&[
        "run",
        dir.join("scenario.resolved.yaml").to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("--json prints the summary");
    assert_eq!(json["trace_hash"], summary["trace_hash"]);

    // A failing assertion exits 1.
    let out = okmesh(&[
        "run",
        "chain",
        "--out",
        dir.to_str().unwrap(),
        "--set",
        "assertions[0].min=4",
        "--set",
        "assertions[0].max=9",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn airtime_prints_the_formula_result() {
    let out = okmesh(&["airtime", "--preset", "LongFast", "--bytes", "16", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        (v["airtime_ms"].as_f64().unwrap() - 354.3).abs() < 0.5,
        "{v}"
    );
    let out = okmesh(&[
        "airtime",
        "--sf",
        "9",
        "--bw",
        "125",
        "--cr",
        "5",
        "--preamble",
        "8",
        "--bytes",
        "13",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("164.864 ms"), "{text}");
}

#[test]
fn the_library_is_listed_and_every_entry_validates() {
    let out = okmesh(&["scenarios"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for name in scenarios::library::names() {
        assert!(text.contains(name), "{name} listed");
        let v = okmesh(&["validate", name]);
        assert_eq!(
            v.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&v.stderr)
        );
    }
}

#[test]
fn runs_that_cannot_finish_exit_1_and_bad_output_folders_exit_2() {
    let dir = temp_dir("limits");
    let d = dir.to_str().unwrap();
    for (args, code, expected) in [
        (
            vec!["run", "chain", "--out", d, "--set", "limits.max_events=50"],
            1,
            "error: event limit of 50 reached at ",
        ),
        (
            vec![
                "sweep",
                "chain",
                "--set",
                "limits.max_events=50,100000",
                "--out",
                d,
                "--quiet",
            ],
            1,
            "error: grid point 0 (limits.max_events=50), seed 7: event limit of 50 reached",
        ),
        (
            vec!["run", "chain", "--out", "/proc/okmesh-it/out", "--quiet"],
            2,
            "error: cannot create /proc/okmesh-it/out: ",
        ),
    ] {
        let out = okmesh(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(expected),
            "{args:?}: expected `{expected}` in {stderr}"
        );
    }
}
