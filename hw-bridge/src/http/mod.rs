//! The field node's local JSON API (`okmesh node --http 127.0.0.1:PORT`).
//!
//! A small HTTP/1.1 server on hyper. Handlers never touch the node: they
//! send [`Request`](crate::driver::Request)s through a [`NodeHandle`] and the
//! driver loop answers between two node calls (node-core is single-threaded
//! and sans-IO). Matching runs on a blocking thread so that a large
//! catalogue never holds up the radio.
//!
//! | method and path | what |
//! |---|---|
//! | `GET /status` | neighbours heard, the radio link (`radio`: kind, address, region and preset as the device reports them), queue, duty cycle used and channel utilisation, catalogue size and fingerprint, sync counters, the node's keys and trust settings, `recent_events` (newest first) |
//! | `GET /items[?kind=manifest\|facility]` | the catalogue: `id`, `kind`, `seq`, `content`, `name`, `size_bytes` |
//! | `GET /manifests`, `GET /facilities` | the same for one kind |
//! | `GET /items/{id}` | one item's metadata and version history (`id`: 32 hex digits, or a prefix of at least 8) |
//! | `GET /items/{id}/raw` | the item's original file |
//! | `POST /manifests?name=FILE` | publish a manifest (body: the file; `name` gives the format by its extension) |
//! | `POST /facilities?name=FILE` | register or update a facility |
//! | `POST /items/{id}/retire` | retire an item this node's publisher key owns (a signed tombstone); 403 for another's |
//! | `GET /match?have=TEXT[&top=N][&threshold=T]` | designs ranked for what you have, as `okmesh match --json` |
//! | `GET /match?facility=ID[&top=N][&threshold=T]` | the same for a stored facility |
//! | `GET /signals`, `GET /demands`, `POST /demands`, `/offers`, `/cancellations`, `/queries` | supply and demand signals (`signals` module) |
//! | `GET /packages`, `POST /packages`, `GET /packages/{id}`, `GET /packages/{id}/file`, `POST /packages/{id}/request`, `/cancel` | design packages: held and wanted, add a package file, progress of one, fetch, stop (`packages` module) |
//! | `GET /events` | server-sent events when a new manifest or demand matches the node's facility ([`events`]); the pairing cookie stands in for the bearer header, as on the pages |
//! | `GET /`, `/setup`, `/build`, `/catalogue`, `/item/{id}`, `/board`, `/publish`, `/mine`, `/pair`, `/assets/…` | the operator's web pages ([`crate::web`]); on them the pairing cookie stands in for the bearer header |
//!
//! # Who may ask
//!
//! Before a request is routed ([`guard`]):
//!
//! * `Host` must name this server: the address the connection arrived at
//!   or the bound address (IP literal and port), `localhost:PORT`, or a
//!   name given in [`HttpConfig::hosts`] (`--http-host`); else 403 (400
//!   without one). A web page that reaches the node through a name it
//!   controls (DNS rebinding) sends that name.
//! * `Origin`, when present, must be `http://` and a host as above; else
//!   403, as is `Sec-Fetch-Site: cross-site` or `same-site`.
//! * A request that changes state (any method but GET and HEAD), and every
//!   request when the API listens beyond loopback, needs
//!   `Authorization: Bearer TOKEN` with the token of [`HttpConfig::token`]
//!   (the data directory's `api-token`); else 401.
//! * A write needs `Content-Type` one of [`guard::WRITE_CONTENT_TYPES`]
//!   (JSON, TOML, YAML, octet-stream) or an `X-Okmesh-Client` header; else
//!   415. A web form can send neither without a CORS preflight, which this
//!   server never grants, so no page can post to it.
//!
//! # Bounds
//!
//! * Connections: at most [`MAX_CONNECTIONS`] open and
//!   [`MAX_CONNECTIONS_PER_IP`] per client address; past a cap, a new
//!   connection takes the place of the oldest one that has not sent its
//!   request yet, so silent or dripping clients cannot lock others out (a
//!   connection being answered is never dropped for another; when every
//!   one is, the new connection gets a 503 with `Retry-After`).
//! * Time: the request head within [`HEADER_READ_TIMEOUT`], a body within
//!   [`BODY_READ_TIMEOUT`] (408), and the whole connection, one request,
//!   within [`CONNECTION_TIMEOUT`].
//! * Matching: the catalogue's designs are parsed and indexed once per
//!   catalogue change, shared by every match (concurrent first requests
//!   wait for the one build), and at most [`MAX_CONCURRENT_MATCHES`]
//!   builds or rankings run at once.
//!
//! Errors are JSON objects `{"error": "…"}`: 400 for bad input (a parse
//! error names the file, line and field), 401 without the right token, 403
//! for a foreign `Host` or `Origin`, 404 for an unknown item or path, 405
//! for a wrong method, 408 for a body too slow, 413 for a body over the
//! document limit (a package file's own limit for `POST /packages`), 415
//! for a write of the wrong body type, 503 while the node shuts down;
//! `POST /packages` adds 422 (no signed manifest held for the package)
//! and 507 (the package cache is full).
//!
//! # Layout
//!
//! This file holds the server (admission, [`guard`], routing, errors and
//! the JSON and query helpers); each resource answers in its own module:
//! `status` (`/status`), `items` (`/items`, `/manifests`, `/facilities`),
//! `matches` (`/match` and the shared design index), `signals`
//! (`/signals`, `/demands`, `/offers`, `/cancellations`, `/queries`),
//! `packages` (`/packages`),
//! [`events`] (`/events`) and `pages` (the adapter the web pages of
//! [`crate::web`] read through).

