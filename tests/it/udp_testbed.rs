//! Three `okmesh node` processes on the UDP loopback testbed.

use std::time::Duration;

use crate::field_support::{Proc, free_udp_ports};

fn heard(summary: &serde_json::Value, node: u16) -> u64 {
    summary["heard"][node.to_string()].as_u64().unwrap_or(0)
}

#[test]
fn three_nodes_in_a_line_exchange_traffic_with_relays() {
    // a — b — c: a and c are out of each other's range; b relays.
    let p = free_udp_ports(3);
    let addr = |i: usize| format!("127.0.0.1:{}", p[i]);
    let radio = |me: usize, peers: &[usize]| {
        let peers: Vec<String> = peers.iter().map(|&i| addr(i)).collect();
        format!("udp:{},peers={}", addr(me), peers.join("+"))
    };
    let spawn = |me: usize, peers: &[usize]| {
        Proc::okmesh(&[
            "node",
            "--radio",
            &radio(me, peers),
            "--seed",
            "11",
            "--traffic",
            "every=100ms,bytes=40,hops=3",
            "--run-for",
            "3s",
        ])
    };
    let mut a = spawn(0, &[1]);
    let mut b = spawn(1, &[0, 2]);
    let mut c = spawn(2, &[1]);
    let (sa, sb, sc) = (
        a.summary(Duration::from_secs(20)),
        b.summary(Duration::from_secs(20)),
        c.summary(Duration::from_secs(20)),
    );
    for s in [&sa, &sb, &sc] {
        assert!(s["chat_sent"].as_u64().unwrap() >= 10, "{s}");
        assert_eq!(s["frames_rejected"], 0, "{s}");
        assert_eq!(s["send_failures"], 0, "{s}");
    }
    // Every node hears both others; a and c only through b's relays.
    assert!(heard(&sa, p[1]) > 0 && heard(&sa, p[2]) > 0, "{sa}");
    assert!(heard(&sb, p[0]) > 0 && heard(&sb, p[2]) > 0, "{sb}");
    assert!(heard(&sc, p[0]) > 0 && heard(&sc, p[1]) > 0, "{sc}");
    // Nothing is delivered twice: what c received from a is at most what a sent.
    assert!(
        heard(&sc, p[0]) <= sa["chat_sent"].as_u64().unwrap(),
        "{sc} {sa}"
    );
    assert_eq!(
        sc["chat_received"].as_u64().unwrap(),
        heard(&sc, p[0]) + heard(&sc, p[1])
    );
}

#[test]
fn sigterm_stops_a_node_cleanly() {
    let p = free_udp_ports(2);
    let mut n = Proc::okmesh(&[
        "node",
        "--radio",
        &format!("udp:127.0.0.1:{},peers=127.0.0.1:{}", p[0], p[1]),
        "--traffic",
        "every=50ms",
    ]);
    std::thread::sleep(Duration::from_millis(700));
    n.terminate();
    let s = n.summary(Duration::from_secs(10));
    assert!(s["chat_sent"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["node"], u64::from(p[0]));
}

#[test]
fn bad_radio_values_and_unreachable_devices_exit_2_with_a_reason() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    for (radio, needle) in [
        ("lora:433".to_string(), "unknown radio kind 'lora'"),
        ("udp:127.0.0.1:9".to_string(), "peers=ADDR+ADDR is required"),
        (
            format!("tcp:127.0.0.1:{closed}"),
            "cannot open tcp:127.0.0.1",
        ),
        (
            "serial:/dev/okmesh-absent".to_string(),
            "cannot open serial:/dev/okmesh-absent",
        ),
        (
            format!("udp:127.0.0.1:{taken_port},peers="),
            "cannot bind UDP socket",
        ),
    ] {
        let mut p = Proc::okmesh(&["node", "--radio", &radio, "--connect-timeout", "2s"]);
        let (code, stderr) = p.wait(Duration::from_secs(15));
        assert_eq!(code, 2, "{radio}: {stderr}");
        assert!(stderr.contains(needle), "{radio}: {stderr}");
        assert!(!stderr.contains("panicked"), "{radio}: {stderr}");
    }
}
