//! What a field node's log shows when peers misbehave: a flood of junk
//! frames gives a bounded number of lines, a title full of newlines and
//! colour codes stays on one line and shows escaped, and a store whose last
//! record was torn says what it cut.

use std::time::Duration;

use hw_bridge::udp::DatagramRepr;
use node_core::{Destination, NodeId};

use crate::field_support::{Proc, free_udp_ports, http_json, start_api_node};
use crate::util::okmesh;

/// Parses the JSON log lines of `stderr` (other lines are skipped).
fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn message(v: &serde_json::Value) -> &str {
    v["fields"]["message"].as_str().unwrap_or("")
}

#[test]
fn a_flood_of_junk_frames_gives_a_bounded_number_of_log_lines() {
    let p = free_udp_ports(2);
    let attacker = std::net::UdpSocket::bind(format!("127.0.0.1:{}", p[1])).unwrap();
    let node_addr = format!("127.0.0.1:{}", p[0]);
    let mut node = Proc::okmesh(&[
        "node",
        "--radio",
        &format!("udp:{node_addr},peers=127.0.0.1:{}", p[1]),
        "--log-format",
        "json",
        "--run-for",
        "4s",
    ]);
    // Wait for the node's socket, then send junk as fast as it goes.
    std::thread::sleep(Duration::from_millis(500));
    const JUNK: u32 = 5_000;
    for i in 0..JUNK {
        let d = DatagramRepr {
            from: NodeId(p[1].into()),
            packet_id: i + 1,
            dest: Destination::Broadcast,
            hop_limit: 0,
            hop_start: 0,
            // Not an okmesh frame: junk with a newline and an escape in it.
            payload: format!("\u{1b}[31mjunk\nframe {i}").into_bytes(),
        };
        attacker.send_to(&d.encode(), &node_addr).unwrap();
        if i % 500 == 499 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let (summary, stderr) = node.finish(Duration::from_secs(30));
    let rejected = summary["frames_rejected"].as_u64().unwrap();
    assert!(rejected > 1000, "the node saw the flood: {summary}");
    let lines = json_lines(&stderr);
    let frame_lines: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| message(l) == "frame rejected")
        .collect();
    let aggregates: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| {
            message(l) == "similar warnings suppressed" && l["fields"]["kind"] == "frame rejected"
        })
        .collect();
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "{rejected} junk frames rejected in 4 s: {} 'frame rejected' lines, {} aggregate lines, {} log lines in all",
            frame_lines.len(),
            aggregates.len(),
            lines.len()
        );
    }
    // 4 s of flood: one line, then one aggregate (at the window's end or at
    // shutdown). Generous: at most one line per 10 s window per kind.
    assert!(
        !frame_lines.is_empty() && frame_lines.len() <= 2,
        "{} frame lines",
        frame_lines.len()
    );
    assert!(
        aggregates.len() <= 2,
        "{} aggregate lines",
        aggregates.len()
    );
    assert!(
        lines.len() < 40,
        "{} log lines in all:\n{stderr}",
        lines.len()
    );
    // Every rejection is accounted for: logged or counted.
    let counted: u64 = frame_lines.len() as u64
        + frame_lines
            .iter()
            .map(|l| l["fields"]["suppressed"].as_u64().unwrap())
            .sum::<u64>()
        + aggregates
            .iter()
            .map(|l| l["fields"]["suppressed"].as_u64().unwrap())
            .sum::<u64>();
    assert_eq!(counted, rejected, "logged plus suppressed = rejected");
    assert!(!stderr.contains('\u{1b}'), "a raw escape reached the log");
}

const EVIL_TITLE: &str = "Chair\\n2026-01-01T00:00:00Z ERROR forged line \\u001b[31mred\\u001b[0m";

