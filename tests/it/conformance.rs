//! Conformance: the same node-level test bodies run against every
//! transport a node can use:
//!
//! * the simulated LoRa mesh (`sim`, one simulation stepped in simulated
//!   time, published into directly);
//! * the UDP testbed (real `okmesh node` processes on loopback, published
//!   to and read through `--http`);
//! * emulated Meshtastic radios (`okmesh emulate` and `okmesh node --radio
//!   tcp:…`, through `--http` as well).
//!
//! Each body is written once against [`Mesh`] (publish / holdings /
//! wait-until). Waits poll for the condition with generous deadlines, so a
//! loaded machine makes a test slower, never flaky; every wait is bounded.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use catalogue::id::{ItemKind, identify};
use node_core::sync::TrickleConfig;
use node_core::{Duration, Instant};
use sim::config::{Config, Placement};
use sim::{Fault, Simulation};

use crate::corpus::CORPUS;
use crate::field_support::{Proc, free_udp_ports, http, http_json, start_api_node};
use crate::meshtastic_emulated::emulator;

/// What a node holds: item id (hex) → (seq, content id hex).
type Holdings = BTreeMap<String, (u32, String)>;

/// A mesh of nodes the bodies can drive.
trait Mesh {
    /// Names the transport in messages.
    fn label(&self) -> &'static str;
    /// Switches on a node that was left down (a late joiner).
    fn start(&mut self, node: usize);
    /// Publishes a manifest file at `node`; returns (item id, seq) per item.
    fn publish(&mut self, node: usize, file: &str, bytes: &[u8]) -> Vec<(String, u32)>;
    /// What `node` holds now (empty while it is down).
    fn holdings(&mut self, node: usize) -> Holdings;
    /// Lets time pass until `cond` holds for the holdings of every node
    /// (index = node); panics with the holdings if the deadline passes.
    fn wait_until(&mut self, what: &str, cond: &dyn Fn(&[Holdings]) -> bool) -> Vec<Holdings>;
    /// Publishes an urgent demand for [`DESIGN`] at `node`; its signal id.
    fn demand(&mut self, node: usize) -> String;
    /// Confirms the demand `demand` (signal id) at `node`; its signal id.
    fn offer(&mut self, node: usize, demand: &str) -> String;
    /// The live signals `node` holds.
    fn signals(&mut self, node: usize) -> Vec<Seen>;
    /// Lets time pass until `cond` holds for every node's signals.
    fn wait_signals(&mut self, what: &str, cond: &dyn Fn(&[Vec<Seen>]) -> bool);
}

/// A signal as a node shows it: id, type, the signal it refers to, a
/// demand's winning confirmation (ids as 16 hex digits).
#[derive(Clone, PartialEq, Eq, Debug)]
struct Seen {
    id: String,
    ty: String,
    refers: Option<String>,
    winner: Option<String>,
}

/// The design the conformance demand asks for.
const DESIGN: &str = "0123456789abcdef0123456789abcdef";

/// `(file name, bytes)` of `n` corpus manifests, one design each.
fn corpus_manifests(n: usize) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(CORPUS).join("okh/in-the-wild");
    let out: Vec<(String, Vec<u8>)> = [
        "Wakoma__nimble",
        "PlanktoScope__PlanktoScope",
        "FairITYourself__assembly-kit",
        "OPEN-NEXT__LOSH-dummy-MOSH-A",
    ]
    .iter()
    .take(n)
    .map(|d| {
        let p = root.join(d).join("okh.toml");
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        (format!("{d}.toml"), bytes)
    })
    .collect();
    assert_eq!(out.len(), n, "corpus manifests available");
    out
}

