//! Issue 16's design packages in the simulator: a package fetched over a
//! chain of LongFast EU868 radios (1 km apart, each decodes only its two
//! neighbours), from one holder and from three, across a crash, and past
//! a node that sends corrupt pieces.

use node_core::identity::Keypair;
use node_core::node::PackageEvent;
use node_core::packages::msg::SwarmMsg;
use node_core::packages::{Package, PackageId};
use node_core::transport::MESHTASTIC_MAX_PAYLOAD_BYTES;
use node_core::{Duration, Instant, ItemKind, NodeConfig};
use sim::Simulation;

use crate::util::scenario;

const SEED: u64 = 7;

/// LongFast EU868 radios placed as `topology` says, no chat, no
/// catalogue sync.
fn mesh(topology: &str) -> Simulation {
    let s = scenario(&format!(
        "name: packages\nseed: {SEED}\nduration: 48h\n\
         radio: {{region: EU868, preset: LongFast, shadowing: {{sigma_db: 0}}}}\n\
         sync: {{strategy: off}}\n\
         topology: {topology}\n"
    ));
    Simulation::new(&s.sim_config()).expect("builds")
}

/// A chain of `nodes`, 1 km apart: each decodes only its two neighbours.
fn chain(nodes: u32) -> Simulation {
    mesh(&format!("{{kind: chain, nodes: {nodes}, spacing_m: 1000}}"))
}

/// The honest publisher key of the run (every honest simulated node's).
fn key() -> Keypair {
    NodeConfig::simulated_publisher(SEED, 0)
}

fn run_to(sim: &mut Simulation, at: Instant) {
    sim.run_until(at, &mut [], &mut |_| {}).expect("runs");
}

/// Every node on the chain holds the package's signed manifest (as sync
/// would have spread it); `holders` hold the package.
fn seed_package(sim: &mut Simulation, package: &Package, holders: &[u32]) -> PackageId {
    let r = package.record();
    let manifest = package.file(r.manifest_file as usize).to_vec();
    for n in 0..sim.topology().len() as u32 {
        sim.publish(n, ItemKind::Manifest, &manifest, "okh.yaml")
            .expect("publishes the manifest");
    }
    let mut id = None;
    for h in holders {
        id = Some(sim.give_package(*h, package).expect("holds the package"));
    }
    id.expect("at least one holder")
}

/// From one second in, `holders` hold `package` and `requester` asks for
/// it; runs until it has it, verified, within `limit` of the request:
/// the package and how long it took.
fn fetch(
    sim: &mut Simulation,
    package: &Package,
    holders: &[u32],
    requester: u32,
    limit: Duration,
) -> (PackageId, Duration) {
    run_to(sim, Instant::ZERO + Duration::from_secs(1));
    let id = seed_package(sim, package, holders);
    let start = sim.now();
    sim.request_package(requester, id).expect("requests");
    let done = until_complete(sim, requester, id, start + limit)
        .unwrap_or_else(|| panic!("node {requester} completes the package"));
    assert_verified(sim, requester, package);
    (id, done - start)
}

/// Runs until `node` completes `id` or `limit` passes; the completion time.
fn until_complete(
    sim: &mut Simulation,
    node: u32,
    id: PackageId,
    limit: Instant,
) -> Option<Instant> {
    let step = Duration::from_secs(60);
    while sim.now() < limit {
        let next = (sim.now() + step).min(limit);
        run_to(sim, next);
        let done = sim
            .package_log()
            .iter()
            .find(|e| e.node == node && e.event == PackageEvent::Complete { package: id });
        if let Some(e) = done {
            return Some(e.at);
        }
    }
    None
}

/// Time on air of every fragment of every piece message of `package`.
fn piece_airtime(sim: &Simulation, package: &Package) -> (Duration, Duration) {
    let mut total = Duration::ZERO;
    let mut largest = Duration::ZERO;
    for i in 0..package.record().piece_count {
        let msg = SwarmMsg::Piece(package.piece(i).expect("piece")).encode();
        let frames =
            node_core::wire::fragment(0, &msg, MESHTASTIC_MAX_PAYLOAD_BYTES).expect("fits");
        let t = frames
            .iter()
            .fold(Duration::ZERO, |t, f| t + sim.radio().airtime(f.len()));
        total += t;
        largest = largest.max(t);
    }
    (total, largest)
}

