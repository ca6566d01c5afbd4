//! Reports: CSV tables against the trace, plots, the HTML report, sweeps.

use std::collections::HashSet;
use std::path::Path;

use catalogue::id::ItemId;
use node_core::wire::FrameClass;
use node_core::{Instant, NodeId};
use reports::report::{MapOverlay, RunReport};
use reports::timeline::Timeline;
use reports::{Metrics, RunFacts, Summary, tables};
use sim::check::Checks;
use sim::trace::{FaultRecord, NodeRecord, PacketKey, Record, RunInfo, TraceSink};

use crate::util::{library, okmesh, run, scenario, temp_dir};

const PLOT_STEMS: [&str; 5] = ["map", "coverage", "channel", "airtime", "latency"];
const TABLES: [&str; 5] = [
    "nodes.csv",
    "items.csv",
    "coverage.csv",
    "channel.csv",
    "latency.csv",
];

/// Metrics and summary of a record stream.
struct Observed {
    info: RunInfo,
    metrics: Metrics,
    summary: Summary,
}

fn observe(info: RunInfo, records: &[Record]) -> Observed {
    let mut metrics = Metrics::new(&info);
    let mut checks = Checks::new(
        info.sites.len(),
        info.radio.duty_cycle_limit_pct,
        info.radio.duty_cycle_window,
    );
    // Batches of odd sizes: results must not depend on batching.
    for batch in records.chunks(7) {
        metrics.observe(batch);
        checks.observe(batch);
    }
    // The report measures duty cycles itself; the checker's separate
    // measurement must agree exactly.
    let (report_duty, checker_duty) = (metrics.duty(), checks.duty_meter());
    for node in 0..info.sites.len() {
        assert_eq!(report_duty.max_pct(node), checker_duty.max_pct(node));
    }
    assert_eq!(
        report_duty.overall_max_pct(),
        checker_duty.overall_max_pct()
    );
    let summary = Summary::new(
        &info,
        &metrics,
        RunFacts {
            events: 0,
            trace_records: records.len() as u64,
            trace_hash: "0".repeat(64),
            wall_time_s: 1.0,
        },
        okmesh::observe::check_results(&checks),
        reports::SyncReport::default(),
    );
    Observed {
        info,
        metrics,
        summary,
    }
}

fn lines(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn column<'a>(table: &'a [Vec<String>], name: &str) -> Vec<&'a str> {
    let k = table[0]
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", table[0]));
    table[1..].iter().map(|r| r[k].as_str()).collect()
}

/// The sum of a numeric column.
fn column_sum<T>(table: &[Vec<String>], name: &str) -> T
where
    T: std::str::FromStr + std::iter::Sum,
    T::Err: std::fmt::Debug,
{
    column(table, name)
        .iter()
        .map(|v| v.parse::<T>().unwrap())
        .sum()
}