fn describe(h: &[Holdings]) -> String {
    h.iter()
        .enumerate()
        .map(|(i, x)| {
            let items: Vec<String> = x
                .iter()
                .map(|(id, (seq, _))| format!("{}@{seq}", &id[..8]))
                .collect();
            format!("node {i}: [{}]", items.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

// ---- the bodies ------------------------------------------------------

/// A demand published at node 0 is seen at the last node; a confirmation
/// made there is seen back at node 0, as the demand's winner.
fn demand_here_confirm_there(m: &mut dyn Mesh, nodes: usize) {
    let last = nodes - 1;
    let d = m.demand(0);
    m.wait_signals("the last node holds node 0's demand", &|s| {
        s[last].iter().any(|x| x.id == d && x.ty == "demand")
    });
    let c = m.offer(last, &d);
    m.wait_signals("node 0 holds the confirmation, the demand's winner", &|s| {
        s[0].iter()
            .any(|x| x.id == c && x.ty == "confirmation" && x.refers.as_deref() == Some(&d))
            && s[0]
                .iter()
                .any(|x| x.id == d && x.winner.as_deref() == Some(&c))
    });
    let label = m.label();
    let at_0 = m.signals(0);
    assert!(
        at_0.iter().any(|x| x.id == d),
        "{label}: node 0 still holds its demand"
    );
}

/// Manifests published at node 0 reach every node, same versions.
fn publish_here_see_there(m: &mut dyn Mesh, nodes: usize) {
    for (file, bytes) in corpus_manifests(3) {
        let published = m.publish(0, &file, &bytes);
        assert_eq!(published.len(), 1, "{}: {file}", m.label());
        assert_eq!(published[0].1, 1, "{}: a new item is seq 1", m.label());
    }
    let want = m.holdings(0);
    assert_eq!(
        want.len(),
        3,
        "{}: node 0 holds what it published",
        m.label()
    );
    let got = m.wait_until("every node holds the three manifests of node 0", &|h| {
        h.iter().all(|x| *x == want)
    });
    assert_eq!(got.len(), nodes);
}

/// A new version published by the design's owner at another node
/// replaces the old one everywhere.
fn new_version_replaces_the_old(m: &mut dyn Mesh) {
    let (file, bytes) = corpus_manifests(1).remove(0);
    let (id, seq) = m.publish(0, &file, &bytes).remove(0);
    assert_eq!(seq, 1);
    let first = m.holdings(0)[&id].clone();
    m.wait_until("every node holds version 1", &|h| {
        h.iter().all(|x| x.get(&id) == Some(&first))
    });
    let item = identify(ItemKind::Manifest, &bytes, &file, None).expect("corpus manifest")[0].id;
    let revised = scenarios::workload::revise(&bytes, &file, ItemKind::Manifest, item, 2)
        .expect("the manifest can be revised");
    // The owner edits at node 1 (its key is there too): node 1 has seen
    // seq 1, so its version is seq 2.
    let (id2, seq2) = m.publish(1, &file, &revised).remove(0);
    assert_eq!((id2.as_str(), seq2), (id.as_str(), 2), "{}", m.label());
    let second = m.holdings(1)[&id].clone();
    assert_ne!(second.1, first.1, "{}: new content", m.label());
    m.wait_until("every node holds version 2 and only it", &|h| {
        h.iter()
            .all(|x| x.len() == 1 && x.get(&id) == Some(&second))
    });
}

/// A node switched on after the mesh settled catches up on everything.
/// The mesh's last node starts down.
fn a_late_joiner_catches_up(m: &mut dyn Mesh, nodes: usize) {
    let late = nodes - 1;
    for (file, bytes) in corpus_manifests(3) {
        m.publish(0, &file, &bytes);
    }
    let want = m.holdings(0);
    assert_eq!(want.len(), 3);
    m.wait_until("the running nodes hold everything", &|h| {
        h[..late].iter().all(|x| *x == want) && h[late].is_empty()
    });
    m.start(late);
    m.wait_until("the late joiner holds everything", &|h| {
        h.iter().all(|x| *x == want)
    });
}

// ---- (a) the simulated mesh ------------------------------------------

/// Nodes in a simulated LoRa mesh: one simulation, built once and stepped
/// through simulated time; publications go straight into its nodes.
struct SimMesh {
    sim: Simulation,
}

/// How far a wait steps the simulation at a time.
const SIM_STEP: Duration = Duration::from_secs(30);
/// The longest a simulated wait may take.
const SIM_DEADLINE: Duration = Duration::from_secs(3 * 3600);

impl SimMesh {
    /// `nodes` nodes 100 m apart on LongFast (each hears every other);
    /// the `late` ones start down.
    fn new(nodes: usize, late: &[usize]) -> SimMesh {
        let mut config = Config::new(
            "conformance",
            Placement::Chain {
                nodes: nodes as u32,
                spacing_m: 100.0,
            },
        );
        config.seed = 5;
        // Room for every wait; the run is stepped, never run to its end.
        config.duration = Duration::from_secs(24 * 3600);
        config.radio.shadowing.sigma_db = 0.0;
        config.sync.trickle = TrickleConfig {
            imin: Duration::from_secs(30),
            imax: Duration::from_secs(600),
            k: 1,
        };
        // Off until `start` injects their join: a join that never comes.
        config.faults = late
            .iter()
            .map(|&i| Fault::Join {
                at: Duration::MAX,
                node: i as u32,
            })
            .collect();
        let mut m = SimMesh {
            sim: config.build().expect("the configuration builds"),
        };
        m.step(Duration::from_secs(1));
        m
    }

    fn step(&mut self, by: Duration) {
        let until = self.sim.now() + by;
        self.sim
            .run_until(until, &mut [], &mut |_| {})
            .expect("within the event limit");
        assert_eq!(self.sim.now(), until, "the run has room to step");
    }

    fn since_start(&self) -> Duration {
        self.sim.now() - Instant::ZERO
    }

    fn all(&mut self) -> Vec<Holdings> {
        (0..self.sim.topology().len())
            .map(|i| self.holdings(i))
            .collect()
    }
}

impl Mesh for SimMesh {
    fn label(&self) -> &'static str {
        "sim"
    }

    fn start(&mut self, node: usize) {
        assert!(
            self.sim.node(node as u32).is_none(),
            "node {node} is already up"
        );
        let at = self.since_start();
        self.sim
            .inject(Fault::Join {
                at,
                node: node as u32,
            })
            .expect("a join now");
        self.step(Duration::from_millis(1));
        assert!(self.sim.node(node as u32).is_some(), "node {node} is up");
    }

    fn publish(&mut self, node: usize, file: &str, bytes: &[u8]) -> Vec<(String, u32)> {
        let published = self
            .sim
            .publish(node as u32, ItemKind::Manifest, bytes, file)
            .unwrap_or_else(|e| panic!("sim: publishing {file} at node {node}: {e}"));
        self.step(Duration::from_millis(1));
        published
            .iter()
            .map(|p| (p.item.to_string(), p.seq))
            .collect()
    }

    fn holdings(&mut self, node: usize) -> Holdings {
        match self.sim.node(node as u32) {
            Some(n) => n
                .store()
                .items()
                .map(|i| (i.id.to_string(), (i.stamp.seq, i.stamp.content.to_string())))
                .collect(),
            None => Holdings::new(),
        }
    }

    fn wait_until(&mut self, what: &str, cond: &dyn Fn(&[Holdings]) -> bool) -> Vec<Holdings> {
        let limit = self.since_start() + SIM_DEADLINE;
        loop {
            let h = self.all();
            if cond(&h) {
                return h;
            }
            assert!(
                self.since_start() < limit,
                "sim: not within {SIM_DEADLINE} of simulated time: {what}; {}",
                describe(&h)
            );
            self.step(SIM_STEP);
        }
    }

    fn demand(&mut self, node: usize) -> String {
        let spec = node_core::signals::SignalSpec {
            payload: node_core::signals::Payload::Demand {
                design: design_id(),
                quantity: 5,
                deadline: self.sim.now() + Duration::from_secs(2 * 3600),
                tags: node_core::signals::tags_from(["3d-printing"]).unwrap(),
            },
            urgent: true,
            ttl: Duration::from_secs(2 * 3600),
            flood: false,
        };
        let id = self
            .sim
            .publish_signal(node as u32, spec)
            .expect("the node is up")
            .expect("a valid demand");
        self.step(Duration::from_millis(1));
        id.to_string()
    }

    fn offer(&mut self, node: usize, demand: &str) -> String {
        let demand = node_core::signals::SignalId::from_hex(demand).expect("a signal id");
        let spec = node_core::signals::SignalSpec {
            payload: node_core::signals::Payload::Confirmation {
                demand,
                design: design_id(),
                quantity: 5,
            },
            urgent: false,
            ttl: Duration::from_secs(3600),
            flood: false,
        };
        let id = self
            .sim
            .publish_signal(node as u32, spec)
            .expect("the node is up")
            .expect("a valid confirmation");
        self.step(Duration::from_millis(1));
        id.to_string()
    }

    fn signals(&mut self, node: usize) -> Vec<Seen> {
        let Some(n) = self.sim.node(node as u32) else {
            return Vec::new();
        };
        let engine = n.signals();
        let mesh = engine.mesh(self.sim.now());
        engine
            .book()
            .live(mesh)
            .map(|(id, h)| Seen {
                id: id.to_string(),
                ty: h.repr.signal_type().name().to_string(),
                refers: match h.repr.payload {
                    node_core::signals::Payload::Confirmation { demand, .. } => {
                        Some(demand.to_string())
                    }
                    _ => None,
                },
                winner: engine.book().winner(id).map(|w| w.to_string()),
            })
            .collect()
    }

    fn wait_signals(&mut self, what: &str, cond: &dyn Fn(&[Vec<Seen>]) -> bool) {
        let limit = self.since_start() + SIM_DEADLINE;
        loop {
            let s: Vec<Vec<Seen>> = (0..self.sim.topology().len())
                .map(|i| self.signals(i))
                .collect();
            if cond(&s) {
                return;
            }
            assert!(
                self.since_start() < limit,
                "sim: not within {SIM_DEADLINE} of simulated time: {what}; {s:?}"
            );
            self.step(SIM_STEP);
        }
    }
}

// ---- (b), (c) real node processes --------------------------------------

/// How long a process mesh may take to meet a condition.
const PROCESS_DEADLINE: StdDuration = StdDuration::from_secs(120);
/// How often a process mesh is polled.
const POLL_EVERY: StdDuration = StdDuration::from_millis(250);

/// `okmesh node` processes with `--http` and `--data-dir`, one per radio.
struct ProcessMesh {
    label: &'static str,
    radios: Vec<String>,
    dirs: tempfile::TempDir,
    nodes: Vec<Option<(Proc, String)>>,
    /// The emulator, kept alive for the mesh's lifetime.
    _emulator: Option<Proc>,
}

impl ProcessMesh {
    fn new(label: &'static str, radios: Vec<String>, late: &[usize], emu: Option<Proc>) -> Self {
        let mut m = ProcessMesh {
            label,
            nodes: radios.iter().map(|_| None).collect(),
            radios,
            dirs: tempfile::tempdir().expect("temp dir"),
            _emulator: emu,
        };
        // One organisation publishes from every node: each data directory
        // holds the same publisher key (as `okmesh key import` would put
        // it there), so a design published at one node can be revised at
        // another by its owner.
        let publisher = hw_bridge::keys::generate_keypair().expect("a key");
        let text = hw_bridge::keys::key_text(hw_bridge::keys::Role::Publisher, &publisher);
        for i in 0..m.radios.len() {
            let dir = m.dirs.path().join(format!("node{i}"));
            hw_bridge::keys::create_data_dir(&dir).expect("data dir");
            hw_bridge::keys::write_secret_file(
                &dir,
                hw_bridge::keys::PUBLISHER_KEY_FILE,
                text.as_bytes(),
            )
            .expect("publisher key");
        }
        for i in 0..m.radios.len() {
            if !late.contains(&i) {
                m.start(i);
            }
        }
        m
    }

    /// `nodes` UDP testbed nodes, each hearing every other.
    fn udp(nodes: usize, late: &[usize]) -> Self {
        let ports = free_udp_ports(nodes);
        let radios = (0..nodes)
            .map(|i| {
                let peers: Vec<String> = (0..nodes)
                    .filter(|&j| j != i)
                    .map(|j| format!("127.0.0.1:{}", ports[j]))
                    .collect();
                format!("udp:127.0.0.1:{},peers={}", ports[i], peers.join("+"))
            })
            .collect();
        ProcessMesh::new("udp", radios, late, None)
    }

    /// `nodes` nodes on emulated Meshtastic devices sharing one air
    /// (LongFast time on air scaled by 1/100).
    fn meshtastic(nodes: usize, late: &[usize]) -> Self {
        let (emu, devices) = emulator(nodes, &["--time-scale", "0.01"]);
        let radios = devices.iter().map(|(_, a)| format!("tcp:{a}")).collect();
        ProcessMesh::new("meshtastic", radios, late, Some(emu))
    }

    fn addr(&self, node: usize) -> &str {
        &self.nodes[node]
            .as_ref()
            .unwrap_or_else(|| panic!("{}: node {node} is down", self.label))
            .1
    }

    fn all(&mut self) -> Vec<Holdings> {
        (0..self.nodes.len()).map(|i| self.holdings(i)).collect()
    }
}

/// Starts `okmesh node` on `radio` with its API on a free port and its store
/// in `dir`, waiting at most 20 s for the radio; returns the process and the
/// API address.
fn start_node(radio: &str, dir: &Path, extra: &[&str]) -> (Proc, String) {
    start_api_node(radio, dir, &[&["--connect-timeout", "20s"], extra].concat())
}

/// Holdings from `GET /items`.
fn items(addr: &str) -> Holdings {
    let (code, v) = http_json(addr, "GET", "/items", b"");
    assert_eq!(code, 200, "{v}");
    v.as_array()
        .expect("a list")
        .iter()
        .map(|i| {
            (
                i["id"].as_str().expect("id").to_owned(),
                (
                    i["seq"].as_u64().expect("seq") as u32,
                    i["content"].as_str().expect("content").to_owned(),
                ),
            )
        })
        .collect()
}

/// Publishes a manifest over the API; returns (id, seq) per item.
fn publish_http(addr: &str, file: &str, bytes: &[u8]) -> Vec<(String, u32)> {
    let (code, v) = http_json(addr, "POST", &format!("/manifests?name={file}"), bytes);
    assert!(code == 201 || code == 200, "{code}: {v}");
    v["published"]
        .as_array()
        .expect("published")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id").to_owned(),
                p["seq"].as_u64().expect("seq") as u32,
            )
        })
        .collect()
}

