//! The book's rules: the same answer in any arrival order, TTLs, limits.

use catalogue::ItemId;
use proptest::prelude::*;

use super::*;
use crate::identity::Keypair;
use crate::time::{Duration, Instant};

fn key(n: u64) -> Keypair {
    Keypair::derive(7, "book test", n)
}

fn at(s: u64) -> Instant {
    Instant::from_micros(s * 1_000_000)
}

fn sign(k: u64, created_s: u64, ttl_s: u64, payload: Payload) -> Vec<u8> {
    SignalRepr::sign(
        &key(k),
        Draft {
            payload,
            urgent: false,
            created: at(created_s),
            ttl: Duration::from_secs(ttl_s),
        },
    )
    .unwrap()
    .encode()
}

fn demand(k: u64, created_s: u64, quantity: u32) -> Vec<u8> {
    sign(
        k,
        created_s,
        3600,
        Payload::Demand {
            design: ItemId([1; 16]),
            quantity,
            deadline: at(10_000),
            tags: tags_from(["3d-printing"]).unwrap(),
        },
    )
}

fn confirm(k: u64, created_s: u64, demand: SignalId) -> Vec<u8> {
    sign(
        k,
        created_s,
        3600,
        Payload::Confirmation {
            demand,
            design: ItemId([1; 16]),
            quantity: 5,
        },
    )
}

fn capability(k: u64, created_s: u64, tags: &[&str]) -> Vec<u8> {
    sign(
        k,
        created_s,
        86_400,
        Payload::Capability {
            tags: tags_from(tags.iter().copied()).unwrap(),
        },
    )
}

fn book() -> SignalBook {
    SignalBook::new(BookLimits::default())
}

#[test]
fn a_signal_is_taken_once_and_refused_when_expired_or_from_the_future() {
    let mut b = book();
    let d = demand(1, 100, 40);
    let out = b.insert(at(100), &d).unwrap().unwrap();
    assert_eq!(b.insert(at(101), &d), Ok(None), "a copy is a duplicate");
    assert_eq!(b.stats().duplicates, 1);
    assert_eq!(b.get(out.id).unwrap().bytes, d);
    // Expiry is strict: at created + ttl the signal is gone.
    let mut late = book();
    assert_eq!(late.insert(at(100 + 3600), &d), Err(RejectReason::Expired));
    assert_eq!(b.live(at(3700)).count(), 0, "not delivered past expiry");
    assert_eq!(b.prune(at(3700)), vec![out.id]);
    assert!(b.is_empty());
    // Up to the skew bound ahead is fine; beyond it is refused.
    let mut skewed = book();
    let ahead = demand(1, 1000, 40);
    assert!(
        skewed
            .insert(at(1000).saturating_sub(MAX_CLOCK_SKEW), &ahead)
            .is_ok()
    );
    assert_eq!(
        skewed.insert(at(999).saturating_sub(MAX_CLOCK_SKEW), &demand(2, 1000, 1)),
        Err(RejectReason::FromFuture)
    );
    assert_eq!(late.stats().rejected.get(RejectReason::Expired), 1);
    assert_eq!(skewed.stats().rejected.get(RejectReason::FromFuture), 1);
}

#[test]
fn malformed_oversized_and_forged_signals_are_counted_by_reason() {
    let mut b = book();
    assert_eq!(b.insert(at(0), &[1, 2, 3]), Err(RejectReason::Malformed));
    assert_eq!(b.insert(at(0), &[0; 300]), Err(RejectReason::Oversized));
    let mut forged = demand(1, 100, 40);
    let n = forged.len();
    forged[n - 1] ^= 0x40; // the signature
    assert_eq!(b.insert(at(100), &forged), Err(RejectReason::BadSignature));
    // Another key's signature over the same body.
    let mut swapped = demand(1, 100, 40);
    swapped[n - 64..].copy_from_slice(&demand(2, 100, 40)[n - 64..]);
    assert_eq!(b.insert(at(100), &swapped), Err(RejectReason::BadSignature));
    let r = b.stats().rejected;
    assert_eq!(
        (
            r.get(RejectReason::Malformed),
            r.get(RejectReason::Oversized),
            r.get(RejectReason::BadSignature)
        ),
        (1, 1, 2)
    );
    assert_eq!(r.total(), 4);
    assert!(b.is_empty());
}