mod conns;
pub mod events;
pub mod guard;
mod items;
mod matches;
mod packages;
mod pages;
mod signals;
mod status;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, Request as HttpRequest, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::driver::{NodeHandle, Stopped};
use crate::keys::ApiToken;
use crate::logs::{Escaped, esc};
use matches::DesignCache;
use pages::page_response;

pub use items::{item_json, kind_name};
pub use packages::{MAX_PACKAGE_UPLOAD_BYTES, link_json, package_json};
pub use status::{status_json, sync_json};

/// Connections open at once (beyond it, a new one replaces the oldest
/// idle one).
pub const MAX_CONNECTIONS: usize = 128;
/// Connections open at once from one client address.
pub const MAX_CONNECTIONS_PER_IP: usize = 32;
/// Longest wait for a request's head (line and headers).
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Longest wait for a request's body.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Longest a connection may take, request and answer.
pub const CONNECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Index builds and rankings run at once; more matches wait their turn.
pub const MAX_CONCURRENT_MATCHES: usize = 2;
/// Largest read buffer of a connection (request head included).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The answer to a connection no slot can be made for.
const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 58\r\n\r\n{\"error\": \"too many requests at once; try again shortly\"}\n";

/// How the API admits requests.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The bearer token writes (and, beyond loopback, all requests) need.
    pub token: ApiToken,
    /// Host names accepted in `Host` and `Origin` besides the bound address
    /// and `localhost` (`--http-host`).
    pub hosts: Vec<String>,
    /// How an operator gets the token, for 401 messages (e.g. `okmesh key
    /// show --token --data-dir DIR`).
    pub token_hint: String,
    /// The store folder, where `/match` keeps its persisted match index
    /// (see [`crate::match_index`]); `None` for a node without one.
    pub index_dir: Option<std::path::PathBuf>,
}
/// Most results a match returns.
pub const MAX_TOP: usize = 1000;
/// Shortest item id prefix accepted.
pub const MIN_ID_PREFIX: usize = 8;

/// A whole answer, or an event stream (`GET /events`).
type Body = Either<Full<Bytes>, events::EventBody>;

/// A whole answer's body.
fn full(bytes: impl Into<Bytes>) -> Body {
    Either::Left(Full::new(bytes.into()))
}