/// Polls `cond` on every node's holdings until it holds or `deadline`.
fn poll(
    label: &str,
    what: &str,
    deadline: StdDuration,
    every: StdDuration,
    mut all: impl FnMut() -> Vec<Holdings>,
    cond: &dyn Fn(&[Holdings]) -> bool,
) -> Vec<Holdings> {
    let start = StdInstant::now();
    loop {
        let h = all();
        if cond(&h) {
            return h;
        }
        assert!(
            start.elapsed() < deadline,
            "{label}: not within {deadline:?}: {what}; {}",
            describe(&h)
        );
        std::thread::sleep(every);
    }
}

impl Mesh for ProcessMesh {
    fn label(&self) -> &'static str {
        self.label
    }

    fn start(&mut self, node: usize) {
        assert!(self.nodes[node].is_none(), "node {node} is already up");
        let dir = self.dirs.path().join(format!("node{node}"));
        self.nodes[node] = Some(start_node(&self.radios[node], &dir, &[]));
    }

    fn publish(&mut self, node: usize, file: &str, bytes: &[u8]) -> Vec<(String, u32)> {
        publish_http(self.addr(node), file, bytes)
    }

    fn holdings(&mut self, node: usize) -> Holdings {
        match &self.nodes[node] {
            Some((_, addr)) => items(addr),
            None => Holdings::new(),
        }
    }

    fn wait_until(&mut self, what: &str, cond: &dyn Fn(&[Holdings]) -> bool) -> Vec<Holdings> {
        let label = self.label;
        poll(
            label,
            what,
            PROCESS_DEADLINE,
            POLL_EVERY,
            || self.all(),
            cond,
        )
    }

    fn demand(&mut self, node: usize) -> String {
        let path =
            format!("/demands?design={DESIGN}&quantity=5&deadline=2h&tags=3d-printing&urgent=true");
        let (code, v) = http_json(self.addr(node), "POST", &path, b"");
        assert_eq!(code, 201, "{}: {v}", self.label);
        v["id"].as_str().expect("id").to_owned()
    }

    fn offer(&mut self, node: usize, demand: &str) -> String {
        let path = format!("/offers?demand={demand}&quantity=5");
        let (code, v) = http_json(self.addr(node), "POST", &path, b"");
        assert_eq!(code, 201, "{}: {v}", self.label);
        v["id"].as_str().expect("id").to_owned()
    }

    fn signals(&mut self, node: usize) -> Vec<Seen> {
        let Some((_, addr)) = &self.nodes[node] else {
            return Vec::new();
        };
        let (code, v) = http_json(addr, "GET", "/signals", b"");
        assert_eq!(code, 200, "{v}");
        v.as_array()
            .expect("a list")
            .iter()
            .map(|x| Seen {
                id: x["id"].as_str().expect("id").to_owned(),
                ty: x["type"].as_str().expect("type").to_owned(),
                refers: x["refers"].as_str().map(str::to_owned),
                winner: x["winner"].as_str().map(str::to_owned),
            })
            .collect()
    }

    fn wait_signals(&mut self, what: &str, cond: &dyn Fn(&[Vec<Seen>]) -> bool) {
        let start = StdInstant::now();
        loop {
            let s: Vec<Vec<Seen>> = (0..self.nodes.len()).map(|i| self.signals(i)).collect();
            if cond(&s) {
                return;
            }
            assert!(
                start.elapsed() < PROCESS_DEADLINE,
                "{}: not within {PROCESS_DEADLINE:?}: {what}; {s:?}",
                self.label
            );
            std::thread::sleep(POLL_EVERY);
        }
    }
}