#[test]
fn demand_is_summed_per_design_and_deadline() {
    let mut b = book();
    b.insert(at(100), &demand(1, 100, 40)).unwrap();
    b.insert(at(100), &demand(2, 100, 10)).unwrap();
    let other_deadline = sign(
        3,
        100,
        3600,
        Payload::Demand {
            design: ItemId([1; 16]),
            quantity: 7,
            deadline: at(20_000),
            tags: vec![],
        },
    );
    b.insert(at(100), &other_deadline).unwrap();
    let totals = b.demand_totals(at(200));
    assert_eq!(totals.len(), 2);
    assert_eq!((totals[0].quantity, totals[0].demands.len()), (50, 2));
    assert_eq!((totals[1].quantity, totals[1].deadline), (7, at(20_000)));
}

#[test]
fn supply_latest_wins_in_any_order() {
    let old = capability(1, 100, &["cnc"]);
    let new = capability(1, 200, &["cnc", "laser-cutting"]);
    let mut a = book();
    a.insert(at(300), &old).unwrap();
    let out = a.insert(at(300), &new).unwrap().unwrap();
    assert_eq!(out.removed.len(), 1, "the older announcement is replaced");
    let mut b = book();
    b.insert(at(300), &new).unwrap();
    assert_eq!(b.insert(at(300), &old), Err(RejectReason::Superseded));
    let tags = |x: &SignalBook| x.supply().map(|(_, t)| t.to_vec()).collect::<Vec<_>>();
    assert_eq!(tags(&a), tags(&b));
    assert_eq!(tags(&a)[0].len(), 2);
}

#[test]
fn the_first_confirmation_wins_and_the_loser_is_named() {
    let d = demand(1, 100, 40);
    let did = super::signal::id_of(&d);
    let first = confirm(2, 150, did);
    let second = confirm(3, 160, did);
    let mut a = book();
    a.insert(at(200), &d).unwrap();
    assert_eq!(a.insert(at(200), &first).unwrap().unwrap().conflict, None);
    let c = a
        .insert(at(200), &second)
        .unwrap()
        .unwrap()
        .conflict
        .unwrap();
    assert_eq!(c.winner, super::signal::id_of(&first));
    assert_eq!(c.loser, super::signal::id_of(&second));
    assert_eq!(c.loser_source, key(3).public());
    // The other order: the late-arriving earlier confirmation takes over.
    let mut b = book();
    b.insert(at(200), &second).unwrap();
    let c2 = b
        .insert(at(200), &first)
        .unwrap()
        .unwrap()
        .conflict
        .unwrap();
    assert_eq!(c, c2);
    assert_eq!(a.winner(did), b.winner(did));
    assert_eq!(a.demand_totals(at(200))[0].confirmed, 5);
}

#[test]
fn only_the_signer_cancels_even_before_the_target_arrives() {
    let d = demand(1, 100, 40);
    let did = super::signal::id_of(&d);
    let cancel = |k| sign(k, 110, 3600, Payload::Cancellation { target: did });
    let mut a = book();
    a.insert(at(120), &d).unwrap();
    assert_eq!(a.insert(at(120), &cancel(2)), Err(RejectReason::NotSigner));
    let out = a.insert(at(120), &cancel(1)).unwrap().unwrap();
    assert_eq!(out.removed, vec![did]);
    assert!(a.demand_totals(at(120)).is_empty());
    let mut b = book();
    b.insert(at(120), &cancel(1)).unwrap();
    assert_eq!(b.insert(at(120), &d), Err(RejectReason::Cancelled));
    // Someone else's cancellation held first does not stop the target.
    let mut c = book();
    c.insert(at(120), &cancel(2)).unwrap();
    assert!(c.insert(at(120), &d).unwrap().is_some());
}