#[test]
fn tables_match_the_trace_of_a_real_run() {
    let o = run(&library(
        "quickstart",
        &["topology.nodes=20", "duration=30m"],
    ));
    let ob = observe(o.info.clone(), &o.records);
    let nodes = lines(&tables::nodes_csv(&ob.info, &ob.metrics));
    assert_eq!(nodes.len(), 1 + 20);
    assert_eq!(
        nodes[0].join(","),
        "node,x_m,y_m,z_m,role,degree,originated,frames_sent,relays,received,duplicates,collisions,below_sensitivity,half_duplex_misses,drops,airtime_s,duty_cycle_max_pct,crashes,up_at_end,items_held,converged_s,channel_util_mean_pct,channel_util_max_pct"
    );
    let count = |of: fn(&Record) -> bool| o.records.iter().filter(|r| of(r)).count() as u64;
    let tx_starts = count(|r| matches!(r, Record::TxStart { .. }));
    assert_eq!(column_sum::<u64>(&nodes, "frames_sent"), tx_starts);
    assert_eq!(
        column_sum::<u64>(&nodes, "collisions"),
        count(|r| matches!(r, Record::Collision { .. }))
    );

    let channel = lines(&tables::channel_csv(&ob.metrics));
    let timeline = Timeline::new(ob.info.sim_time);
    assert_eq!(channel.len(), 1 + timeline.buckets);
    assert_eq!(
        channel[0].join(","),
        "t_start_s,t_end_s,busy_pct,frames,airtime_chat_s,airtime_summary_s,airtime_request_s,airtime_data_s,airtime_signal_s,airtime_other_s"
    );
    assert_eq!(column_sum::<u64>(&channel, "frames"), tx_starts);
    for busy in column(&channel, "busy_pct") {
        let b: f64 = busy.parse().unwrap();
        assert!((0.0..=100.0).contains(&b), "busy {b}");
    }

    // Chat latency: one value per first reception of a chat message.
    let latency = lines(&tables::latency_csv(&ob.metrics));
    assert_eq!(
        latency[0].join(","),
        "kind,count,mean_s,p50_s,p90_s,p99_s,max_s"
    );
    let first_rx = o
        .records
        .iter()
        .filter(|r| {
            matches!(
                r,
                Record::RxOk {
                    duplicate: false,
                    class: FrameClass::Chat,
                    ..
                }
            )
        })
        .count();
    assert_eq!(latency[1][0], "message");
    assert_eq!(latency[1][1], first_rx.to_string());
    let p: Vec<f64> = latency[1][3..].iter().map(|v| v.parse().unwrap()).collect();
    assert!(
        p[0] > 0.0 && p[0] <= p[1] && p[1] <= p[2] && p[2] <= p[3],
        "{p:?}"
    );
    // Item propagation: one value per item stored from the mesh.
    let stored = o
        .records
        .iter()
        .filter(|r| {
            matches!(
                r,
                Record::Node {
                    event: NodeRecord::Stored { .. },
                    ..
                }
            )
        })
        .count();
    let published = o
        .records
        .iter()
        .filter(|r| {
            matches!(
                r,
                Record::Node {
                    event: NodeRecord::Published { .. },
                    ..
                }
            )
        })
        .count();
    assert!(published > 0 && stored > 0, "quickstart syncs manifests");
    assert_eq!(latency[2][0], "item");
    assert_eq!(latency[2][1], stored.to_string());
    // One items.csv row per published version.
    assert_eq!(lines(&tables::items_csv(&ob.metrics)).len(), 1 + published);
    // The summary's figures come from the same observation.
    assert_eq!(ob.summary.frames_sent, o.summary.frames_sent);
    assert_eq!(ob.summary.message_latency, o.summary.message_latency);
}

fn item(k: u8) -> ItemId {
    ItemId([k; 16])
}

fn at(s: f64) -> Instant {
    Instant::from_micros((s * 1e6) as u64)
}

fn published(t: f64, node: u32, it: u8, seq: u32, element: u64, size: u32) -> Record {
    Record::Node {
        at: at(t),
        node: NodeId(node),
        event: NodeRecord::Published {
            item: item(it),
            seq,
            element,
            size_bytes: size,
            fragments: 2,
        },
    }
}

fn stored(t: f64, node: u32, it: u8, seq: u32, element: u64) -> Record {
    Record::Node {
        at: at(t),
        node: NodeId(node),
        event: NodeRecord::Stored {
            item: item(it),
            seq,
            element,
        },
    }
}

fn tx(t: f64, node: u32, serial: u64, class: FrameClass, subject: u64, id: u32) -> Record {
    Record::TxStart {
        at: at(t),
        node: NodeId(node),
        tx: serial,
        packet: PacketKey {
            origin: NodeId(node),
            id,
        },
        hop_limit: 3,
        relay: false,
        bytes_on_air: 200,
        end: at(t + 1.0),
        class,
        subject,
    }
}

