//! Helpers for tests that run `okmesh node` / `okmesh emulate` processes.
//!
//! The API helpers ([`http`], [`http_json`]) call a node the way a program
//! does: a write carries `Content-Type: application/octet-stream` and,
//! for a node whose `{"http":…,"token_file":…}` line was read with
//! [`Proc::json_line`], the token from that file. [`http_with`] sends
//! exactly the headers given, for tests of the API's checks.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A child process killed when dropped (a failing test leaks nothing), with
/// its stdout lines delivered through a channel and its stderr collected
/// as it comes (readable while it runs: [`Proc::stderr_so_far`]).
pub(crate) struct Proc {
    pub(crate) child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<()>>,
    stderr_text: Arc<Mutex<String>>,
}

impl Proc {
    /// Starts `okmesh ARGS`.
    pub(crate) fn okmesh(args: &[&str]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_okmesh"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn okmesh");
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = child.stderr.take().expect("piped");
        let stderr_text = Arc::new(Mutex::new(String::new()));
        let sink = stderr_text.clone();
        let stderr = std::thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut line = Vec::new();
            // Lines as they come, so that a test can show a running node's log.
            while matches!(r.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&line));
                line.clear();
            }
        });
        Proc {
            child,
            lines,
            stderr: Some(stderr),
            stderr_text,
        }
    }

    /// What the process wrote to stderr so far (it may still be running).
    pub(crate) fn stderr_so_far(&self) -> String {
        self.stderr_text.lock().unwrap().clone()
    }

    /// The next stdout line as JSON, within `timeout`. A node's
    /// `{"http":ADDR,"token_file":FILE}` line registers the token for the
    /// API helpers.
    pub(crate) fn json_line(&self, timeout: Duration) -> serde_json::Value {
        let line = self
            .lines
            .recv_timeout(timeout)
            .unwrap_or_else(|e| panic!("no stdout line within {timeout:?}: {e}"));
        start_line(&line)
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for exit within `timeout`; returns the exit code and stderr.
    pub(crate) fn wait(&mut self, timeout: Duration) -> (i32, String) {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return (status.code().unwrap_or(-1), self.take_stderr());
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "okmesh did not exit within {timeout:?}; stderr:\n{}",
                    self.take_stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn take_stderr(&mut self) -> String {
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
        std::mem::take(&mut *self.stderr_text.lock().unwrap())
    }

    /// Waits for a successful exit and returns the last stdout line as JSON
    /// (the summary).
    pub(crate) fn summary(&mut self, timeout: Duration) -> serde_json::Value {
        self.finish(timeout).0
    }

    /// Waits for a successful exit; returns the last stdout line as JSON
    /// (the summary) and stderr.
    pub(crate) fn finish(&mut self, timeout: Duration) -> (serde_json::Value, String) {
        let (code, stderr) = self.wait(timeout);
        assert_eq!(code, 0, "okmesh failed; stderr:\n{stderr}");
        // The reader thread ends at EOF; give it a moment to deliver.
        let mut last = None;
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            last = Some(line);
        }
        let line = last.unwrap_or_else(|| panic!("no summary on stdout; stderr:\n{stderr}"));
        let v = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
        (v, stderr)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// UDP ports that were free a moment ago on 127.0.0.1.
pub(crate) fn free_udp_ports(n: usize) -> Vec<u16> {
    let socks: Vec<std::net::UdpSocket> = (0..n)
        .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").expect("bind"))
        .collect();
    socks
        .iter()
        .map(|s| s.local_addr().expect("addr").port())
        .collect()
}

/// Whether this runs under CI (`CI` set to anything but "", "0" or "false"),
/// where a missing tool is a failure rather than a skip.
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The token file of each node API address seen by [`Proc::json_line`].
static TOKEN_FILES: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());

/// A JSON line a node printed; the token file of a node that says where
/// its API listens is remembered for [`token_of`].
fn start_line(line: &str) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
    if let (Some(addr), Some(file)) = (v["http"].as_str(), v["token_file"].as_str()) {
        TOKEN_FILES
            .lock()
            .unwrap()
            .insert(addr.to_owned(), PathBuf::from(file));
    }
    v
}

/// The API token of the node at `addr`, if its token file is known.
pub(crate) fn token_of(addr: &str) -> Option<String> {
    let file = TOKEN_FILES.lock().unwrap().get(addr).cloned()?;
    let t = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    Some(t.trim().to_owned())
}

/// One HTTP/1.1 request to a node's API (`Connection: close`) as a program
/// sends it (see the module docs); returns the status code and body, or why
/// the request failed.
pub(crate) fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<(u16, Vec<u8>), String> {
    let token = token_of(addr).map(|t| format!("Bearer {t}"));
    let mut headers = vec![];
    if let Some(t) = &token {
        headers.push(("Authorization", t.as_str()));
    }
    if method != "GET" && method != "HEAD" {
        headers.push(("Content-Type", "application/octet-stream"));
    }
    http_with(addr, method, path, &headers, body)
}

