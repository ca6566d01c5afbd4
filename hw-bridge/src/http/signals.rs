//! The signal part of the HTTP API: the live supply and demand signals a
//! node holds, and the two writes (both need the API token, as every
//! `POST` does):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/signals` | live signals: id, type, source, times, tags, design, quantity, deadline, winner |
//! | POST | `/demands?design=ID&quantity=N&deadline=2h&tags=a,b&urgent=true` | publish a demand |
//! | POST | `/offers?demand=ID&quantity=N` | confirm a demand (`okmesh offer`), at most the quantity it wants |
//! | POST | `/cancellations?signal=ID` | withdraw a signal this node signed |
//! | GET | `/demands` | the live demands, each with `taken` (the winning confirmation's quantity, null if none), `open` (wanted and not taken) and `maker` (the node's own facility that can make it, null if none) |
//! | POST | `/queries?need=a,b[&ttl=1h]` | who can meet a need (`okmesh ask`): `local` true and `200` when capability announcements in the book answer it (nothing is sent), else an urgent query goes to the mesh (`201`); `facilities` lists the announcements that meet it |
//!
//! Every bad parameter is a `400` that names it and says what is expected.

use catalogue::id::ItemId;
use hyper::StatusCode;
use node_core::signals::{
    MAX_TTL_S, Payload, PublishSignalError, SignalId, SignalSpec, SignalType, tags_from_list,
};
use node_core::time::parse_duration;
use node_core::{Duration, Instant};
use serde_json::{Value, json};

use super::{Failure, check_params, param};
use crate::driver::{NodeHandle, SignalView};

/// Mesh time now: Unix time, as the node's signal layer counts it.
pub(super) fn mesh_now() -> Instant {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    Instant::from_micros(us)
}

/// The JSON of one signal.
pub(super) fn signal_json(s: &SignalView) -> Value {
    let mut v = json!({
        "id": s.id.to_string(),
        "type": s.ty.name(),
        "source": s.source,
        "ours": s.ours,
        "created_s": s.created_s,
        "expires_s": s.expires_s,
        "urgent": s.urgent,
        "tags": s.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "matches": s.matches,
    });
    let opt = |v: &mut Value, k: &str, x: Option<Value>| {
        if let Some(x) = x {
            v[k] = x;
        }
    };
    opt(&mut v, "design", s.design.clone().map(Value::String));
    opt(&mut v, "quantity", s.quantity.map(|q| json!(q)));
    opt(&mut v, "deadline_s", s.deadline_s.map(|d| json!(d)));
    opt(&mut v, "refers", s.refers.map(|r| json!(r.to_string())));
    opt(&mut v, "winner", s.winner.map(|r| json!(r.to_string())));
    v
}

