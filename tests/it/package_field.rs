//! Design packages between `okmesh node` processes over the UDP testbed
//! with a link rate (`rate=`, a stand-in for Wi-Fi or Ethernet): a 20 MB
//! package reaches a second node at ≥ 80 % of the link rate, then a third
//! node fetches it from both holders at once, is killed halfway (SIGKILL)
//! and resumes after a restart from its durable wanted list without
//! fetching a verified piece again.
//!
//! `cargo test --test it package_field -- --nocapture` prints the figures.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::field_support::{
    BIND_REFUSED, Proc, free_udp_ports, http, http_json, try_start_api_node,
};
use crate::util::{okmesh, temp_dir};

/// The testbed's link rate: 20 MB takes ~20 s at it.
const RATE_BPS: u64 = 8_000_000;
/// Package payload bytes besides the manifest.
const FILE_BYTES: usize = 20_000_000;
/// Longest wait for one transfer.
const TRANSFER_WAIT: Duration = Duration::from_secs(180);
/// Longest wait for the manifest to reach a node by catalogue sync.
const SYNC_WAIT: Duration = Duration::from_secs(60);

/// Deterministic bytes that do not compress (xorshift).
fn noise(len: usize, mut x: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// What every node of the test logged so far, for a failure message.
fn logs(nodes: &[(&str, &Proc)]) -> String {
    nodes
        .iter()
        .map(|(name, p)| format!("--- node {name} stderr:\n{}", p.stderr_so_far()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Starts a node on UDP port `ports[me]` hearing the other ports.
fn start(ports: &[u16], me: usize, dir: &Path) -> Result<(Proc, String), String> {
    let peers: Vec<String> = ports
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != me)
        .map(|(_, p)| format!("127.0.0.1:{p}"))
        .collect();
    let radio = format!(
        "udp:127.0.0.1:{},peers={},rate={RATE_BPS}",
        ports[me],
        peers.join("+")
    );
    try_start_api_node(&radio, dir, &[])
}

/// Polls `GET /packages/{id}` on `addr` until `done` holds or the wait
/// runs out; the last answer.
fn poll(addr: &str, id: &str, done: impl Fn(&Value) -> bool, wait: Duration) -> Option<Value> {
    let start = Instant::now();
    while start.elapsed() < wait {
        let (code, v) = http_json(addr, "GET", &format!("/packages/{id}"), b"");
        if code == 200 && done(&v) {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn wait_for_manifest(addr: &str) -> bool {
    let start = Instant::now();
    while start.elapsed() < SYNC_WAIT {
        let (_, v) = http_json(addr, "GET", "/manifests", b"");
        if v.as_array().is_some_and(|a| !a.is_empty()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[test]
#[allow(clippy::print_stderr)]
fn a_20_mb_package_crosses_the_fast_testbed_from_one_then_two_holders_and_resumes_after_a_kill() {
    let root = temp_dir("package-field");
    // The design: a real manifest and 20 MB of generated files.
    let design = root.join("design");
    std::fs::create_dir_all(design.join("stl")).unwrap();
    let manifest = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus/okh/in-the-wild/Open-Hardware-Leaders__Otto-DIY/okh.yml"),
    )
    .expect("corpus manifest");
    std::fs::write(design.join("okh.yml"), &manifest).unwrap();
    for i in 0..4 {
        let part = noise(FILE_BYTES / 4, 0x9e37_79b9_7f4a_7c15 + i as u64);
        std::fs::write(design.join(format!("stl/part{i}.stl")), part).unwrap();
    }
    let dirs = ["a", "b", "c"].map(|n| root.join(n));
    let out = okmesh(&["key", "new", "--data-dir", dirs[0].to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let file = root.join("design.okpkg");
    let out = okmesh(&[
        "package",
        "build",
        design.to_str().unwrap(),
        "--data-dir",
        dirs[0].to_str().unwrap(),
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("package "))
        .expect("package id line")
        .to_owned();
    let package_file = std::fs::read(&file).unwrap();

    // Three ports, bound by A and B now and by C later; a port taken in
    // between by a test alongside means new ports.
    let (ports, a, b) = (0..5)
        .find_map(|_| {
            let ports = free_udp_ports(3);
            let a = match start(&ports, 0, &dirs[0]) {
                Ok(a) => a,
                Err(e) if e.contains(BIND_REFUSED) => return None,
                Err(e) => panic!("node a did not start:\n{e}"),
            };
            match start(&ports, 1, &dirs[1]) {
                Ok(b) => Some((ports, a, b)),
                Err(e) if e.contains(BIND_REFUSED) => None,
                Err(e) => panic!("node b did not start:\n{e}"),
            }
        })
        .expect("free UDP ports");
    let ((pa, addr_a), (pb, addr_b)) = (a, b);

    // A publishes the manifest and holds the package.
    let (code, v) = http_json(&addr_a, "POST", "/manifests?name=okh.yml", &manifest);
    assert_eq!(code, 201, "{v}");
    let (code, v) = http_json(&addr_a, "POST", "/packages", &package_file);
    assert_eq!(code, 201, "{v}\n{}", logs(&[("a", &pa)]));
    assert_eq!(v["id"], id.as_str());
    let total = v["total_bytes"].as_u64().unwrap();
    let piece_count = v["piece_count"].as_u64().unwrap();
    assert!(
        wait_for_manifest(&addr_b),
        "the manifest never reached b\n{}",
        logs(&[("a", &pa), ("b", &pb)])
    );

    // One holder: B fetches from A; goodput over the whole request.
    let t0 = Instant::now();
    let (code, v) = http_json(&addr_b, "POST", &format!("/packages/{id}/request"), b"");
    assert_eq!(code, 202, "{v}");
    let done = poll(&addr_b, &id, |v| v["complete"] == true, TRANSFER_WAIT);
    let secs = t0.elapsed().as_secs_f64();
    assert!(
        done.is_some(),
        "b did not complete within {TRANSFER_WAIT:?}\n{}",
        logs(&[("a", &pa), ("b", &pb)])
    );
    let goodput = total as f64 * 8.0 / secs;
    let share = goodput / RATE_BPS as f64;
    eprintln!(
        "one holder: {total} bytes ({piece_count} pieces) in {secs:.2} s: goodput {:.2} Mbit/s, {:.1} % of the {:.0} Mbit/s link",
        goodput / 1e6,
        share * 100.0,
        RATE_BPS as f64 / 1e6
    );
    // What the requester holds is the very package file, verified again.
    let (code, got) = http(&addr_b, "GET", &format!("/packages/{id}/file"), b"").unwrap();
    assert_eq!(code, 200);
    assert!(got == package_file, "b's package file differs");
    assert!(
        share >= 0.8,
        "goodput {:.1} % of the link rate, below 80 %\n{}",
        share * 100.0,
        logs(&[("a", &pa), ("b", &pb)])
    );

    // Two holders: C fetches from A and B, is killed partway, resumes.
    let (mut pc, addr_c) = start(&ports, 2, &dirs[2]).expect("node c starts");
    assert!(
        wait_for_manifest(&addr_c),
        "the manifest never reached c\n{}",
        logs(&[("c", &pc)])
    );
    let t0 = Instant::now();
    let (code, _) = http_json(&addr_c, "POST", &format!("/packages/{id}/request"), b"");
    assert_eq!(code, 202);
    let part = poll(
        &addr_c,
        &id,
        |v| v["pieces"].as_u64().unwrap_or(0) >= piece_count / 3,
        TRANSFER_WAIT,
    )
    .unwrap_or_else(|| panic!("c got no third of the pieces\n{}", logs(&[("c", &pc)])));
    let before_kill = part["pieces"].as_u64().unwrap();
    let first_secs = t0.elapsed().as_secs_f64();
    let _ = pc.child.kill();
    let _ = pc.child.wait();
    let (pc, addr_c) = start(&ports, 2, &dirs[2]).expect("node c restarts");
    let t1 = Instant::now();
    let done = poll(&addr_c, &id, |v| v["complete"] == true, TRANSFER_WAIT);
    let after_secs = t1.elapsed().as_secs_f64();
    let all = || logs(&[("a", &pa), ("b", &pb), ("c", &pc)]);
    let done = done.unwrap_or_else(|| panic!("c did not complete after its restart\n{}", all()));
    // At restart, the cache held at least what the API showed before the
    // kill (every piece is synced before it counts), and the request came
    // back from the wanted list.
    let log = pc.stderr_so_far();
    let resumed: u64 = log
        .lines()
        .find(|l| l.contains("package request resumed"))
        .and_then(|l| l.split("pieces=").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no resumed request in c's log\n{}", all()));
    assert!(
        resumed >= before_kill,
        "{resumed} < {before_kill}\n{}",
        all()
    );
    // No verified piece was fetched again: after the restart, exactly the
    // missing pieces arrived, from both holders (the one that completes
    // the package is reported as the completion, without its sender).
    let sources = done["sources"].as_object().expect("sources").clone();
    let received: u64 = sources.values().filter_map(Value::as_u64).sum();
    assert_eq!(received + 1, piece_count - resumed, "{done}\n{}", all());
    assert_eq!(
        sources.len(),
        2,
        "pieces came from both holders: {sources:?}"
    );
    assert!(sources.values().all(|n| n.as_u64().unwrap_or(0) > 0));
    let (code, got) = http(&addr_c, "GET", &format!("/packages/{id}/file"), b"").unwrap();
    assert_eq!(code, 200);
    assert!(got == package_file, "c's package file differs");
    let after_bytes = (piece_count - resumed) as f64 / piece_count as f64 * total as f64;
    eprintln!(
        "two holders: {before_kill} pieces in {first_secs:.2} s before the kill; after the restart {resumed} held, the other {} ({after_bytes:.0} bytes) in {after_secs:.2} s ({:.2} Mbit/s, {:.0} % of one link), from {sources:?}",
        piece_count - resumed,
        after_bytes * 8.0 / after_secs / 1e6,
        after_bytes * 8.0 / after_secs / RATE_BPS as f64 * 100.0,
    );
    // The request is done, so the durable wanted list is empty again.
    let wanted = std::fs::read_to_string(dirs[2].join("packages-wanted")).unwrap_or_default();
    assert!(wanted.trim().is_empty(), "{wanted}");
    // Transmissions per piece delivered (a lost fragment costs its piece
    // again): 306 pieces to b, the missing ones to c.
    let mut sent = 0;
    for mut p in [pa, pb] {
        p.terminate();
        sent += p.summary(Duration::from_secs(30))["packages"]["pieces_sent"]
            .as_u64()
            .unwrap_or(0);
    }
    let delivered = piece_count + (piece_count - resumed);
    eprintln!(
        "pieces sent by a and b: {sent} for {delivered} delivered ({:.3} per piece)",
        sent as f64 / delivered as f64
    );
    drop(pc);
    let _ = std::fs::remove_dir_all(&root);
}

/// The package endpoints and commands on bad input: clear 4xx answers and
/// non-zero exits, never a panic.
#[test]
fn bad_package_input_gets_clear_errors() {
    let root = temp_dir("package-field-bad");
    let dir = root.join("node");
    let (p, addr) =
        crate::field_support::start_api_node(&crate::field_support::lone_udp_radio(), &dir, &[]);
    let unknown = "ab".repeat(32);
    for (method, path, body, code, needle) in [
        (
            "POST",
            "/packages".to_owned(),
            &b"not a package"[..],
            400,
            "not a valid package file",
        ),
        ("POST", "/packages".to_owned(), &b""[..], 400, "empty body"),
        (
            "GET",
            "/packages/xyz".to_owned(),
            &b""[..],
            400,
            "64 hex digits",
        ),
        (
            "GET",
            format!("/packages/{unknown}"),
            &b""[..],
            404,
            "neither held nor wanted",
        ),
        (
            "GET",
            format!("/packages/{unknown}/file"),
            &b""[..],
            404,
            "not held whole",
        ),
        (
            "POST",
            format!("/packages/{unknown}/cancel"),
            &b""[..],
            404,
            "not being fetched",
        ),
        (
            "DELETE",
            "/packages".to_owned(),
            &b""[..],
            405,
            "not allowed",
        ),
    ] {
        let (got, v) = http_json(&addr, method, &path, body);
        assert_eq!(got, code, "{method} {path}: {v}");
        assert!(
            v["error"].as_str().unwrap_or("").contains(needle),
            "{method} {path}: {v}"
        );
    }
    // A write without the token is refused.
    let (code, _) = crate::field_support::http_with(
        &addr,
        "POST",
        &format!("/packages/{unknown}/request"),
        &[("X-Okmesh-Client", "test")],
        b"",
    )
    .unwrap();
    assert_eq!(code, 401);
    // A package whose manifest the node does not hold: 422, and it is not kept.
    let design = root.join("design");
    std::fs::create_dir_all(&design).unwrap();
    std::fs::write(
        design.join("okh.yml"),
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("corpus/okh/in-the-wild/Open-Hardware-Leaders__Otto-DIY/okh.yml"),
        )
        .unwrap(),
    )
    .unwrap();
    std::fs::write(design.join("part.stl"), noise(5_000, 3)).unwrap();
    let keys = root.join("keys");
    assert!(
        okmesh(&["key", "new", "--data-dir", keys.to_str().unwrap()])
            .status
            .success()
    );
    let file = root.join("d.okpkg");
    let out = okmesh(&[
        "package",
        "build",
        design.to_str().unwrap(),
        "--data-dir",
        keys.to_str().unwrap(),
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let (code, v) = http_json(&addr, "POST", "/packages", &std::fs::read(&file).unwrap());
    assert_eq!(code, 422, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("publish or import its manifest"),
        "{v}"
    );
    let (_, v) = http_json(&addr, "GET", "/packages", b"");
    assert_eq!(v["packages"], serde_json::json!([]), "{v}");
    // The commands: bad id, unknown package, unreachable node.
    let d = dir.to_str().unwrap();
    for (args, needle) in [
        (
            vec![
                "package",
                "request",
                "nope",
                "--api",
                &addr,
                "--data-dir",
                d,
            ],
            "64 hex digits",
        ),
        (
            vec![
                "package",
                "status",
                &unknown,
                "--api",
                &addr,
                "--data-dir",
                d,
            ],
            "neither holds nor wants",
        ),
        (
            vec![
                "package",
                "cancel",
                &unknown,
                "--api",
                &addr,
                "--data-dir",
                d,
            ],
            "not being fetched",
        ),
        (
            vec![
                "package",
                "add",
                file.to_str().unwrap(),
                "--api",
                &addr,
                "--data-dir",
                d,
            ],
            "422",
        ),
        (
            vec!["package", "status", "--api", "127.0.0.1:1"],
            "cannot connect",
        ),
    ] {
        let out = okmesh(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let out = okmesh(&["package", "status", "--api", &addr, "--data-dir", d]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 package(s)"));
    drop(p);
    let _ = std::fs::remove_dir_all(&root);
}