impl Drop for ProcessMesh {
    fn drop(&mut self) {
        // A clean stop first (flushes the stores); Proc's drop kills anything left.
        for (p, _) in self.nodes.iter_mut().flatten() {
            p.terminate();
        }
        for (p, _) in self.nodes.iter_mut().flatten() {
            let _ = p.child.wait();
        }
    }
}

// ---- the matrix ------------------------------------------------------

fn design_id() -> catalogue::id::ItemId {
    let mut id = [0u8; 16];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(&DESIGN[2 * i..2 * i + 2], 16).expect("hex");
    }
    catalogue::id::ItemId(id)
}

#[test]
fn sim_demand_here_confirm_there() {
    demand_here_confirm_there(&mut SimMesh::new(3, &[]), 3);
}

#[test]
fn udp_demand_here_confirm_there() {
    demand_here_confirm_there(&mut ProcessMesh::udp(3, &[]), 3);
}

#[test]
fn meshtastic_demand_here_confirm_there() {
    demand_here_confirm_there(&mut ProcessMesh::meshtastic(3, &[]), 3);
}

#[test]
fn sim_publish_here_see_there() {
    publish_here_see_there(&mut SimMesh::new(3, &[]), 3);
}

#[test]
fn udp_publish_here_see_there() {
    // Three `okmesh node` processes over UDP loopback converge on manifests
    // published at one of them.
    publish_here_see_there(&mut ProcessMesh::udp(3, &[]), 3);
}