/// `GET /demands`: the live demands with what is taken and open, and
/// `maker`: the node's own facility that can make the design outright
/// (`facility`, `facility_name`, `score`, as `GET /events` judges), or
/// null.
pub(super) async fn demands(node: &NodeHandle, q: &[(String, String)]) -> Result<Value, Failure> {
    check_params(q, &[])?;
    let signals = node.signals().await?;
    let facilities = super::events::own_facilities(node)
        .await
        .unwrap_or_default();
    let demands: Vec<&SignalView> = signals
        .iter()
        .filter(|s| s.ty == SignalType::Demand)
        .collect();
    // The demanded designs held here (live), judged all at once.
    let mut designs = Vec::new();
    if !facilities.is_empty() {
        let mut wanted: Vec<String> = demands.iter().filter_map(|d| d.design.clone()).collect();
        wanted.sort();
        wanted.dedup();
        for design in wanted {
            if let Some(item) = node
                .find(&design)
                .await?
                .into_iter()
                .find(|i| i.item.id.to_string() == design)
                .map(|i| i.item)
                .filter(|i| !i.is_tombstone())
            {
                designs.push(item);
            }
        }
    }
    let makers = if designs.is_empty() {
        Default::default()
    } else {
        // Matching is CPU work: off the async threads.
        tokio::task::spawn_blocking(move || super::events::best_makers(&designs, &facilities))
            .await
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for d in demands {
        let taken = d
            .winner
            .and_then(|w| signals.iter().find(|s| s.id == w))
            .and_then(|w| w.quantity);
        let mut v = signal_json(d);
        v["taken"] = json!(taken);
        v["open"] = json!(d.quantity.unwrap_or(0).saturating_sub(taken.unwrap_or(0)));
        v["maker"] = match d.design.as_ref().and_then(|id| makers.get(id)) {
            Some((facility, facility_name, score)) => {
                json!({"facility": facility, "facility_name": facility_name, "score": score})
            }
            None => Value::Null,
        };
        out.push(v);
    }
    Ok(Value::Array(out))
}

/// `POST /queries`: asks who can meet a need; `200` when the book
/// answered (nothing sent), `201` when a query went to the mesh.
pub(super) async fn query(
    node: &NodeHandle,
    q: &[(String, String)],
) -> Result<(StatusCode, Value), Failure> {
    check_params(q, &["need", "ttl"])?;
    let text = param(q, "need").unwrap_or("");
    let need = tags_from_list(text).map_err(|e| Failure::bad(format!("need '{text}': {e}")))?;
    if need.is_empty() {
        return Err(Failure::bad(
            "need: say what is needed, comma-separated, e.g. need=3d-printing,material=pla",
        ));
    }
    let ttl_text = param(q, "ttl").unwrap_or("1h");
    let ttl = parse_duration(ttl_text)
        .ok()
        .filter(|d| *d >= Duration::from_secs(1) && d.as_micros() / 1_000_000 <= MAX_TTL_S)
        .ok_or_else(|| {
            Failure::bad(format!(
                "ttl '{ttl_text}': expected a lifetime such as 30m or 2h, at most 30 days"
            ))
        })?;
    let asked = node.ask_need(need, ttl).await?.map_err(publish_failure)?;
    let status = if asked.local {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        json!({
            "id": asked.query.to_string(), "local": asked.local,
            "facilities": asked.facilities.iter().map(signal_json).collect::<Vec<_>>(),
        }),
    ))
}

/// `GET /signals`.
pub(super) async fn list(node: &NodeHandle, q: &[(String, String)]) -> Result<Value, Failure> {
    check_params(q, &[])?;
    let signals = node.signals().await?;
    Ok(Value::Array(signals.iter().map(signal_json).collect()))
}

fn quantity(q: &[(String, String)]) -> Result<u32, Failure> {
    let text = param(q, "quantity").unwrap_or("1");
    text.parse::<u32>()
        .ok()
        .filter(|n| (1..=node_core::signals::MAX_QUANTITY).contains(n))
        .ok_or_else(|| {
            Failure::bad(format!(
                "quantity '{text}': expected a whole number from 1 to 1000000"
            ))
        })
}

/// The spec of `POST /demands` at mesh time `now`.
pub(super) fn demand_spec(q: &[(String, String)], now: Instant) -> Result<SignalSpec, Failure> {
    check_params(q, &["design", "quantity", "deadline", "tags", "urgent"])?;
    let design = param(q, "design")
        .ok_or_else(|| Failure::bad("design: give the design's item id (32 hex digits)"))?;
    let design = parse_item(design)?;
    let deadline_text = param(q, "deadline").unwrap_or("24h");
    let deadline = parse_duration(deadline_text)
        .ok()
        .filter(|d| *d >= Duration::from_secs(1) && d.as_micros() / 1_000_000 <= node_core::signals::MAX_TTL_S)
        .ok_or_else(|| Failure::bad(format!("deadline '{deadline_text}': expected a time from now such as 2h or 3d, at most 30 days")))?;
    let t = param(q, "tags").unwrap_or("");
    let tags = tags_from_list(t).map_err(|e| Failure::bad(format!("tags '{t}': {e}")))?;
    let urgent = match param(q, "urgent").unwrap_or("false") {
        "true" | "1" | "yes" => true,
        "false" | "0" | "no" => false,
        other => {
            return Err(Failure::bad(format!(
                "urgent '{other}': expected true or false"
            )));
        }
    };
    Ok(SignalSpec {
        payload: Payload::Demand {
            design,
            quantity: quantity(q)?,
            deadline: now + deadline,
            tags,
        },
        urgent,
        ttl: deadline,
        flood: false,
    })
}