/// An answer that is not a success.
struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }
    fn unauthorized(message: impl Into<String>) -> Self {
        Failure::new(StatusCode::UNAUTHORIZED, message)
    }
    fn bad(message: impl Into<String>) -> Self {
        Failure::new(StatusCode::BAD_REQUEST, message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Failure::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<Stopped> for Failure {
    fn from(e: Stopped) -> Self {
        Failure::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
    }
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    let mut r = Response::new(full(v.to_string() + "\n"));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn failure_response(f: Failure) -> Response<Body> {
    let unauthorized = f.status == StatusCode::UNAUTHORIZED;
    let mut r = json_response(f.status, &json!({ "error": f.message }));
    if unauthorized {
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"okmesh\""),
        );
    }
    r
}

/// What every connection shares.
struct Server {
    node: NodeHandle,
    designs: Mutex<DesignCache>,
    /// Index builds and rankings running ([`MAX_CONCURRENT_MATCHES`]).
    matching: Semaphore,
    guard: guard::Guard,
    /// The store folder, for the persisted match index.
    index_dir: Option<std::path::PathBuf>,
    /// Event streams open ([`events::MAX_EVENT_STREAMS`]).
    event_streams: Arc<Semaphore>,
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    node: NodeHandle,
    config: HttpConfig,
    shutdown: impl Future<Output = ()>,
) {
    let bound = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "http listener has no address");
            return;
        }
    };
    let server = Arc::new(Server {
        node,
        designs: Mutex::new(None),
        matching: Semaphore::new(MAX_CONCURRENT_MATCHES),
        guard: guard::Guard::new(config.token, bound, &config.hosts, config.token_hint),
        index_dir: config.index_dir,
        event_streams: Arc::new(Semaphore::new(events::MAX_EVENT_STREAMS)),
    });
    let conns = conns::Conns::new(MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(admission) = conns.admit(peer.ip()) else {
            tracing::debug!(%peer, "http connection refused: every slot is answering a request");
            // Best effort, never waiting: the socket buffer takes it or not.
            let _ = stream.try_write(BUSY_RESPONSE);
            continue;
        };
        let local = stream.local_addr().unwrap_or(bound);
        let server = server.clone();
        tokio::spawn(async move {
            let busy = admission.busy.clone();
            let service = hyper::service::service_fn(move |req| {
                busy.store(true, Ordering::Release);
                let server = server.clone();
                async move { Ok::<_, Infallible>(server.handle(req, peer, local).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            let mut admission = admission;
            let evicted = async {
                // A dropped sender (never sent) is not an eviction.
                if (&mut admission.evicted).await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                r = tokio::time::timeout(CONNECTION_TIMEOUT, conn) => match r {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "http connection failed"),
                    Err(_) => tracing::debug!(%peer, "http connection timed out"),
                },
                () = evicted => tracing::debug!(%peer, "idle http connection dropped for a newer one"),
            }
        });
    }
}

/// The query string's pairs.
fn query(req: &HttpRequest<Incoming>) -> Vec<(String, String)> {
    req.uri()
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn check_params(q: &[(String, String)], allowed: &[&str]) -> Result<(), Failure> {
    match q.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        Some((k, _)) => Err(Failure::bad(format!(
            "unknown query parameter '{k}' (expected {})",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

impl Server {
    async fn handle(
        &self,
        req: HttpRequest<Incoming>,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Response<Body> {
        let mut req = req;
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        // Web pages (GET only): a browser cannot send a bearer header on a
        // navigation, so the pairing cookie (SameSite=Strict) stands in for
        // it and goes through the same check. So it does for the pages'
        // event stream (an EventSource cannot send headers either): it
        // tells what this node's facility can make, node data like any
        // page's, so it is as open as the pages, no more (on loopback like
        // every read; beyond it, paired browsers only). The API's other
        // paths ignore the cookie.
        let page = method == Method::GET && crate::web::is_page(&parts);
        let cookie_ok = page || (method == Method::GET && parts == ["events"]);
        if cookie_ok && !req.headers().contains_key(AUTHORIZATION) {
            let bearer = req
                .headers()
                .get(COOKIE)
                .and_then(|c| c.to_str().ok())
                .and_then(crate::web::cookie_token)
                .and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok());
            if let Some(b) = bearer {
                req.headers_mut().insert(AUTHORIZATION, b);
            }
        }
        let result = match self.guard.check(&method, req.headers(), local) {
            Ok(()) => self.route(req).await,
            // The pairing page and assets hold no node data: served before
            // pairing, still behind the Host and Origin checks.
            Err(f)
                if f.status == StatusCode::UNAUTHORIZED
                    && page
                    && crate::web::is_public(&parts) =>
            {
                self.route(req).await
            }
            Err(f) => Err(f),
        };
        let status = match &result {
            Ok(r) => r.status(),
            Err(f) => f.status,
        };
        tracing::debug!(%peer, method = %esc(&method), path = %Escaped(&path),
            status = status.as_u16(), "http");
        match result {
            Ok(r) => r,
            Err(f) if page => page_response(crate::web::error_page(f.status.as_u16(), &f.message)),
            Err(f) => failure_response(f),
        }
    }

    async fn route(&self, req: HttpRequest<Incoming>) -> Result<Response<Body>, Failure> {
        let q = query(&req);
        let path = req.uri().path().trim_end_matches('/').to_owned();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let method = req.method().clone();
        let wrong = || {
            Err(Failure::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{method} is not allowed on {path}"),
            ))
        };
        match parts.as_slice() {
            ["status"] if method == Method::GET => {
                check_params(&q, &[])?;
                let s = self.node.status().await?;
                Ok(json_response(StatusCode::OK, &status_json(&s)))
            }
            ["items"] if method == Method::GET => {
                check_params(&q, &["kind"])?;
                let kind = match param(&q, "kind") {
                    None => None,
                    Some(k) => Some(items::parse_kind(k).ok_or_else(|| {
                        Failure::bad(format!("kind '{k}': expected manifest or facility"))
                    })?),
                };
                self.list(kind).await
            }
            [k @ ("manifests" | "facilities")] => {
                let kind = items::parse_kind(k).expect("matched");
                if method == Method::GET {
                    check_params(&q, &[])?;
                    self.list(Some(kind)).await
                } else if method == Method::POST {
                    check_params(&q, &["name"])?;
                    let name = param(&q, "name").unwrap_or("upload").to_owned();
                    self.publish(kind, name, req.into_body()).await
                } else {
                    wrong()
                }
            }
            ["items", id] if method == Method::GET => {
                check_params(&q, &[])?;
                self.item(id).await
            }
            ["items", id, "retire"] if method == Method::POST => {
                check_params(&q, &[])?;
                self.retire(id).await
            }
            ["items", id, "raw"] if method == Method::GET => {
                check_params(&q, &[])?;
                self.raw(id).await
            }
            ["match"] if method == Method::GET => {
                check_params(&q, &["have", "facility", "top", "threshold"])?;
                self.matches(&q).await
            }
            ["signals"] if method == Method::GET => Ok(json_response(
                StatusCode::OK,
                &signals::list(&self.node, &q).await?,
            )),
            ["demands"] if method == Method::POST => {
                let spec = signals::demand_spec(&q, signals::mesh_now())?;
                let (status, v) = signals::publish(&self.node, spec).await?;
                Ok(json_response(status, &v))
            }
            ["offers"] if method == Method::POST => {
                let now_s = signals::mesh_now().as_micros() / 1_000_000;
                let spec = signals::offer_spec(&self.node, &q, now_s).await?;
                let (status, v) = signals::publish(&self.node, spec).await?;
                Ok(json_response(status, &v))
            }
            ["cancellations"] if method == Method::POST => {
                let now_s = signals::mesh_now().as_micros() / 1_000_000;
                let spec = signals::cancel_spec(&self.node, &q, now_s).await?;
                let (status, v) = signals::publish(&self.node, spec).await?;
                Ok(json_response(status, &v))
            }
            ["demands"] if method == Method::GET => Ok(json_response(
                StatusCode::OK,
                &signals::demands(&self.node, &q).await?,
            )),
            ["queries"] if method == Method::POST => {
                let (status, v) = signals::query(&self.node, &q).await?;
                Ok(json_response(status, &v))
            }
            ["packages"] if method == Method::GET => {
                check_params(&q, &[])?;
                Ok(json_response(
                    StatusCode::OK,
                    &packages::list(&self.node).await?,
                ))
            }
            ["packages"] if method == Method::POST => {
                check_params(&q, &[])?;
                let (status, v) = packages::add(&self.node, req.into_body()).await?;
                Ok(json_response(status, &v))
            }
            ["packages", id] if method == Method::GET => {
                check_params(&q, &[])?;
                Ok(json_response(
                    StatusCode::OK,
                    &packages::one(&self.node, id).await?,
                ))
            }
            ["packages", id, "file"] if method == Method::GET => {
                check_params(&q, &[])?;
                let bytes = packages::file(&self.node, id).await?;
                let mut r = Response::new(full(bytes));
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                Ok(r)
            }
            ["packages", id, "request"] if method == Method::POST => {
                check_params(&q, &[])?;
                let (status, v) = packages::request(&self.node, id).await?;
                Ok(json_response(status, &v))
            }
            ["packages", id, "cancel"] if method == Method::POST => {
                check_params(&q, &[])?;
                Ok(json_response(
                    StatusCode::OK,
                    &packages::cancel(&self.node, id).await?,
                ))
            }
            ["packages"] | ["packages", _] | ["packages", _, "file" | "request" | "cancel"] => {
                wrong()
            }
            ["events"] if method == Method::GET => {
                check_params(&q, &[])?;
                events::stream(&self.node, &self.event_streams)
            }
            ["signals" | "demands" | "offers" | "cancellations" | "queries" | "events"] => wrong(),
            p if method == Method::GET && crate::web::is_page(p) => {
                Ok(page_response(crate::web::page(self, p, &q).await))
            }
            ["status" | "items" | "match"] | ["items", _] | ["items", _, "raw" | "retire"] => {
                wrong()
            }
            _ => Err(Failure::not_found(format!("no such path: {path}"))),
        }
    }
}