/// Four nodes; item 1 published by node 0 (then a second version), item 2
/// by node 3; node 2 crashes; one chat message.
fn synthetic() -> Observed {
    let s =
        scenario("name: items\nduration: 10m\ntopology: {kind: chain, nodes: 4, spacing_m: 500}\n");
    let info = sim::Simulation::new(&s.sim_config()).unwrap().run_info();
    let chat = PacketKey {
        origin: NodeId(1),
        id: 7,
    };
    // Node 1's chat message heard by `node` at 21.5 s.
    let chat_rx = |node: u32| Record::RxOk {
        at: at(21.5),
        node: NodeId(node),
        tx: 3,
        sender: NodeId(1),
        packet: chat,
        hops_away: 0,
        rssi_cdbm: -9000,
        duplicate: false,
        class: FrameClass::Chat,
    };
    let records = vec![
        published(1.0, 0, 1, 1, 11, 500),
        tx(2.0, 0, 1, FrameClass::Data, 11, 1),
        stored(3.0, 1, 1, 1, 11),
        stored(4.0, 2, 1, 1, 11),
        published(5.0, 3, 2, 1, 22, 300),
        Record::Fault {
            at: at(6.0),
            fault: FaultRecord::Crash { node: NodeId(2) },
        },
        stored(7.0, 1, 2, 1, 22),
        stored(8.0, 0, 2, 1, 22),
        published(9.0, 0, 1, 2, 12, 600),
        tx(10.0, 0, 2, FrameClass::Data, 12, 2),
        stored(12.0, 1, 1, 2, 12),
        stored(13.0, 3, 1, 2, 12),
        Record::Originate {
            at: at(20.0),
            node: NodeId(1),
            packet: chat,
            payload_bytes: 40,
            hop_limit: 3,
            class: FrameClass::Chat,
        },
        tx(20.5, 1, 3, FrameClass::Chat, 0, 7),
        chat_rx(0),
        chat_rx(3),
    ];
    observe(info, &records)
}

#[test]
fn item_tables_follow_publications_and_stores() {
    let ob = synthetic();
    let items = tables::items_csv(&ob.metrics);
    let a = "01".repeat(16);
    let b = "02".repeat(16);
    assert_eq!(
        items,
        format!(
            "item,seq,publisher,first_published_s,published_s,size_bytes,holders_end,coverage_end_pct,completed_s,propagation_s,data_frames,data_airtime_s,data_bytes\n\
             {a},2,0,1.000,9.000,600,3,75.00,13.000,4.000,2,2.000,400\n\
             {b},1,3,5.000,5.000,300,3,75.00,8.000,3.000,0,0.000,0\n"
        )
    );
    let nodes = lines(&tables::nodes_csv(&ob.info, &ob.metrics));
    assert_eq!(
        column(&nodes, "converged_s"),
        ["9.000", "12.000", "", "13.000"]
    );
    assert_eq!(column(&nodes, "items_held"), ["2", "2", "1", "2"]);
    assert_eq!(column(&nodes, "up_at_end"), ["1", "1", "0", "1"]);
    assert_eq!(column(&nodes, "crashes"), ["0", "0", "1", "0"]);

    // Coverage: every 5 s bucket of 10 min, for both items.
    let coverage = lines(&tables::coverage_csv(&ob.metrics));
    assert_eq!(coverage.len(), 1 + 120 * 2);
    assert_eq!(coverage[1].join(","), format!("5.000,{a},3,75.00"));
    assert_eq!(coverage[2].join(","), format!("5.000,{b},1,25.00"));
    assert_eq!(coverage[3].join(","), format!("10.000,{a},1,25.00"));
    assert_eq!(coverage[4].join(","), format!("10.000,{b},3,75.00"));
    assert_eq!(coverage[240].join(","), format!("600.000,{b},3,75.00"));

    let latency = lines(&tables::latency_csv(&ob.metrics));
    assert_eq!(latency[1][..2], ["message", "2"]);
    assert_eq!(latency[1][3], "1.500");
    assert_eq!(latency[2][..2], ["item", "6"]);

    let s = &ob.summary;
    assert_eq!(s.items, 2);
    assert_eq!(s.items_published, 2);
    assert_eq!(s.items_complete_s, Some(13.0));
    assert_eq!(s.nodes_holding_all_pct, Some(100.0));
    assert_eq!(s.nodes_up_at_end, 3);
    assert_eq!(s.value(scenarios::Metric::ItemsCompleteS), Some(13.0));
    let channel = lines(&tables::channel_csv(&ob.metrics));
    let data: f64 = column_sum(&channel, "airtime_data_s");
    assert!((data - 2.0).abs() < 1e-9);
}