#[test]
fn quotas_rate_limits_and_the_cache_bound_hold() {
    let limits = BookLimits {
        max_signals: 4,
        max_per_source: 3,
        max_new_per_window: 2,
        window: Duration::from_secs(3600),
    };
    let mut b = SignalBook::new(limits);
    b.insert(at(100), &demand(1, 100, 1)).unwrap();
    b.insert(at(100), &demand(1, 100, 2)).unwrap();
    assert_eq!(
        b.insert(at(100), &demand(1, 100, 3)),
        Err(RejectReason::RateLimited)
    );
    // The next window admits more, up to the quota of live signals.
    b.insert(at(3600), &demand(1, 3600, 3)).unwrap();
    assert_eq!(
        b.insert(at(3600), &demand(1, 3600, 4)),
        Err(RejectReason::QuotaExceeded)
    );
    b.insert(at(3600), &demand(2, 3600, 1)).unwrap();
    assert_eq!(b.len(), 4);
    // Full: a newcomer evicts the soonest-expiring signal.
    let out = b.insert(at(3600), &demand(3, 3600, 1)).unwrap().unwrap();
    assert_eq!(out.removed.len(), 1);
    assert_eq!(b.len(), 4);
    let r = b.stats().rejected;
    assert_eq!(
        (
            r.get(RejectReason::RateLimited),
            r.get(RejectReason::QuotaExceeded)
        ),
        (1, 1)
    );
}

proptest! {
    #[test]
    fn any_arrival_order_gives_the_same_book(order in Just((0..8usize).collect::<Vec<_>>()).prop_shuffle()) {
        let d = demand(1, 100, 40);
        let did = super::signal::id_of(&d);
        let signals = [
            d.clone(),
            demand(2, 100, 3),
            confirm(3, 150, did),
            confirm(4, 150, did),
            confirm(5, 140, did),
            capability(3, 100, &["cnc"]),
            capability(3, 120, &["cnc", "pla"]),
            sign(2, 130, 3600, Payload::Cancellation { target: super::signal::id_of(&demand(2, 100, 3)) }),
        ];
        let mut reference = book();
        for s in &signals {
            let _ = reference.insert(at(200), s);
        }
        let mut b = book();
        for &i in &order {
            let _ = b.insert(at(200), &signals[i]);
        }
        let ids = |x: &SignalBook| x.live(at(200)).map(|(id, _)| id).collect::<Vec<_>>();
        prop_assert_eq!(ids(&b), ids(&reference));
        prop_assert_eq!(b.winner(did), reference.winner(did));
        prop_assert_eq!(b.demand_totals(at(200)), reference.demand_totals(at(200)));
    }
}

#[test]
fn the_signal_log_survives_a_restart_and_a_snapshot_and_expiry_prunes_it() {
    use crate::store::{MemStorage, Store, StoreConfig};
    let (mut store, _) = Store::open(MemStorage::new(), StoreConfig::default()).unwrap();
    let long = demand(1, 100, 40);
    let short = sign(
        2,
        100,
        60,
        Payload::Query {
            tags: tags_from(["cnc"]).unwrap(),
        },
    );
    for s in [&long, &short] {
        store.put_signal(super::signal::id_of(s).0, s).unwrap();
    }
    store
        .drop_signals(&[super::signal::id_of(&short).0])
        .unwrap();
    store
        .put_signal(super::signal::id_of(&short).0, &short)
        .unwrap();
    let digest = store.state_digest();
    // Replay of the log.
    let (store, _) = Store::open(store.into_storage(), StoreConfig::default()).unwrap();
    assert_eq!(store.state_digest(), digest);
    assert_eq!(store.signals().count(), 2);
    // Replay of a snapshot.
    let mut store = store;
    store.snapshot().unwrap();
    let (mut store, report) = Store::open(store.into_storage(), StoreConfig::default()).unwrap();
    assert!(report.from_snapshot);
    assert_eq!(store.state_digest(), digest);
    // A node opening at mesh time 200 takes the live one back and prunes
    // the expired query from the log.
    let engine = SignalEngine::new(
        crate::NodeId(1),
        SignalConfig::default(),
        crate::identity::LazyKeypair::given(key(9)),
        crate::Rng::derive(1, "t", 0),
        &mut store,
        at(200),
    );
    assert_eq!(engine.book().len(), 1);
    assert!(engine.book().contains(super::signal::id_of(&long)));
    assert_eq!(
        store.signals().map(|(id, _)| id).collect::<Vec<_>>(),
        vec![super::signal::id_of(&long).0]
    );
    assert!(
        store.put_signal(1, &[0; 300]).is_err(),
        "oversized records are refused"
    );
}