#[test]
fn meshtastic_publish_here_see_there() {
    // okmesh nodes through emulated Meshtastic devices converge.
    publish_here_see_there(&mut ProcessMesh::meshtastic(3, &[]), 3);
}

#[test]
fn sim_new_version_replaces_the_old() {
    new_version_replaces_the_old(&mut SimMesh::new(3, &[]));
}

#[test]
fn udp_new_version_replaces_the_old() {
    new_version_replaces_the_old(&mut ProcessMesh::udp(3, &[]));
}

#[test]
fn meshtastic_new_version_replaces_the_old() {
    new_version_replaces_the_old(&mut ProcessMesh::meshtastic(2, &[]));
}

#[test]
fn sim_a_late_joiner_catches_up() {
    a_late_joiner_catches_up(&mut SimMesh::new(3, &[2]), 3);
}

#[test]
fn udp_a_late_joiner_catches_up() {
    a_late_joiner_catches_up(&mut ProcessMesh::udp(3, &[2]), 3);
}

#[test]
fn meshtastic_a_late_joiner_catches_up() {
    a_late_joiner_catches_up(&mut ProcessMesh::meshtastic(3, &[2]), 3);
}

// ---- field-node specifics over UDP -----------------------------------

/// Sends SIGKILL and reaps the process.
fn kill9(p: &mut Proc) {
    p.child.kill().expect("SIGKILL");
    p.child.wait().expect("reaped");
}

