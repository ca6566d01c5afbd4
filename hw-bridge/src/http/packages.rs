//! The design-package routes (writes need the API token, as every `POST`
//! does):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/packages` | the packages held or wanted (`packages`, each as below), the cache's `used_bytes` and `capacity_bytes`, and `link` (`bitrate_bps`, `duty_cycle`, `efficiency`: what estimates assume of the node's link) |
//! | POST | `/packages` | add a package file (body: the `.okpkg` bytes, at most [`MAX_PACKAGE_UPLOAD_BYTES`]); it is verified whole and its record must match a signed manifest the node holds; `201` with its `id` |
//! | GET | `/packages/{id}` | one package: `wanted`, `complete`, `pieces`/`piece_count`, `bytes`/`total_bytes`, `rate_bytes_per_s`, `holders`, `eta_s` (null without a rate), `sources` (verified pieces received per sender since the node started, the completing piece aside), `design` and `name` once the record is held, and `link` |
//! | GET | `/packages/{id}/file` | a complete package as a `.okpkg` file (`okmesh package verify`, `extract`); `404` unless every piece is held |
//! | POST | `/packages/{id}/request` | fetch it (kept across restarts until complete); `202` with its state, `200` if it is complete already |
//! | POST | `/packages/{id}/cancel` | stop fetching it (verified pieces stay cached); `404` if it was not wanted |
//!
//! `{id}` is the package id, 64 hex digits. Errors: `400` for a bad id or
//! a file that is not a valid package (the reason names the field or
//! piece), `404` for a package neither held nor wanted, `413` for an
//! upload over the limit, `422` for a package whose record matches no
//! signed manifest held here (publish the manifest first), `507` when the
//! cache has no room even after evicting every unpinned package.

use http_body_util::{BodyExt, Limited};
use hyper::StatusCode;
use hyper::body::Incoming;
use node_core::node::AddPackageError;
use node_core::packages::estimate::LinkRate;
use node_core::packages::{CacheError, Package, PackageId};
use serde_json::{Value, json};

use super::{BODY_READ_TIMEOUT, Failure};
use crate::driver::{NodeHandle, PackageView, WantedError};

/// Largest package file accepted by `POST /packages`.
pub const MAX_PACKAGE_UPLOAD_BYTES: usize = 128 << 20;

/// Reads a package id.
pub(super) fn parse_id(text: &str) -> Result<PackageId, Failure> {
    PackageId::from_hex(text).ok_or_else(|| {
        Failure::bad(format!(
            "package id '{}': expected 64 hex digits (as `okmesh package verify` prints)",
            crate::logs::Escaped(text)
        ))
    })
}

/// What estimates assume of the link.
pub fn link_json(l: &LinkRate) -> Value {
    json!({"bitrate_bps": l.bitrate_bps, "duty_cycle": l.duty_cycle, "efficiency": l.efficiency})
}

/// One package as JSON.
pub fn package_json(p: &PackageView) -> Value {
    let g = &p.progress;
    let sources: serde_json::Map<String, Value> = p
        .sources
        .iter()
        .map(|(n, c)| (n.to_string(), json!(c)))
        .collect();
    json!({
        "id": p.id.to_string(),
        "wanted": p.wanted,
        "relay": p.relay,
        "complete": p.complete,
        "pinned": p.pinned,
        "design": p.design.as_ref().map(|(d, _)| d.to_string()),
        "name": p.design.as_ref().map(|(_, n)| n.clone()),
        "files": p.files,
        "pieces": g.pieces,
        "piece_count": g.piece_count,
        "bytes": g.bytes,
        "total_bytes": g.total_bytes,
        "rate_bytes_per_s": g.rate_bytes_per_s,
        "holders": g.holders,
        "eta_s": g.eta.map(|d| d.as_secs_f64()),
        "sources": sources,
    })
}