/// Distinct colours of a PNG file (which must decode).
fn png_colours(path: &Path) -> usize {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let bytes = info.color_type.samples();
    assert!(info.width >= 400 && info.height >= 300);
    buf[..info.buffer_size()]
        .chunks(bytes)
        .map(<[u8]>::to_vec)
        .collect::<HashSet<_>>()
        .len()
}

/// Checks an SVG file parses as an SVG document with drawing in it.
fn check_svg(path: &Path, min_drawing: usize) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let start = text.find("<svg").expect("an <svg> element");
    assert!(text.trim_end().ends_with("</svg>"), "{}", path.display());
    assert!(text[start..].contains("xmlns=\"http://www.w3.org/2000/svg\""));
    let drawing = [
        "<line",
        "<polyline",
        "<rect",
        "<circle",
        "<path",
        "<polygon",
    ]
    .iter()
    .map(|e| text.matches(e).count())
    .sum::<usize>();
    assert!(
        drawing >= min_drawing,
        "{} has {drawing} drawing elements",
        path.display()
    );
    assert!(text.contains("<text"), "{} has no text", path.display());
    // Every tag that opens is closed (a cheap well-formedness check).
    assert_eq!(
        text.matches("<svg").count(),
        text.matches("</svg>").count(),
        "{}",
        path.display()
    );
}