/// One HTTP/1.1 request with exactly these headers besides `Host` (the
/// address, unless `headers` has one), `Connection: close` and
/// `Content-Length`.
pub(crate) fn http_with(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Vec<u8>), String> {
    use std::io::{Read, Write};
    let sock: std::net::SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let mut s = std::net::TcpStream::connect_timeout(&sock, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body))
        .map_err(|e| format!("send to {addr}: {e}"))?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .map_err(|e| format!("read from {addr}: {e}"))?;
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: no header end in {out:?}"))?;
    let status_line = String::from_utf8_lossy(&out[..split]);
    let code = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{method} {path}: bad status line {status_line}"))?;
    Ok((code, out[split + 4..].to_vec()))
}

/// [`http`] with a JSON answer; panics on a transport error.
pub(crate) fn http_json(
    addr: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, serde_json::Value) {
    let (code, body) = http(addr, method, path, body).unwrap_or_else(|e| panic!("{e}"));
    let v = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "{method} {path}: not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    (code, v)
}

/// A UDP testbed radio whose one neighbour is a port nobody listens on
/// (for a node that only serves its API).
pub(crate) fn lone_udp_radio() -> String {
    let p = free_udp_ports(2);
    format!("udp:127.0.0.1:{},peers=127.0.0.1:{}", p[0], p[1])
}

/// Starts `okmesh node` on `radio` with its API on a free loopback port
/// and its data in `dir`; returns the process and the API address (whose
/// token the API helpers then use).
pub(crate) fn start_api_node(radio: &str, dir: &std::path::Path, extra: &[&str]) -> (Proc, String) {
    try_start_api_node(radio, dir, extra)
        .unwrap_or_else(|e| panic!("okmesh node did not start; stderr:\n{e}"))
}

/// What a node's stderr says when its UDP port was taken between
/// [`free_udp_ports`] and the node's own bind (by a test running alongside).
pub(crate) const BIND_REFUSED: &str = "cannot bind UDP socket";

/// Starts `okmesh node` like [`start_api_node`]; `Err(stderr)` when the
/// node exits before its API listens.
pub(crate) fn try_start_api_node(
    radio: &str,
    dir: &std::path::Path,
    extra: &[&str],
) -> Result<(Proc, String), String> {
    let dir = dir.to_str().expect("utf-8 path");
    let mut args = vec![
        "node",
        "--radio",
        radio,
        "--http",
        "127.0.0.1:0",
        "--data-dir",
        dir,
        "--sync-imin",
        "2s",
    ];
    args.extend_from_slice(extra);
    let mut p = Proc::okmesh(&args);
    match p.lines.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => {
            let v = start_line(&line);
            let addr = v["http"].as_str().expect("http address").to_owned();
            Ok((p, addr))
        }
        Err(_) => Err(p.wait(Duration::from_secs(10)).1),
    }
}

/// Starts two nodes that hear each other over the UDP testbed (each with
/// its API, data in `dirs`, `extra[i]` added to node i's arguments).
/// Their ports are picked free and then bound by the nodes, so a test
/// running alongside can take one in between: the pair is started again on
/// fresh ports when a node says its bind was refused (any other early exit
/// fails the test with the node's stderr).
pub(crate) fn start_linked_pair(
    dirs: [&std::path::Path; 2],
    extra: [&[&str]; 2],
) -> [(Proc, String); 2] {
    const ATTEMPTS: usize = 5;
    let mut last = String::new();
    for _ in 0..ATTEMPTS {
        let p = free_udp_ports(2);
        let radio = |i: usize| format!("udp:127.0.0.1:{},peers=127.0.0.1:{}", p[i], p[1 - i]);
        let a = match try_start_api_node(&radio(0), dirs[0], extra[0]) {
            Ok(a) => a,
            Err(e) if e.contains(BIND_REFUSED) => {
                last = e;
                continue;
            }
            Err(e) => panic!("node a did not start; stderr:\n{e}"),
        };
        match try_start_api_node(&radio(1), dirs[1], extra[1]) {
            Ok(b) => return [a, b],
            Err(e) if e.contains(BIND_REFUSED) => last = e,
            Err(e) => panic!("node b did not start; stderr:\n{e}"),
        }
    }
    panic!("no free pair of UDP ports in {ATTEMPTS} attempts; last stderr:\n{last}")
}

/// The `VmHWM` (peak resident set) and `VmRSS` of process `pid`, in KiB.
pub(crate) fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Resets `pid`'s peak resident set to its current one (Linux
/// `clear_refs` 5); false where the kernel does not allow it.
pub(crate) fn reset_peak_memory(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), b"5").is_ok()
}