/// Index and sender of every piece `node` stored of `id`, in order.
fn stored(sim: &Simulation, node: u32, id: PackageId) -> Vec<(Instant, u32)> {
    sim.package_log()
        .iter()
        .filter(|e| e.node == node)
        .filter_map(|e| match e.event {
            PackageEvent::PieceStored { package, index, .. } if package == id => {
                Some((e.at, index))
            }
            _ => None,
        })
        .collect()
}

fn assert_verified(sim: &Simulation, node: u32, package: &Package) {
    let got = sim
        .node(node)
        .expect("up")
        .swarm()
        .cache()
        .package(package.id())
        .expect("the whole package is cached");
    assert_eq!(got.payload(), package.payload(), "node {node}: the bytes");
    assert_eq!(got.record(), package.record());
}

/// The duty-cycle bound on one node sending `airtime` on EU868 (10 % of
/// any sliding hour): a first burst of 6 min, then 10 % of the time.
fn duty_bound(airtime: Duration, window: Duration, duty: f64) -> Duration {
    let a = airtime.as_secs_f64();
    let w = window.as_secs_f64();
    let t = if a <= duty * w {
        a
    } else {
        a / duty - (1.0 - duty) * w
    };
    Duration::from_micros((t * 1e6) as u64)
}

/// 200 KB from node 0 to node 4 over four hops. The bound: every node on
/// the path but the last sends every piece once (the piece messages'
/// fragments at LongFast airtime, requests and adverts not counted), each
/// under its own 10 % duty cycle, and relays pipeline, so the last hop
/// starts at the earliest three pieces' airtime after the first:
/// bound = duty_bound(airtime of all pieces) + 3 × airtime of the largest
/// piece = 17,055 s for this package (2,017 s of piece airtime per hop).
#[test]
#[allow(clippy::print_stderr)]
fn a_200_kb_package_crosses_four_hops_verified_within_2_times_the_airtime_bound() {
    let mut sim = chain(5);
    let package = sim::world::seeded_package(1, 200_000, 4096, &key());
    assert_eq!(package.record().piece_count, 49);
    let (_, took) = fetch(&mut sim, &package, &[0], 4, Duration::from_secs(40 * 3600));
    let (airtime, largest) = piece_airtime(&sim, &package);
    let window = node_core::radio::DUTY_CYCLE_WINDOW;
    let bound = duty_bound(airtime, window, sim.radio().duty_cycle_pct / 100.0)
        + largest
        + largest
        + largest;
    let ratio = took.as_secs_f64() / bound.as_secs_f64();
    let stats: Vec<_> = (0..5)
        .map(|n| sim.node(n).unwrap().package_stats())
        .collect();
    let piece_frames: u64 = stats.iter().map(|s| s.piece_frames_sent).sum();
    let pieces_sent: u64 = stats.iter().map(|s| s.pieces_sent).sum();
    eprintln!(
        "4 hops, 200 KB: {took:?} against a bound of {bound:?} ({ratio:.2}x); piece airtime per hop {airtime:?}; \
         {pieces_sent} piece transmissions for 4 x 49 pieces delivered ({:.2} per piece delivered), {piece_frames} piece frames",
        pieces_sent as f64 / (4.0 * 49.0)
    );
    for (n, s) in stats.iter().enumerate() {
        eprintln!("  node {n}: {s:?}");
    }
    // Issue 16 asks for 2x; this run takes 1.95x (seed 7; 2.15x before
    // fragment-level repair), 1.37 piece transmissions per piece
    // delivered. What is left is mostly hidden-terminal collisions at
    // node 1, which make node 0 send pieces again.
    assert!(
        ratio <= 2.0,
        "took {took:?}, {ratio:.2}x the bound {bound:?}"
    );
}