#[test]
fn run_writes_plots_and_a_self_contained_report() {
    let dir = temp_dir("report");
    let yaml = dir.join("faults.yaml");
    std::fs::write(
        &yaml,
        "name: faults\nseed: 4\nduration: 30m\n\
         topology: {kind: random, nodes: 30, area_m: [3000, 3000]}\n\
         workload: {traffic: {period: 5m, payload_bytes: 40}, publish: [{items: 3, from: 0s, until: 5m}]}\n\
         faults:\n  - partition: {at: 5m, heal_at: 15m, line: [[1500, 0], [1500, 3000]]}\n  - crash: {at: 10m, node: 3}\n  - crash: {at: 12m, node: 4, restart_after: 5m}\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = okmesh(&[
        "run",
        yaml.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(&format!("report: {}", out.join("report.html").display())),
        "{stdout}"
    );
    for stem in PLOT_STEMS {
        let png = out.join(format!("{stem}.png"));
        let colours = png_colours(&png);
        assert!(colours > 20, "{stem}.png has only {colours} colours");
        // Without items the coverage plot is a framed note.
        check_svg(
            &out.join(format!("{stem}.svg")),
            if stem == "coverage" { 1 } else { 10 },
        );
    }
    for t in TABLES {
        assert!(out.join(t).is_file(), "{t}");
    }
    // The map shows the partition, the crashed and the down node.
    let map = std::fs::read_to_string(out.join("map.svg")).unwrap();
    for legend in [
        "partition group 1",
        "down at the end",
        "crashed during the run",
    ] {
        assert!(map.contains(legend), "map lacks `{legend}`");
    }
    let nodes = lines(&std::fs::read_to_string(out.join("nodes.csv")).unwrap());
    assert_eq!(column(&nodes, "up_at_end")[3], "0");
    assert_eq!(column(&nodes, "up_at_end")[4], "1");
    assert_eq!(column(&nodes, "crashes")[4], "1");

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), PLOT_STEMS.len());
    for external in [
        "src=\"http",
        "src='http",
        "<link",
        "url(",
        "<script",
        "href=\"http",
        "<img",
    ] {
        assert!(
            !html.contains(external),
            "report.html contains `{external}`"
        );
    }
    for section in [
        "What was simulated",
        "Radio and chat",
        "Checks and assertions",
        "Efficiency",
    ] {
        assert!(html.contains(section), "report.html lacks {section}");
    }
    assert!(html.contains("check duty_cycle"));
    assert!(html.contains("sync: every live node held everything"));
    assert!(html.contains("sync: efficiency ratio"));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("| ok | check half_duplex |"), "{md}");
    assert!(md.contains("![Channel utilisation per node as Meshtastic devices report it"));
    assert!(md.contains("](channel.png)"));

    // --no-report: the tables, no plots.
    let bare = dir.join("bare");
    let o = okmesh(&[
        "run",
        yaml.to_str().unwrap(),
        "--no-report",
        "-q",
        "--out",
        bare.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert!(bare.join("items.csv").is_file());
    assert!(!bare.join("report.html").exists() && !bare.join("map.png").exists());
}

#[test]
fn item_plots_draw_coverage_and_convergence() {
    let ob = synthetic();
    let dir = temp_dir("item-plots");
    let overlay = MapOverlay {
        links: vec![(0, 1), (1, 2), (2, 3)],
        partition_groups: Vec::new(),
        zone_m: None,
        item_noun: String::new(),
    };
    let report = RunReport {
        info: &ob.info,
        metrics: &ob.metrics,
        summary: &ob.summary,
        overlay: &overlay,
    };
    let html = report.write_all(&dir).expect("report written");
    assert!(html.ends_with("report.html"));
    let coverage = std::fs::read_to_string(dir.join("coverage.svg")).unwrap();
    assert!(coverage.contains("mean over the 2 items published by then"));
    assert!(png_colours(&dir.join("coverage.png")) > 20);
    check_svg(&dir.join("coverage.svg"), 10);
    let map = std::fs::read_to_string(dir.join("map.svg")).unwrap();
    assert!(map.contains("when each node held every item"));
    let latency = std::fs::read_to_string(dir.join("latency.svg")).unwrap();
    assert!(latency.contains("item propagation (n = 6)"));
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("| every live node held all 2 items |"), "{md}");
}

#[test]
fn same_seed_gives_byte_identical_tables_and_plots() {
    let dir = temp_dir("repeat");
    let outs: Vec<_> = ["a", "b"]
        .iter()
        .map(|n| {
            let out = dir.join(n);
            let o = okmesh(&[
                "run",
                "quickstart",
                "--set",
                "topology.nodes=25",
                "--set",
                "duration=40m",
                "--set",
                "assertions=[]",
                "-q",
                "--out",
                out.to_str().unwrap(),
            ]);
            assert!(o.status.success());
            out
        })
        .collect();
    let mut compared = 0;
    for entry in std::fs::read_dir(&outs[0]).unwrap() {
        let name = entry.unwrap().file_name();
        // Only summary.json holds the wall-clock time.
        if name == "summary.json" {
            continue;
        }
        let a = std::fs::read(outs[0].join(&name)).unwrap();
        let b = std::fs::read(outs[1].join(&name)).unwrap();
        assert!(a == b, "{name:?} differs between identical runs");
        compared += 1;
    }
    assert!(compared >= TABLES.len() + 2 * PLOT_STEMS.len() + 2);
}

const SWEEP: &str = "name: tiny\nduration: 15m\ntopology: {kind: chain, nodes: 5, spacing_m: 500}\n\
                     workload: {traffic: {period: 2m, payload_bytes: 30}}\n";