#[test]
fn a_node_killed_mid_sync_keeps_every_acknowledged_item_and_converges() {
    let ports = free_udp_ports(3);
    let dirs = tempfile::tempdir().unwrap();
    let at = |i: usize| format!("127.0.0.1:{}", ports[i]);
    let dir = |i: usize| dirs.path().join(format!("node{i}"));
    // Node 2 hears 0 and 1 through a slow, lossy link (300 ms ± 300 ms per
    // datagram, 30 % lost), so its catch-up takes long enough to be cut.
    let radio = |i: usize, extra: &str| {
        let peers: Vec<String> = (0..3).filter(|&j| j != i).map(at).collect();
        format!("udp:{},peers={}{extra}", at(i), peers.join("+"))
    };
    let slow = ",delay=300ms,jitter=300ms,loss=0.3";
    let (_a, a) = start_node(&radio(0, ""), &dir(0), &[]);
    let (_b, _) = start_node(&radio(1, ""), &dir(1), &[]);
    let files: Vec<(String, Vec<u8>)> = corpus_manifests(4)
        .into_iter()
        .chain(
            // More items: the facilities of the corpus's kitchens.
            [
                "james-kitchen.yml",
                "RobDessertKitchen.yml",
                "TimsTastyTreatsKitchen.yml",
            ]
            .iter()
            .map(|f| {
                let p = Path::new(CORPUS)
                    .join("okw/helpfulengineering-library/beta/okw")
                    .join(f);
                (f.to_string(), std::fs::read(&p).expect("corpus facility"))
            }),
        )
        .collect();
    for (file, bytes) in &files {
        let kind = if file.ends_with(".yml") {
            "facilities"
        } else {
            "manifests"
        };
        let (code, v) = http_json(&a, "POST", &format!("/{kind}?name={file}"), bytes);
        assert_eq!(code, 201, "{v}");
    }
    let want = items(&a);
    assert_eq!(want.len(), files.len());
    let (mut c, c_addr) = start_node(&radio(2, slow), &dir(2), &[]);
    // Kill node 2 with SIGKILL once it has acknowledged some items but not all.
    let held = poll(
        "udp",
        "node 2 holds part of the catalogue",
        PROCESS_DEADLINE,
        StdDuration::from_millis(20),
        || vec![items(&c_addr)],
        &|h| !h[0].is_empty(),
    )
    .remove(0);
    kill9(&mut c);
    assert!(
        held.len() < want.len(),
        "the kill came after sync finished ({} of {} items); the slow link should prevent that",
        held.len(),
        want.len()
    );
    for (id, v) in &held {
        assert_eq!(want.get(id), Some(v), "node 2 stored a version node 0 has");
    }
    // Restarted alone (its peers' ports point nowhere that answers): what it
    // acknowledged before the kill is all there, read from its store.
    let nowhere = free_udp_ports(1)[0];
    let alone = format!("udp:{},peers=127.0.0.1:{nowhere}", at(2));
    let (mut c, c_addr) = start_node(&alone, &dir(2), &[]);
    let after = items(&c_addr);
    for (id, v) in &held {
        assert_eq!(
            after.get(id),
            Some(v),
            "acknowledged item {id} survived SIGKILL"
        );
    }
    c.terminate();
    let s = c.summary(StdDuration::from_secs(30));
    assert_eq!(s["sync"]["items_received"], 0, "{s}");
    // Back in the mesh it converges.
    let (_c, c_addr) = start_node(&radio(2, ""), &dir(2), &[]);
    poll(
        "udp",
        "the restarted node holds everything",
        PROCESS_DEADLINE,
        POLL_EVERY,
        || vec![items(&c_addr)],
        &|h| h[0] == want,
    );
}