#[test]
fn peer_controlled_titles_reach_text_and_json_logs_escaped() {
    for format in ["text", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let radio = {
            let p = free_udp_ports(2);
            format!("udp:127.0.0.1:{},peers=127.0.0.1:{}", p[0], p[1])
        };
        let (mut node, a) = start_api_node(&radio, dir.path(), &["--log-format", format]);
        let manifest = format!("okhv = \"2.0\"\nname = \"{EVIL_TITLE}\"\nmaterial = \"PLA\"\n");
        let (code, v) = http_json(
            &a,
            "POST",
            "/manifests?name=evil%0Aname.toml",
            manifest.as_bytes(),
        );
        assert_eq!(code, 201, "{v}");
        node.terminate();
        let (code, stderr) = node.wait(Duration::from_secs(30));
        assert_eq!(code, 0, "{stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "{format}: a raw escape reached the log:\n{stderr}"
        );
        assert!(
            !stderr.lines().any(|l| l.starts_with("2026-01-01")),
            "{format}: a forged line:\n{stderr}"
        );
        let published: Vec<&str> = stderr.lines().filter(|l| l.contains("published")).collect();
        assert_eq!(published.len(), 1, "{format}:\n{stderr}");
        let line = published[0];
        let shown = match format {
            "json" => serde_json::from_str::<serde_json::Value>(line).unwrap()["fields"]["name"]
                .as_str()
                .unwrap()
                .to_owned(),
            _ => line.to_owned(),
        };
        assert!(
            shown.contains(r"Chair\n2026-01-01T00:00:00Z ERROR forged line \u{1b}[31mred\u{1b}[0m"),
            "{format}: {shown}"
        );
    }
}

#[test]
fn a_torn_last_record_is_reported_with_its_file_offset_and_size() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("kb");
    let db_s = db.to_str().unwrap();
    let corpus = format!("{}/okh/in-the-wild", crate::corpus::CORPUS);
    let one = format!(
        "{}/okh/in-the-wild/Wakoma__nimble/okh.toml",
        crate::corpus::CORPUS
    );
    let o = okmesh(&["import", &corpus, "--db", db_s]);
    assert!(
        o.status.code().is_some_and(|c| c == 0 || c == 2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let log = std::fs::read_dir(&db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "okl"))
        .expect("a log file");
    let before = std::fs::metadata(&log).unwrap().len();
    // A new version of one design: its record is the log's last.
    let text = std::fs::read_to_string(&one).unwrap();
    let changed = t.path().join("okh.toml");
    std::fs::write(
        &changed,
        text.replace("version = \"0.1.0\"", "version = \"9.9.9\""),
    )
    .unwrap();
    let o = okmesh(&["import", changed.to_str().unwrap(), "--db", db_s]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after = std::fs::metadata(&log).unwrap().len();
    assert!(after > before + 8);
    // Power lost during the append: its last 5 bytes never reached the disk.
    let f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    f.set_len(after - 5).unwrap();
    drop(f);
    let cut = after - 5 - before;
    let expected = format!(
        "{}: cut a torn last record at byte {before} ({cut} bytes",
        log.display()
    );
    let o = okmesh(&["match", "--have", "3d printer", "--db", db_s]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("warning: {expected}")), "{stderr}");
    // Cut once: the next open finds a clean log and says nothing.
    let o = okmesh(&["match", "--have", "3d printer", "--db", db_s]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("torn"));

    // A node opening a torn store logs it with the file, offset and size.
    assert_eq!(std::fs::metadata(&log).unwrap().len(), before);
    let o = okmesh(&["import", changed.to_str().unwrap(), "--db", db_s]);
    assert!(o.status.success());
    let after = std::fs::metadata(&log).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(after - 3)
        .unwrap();
    let p = free_udp_ports(2);
    let mut node = Proc::okmesh(&[
        "node",
        "--radio",
        &format!("udp:127.0.0.1:{},peers=127.0.0.1:{}", p[0], p[1]),
        "--data-dir",
        db_s,
        "--log-format",
        "json",
        "--run-for",
        "1s",
    ]);
    let (code, stderr) = node.wait(Duration::from_secs(30));
    assert_eq!(code, 0, "{stderr}");
    let line = json_lines(&stderr)
        .into_iter()
        .find(|l| message(l).starts_with("store: cut a torn last record"))
        .unwrap_or_else(|| panic!("no recovery line:\n{stderr}"));
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["fields"]["file"], log.to_str().unwrap());
    assert_eq!(line["fields"]["offset"], before);
    assert_eq!(line["fields"]["cut_bytes"], after - 3 - before);
}