/// The same 100 KB package to node 0 from one holder and from three, all
/// four radios within range of one another.
#[test]
#[allow(clippy::print_stderr)]
fn three_holders_deliver_faster_than_one() {
    let package = sim::world::seeded_package(2, 100_000, 4096, &key());
    let time = |holders: &[u32]| {
        let mut sim = mesh("{kind: grid, nodes: 4, spacing_m: 300}");
        let (_, took) = fetch(
            &mut sim,
            &package,
            holders,
            0,
            Duration::from_secs(24 * 3600),
        );
        let senders: std::collections::BTreeSet<u32> = sim
            .package_log()
            .iter()
            .filter_map(|e| match e.event {
                PackageEvent::PieceStored { from, .. } if e.node == 0 => Some(from.0),
                _ => None,
            })
            .collect();
        (took, senders)
    };
    let (one, from_one) = time(&[1]);
    let (three, from_three) = time(&[1, 2, 3]);
    let ratio = one.as_secs_f64() / three.as_secs_f64();
    eprintln!("100 KB, one hop: one holder {one:?}, three holders {three:?}: {ratio:.2}x faster");
    assert_eq!(from_one, [1].into());
    assert_eq!(
        from_three,
        [1, 2, 3].into(),
        "pieces came from every holder"
    );
    assert!(
        ratio > 1.5,
        "three holders only {ratio:.2}x faster than one"
    );
}

/// Node 1 crashes halfway through fetching from node 0, restarts from its
/// stores and asks again: it fetches only the pieces it had not verified.
#[test]
#[allow(clippy::print_stderr)]
fn a_transfer_interrupted_by_a_crash_resumes_without_refetching_verified_pieces() {
    let mut sim = chain(2);
    let package = sim::world::seeded_package(3, 60_000, 4096, &key());
    let count = package.record().piece_count;
    run_to(&mut sim, Instant::ZERO + Duration::from_secs(1));
    let id = seed_package(&mut sim, &package, &[0]);
    sim.request_package(1, id).expect("requests");
    // Until about half the pieces are in.
    while stored(&sim, 1, id).len() < count as usize / 2 {
        let next = sim.now() + Duration::from_secs(30);
        run_to(&mut sim, next);
        assert!(
            sim.now() < Instant::ZERO + Duration::from_secs(12 * 3600),
            "stalled"
        );
    }
    let crash_at = sim.now() - Instant::ZERO;
    let down = Duration::from_secs(600);
    sim.inject(sim::Fault::Crash {
        at: crash_at,
        node: 1,
        restart_after: Some(down),
    })
    .expect("injects");
    run_to(&mut sim, Instant::ZERO + crash_at + Duration::from_secs(1));
    assert!(sim.node(1).is_none(), "down");
    let before: Vec<u32> = stored(&sim, 1, id).iter().map(|(_, i)| *i).collect();
    run_to(
        &mut sim,
        Instant::ZERO + crash_at + down + Duration::from_secs(1),
    );
    let after_restart = sim.package_progress(1, id).expect("the cache survived");
    assert_eq!(
        after_restart.pieces as usize,
        before.len(),
        "every verified piece survived"
    );
    let restarted = sim.now();
    sim.request_package(1, id).expect("asks again");
    let done = until_complete(&mut sim, 1, id, restarted + Duration::from_secs(24 * 3600));
    assert!(done.is_some(), "completes after the restart");
    assert_verified(&sim, 1, &package);
    let refetched: Vec<u32> = stored(&sim, 1, id)
        .iter()
        .filter(|(at, _)| *at >= restarted)
        .map(|(_, i)| *i)
        .collect();
    // The last piece reports as the completion, not as stored.
    assert_eq!(refetched.len() + 1 + before.len(), count as usize);
    eprintln!(
        "crash: {} of {count} pieces verified before the crash, all kept; {} fetched after the restart (and the last as the completion)",
        before.len(),
        refetched.len()
    );
    assert!(
        refetched.iter().all(|i| !before.contains(i)),
        "a piece verified before the crash was fetched again"
    );
}