#[test]
fn sharded_sweep_merges_into_the_whole_sweeps_aggregate() {
    let dir = temp_dir("sweep");
    let yaml = dir.join("tiny.yaml");
    std::fs::write(&yaml, SWEEP).unwrap();
    let grid = [
        "--set",
        "topology.nodes=4,6,8",
        "--set",
        "radio.preset=LongFast,MediumFast",
        "--seeds",
        "3",
        "-q",
    ];
    let sweep = |extra: &[&str], out: &Path| {
        let mut args = vec!["sweep", yaml.to_str().unwrap()];
        args.extend(grid);
        args.extend(extra);
        args.extend(["--out", out.to_str().unwrap()]);
        let o = okmesh(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let whole = dir.join("whole");
    sweep(&["--jobs", "2"], &whole);
    let runs = lines(&std::fs::read_to_string(whole.join("runs.csv")).unwrap());
    assert_eq!(runs.len(), 1 + 3 * 2 * 3);
    assert_eq!(
        runs[0][..6].join(","),
        "job,point,topology.nodes,radio.preset,seed_index,seed"
    );
    // Seeds are the scenario's seed + k; each point's seeds differ.
    assert_eq!(column(&runs, "seed")[..3], ["1", "2", "3"]);
    let agg = lines(&std::fs::read_to_string(whole.join("aggregate.csv")).unwrap());
    assert_eq!(agg.len(), 1 + 6 * reports::sweep::SWEEP_METRICS.len());
    assert_eq!(
        agg[0].join(","),
        "point,topology.nodes,radio.preset,metric,runs,present,never,median,min,max"
    );
    assert!(png_colours(&whole.join("sweep-reach_pct.png")) > 20);
    check_svg(&whole.join("sweep-reach_pct.svg"), 10);

    let shards: Vec<_> = (1..=4)
        .map(|i| {
            let out = dir.join(format!("shard{i}"));
            sweep(&["--shard", &format!("{i}/4"), "--jobs", "1"], &out);
            assert!(!out.join("aggregate.csv").exists());
            out
        })
        .collect();
    let merged = dir.join("merged");
    let mut args = vec!["merge", "-q", "--out", merged.to_str().unwrap()];
    args.extend(shards.iter().rev().map(|p| p.to_str().unwrap()));
    let o = okmesh(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "runs.csv",
        "aggregate.csv",
        "sweep.json",
        "sweep-reach_pct.svg",
    ] {
        assert_eq!(
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(merged.join(f)).unwrap(),
            "{f} differs"
        );
    }

    // A missing shard is named, not silently ignored.
    let o = okmesh(&[
        "merge",
        "-q",
        "--out",
        dir.join("partial").to_str().unwrap(),
        shards[0].to_str().unwrap(),
        shards[1].to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("runs are missing"));
}

#[test]
fn sweep_rejects_bad_set_paths_and_values_before_running() {
    let dir = temp_dir("sweep-bad");
    for (set, needle) in [
        ("topology.nodez=4,6", "topology.nodez"),
        ("radio.preset=LongFast,LongFst", "radio.preset"),
        ("topology.nodes=4,abc", "topology.nodes=abc"),
        ("topology.nodes=4,,6", "topology.nodes"),
        ("no-equals-sign", "no-equals-sign"),
    ] {
        let out = dir.join("out");
        let o = okmesh(&[
            "sweep",
            "quickstart",
            "--set",
            set,
            "-q",
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{set}: {err}");
        assert!(err.contains(needle), "{set}: {err}");
        assert!(!out.join("runs.csv").exists(), "{set}: nothing runs");
    }
    for (args, needle) in [
        (&["--shard", "5/4"][..], "--shard"),
        (&["--seeds", "0"][..], "--seeds"),
        (&["--metric", "nope"][..], "--metric nope"),
    ] {
        let mut all = vec!["sweep", "quickstart", "-q"];
        all.extend(args);
        let o = okmesh(&all);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains(needle));
    }
}