fn wanted_failure(e: WantedError) -> Failure {
    let status = match e {
        WantedError::Full => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Failure::new(status, e.to_string())
}

/// `GET /packages`.
pub(super) async fn list(node: &NodeHandle) -> Result<Value, Failure> {
    let v = node.packages().await?;
    Ok(json!({
        "packages": v.packages.iter().map(package_json).collect::<Vec<_>>(),
        "used_bytes": v.used_bytes,
        "capacity_bytes": v.capacity_bytes,
        "link": link_json(&v.link),
    }))
}

/// `GET /packages/{id}`.
pub(super) async fn one(node: &NodeHandle, id: &str) -> Result<Value, Failure> {
    let id = parse_id(id)?;
    let view = node.package(id).await?.ok_or_else(|| {
        Failure::not_found(format!(
            "package {id} is neither held nor wanted here (POST /packages/{id}/request fetches it)"
        ))
    })?;
    let mut v = package_json(&view);
    v["link"] = link_json(&node.packages().await?.link);
    Ok(v)
}

/// `GET /packages/{id}/file`: the package file's bytes.
pub(super) async fn file(node: &NodeHandle, id: &str) -> Result<Vec<u8>, Failure> {
    let id = parse_id(id)?;
    node.package_file(id).await?.ok_or_else(|| {
        Failure::not_found(format!(
            "package {id} is not held whole here (GET /packages/{id} shows how much is)"
        ))
    })
}

/// `POST /packages/{id}/request`.
pub(super) async fn request(node: &NodeHandle, id: &str) -> Result<(StatusCode, Value), Failure> {
    let id = parse_id(id)?;
    let view = node.want_package(id).await?.map_err(wanted_failure)?;
    let complete = view.as_ref().is_some_and(|v| v.complete);
    let mut v = view.as_ref().map_or_else(
        || json!({"id": id.to_string(), "wanted": true, "complete": false}),
        package_json,
    );
    v["link"] = link_json(&node.packages().await?.link);
    let status = if complete {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, v))
}

/// `POST /packages/{id}/cancel`.
pub(super) async fn cancel(node: &NodeHandle, id: &str) -> Result<Value, Failure> {
    let id = parse_id(id)?;
    if !node.cancel_package(id).await?.map_err(wanted_failure)? {
        return Err(Failure::not_found(format!(
            "package {id} is not being fetched here"
        )));
    }
    Ok(json!({"cancelled": id.to_string()}))
}

/// `POST /packages`: reads, verifies and adds a package file.
pub(super) async fn add(node: &NodeHandle, body: Incoming) -> Result<(StatusCode, Value), Failure> {
    let collected = tokio::time::timeout(
        BODY_READ_TIMEOUT,
        Limited::new(body, MAX_PACKAGE_UPLOAD_BYTES).collect(),
    )
    .await
    .map_err(|_| {
        Failure::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the package file did not arrive within {BODY_READ_TIMEOUT:?}"),
        )
    })?;
    let bytes = match collected {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("package file over the upload limit of {MAX_PACKAGE_UPLOAD_BYTES} bytes"),
            ));
        }
        Err(e) => return Err(Failure::bad(format!("reading the body: {e}"))),
    };
    if bytes.is_empty() {
        return Err(Failure::bad(
            "empty body; POST the .okpkg file's bytes (okmesh package add FILE)",
        ));
    }
    // Hashing every piece of a large package is CPU work: off the async
    // threads, and never in the driver loop.
    let parsed = tokio::task::spawn_blocking(move || {
        Package::from_file_bytes(&bytes, MAX_PACKAGE_UPLOAD_BYTES as u64)
    })
    .await
    .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let package = parsed.map_err(|e| Failure::bad(format!("not a valid package file: {e}")))?;
    let (total, pieces) = (package.record().total_bytes, package.record().piece_count);
    let id = node.add_package(package).await?.map_err(|e| {
        let status = match &e {
            AddPackageError::Manifest(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AddPackageError::Cache(CacheError::Full { .. }) => StatusCode::INSUFFICIENT_STORAGE,
            AddPackageError::Cache(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let hint = match &e {
            AddPackageError::Manifest(_) => {
                " (publish or import its manifest on this node first, signed by the package's publisher)"
            }
            _ => "",
        };
        Failure::new(status, format!("{e}{hint}"))
    })?;
    Ok((
        StatusCode::CREATED,
        json!({"id": id.to_string(), "total_bytes": total, "piece_count": pieces}),
    ))
}
