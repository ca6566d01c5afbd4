//! `GET /events`: server-sent events (`text/event-stream`) when a new
//! manifest or a new demand arrives that this node's facility can make.
//!
//! The node's facility is every facility in its catalogue signed with its
//! own publisher key (published with `POST /facilities` or imported into
//! its data directory). A manifest matches when one of them can make it
//! outright (as `okmesh produce` ranks: every critical requirement met); a
//! demand matches when its design is in the catalogue and matches so.
//! Events, one JSON object in `data`:
//!
//! * `event: manifest` — `item`, `name`, `origin` (`local` or `mesh`),
//!   `facility`, `facility_name`, `score`;
//! * `event: demand` — `signal`, `design`, `name`, `quantity`,
//!   `deadline_s`, `urgent`, `origin`, `facility`, `facility_name`,
//!   `score`.
//!
//! A comment line (`: keep-alive`) goes out every [`KEEP_ALIVE`]; a stream
//! ends with its connection ([`super::CONNECTION_TIMEOUT`]) and clients
//! reconnect (an `EventSource` does so by itself, after the `retry` the
//! stream starts with). At most [`MAX_EVENT_STREAMS`] streams are open at
//! once (more: 503).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use catalogue::id::ItemKind;
use catalogue::matching::RankOptions;
use catalogue::ranked::{Input, rank};
use catalogue::taxonomy::Taxonomy;
use http_body_util::Either;
use hyper::body::{Bytes, Frame};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use node_core::identity::PublicKey;
use node_core::signals::SignalType;
use node_core::store::StoredItem;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, broadcast, mpsc};

use super::{Body, Failure};
use crate::driver::{NodeHandle, Notice};
use crate::kb::{designs_from_stored, facilities_from_stored};

/// Event streams open at once.
pub const MAX_EVENT_STREAMS: usize = 4;
/// How often a stream sends a comment, so that a closed client is noticed.
pub const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);
/// Frames a stream buffers for a slow client (beyond: it is closed).
const STREAM_BUFFER: usize = 32;

/// A response body fed by a channel: one SSE frame per message.
#[derive(Debug)]
pub(crate) struct EventBody {
    rx: mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|m| m.map(|b| Ok(Frame::data(b))))
    }
}

/// One SSE frame.
fn frame(event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// Starts an event stream for one client.
pub(super) fn stream(node: &NodeHandle, slots: &Arc<Semaphore>) -> Result<Response<Body>, Failure> {
    let permit = slots.clone().try_acquire_owned().map_err(|_| {
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{MAX_EVENT_STREAMS} event streams are open already; try again later"),
        )
    })?;
    // Subscribe before answering: nothing after the response is missed.
    let notices = node.notices();
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    let node = node.clone();
    tokio::spawn(async move {
        let _permit = permit;
        feed(node, notices, tx).await;
    });
    let mut r = Response::new(Either::Right(EventBody { rx }));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(r)
}

/// The node's facilities (signed with its own publisher key), parsed.
pub(super) async fn own_facilities(
    node: &NodeHandle,
) -> Option<Vec<(StoredItem, catalogue::okw::Facility)>> {
    let me: PublicKey = node.status().await.ok()?.keys.publisher;
    let (_, items) = node.items(ItemKind::Facility).await.ok()?;
    let own: Vec<StoredItem> = items
        .into_iter()
        .filter(|i| i.author.is_some_and(|a| a.publisher == me && !a.tombstone))
        .collect();
    let mut out = Vec::new();
    for item in own {
        let (mut fs, _) = facilities_from_stored([&item]);
        if let Some(f) = fs.pop() {
            out.push((item, f));
        }
    }
    Some(out)
}

/// The best of `facilities` that can make the stored design `design`
/// outright: its item and name, and the score.
pub(super) fn best_maker(
    design: &StoredItem,
    facilities: &[(StoredItem, catalogue::okw::Facility)],
) -> Option<(String, String, f64)> {
    best_makers(std::slice::from_ref(design), facilities)
        .into_values()
        .next()
}

