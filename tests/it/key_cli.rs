//! `okmesh key` and the key files a node keeps: created 0600 in a 0700
//! data directory, refused when too open or damaged, backed up and
//! restored; `--trust` files checked with their line; the API token shown
//! once.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use node_core::identity::PinnedKeys;

use crate::field_support::{Proc, http_json, lone_udp_radio, start_api_node};
use crate::util::okmesh;

fn out(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn key(args: &[&str], dir: &Path) -> (i32, String, String) {
    let mut full = vec!["key"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--data-dir", dir.to_str().unwrap()]);
    out(&okmesh(&full))
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn key_new_show_export_and_import_round_trip() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("node");
    let (code, stdout, stderr) = key(&["new"], &dir);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("node.key")), 0o600);
        assert_eq!(mode(&dir.join("publisher.key")), 0o600);
    }
    let (code, shown, _) = key(&["show"], &dir);
    assert_eq!(code, 0);
    assert_eq!(shown, stdout, "show prints what new created");
    let (_, json, _) = key(&["show", "--json"], &dir);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let publisher = json["publisher"]["public_key"].as_str().unwrap().to_owned();
    assert!(
        shown.contains(&publisher) && shown.contains(json["node"]["fingerprint"].as_str().unwrap())
    );

    // A second `new` refuses to replace keys; --force does.
    let (code, _, stderr) = key(&["new"], &dir);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("already there") && stderr.contains("--force"),
        "{stderr}"
    );
    let (code, _, _) = key(&["show"], &dir);
    assert_eq!(code, 0);
    assert_eq!(
        key(&["show"], &dir).1,
        shown,
        "a refused `new` changed nothing"
    );

    // The public export is a line for another node's --trust file.
    let (code, line, _) = key(&["export", "--label", "Valley makerspace"], &dir);
    assert_eq!(code, 0);
    let pinned = PinnedKeys::parse(&line, "export").unwrap();
    assert_eq!(pinned.len(), 1);
    let (k, label) = pinned.iter().next().unwrap();
    assert_eq!(
        (k.to_string(), label),
        (publisher.clone(), "Valley makerspace")
    );

    // The secret backup restores both keys elsewhere.
    let (code, backup, warning) = key(&["export", "--secret"], &dir);
    assert_eq!(code, 0);
    assert!(warning.contains("SECRET"), "{warning}");
    assert!(backup.contains("secret: ") && !line.contains("secret"));
    let file = t.path().join("backup.txt");
    std::fs::write(&file, &backup).unwrap();
    let other = t.path().join("restored");
    let (code, restored, stderr) = key(&["import", file.to_str().unwrap()], &other);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(restored.matches("restored").count(), 2, "{restored}");
    assert_eq!(key(&["show"], &other).1, shown);
    // Importing again changes nothing; over different keys it needs --force.
    let (code, again, _) = key(&["import", file.to_str().unwrap()], &other);
    assert_eq!((code, again.matches("unchanged").count()), (0, 2));
    let (code, _, _) = key(&["new", "--key", "publisher", "--force"], &dir);
    assert_eq!(code, 0);
    let (code, _, stderr) = key(&["import", file.to_str().unwrap()], &dir);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("publisher key is already there") && stderr.contains("new design ids"),
        "{stderr}"
    );
    let (code, _, _) = key(&["import", file.to_str().unwrap(), "--force"], &dir);
    assert_eq!(code, 0);
    assert_eq!(
        key(&["show"], &dir).1,
        shown,
        "the backup restored the old publisher key"
    );

    // Bad input: a damaged backup names its line; no data dir; no token yet.
    std::fs::write(&file, backup.replace("role: node", "role: relay")).unwrap();
    let (code, _, stderr) = key(&["import", file.to_str().unwrap()], &other);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("backup.txt:") && stderr.contains("role must be"),
        "{stderr}"
    );
    let (code, _, stderr) = out(&okmesh(&["key", "show"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("--data-dir"), "{stderr}");
    let (code, _, stderr) = key(&["show", "--token"], &dir);
    assert_eq!(code, 2);
    assert!(stderr.contains("api-token: no such file"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

/// Starts a node on `dir` without an API and waits for its exit code and stderr.
fn node_fails(dir: &Path, extra: &[&str]) -> (i32, String) {
    let radio = lone_udp_radio();
    let mut args = vec![
        "node",
        "--radio",
        &radio,
        "--data-dir",
        dir.to_str().unwrap(),
        "--run-for",
        "2s",
    ];
    args.extend_from_slice(extra);
    let mut p = Proc::okmesh(&args);
    p.wait(Duration::from_secs(30))
}

#[cfg(unix)]
#[test]
fn a_node_refuses_key_files_that_are_too_open_or_damaged_and_never_replaces_them() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("node");
    // The first start creates the keys (0600) next to the store.
    let (code, stderr) = node_fails(&dir, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("created a key pair"), "{stderr}");
    let publisher = dir.join("publisher.key");
    assert_eq!(mode(&publisher), 0o600);
    let good = std::fs::read(&publisher).unwrap();

    std::fs::set_permissions(&publisher, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, stderr) = node_fails(&dir, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("publisher.key") && stderr.contains("permissions 0644 are wider than 0600"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&publisher).unwrap(), good);

    std::fs::set_permissions(&publisher, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    let damaged = text.replace("public: ", "public: 00");
    std::fs::write(&publisher, &damaged).unwrap();
    let (code, stderr) = node_fails(&dir, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("publisher.key:4:") && stderr.contains("damaged"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&publisher).unwrap(), damaged);

    // Restored, the node starts with the same keys.
    std::fs::write(&publisher, &good).unwrap();
    let (code, stderr) = node_fails(&dir, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("created a key pair"), "{stderr}");
}

#[test]
fn trust_files_are_checked_by_line_and_shown_in_status() {
    let t = tempfile::tempdir().unwrap();
    let a = node_core::identity::Keypair::derive(1, "trust-test", 0).public();
    let b = node_core::identity::Keypair::derive(1, "trust-test", 1).public();
    let bad = t.path().join("bad-trust.txt");
    std::fs::write(&bad, format!("# pinned\n{a}  Valley\nnot-a-key\n")).unwrap();
    let (code, stderr) = node_fails(&t.path().join("n1"), &["--trust", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("bad-trust.txt:3: expected 64 hex digits"),
        "{stderr}"
    );
    let (code, stderr) = node_fails(&t.path().join("n1"), &["--trust", "/nonexistent/trust.txt"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--trust /nonexistent/trust.txt"),
        "{stderr}"
    );

    let good = t.path().join("trust.txt");
    std::fs::write(&good, format!("{a}  Valley makerspace\n{b}\n")).unwrap();
    let (_node, addr) = start_api_node(
        &lone_udp_radio(),
        &t.path().join("n2"),
        &["--trust", good.to_str().unwrap(), "--refuse-unknown"],
    );
    let (code, s) = http_json(&addr, "GET", "/status", b"");
    assert_eq!(code, 200);
    assert_eq!(s["trust"]["pinned_keys"], 2, "{s}");
    assert_eq!(s["trust"]["refuse_unknown"], true);
    assert_eq!(s["trust"]["file"], good.to_str().unwrap());
}

#[test]
fn the_api_token_is_shown_once_at_first_start_and_by_key_show() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("node");
    let start = || {
        let radio = lone_udp_radio();
        let mut p = Proc::okmesh(&[
            "node",
            "--radio",
            &radio,
            "--http",
            "127.0.0.1:0",
            "--data-dir",
            dir.to_str().unwrap(),
            "--run-for",
            "1s",
        ]);
        let line = p.json_line(Duration::from_secs(30));
        let (code, stderr) = p.wait(Duration::from_secs(30));
        assert_eq!(code, 0, "{stderr}");
        (line, stderr)
    };
    let (line, first) = start();
    let (code, token, _) = key(&["show", "--token"], &dir);
    assert_eq!(code, 0);
    let token = token.trim();
    assert_eq!(token.len(), 64);
    assert!(first.contains(token), "{first}");
    assert!(first.contains("okmesh key show --token"), "{first}");
    assert_eq!(line["token_file"], dir.join("api-token").to_str().unwrap());
    #[cfg(unix)]
    assert_eq!(mode(&dir.join("api-token")), 0o600);
    let (_, second) = start();
    assert!(
        !second.contains(token),
        "the token is shown only once: {second}"
    );
}