fn parse_item(text: &str) -> Result<ItemId, Failure> {
    let bad = || {
        Failure::bad(format!(
            "design '{text}': expected the design's item id, 32 hex digits"
        ))
    };
    if text.len() != 32 {
        return Err(bad());
    }
    let mut id = [0u8; 16];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(text.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
            .map_err(|_| bad())?;
    }
    Ok(ItemId(id))
}

/// `POST /offers`: the demand is looked up among the node's live signals.
pub(super) async fn offer_spec(
    node: &NodeHandle,
    q: &[(String, String)],
    now_s: u64,
) -> Result<SignalSpec, Failure> {
    check_params(q, &["demand", "quantity"])?;
    let text = param(q, "demand")
        .ok_or_else(|| Failure::bad("demand: give the demand's signal id (16 hex digits)"))?;
    let id = SignalId::from_hex(&text.to_ascii_lowercase()).ok_or_else(|| {
        Failure::bad(format!(
            "demand '{text}': expected a signal id, 16 hex digits"
        ))
    })?;
    let signals = node.signals().await?;
    let d = signals
        .iter()
        .find(|s| s.id == id && s.ty == node_core::signals::SignalType::Demand)
        .ok_or_else(|| Failure::not_found(format!("no live demand {id} on this node")))?;
    let design = parse_item(d.design.as_deref().unwrap_or(""))?;
    let quantity = quantity(q)?;
    let wanted = d.quantity.unwrap_or(0);
    if quantity > wanted {
        return Err(Failure::bad(format!(
            "quantity '{quantity}': the demand {id} wants {wanted}; offer at most that"
        )));
    }
    let ttl = Duration::from_secs(
        d.deadline_s
            .unwrap_or(d.expires_s)
            .saturating_sub(now_s)
            .max(1),
    );
    Ok(SignalSpec {
        payload: Payload::Confirmation {
            demand: id,
            design,
            quantity,
        },
        urgent: false,
        ttl,
        flood: false,
    })
}

/// `POST /cancellations`: withdraws one of the node's own live signals
/// for as long as that signal would have lived.
pub(super) async fn cancel_spec(
    node: &NodeHandle,
    q: &[(String, String)],
    now_s: u64,
) -> Result<SignalSpec, Failure> {
    check_params(q, &["signal"])?;
    let text = param(q, "signal")
        .ok_or_else(|| Failure::bad("signal: give the signal id to cancel (16 hex digits)"))?;
    let id = SignalId::from_hex(&text.to_ascii_lowercase()).ok_or_else(|| {
        Failure::bad(format!(
            "signal '{text}': expected a signal id, 16 hex digits"
        ))
    })?;
    let signals = node.signals().await?;
    let s = signals
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| Failure::not_found(format!("no live signal {id} on this node")))?;
    if !s.ours {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            format!(
                "signal {id} was signed by {}, not this node: only its signer may cancel it",
                s.source
            ),
        ));
    }
    Ok(SignalSpec {
        payload: Payload::Cancellation { target: id },
        urgent: false,
        ttl: Duration::from_secs(s.expires_s.saturating_sub(now_s).max(1)),
        flood: false,
    })
}

/// Sends a signal; `201` with its id.
pub(super) async fn publish(
    node: &NodeHandle,
    spec: SignalSpec,
) -> Result<(StatusCode, Value), Failure> {
    let id = node.publish_signal(spec).await?.map_err(publish_failure)?;
    Ok((StatusCode::CREATED, json!({ "id": id.to_string() })))
}

/// The answer to a signal the node would not publish.
fn publish_failure(e: PublishSignalError) -> Failure {
    let status = match &e {
        PublishSignalError::Invalid(_) | PublishSignalError::Unknown(_) => StatusCode::BAD_REQUEST,
        PublishSignalError::Refused(_) => StatusCode::CONFLICT,
        PublishSignalError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Failure::new(status, e.to_string())
}
