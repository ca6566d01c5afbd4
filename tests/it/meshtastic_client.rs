//! The independent check: the official Meshtastic Python client
//! (`TCPInterface`) talks to an emulated device and exchanges `PRIVATE_APP`
//! packets with an okmesh node on another emulated device of the same air.
//! What the script checks is described in `tests/meshtastic_client_check.py`.
//!
//! Under CI (`CI` set to anything but "" / "0" / "false") a missing python3
//! or client library is a failure, so the check cannot pass by not running;
//! elsewhere the test says why it skipped.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::field_support::{Proc, in_ci};
use crate::meshtastic_emulated::emulator;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/meshtastic_client_check.py"
);

fn python_client_available() -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-c", "import meshtastic, pubsub; from meshtastic.tcp_interface import TCPInterface; print(meshtastic.__file__)"])
        .output()
        .map_err(|e| format!("python3 cannot be run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "the meshtastic Python client is not installed (pip install meshtastic): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[test]
fn the_official_python_client_exchanges_private_app_packets_with_an_okmesh_node() {
    if let Err(why) = python_client_available() {
        assert!(!in_ci(), "CI must run the Python client check: {why}");
        #[allow(clippy::print_stderr)]
        {
            eprintln!("SKIPPED the Python client check: {why}");
        }
        return;
    }
    let (mut emu, devs) = emulator(2, &["--time-scale", "0.01"]);
    let mut node = Proc::okmesh(&[
        "node",
        "--radio",
        &format!("tcp:{}", devs[0].1),
        "--traffic",
        "every=300ms,bytes=40,hops=3",
    ]);
    let (host, port) = devs[1].1.rsplit_once(':').expect("HOST:PORT");
    let mut py = Command::new("python3")
        .args([SCRIPT, host, port, &devs[0].0.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = py.try_wait().expect("try_wait") {
            break s;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = py.kill();
            panic!("the Python client check did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = py.wait_with_output().expect("python output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        status.success(),
        "Python client check failed:\n{stdout}\n{stderr}"
    );
    let result: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("no JSON result ({e}):\n{stdout}\n{stderr}"));
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["my_node_num"].as_u64(), Some(devs[1].0), "{result}");
    assert!(result["nodes"].as_array().unwrap().len() >= 2, "{result}");
    assert_eq!(result["channels"], 8, "{result}");
    assert_eq!(result["too_large_nak"], "TOO_LARGE", "{result}");

    // The okmesh node received the client's 5 broadcasts and 1 unicast.
    node.terminate();
    let s = node.summary(Duration::from_secs(10));
    let from_py = s["heard"][devs[1].0.to_string()].as_u64().unwrap_or(0);
    assert!(from_py >= 6, "{s}");
    assert_eq!(s["frames_rejected"], 0, "{s}");
    assert!(s["chat_received"].as_u64().unwrap() >= 6, "{s}");

    emu.terminate();
    let (code, stderr) = emu.wait(Duration::from_secs(10));
    assert_eq!(code, 0, "{stderr}");
    let _okmesh_device = emu.json_line(Duration::from_secs(2));
    let py_device = emu.json_line(Duration::from_secs(2));
    assert_eq!(py_device["too_large"], 1, "{py_device}");
    // The client took its hop limit from the LoRa config of the handshake.
    assert!(
        py_device["hop_limits"]["3"].as_u64().unwrap() >= 6,
        "{py_device}"
    );
}