#[test]
fn the_http_api_publishes_lists_fetches_matches_and_explains_bad_input() {
    let ports = free_udp_ports(2);
    let dirs = tempfile::tempdir().unwrap();
    let radio = format!("udp:127.0.0.1:{},peers=127.0.0.1:{}", ports[0], ports[1]);
    let (mut p, a) = start_node(&radio, &dirs.path().join("n"), &[]);
    let files = corpus_manifests(4);
    for (file, bytes) in &files {
        publish_http(&a, file, bytes);
    }
    // The same file again is no new version.
    let (code, v) = http_json(
        &a,
        "POST",
        &format!("/manifests?name={}", files[0].0),
        &files[0].1,
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["published"][0]["new_version"], false, "{v}");
    // A facility.
    let kitchen = std::fs::read(
        Path::new(CORPUS).join("okw/helpfulengineering-library/beta/okw/james-kitchen.yml"),
    )
    .unwrap();
    let (code, v) = http_json(&a, "POST", "/facilities?name=james-kitchen.yml", &kitchen);
    assert_eq!(code, 201, "{v}");
    let kitchen_id = v["published"][0]["id"].as_str().unwrap().to_owned();
    // Listings by kind.
    let (_, m) = http_json(&a, "GET", "/manifests", b"");
    let (_, f) = http_json(&a, "GET", "/items?kind=facility", b"");
    assert_eq!(m.as_array().unwrap().len(), 4, "{m}");
    assert_eq!(f.as_array().unwrap().len(), 1, "{f}");
    assert_eq!(f[0]["name"], "James Kitchen", "{f}");
    assert_eq!(f[0]["kind"], "facility");
    // Fetch: metadata by an id prefix, and the original bytes.
    let (code, meta) = http_json(&a, "GET", &format!("/items/{}", &kitchen_id[..10]), b"");
    assert_eq!(code, 200, "{meta}");
    assert_eq!(meta["id"], kitchen_id.as_str());
    assert_eq!(meta["history"].as_array().unwrap().len(), 1);
    let (code, raw) = http(&a, "GET", &format!("/items/{kitchen_id}/raw"), b"").unwrap();
    assert_eq!((code, raw), (200, kitchen.clone()));
    // Bad input: a parse error names file, line and field; unknown ids,
    // paths, kinds and parameters are refused with a reason.
    let (code, v) = http_json(
        &a,
        "POST",
        "/manifests?name=broken.json",
        b"{\"title\": 3,\n",
    );
    assert_eq!(code, 400, "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(e.contains("broken.json:2"), "{e}");
    let (code, v) = http_json(&a, "POST", "/manifests?name=untitled.yaml", b"version: 1\n");
    assert_eq!(code, 400, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("untitled.yaml:1: field `title`"),
        "{v}"
    );
    for (method, path, want) in [
        ("GET", "/items/00000000000000000000000000000000", 404),
        ("GET", "/items/xyz", 400),
        ("GET", "/items?kind=recipe", 400),
        ("GET", "/nowhere", 404),
        ("DELETE", "/manifests", 405),
        ("GET", "/match", 400),
        ("GET", "/match?have=", 400),
        ("GET", "/match?have=lathe&top=0", 400),
        ("GET", "/status?verbose=1", 400),
    ] {
        let (code, v) = http_json(&a, method, path, b"");
        assert_eq!(code, want, "{method} {path}: {v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
    // Status: the catalogue and the radio side.
    let (code, s) = http_json(&a, "GET", "/status", b"");
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["catalogue"]["items"], 5, "{s}");
    assert_eq!(s["catalogue"]["manifests"], 4, "{s}");
    assert_eq!(s["node"], u64::from(ports[0]), "{s}");
    assert!(s["duty_cycle"]["used_pct"].as_f64().is_some(), "{s}");
    assert!(s["queue"]["room"].as_u64().is_some(), "{s}");
    // A match over the API ranks as `okmesh match --db` on the same store.
    let have = "3d printer, PLA, soldering iron, electronics, hand tools";
    let query = format!(
        "/match?have={}&top=10",
        have.replace(' ', "%20").replace(',', "%2C")
    );
    let (code, api) = http_json(&a, "GET", &query, b"");
    assert_eq!(code, 200, "{api}");
    assert_eq!(api["designs"], 4, "{api}");
    // Matching a stored facility works too.
    let (code, v) = http_json(&a, "GET", &format!("/match?facility={kitchen_id}"), b"");
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["input"]["facility"], "James Kitchen", "{v}");
    p.terminate();
    let s = p.summary(StdDuration::from_secs(30));
    assert_eq!(s["items"], 5, "{s}");
    assert_eq!(s["persistent"], true, "{s}");
    let dir = dirs.path().join("n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_okmesh"))
        .args([
            "match",
            "--have",
            have,
            "--db",
            dir.to_str().unwrap(),
            "--top",
            "10",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(api["results"], cli["results"]);
    assert_eq!(api["assessed"], cli["assessed"]);
}

#[test]
fn bad_data_dirs_and_http_addresses_exit_2_with_a_reason() {
    let ports = free_udp_ports(2);
    let radio = format!("udp:127.0.0.1:{},peers=127.0.0.1:{}", ports[0], ports[1]);
    let dirs = tempfile::tempdir().unwrap();
    let other = dirs.path().join("photos");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("cat.jpg"), b"meow").unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    // A store in use by a running node.
    let (_running, _) = start_node(&radio, &dirs.path().join("busy"), &[]);
    let radio2 = format!("udp:127.0.0.1:{},peers=127.0.0.1:{}", ports[1], ports[0]);
    let busy = dirs.path().join("busy");
    for (args, needle) in [
        (
            vec!["--data-dir", other.to_str().unwrap()],
            "not an okmesh store",
        ),
        (
            vec!["--data-dir", busy.to_str().unwrap()],
            "in use by another process",
        ),
        (vec!["--http", taken.as_str()], "cannot listen"),
        (vec!["--http", "localhost"], "invalid value"),
        (vec!["--sync-imin", "1ms"], "between 100ms and 24h"),
    ] {
        let mut full = vec!["node", "--radio", radio2.as_str()];
        full.extend_from_slice(&args);
        let mut p = Proc::okmesh(&full);
        let (code, stderr) = p.wait(StdDuration::from_secs(30));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