/// Node 2 claims to hold every piece and broadcasts corrupt ones (a real
/// piece with a flipped byte): node 1 never stores one, counts node 2 and
/// ignores it after three, and still gets the whole package from node 0.
#[test]
#[allow(clippy::print_stderr)]
fn corrupt_pieces_are_never_stored_and_their_sender_is_counted_then_ignored() {
    let mut sim = mesh("{kind: grid, nodes: 3, spacing_m: 300}");
    let package = sim::world::seeded_package(4, 60_000, 1024, &key());
    run_to(&mut sim, Instant::ZERO + Duration::from_secs(1));
    let id = seed_package(&mut sim, &package, &[0]);
    sim.request_package(1, id).expect("requests");
    let count = package.record().piece_count;
    let have = SwarmMsg::Have {
        package: id,
        ranges: vec![(0, count)],
    }
    .encode();
    let send = |sim: &mut Simulation, msg: &[u8], n: u16| {
        for f in node_core::wire::fragment(n, msg, MESHTASTIC_MAX_PAYLOAD_BYTES).expect("fits") {
            sim.transmit_raw(2, f).expect("queued");
        }
    };
    // From the start, for the last pieces (fetched last, rarest first).
    let mut n = 0u16;
    for round in 0..8u32 {
        let next = sim.now() + Duration::from_secs(60);
        run_to(&mut sim, next);
        send(&mut sim, &have, n);
        let real = package.piece(count - 1 - round).expect("piece");
        let mut data = real.data.to_vec();
        let at = round as usize % data.len();
        data[at] ^= 0x40;
        let bad = node_core::packages::PieceMsg {
            data: &data,
            ..real
        };
        send(&mut sim, &SwarmMsg::Piece(bad).encode(), n + 1);
        n += 2;
    }
    let done = until_complete(
        &mut sim,
        1,
        id,
        Instant::ZERO + Duration::from_secs(24 * 3600),
    );
    assert!(done.is_some(), "completes from the honest holder");
    assert_verified(&sim, 1, &package);
    let node = sim.node(1).expect("up");
    let bad: Vec<_> = node.swarm().bad_senders().collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0].0.0, 2);
    assert!(bad[0].1 >= 3, "{bad:?}");
    assert!(node.swarm().is_ignored(node_core::NodeId(2)));
    assert_eq!(node.package_stats().bad_pieces, u64::from(bad[0].1));
    let from_adversary = sim.package_log().iter().any(|e| {
        e.node == 1 && matches!(e.event, PackageEvent::PieceStored { from, .. } if from.0 == 2)
    });
    assert!(!from_adversary, "a piece from the adversary was stored");
    eprintln!(
        "corrupt: {} bad pieces counted from node 2, ignored: {}",
        bad[0].1,
        node.swarm().is_ignored(node_core::NodeId(2))
    );
}

/// `workload.packages` in a scenario: node 0 holds 20 KB from the start,
/// node 2, two hops away, asks for it after 10 minutes and gets it; bad
/// entries are refused with their field paths.
#[test]
fn a_scenario_workload_moves_a_package() {
    let yaml = format!(
        "name: packages\nseed: {SEED}\nduration: 6h\n\
         radio: {{region: EU868, preset: LongFast, shadowing: {{sigma_db: 0}}}}\n\
         sync: {{strategy: off}}\n\
         topology: {{kind: chain, nodes: 3, spacing_m: 1000}}\n\
         workload:\n  packages:\n    - {{size_bytes: 20000, seed: 5, holders: [0], requesters: [2], at: 10m}}\n"
    );
    let s = scenario(&yaml);
    let mut sim = Simulation::new(&s.sim_config()).expect("builds");
    // Without sync, node 1 and node 2 hold the manifest only if given it.
    let package = sim::world::seeded_package(5, 20_000, 4096, &key());
    run_to(&mut sim, Instant::ZERO + Duration::from_secs(1));
    let manifest = package
        .file(package.record().manifest_file as usize)
        .to_vec();
    for n in [1, 2] {
        sim.publish(n, ItemKind::Manifest, &manifest, "okh.yaml")
            .expect("publishes");
    }
    let id = package.id();
    assert!(
        sim.node(0).unwrap().swarm().cache().held(id).is_some(),
        "node 0 holds it"
    );
    assert!(sim.package_progress(2, id).is_none(), "not asked yet");
    let done = until_complete(
        &mut sim,
        2,
        id,
        Instant::ZERO + Duration::from_secs(6 * 3600),
    )
    .expect("node 2 completes");
    assert!(done >= Instant::ZERO + Duration::from_secs(600));
    assert_verified(&sim, 2, &package);

    let bad = yaml
        .replace("size_bytes: 20000", "size_bytes: 20000, piece_bytes: 1000")
        .replace("requesters: [2]", "requesters: [9]");
    let err = scenarios::load_str(&bad, "bad.yaml", None, &[]).expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("workload.packages[0].piece_bytes"), "{text}");
    assert!(
        text.contains("workload.packages[0].requesters[0]"),
        "{text}"
    );
}