/// For each of the stored `designs` that one of `facilities` can make
/// outright, the best such facility (its item and name) and the score, by
/// design id. One index over the designs and one ranking per facility,
/// however many designs: the board judges every demand at once.
pub(super) fn best_makers(
    designs: &[StoredItem],
    facilities: &[(StoredItem, catalogue::okw::Facility)],
) -> BTreeMap<String, (String, String, f64)> {
    let mut best: BTreeMap<String, (String, String, f64)> = BTreeMap::new();
    let tax = Taxonomy::builtin();
    let designs = designs_from_stored(designs, tax);
    let Ok(idx) = designs.index(tax) else {
        return best;
    };
    let opts = RankOptions {
        threshold: 0.0,
        complete_only: true,
        top: designs.info.len().max(1),
    };
    for (item, f) in facilities {
        let input = Input::from_facility(f, tax);
        let p = idx.profile(&input.caps);
        for r in rank(&idx, &p, &opts).results {
            let Some(info) = designs.info.get(r.design) else {
                continue;
            };
            // Three decimals, as a person reads a score.
            let score = (f64::from(r.score.score) * 1000.0).round() / 1000.0;
            let entry = (item.id.to_string(), item.name.clone(), score);
            match best.get(&info.item_id.to_string()) {
                // The first facility keeps a tie.
                Some(held) if held.2 >= score => {}
                _ => {
                    best.insert(info.item_id.to_string(), entry);
                }
            }
        }
    }
    best
}

/// What a notice means for the node's facility, as an event, if anything.
async fn judge(node: &NodeHandle, notice: Notice) -> Option<(&'static str, Value)> {
    let origin = |local: bool| if local { "local" } else { "mesh" };
    match notice {
        Notice::Item { id, local } => {
            let found = node.find(&id.to_string()).await.ok()?;
            let item = found.into_iter().find(|d| d.item.id == id)?.item;
            if item.kind != ItemKind::Manifest || item.is_tombstone() {
                return None;
            }
            let facilities = own_facilities(node).await?;
            let (design, name) = (item.id.to_string(), item.name.clone());
            let best = tokio::task::spawn_blocking(move || best_maker(&item, &facilities))
                .await
                .ok()??;
            Some((
                "manifest",
                json!({"type": "manifest", "item": design, "name": name, "origin": origin(local),
                       "facility": best.0, "facility_name": best.1, "score": best.2}),
            ))
        }
        Notice::Signal {
            id,
            ty: SignalType::Demand,
            local,
        } => {
            let signals = node.signals().await.ok()?;
            let s = signals.into_iter().find(|s| s.id == id)?;
            let design = s.design.clone()?;
            let found = node.find(&design).await.ok()?;
            let item = found
                .into_iter()
                .find(|d| d.item.id.to_string() == design)?
                .item;
            let facilities = own_facilities(node).await?;
            let name = item.name.clone();
            let best = tokio::task::spawn_blocking(move || best_maker(&item, &facilities))
                .await
                .ok()??;
            Some((
                "demand",
                json!({"type": "demand", "signal": id.to_string(), "design": design, "name": name,
                       "quantity": s.quantity, "deadline_s": s.deadline_s, "urgent": s.urgent,
                       "origin": origin(local), "facility": best.0, "facility_name": best.1,
                       "score": best.2}),
            ))
        }
        Notice::Signal { .. } => None,
    }
}

/// Turns the node's notices into events for one client until it leaves
/// or the node stops.
async fn feed(node: NodeHandle, mut notices: broadcast::Receiver<Notice>, tx: mpsc::Sender<Bytes>) {
    // Opens the stream at once (the client sees the headers) and sets how
    // soon an EventSource reconnects.
    if tx
        .send(Bytes::from_static(b"retry: 2000\n: okmesh events\n\n"))
        .await
        .is_err()
    {
        return;
    }
    let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
    keep_alive.tick().await;
    loop {
        let out = tokio::select! {
            n = notices.recv() => match n {
                Ok(n) => match judge(&node, n).await {
                    Some((event, data)) => frame(event, &data),
                    None => continue,
                },
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    Bytes::from(format!(": {missed} notices missed (the node was busier than this stream)\n\n"))
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = keep_alive.tick() => Bytes::from_static(b": keep-alive\n\n"),
            () = tx.closed() => return,
        };
        // A client too slow to take STREAM_BUFFER frames is dropped.
        if tx.try_send(out).is_err() {
            return;
        }
    }
}
