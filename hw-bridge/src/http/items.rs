//! The catalogue's routes: `GET /items[?kind=…]`, `GET /manifests`,
//! `GET /facilities`, `GET /items/{id}`, `GET /items/{id}/raw`, and
//! `POST /manifests` / `POST /facilities` to publish, and
//! `POST /items/{id}/retire` to retire one of this node's own items.

use catalogue::document::MAX_DOCUMENT_BYTES;
use catalogue::id::ItemKind;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use node_core::node::PublishError;
use node_core::store::{Reject, StoreError};
use serde_json::{Value, json};

use super::{BODY_READ_TIMEOUT, Body, Failure, MIN_ID_PREFIX, Server, json_response};
use crate::driver::{ItemDetail, ItemSummary};

/// The lowercase name of a kind, as the API writes it.
pub fn kind_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Manifest => "manifest",
        ItemKind::Facility => "facility",
    }
}

pub(super) fn parse_kind(s: &str) -> Option<ItemKind> {
    match s {
        "manifest" | "manifests" => Some(ItemKind::Manifest),
        "facility" | "facilities" => Some(ItemKind::Facility),
        _ => None,
    }
}

/// One catalogue entry as JSON, with who signed it: `signed_by` (the
/// publisher key's fingerprint; null for a version stored before items were
/// signed), `publisher` (the whole key), `signed_on_import` (the key is
/// that of a node that imported an unsigned file, not its author's) and
/// `retired` (a signed tombstone).
pub fn item_json(i: &ItemSummary) -> Value {
    json!({
        "id": i.id.to_string(), "kind": kind_name(i.kind), "seq": i.stamp.seq,
        "content": i.stamp.content.to_string(), "name": i.name, "size_bytes": i.size_bytes,
        "signed_by": i.author.map(|a| a.publisher.fingerprint().to_string()),
        "publisher": i.author.map(|a| a.publisher.to_string()),
        "signed_on_import": i.author.is_some_and(|a| a.imported),
        "retired": i.author.is_some_and(|a| a.tombstone),
    })
}

/// An item's metadata with its version history (`GET /items/{id}`, and
/// the item page).
pub(super) fn detail_json(d: &ItemDetail) -> Value {
    let history: Vec<Value> = d
        .history
        .iter()
        .map(|s| json!({"seq": s.seq, "content": s.content.to_string()}))
        .collect();
    let mut v = item_json(&ItemSummary::of(&d.item));
    v["history"] = Value::Array(history);
    // The extension to publish an edited copy under.
    v["format"] = json!(match d.item.format {
        catalogue::document::Format::Json => "json",
        catalogue::document::Format::Toml => "toml",
        catalogue::document::Format::Yaml => "yaml",
    });
    v
}

impl Server {
    /// `GET /items/{id}`: the metadata, the history and the raw file's path.
    pub(super) async fn item(&self, id: &str) -> Result<Response<Body>, Failure> {
        let d = self.find(id).await?;
        let mut v = detail_json(&d);
        v["raw"] = Value::String(format!("/items/{}/raw", d.item.id));
        Ok(json_response(StatusCode::OK, &v))
    }

    /// `GET /items/{id}/raw`: the item's original bytes.
    pub(super) async fn raw(&self, id: &str) -> Result<Response<Body>, Failure> {
        let d = self.find(id).await?;
        let mut r = Response::new(super::full(d.item.bytes));
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        Ok(r)
    }

    pub(super) async fn list(&self, kind: Option<ItemKind>) -> Result<Response<Body>, Failure> {
        let items = self.node.list(kind).await?;
        let v: Vec<Value> = items.iter().map(item_json).collect();
        Ok(json_response(StatusCode::OK, &Value::Array(v)))
    }

    pub(super) async fn find(&self, id: &str) -> Result<ItemDetail, Failure> {
        if id.len() < MIN_ID_PREFIX || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Failure::bad(format!(
                "item id '{id}': give the item's 32 hex digits or a prefix of at least {MIN_ID_PREFIX}"
            )));
        }
        let mut found = self.node.find(id).await?;
        match found.len() {
            0 => Err(Failure::not_found(format!("no item with id {id}"))),
            1 => Ok(found.remove(0)),
            n => Err(Failure::bad(format!(
                "item id '{id}': {n}{} items start with it; give more digits",
                if n >= crate::driver::MAX_FOUND {
                    " or more"
                } else {
                    ""
                }
            ))),
        }
    }

    /// `POST /items/{id}/retire`: a signed tombstone for an item this
    /// node's publisher key owns; `200` with the tombstone's version.
    pub(super) async fn retire(&self, id: &str) -> Result<Response<Body>, Failure> {
        let d = self.find(id).await?;
        let id = d.item.id;
        if d.item.is_tombstone() {
            return Err(Failure::new(
                StatusCode::CONFLICT,
                format!("item {id} is retired already"),
            ));
        }
        let done = self.node.retire(id).await?.map_err(|e| {
            let status = match &e {
                PublishError::Store(StoreError::Rejected(Reject::NotOwner { .. })) => {
                    StatusCode::FORBIDDEN
                }
                PublishError::Store(StoreError::Rejected(Reject::UnknownItem { .. })) => {
                    StatusCode::NOT_FOUND
                }
                PublishError::Store(StoreError::Rejected(_)) => StatusCode::CONFLICT,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            Failure::new(status, e.to_string())
        })?;
        Ok(json_response(
            StatusCode::OK,
            &json!({"retired": done.item.to_string(), "seq": done.seq}),
        ))
    }

    pub(super) async fn publish(
        &self,
        kind: ItemKind,
        name: String,
        body: Incoming,
    ) -> Result<Response<Body>, Failure> {
        let collected = tokio::time::timeout(
            BODY_READ_TIMEOUT,
            Limited::new(body, MAX_DOCUMENT_BYTES).collect(),
        )
        .await
        .map_err(|_| {
            Failure::new(
                StatusCode::REQUEST_TIMEOUT,
                format!("{name}: the body did not arrive within {BODY_READ_TIMEOUT:?}"),
            )
        })?;
        let bytes = match collected {
            Ok(b) => b.to_bytes().to_vec(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Err(Failure::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("{name}: over the limit of {MAX_DOCUMENT_BYTES} bytes"),
                ));
            }
            Err(e) => return Err(Failure::bad(format!("{name}: reading the body: {e}"))),
        };
        if bytes.is_empty() {
            return Err(Failure::bad(format!(
                "{name}: empty body; POST the file's bytes"
            )));
        }
        let published = self.node.publish(kind, bytes, name).await?.map_err(|e| {
            let status = match &e {
                PublishError::Parse(_)
                | PublishError::Empty(_)
                | PublishError::WouldNotReadBack { .. } => StatusCode::BAD_REQUEST,
                PublishError::Store(StoreError::Rejected(_)) => StatusCode::CONFLICT,
                PublishError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            Failure::new(status, e.to_string())
        })?;
        let any_new = published.iter().any(|p| p.new_version);
        let v: Vec<Value> = published
            .iter()
            .map(|p| json!({"id": p.item.to_string(), "seq": p.seq, "new_version": p.new_version}))
            .collect();
        let status = if any_new {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(json_response(status, &json!({ "published": v })))
    }
}
