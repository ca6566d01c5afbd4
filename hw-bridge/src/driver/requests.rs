//! The way into a running driver from outside its loop (the local HTTP
//! API): [`Request`]s through a [`NodeHandle`], answered by the loop between
//! two node calls.

use node_core::node::{AddPackageError, PublishError, Published};
use node_core::packages::{Package, PackageId};
use node_core::signals::satisfies;
use node_core::signals::{
    Payload, PublishSignalError, SignalEngine, SignalId, SignalRepr, SignalSpec, SignalType, Tag,
};
use node_core::store::{Storage, StoredItem};
use node_core::{Duration, ItemId, ItemKind};
use node_core::{Instant, Node};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::packages::{self, PackageView, PackagesView, WantedError};
use super::status::{EventKind, ItemDetail, ItemSummary, NodeStatus};
use super::transport::ChannelTransport;
use super::{Loop, REQUEST_QUEUE};
use crate::logs::{Escaped, esc};

/// A request to the driver loop; each carries the channel its answer goes
/// back on. Built by [`NodeHandle`].
#[derive(Debug)]
pub enum Request {
    /// Publish a manifest or facility file.
    Publish {
        /// What the file holds.
        kind: ItemKind,
        /// The file.
        bytes: Vec<u8>,
        /// Its name (the format comes from its extension; errors name it).
        source: String,
        /// The outcome, once durable.
        reply: oneshot::Sender<Result<Vec<Published>, PublishError>>,
    },
    /// Retire an item this node's publisher key owns (a signed tombstone,
    /// spread by sync like a new version).
    Retire {
        /// The item.
        id: ItemId,
        /// The tombstone's version, once durable.
        reply: oneshot::Sender<Result<Published, PublishError>>,
    },
    /// List the catalogue.
    List {
        /// Only this kind, or every item.
        kind: Option<ItemKind>,
        /// Items in id order.
        reply: oneshot::Sender<Vec<ItemSummary>>,
    },
    /// Fetch the items whose id starts with a hex prefix.
    Find {
        /// Lowercase hex digits.
        prefix: String,
        /// Matching items (at most [`MAX_FOUND`]).
        reply: oneshot::Sender<Vec<ItemDetail>>,
    },
    /// Every current item of a kind, bytes included (for matching).
    Items {
        /// The kind.
        kind: ItemKind,
        /// The catalogue fingerprint and the items.
        reply: oneshot::Sender<(u64, Vec<StoredItem>)>,
    },
    /// The catalogue's sync fingerprint (changes with every new version).
    Fingerprint {
        /// The fingerprint.
        reply: oneshot::Sender<u64>,
    },
    /// The status report.
    Status {
        /// The report.
        reply: oneshot::Sender<NodeStatus>,
    },
    /// The live supply and demand signals the node holds.
    Signals {
        /// In id order.
        reply: oneshot::Sender<Vec<SignalView>>,
    },
    /// Sign and send a signal of this node's.
    PublishSignal {
        /// What to send.
        spec: SignalSpec,
        /// Its id, once logged.
        reply: oneshot::Sender<Result<SignalId, PublishSignalError>>,
    },
    /// Ask who can meet a requirement set ([`Node::ask`]).
    Ask {
        /// The tags needed, sorted.
        need: Vec<Tag>,
        /// How long the query lives if it is sent.
        ttl: Duration,
        /// The query's id, whether it was answered from the book, and the
        /// facilities known to meet it.
        reply: oneshot::Sender<Result<Asked, PublishSignalError>>,
    },
    /// Add a whole package (an uploaded file, verified) to hold and serve.
    AddPackage {
        /// The package.
        package: Box<Package>,
        /// Its id, once cached durably.
        reply: oneshot::Sender<Result<PackageId, AddPackageError>>,
    },
    /// The packages held or wanted.
    Packages {
        /// With the cache's figures and the link.
        reply: oneshot::Sender<PackagesView>,
    },
    /// One package held or wanted.
    Package {
        /// The package.
        id: PackageId,
        /// `None` when the node neither holds nor wants it.
        reply: oneshot::Sender<Option<PackageView>>,
    },
    /// A whole package held here, verified again, as a package file.
    PackageFile {
        /// The package.
        id: PackageId,
        /// The file's bytes; `None` unless every piece is held.
        reply: oneshot::Sender<Option<Vec<u8>>>,
    },
    /// Ask for a package: kept in the wanted list (durably) and fetched.
    WantPackage {
        /// The package.
        id: PackageId,
        /// Its view once the want is durable.
        reply: oneshot::Sender<Result<Option<PackageView>, WantedError>>,
    },
    /// Stop fetching a package (its verified pieces stay cached).
    CancelPackage {
        /// The package.
        id: PackageId,
        /// Whether it was wanted, once the list is durable.
        reply: oneshot::Sender<Result<bool, WantedError>>,
    },
}

/// The answer to [`Request::Ask`].
#[derive(Clone, PartialEq, Debug)]
pub struct Asked {
    /// The query (sent, or the one that was not sent).
    pub query: SignalId,
    /// Answered from the book: nothing was sent.
    pub local: bool,
    /// The live capability announcements that meet the need.
    pub facilities: Vec<SignalView>,
}

/// Something new in the node, for the event stream (`GET /events`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Notice {
    /// A new version of an item: published here or stored from the mesh.
    Item {
        /// The item.
        id: ItemId,
        /// Published here (else from the mesh).
        local: bool,
    },
    /// A signal: published here or taken from the mesh.
    Signal {
        /// The signal.
        id: SignalId,
        /// Its type.
        ty: SignalType,
        /// Published here (else from the mesh).
        local: bool,
    },
}

/// Notices buffered for a slow event stream (beyond: it misses some and
/// is told so).
pub const NOTICE_BUFFER: usize = 256;

/// A live signal as the API shows it.
#[derive(Clone, PartialEq, Debug)]
pub struct SignalView {
    /// 16 hex digits.
    pub id: SignalId,
    /// `capability`, `query`, `demand`, `confirmation` or `cancellation`.
    pub ty: SignalType,
    /// The signer's key fingerprint.
    pub source: String,
    /// Whether this node signed it.
    pub ours: bool,
    /// Creation, mesh time in seconds (Unix time on a field node).
    pub created_s: u64,
    /// Expiry, mesh time in seconds.
    pub expires_s: u64,
    /// Urgent.
    pub urgent: bool,
    /// Tags (capabilities, requirements).
    pub tags: Vec<Tag>,
    /// A demand's or confirmation's design.
    pub design: Option<String>,
    /// A demand's or confirmation's quantity.
    pub quantity: Option<u32>,
    /// A demand's deadline, mesh seconds.
    pub deadline_s: Option<u64>,
    /// The demand a confirmation takes on, the target of a cancellation.
    pub refers: Option<SignalId>,
    /// A demand's winning confirmation.
    pub winner: Option<SignalId>,
    /// Whether the node's facility is concerned.
    pub matches: bool,
}

impl SignalView {
    fn of(id: SignalId, r: &SignalRepr, engine: &SignalEngine) -> SignalView {
        let secs = |t: Instant| t.as_micros() / 1_000_000;
        let (design, quantity, deadline_s, refers) = match &r.payload {
            Payload::Demand {
                design,
                quantity,
                deadline,
                ..
            } => (
                Some(design.to_string()),
                Some(*quantity),
                Some(secs(*deadline)),
                None,
            ),
            Payload::Confirmation {
                demand,
                design,
                quantity,
            } => (
                Some(design.to_string()),
                Some(*quantity),
                None,
                Some(*demand),
            ),
            Payload::Cancellation { target } => (None, None, None, Some(*target)),
            Payload::Capability { .. } | Payload::Query { .. } => (None, None, None, None),
        };
        SignalView {
            id,
            ty: r.signal_type(),
            source: r.source.fingerprint().to_string(),
            ours: r.source == engine.public_key(),
            created_s: secs(r.created),
            expires_s: secs(r.expires()),
            urgent: r.urgent,
            tags: r.payload.tags().to_vec(),
            design,
            quantity,
            deadline_s,
            refers,
            winner: engine.book().winner(id),
            matches: engine.matches(r),
        }
    }
}

/// Most items one [`Request::Find`] returns (a short prefix is ambiguous).
pub const MAX_FOUND: usize = 8;

/// The driver loop has stopped; no request can be served.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("the node is shutting down")]
pub struct Stopped;

/// A cloneable way into a running driver: every call is a [`Request`]
/// answered by the loop.
#[derive(Clone, Debug)]
pub struct NodeHandle {
    tx: mpsc::Sender<Request>,
    notices: broadcast::Sender<Notice>,
}

/// The driver's end of the request channel, passed to [`run`](super::run).
#[derive(Debug)]
pub struct Requests {
    pub(super) rx: mpsc::Receiver<Request>,
    /// Where the loop announces what is new.
    pub(super) notices: broadcast::Sender<Notice>,
}

impl Requests {
    /// A request channel nobody can send on (a driver without an API).
    pub fn none() -> Requests {
        handle().1
    }
}

/// A new request channel: the handle for the API, the receiver for [`run`](super::run).
pub fn handle() -> (NodeHandle, Requests) {
    let (tx, rx) = mpsc::channel(REQUEST_QUEUE);
    let (notices, _) = broadcast::channel(NOTICE_BUFFER);
    (
        NodeHandle {
            tx,
            notices: notices.clone(),
        },
        Requests { rx, notices },
    )
}

impl NodeHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Request) -> Result<T, Stopped> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| Stopped)?;
        answer.await.map_err(|_| Stopped)
    }

    /// Publishes a file; answers once the new versions are durable.
    pub async fn publish(
        &self,
        kind: ItemKind,
        bytes: Vec<u8>,
        source: String,
    ) -> Result<Result<Vec<Published>, PublishError>, Stopped> {
        self.ask(|reply| Request::Publish {
            kind,
            bytes,
            source,
            reply,
        })
        .await
    }

    /// Retires an item of this node's; answers once the tombstone is durable.
    pub async fn retire(&self, id: ItemId) -> Result<Result<Published, PublishError>, Stopped> {
        self.ask(|reply| Request::Retire { id, reply }).await
    }

    /// The catalogue (one kind or all) in id order.
    pub async fn list(&self, kind: Option<ItemKind>) -> Result<Vec<ItemSummary>, Stopped> {
        self.ask(|reply| Request::List { kind, reply }).await
    }

    /// The items whose id starts with `prefix` (hex, any case).
    pub async fn find(&self, prefix: &str) -> Result<Vec<ItemDetail>, Stopped> {
        let prefix = prefix.to_ascii_lowercase();
        self.ask(|reply| Request::Find { prefix, reply }).await
    }

    /// Every current item of `kind` with the catalogue's fingerprint.
    pub async fn items(&self, kind: ItemKind) -> Result<(u64, Vec<StoredItem>), Stopped> {
        self.ask(|reply| Request::Items { kind, reply }).await
    }

    /// The catalogue's fingerprint.
    pub async fn fingerprint(&self) -> Result<u64, Stopped> {
        self.ask(|reply| Request::Fingerprint { reply }).await
    }

    /// The status report.
    pub async fn status(&self) -> Result<NodeStatus, Stopped> {
        self.ask(|reply| Request::Status { reply }).await
    }

    /// The live signals.
    pub async fn signals(&self) -> Result<Vec<SignalView>, Stopped> {
        self.ask(|reply| Request::Signals { reply }).await
    }

    /// Signs and sends a signal; answers once it is logged.
    pub async fn publish_signal(
        &self,
        spec: SignalSpec,
    ) -> Result<Result<SignalId, PublishSignalError>, Stopped> {
        self.ask(|reply| Request::PublishSignal { spec, reply })
            .await
    }

    /// Asks who can meet `need`: from the book, else by a query to the mesh.
    pub async fn ask_need(
        &self,
        need: Vec<Tag>,
        ttl: Duration,
    ) -> Result<Result<Asked, PublishSignalError>, Stopped> {
        self.ask(|reply| Request::Ask { need, ttl, reply }).await
    }

    /// Adds a verified package to hold and serve.
    pub async fn add_package(
        &self,
        package: Package,
    ) -> Result<Result<PackageId, AddPackageError>, Stopped> {
        let package = Box::new(package);
        self.ask(|reply| Request::AddPackage { package, reply })
            .await
    }

    /// The packages held or wanted.
    pub async fn packages(&self) -> Result<PackagesView, Stopped> {
        self.ask(|reply| Request::Packages { reply }).await
    }

    /// One package, if held or wanted.
    pub async fn package(&self, id: PackageId) -> Result<Option<PackageView>, Stopped> {
        self.ask(|reply| Request::Package { id, reply }).await
    }

    /// A complete package as a package file (`None` unless complete).
    pub async fn package_file(&self, id: PackageId) -> Result<Option<Vec<u8>>, Stopped> {
        self.ask(|reply| Request::PackageFile { id, reply }).await
    }

    /// Asks for a package; answers once the want is durable.
    pub async fn want_package(
        &self,
        id: PackageId,
    ) -> Result<Result<Option<PackageView>, WantedError>, Stopped> {
        self.ask(|reply| Request::WantPackage { id, reply }).await
    }

    /// Stops fetching a package; whether it was wanted.
    pub async fn cancel_package(
        &self,
        id: PackageId,
    ) -> Result<Result<bool, WantedError>, Stopped> {
        self.ask(|reply| Request::CancelPackage { id, reply }).await
    }

    /// What is new in the node from now on.
    pub fn notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }
}

impl Loop {
    pub(super) fn serve<S: Storage, P: Storage>(
        &mut self,
        req: Request,
        node: &mut Node<S, P>,
        tx: &mut ChannelTransport,
        now: Instant,
    ) {
        // A requester that gave up (closed connection) is no error.
        match req {
            Request::Publish {
                kind,
                bytes,
                source,
                reply,
            } => {
                let outcome = node.publish(now, kind, &bytes, &source, tx);
                if let Err(e) = &outcome {
                    tracing::warn!(node = %self.id, source = %Escaped(&source), error = %esc(e),
                        "publish refused");
                }
                let _ = reply.send(outcome);
            }
            Request::Retire { id, reply } => {
                let outcome = node.retire(now, id, tx);
                if let Err(e) = &outcome {
                    tracing::warn!(node = %self.id, item = %id, error = %esc(e), "retire refused");
                }
                let _ = reply.send(outcome);
            }
            Request::List { kind, reply } => {
                let items = node
                    .store()
                    .items()
                    .filter(|i| kind.is_none_or(|k| i.kind == k))
                    .map(ItemSummary::of)
                    .collect();
                let _ = reply.send(items);
            }
            Request::Find { prefix, reply } => {
                let store = node.store();
                let found = store
                    .items()
                    .filter(|i| i.id.to_string().starts_with(&prefix))
                    .take(MAX_FOUND)
                    .map(|i| ItemDetail {
                        item: i.clone(),
                        history: store.history(i.id).iter().map(|v| v.stamp).collect(),
                    })
                    .collect();
                let _ = reply.send(found);
            }
            Request::Items { kind, reply } => {
                let items = node.store().items_of(kind).cloned().collect();
                let _ = reply.send((node.catalogue_summary().0.0, items));
            }
            Request::Fingerprint { reply } => {
                let _ = reply.send(node.catalogue_summary().0.0);
            }
            Request::Status { reply } => {
                let _ = reply.send(self.status(node, tx, now));
            }
            Request::Signals { reply } => {
                let engine = node.signals();
                let mesh = engine.mesh(now);
                let views = engine
                    .book()
                    .live(mesh)
                    .map(|(id, h)| SignalView::of(id, &h.repr, engine))
                    .collect();
                let _ = reply.send(views);
            }
            Request::PublishSignal { spec, reply } => {
                let outcome = node.publish_signal(now, spec, tx);
                if let Err(e) = &outcome {
                    tracing::warn!(node = %self.id, error = %esc(e), "signal refused");
                }
                let _ = reply.send(outcome);
            }
            Request::Ask { need, ttl, reply } => {
                let outcome = node.ask(now, need.clone(), ttl, tx).map(|(query, local)| {
                    let engine = node.signals();
                    let me = engine.public_key();
                    let facilities = engine
                        .book()
                        .of_type(engine.mesh(now), SignalType::Capability)
                        .filter(|(_, h)| {
                            h.repr.source != me && satisfies(h.repr.payload.tags(), &need)
                        })
                        .map(|(id, h)| SignalView::of(id, &h.repr, engine))
                        .collect();
                    Asked {
                        query,
                        local,
                        facilities,
                    }
                });
                let _ = reply.send(outcome);
            }
            Request::AddPackage { package, reply } => {
                let outcome = node.add_package(&package);
                match &outcome {
                    Ok(pkg) => {
                        tracing::info!(node = %self.id, package = %pkg,
                            bytes = package.record().total_bytes,
                            pieces = package.record().piece_count, "package added");
                    }
                    Err(e) => {
                        tracing::warn!(node = %self.id, error = %esc(e), "package refused");
                    }
                }
                let _ = reply.send(outcome);
            }
            Request::Packages { reply } => {
                let cache = node.swarm().cache();
                let view = PackagesView {
                    packages: packages::views(node, &self.wanted, &self.sources, now),
                    used_bytes: cache.used_bytes(),
                    capacity_bytes: cache.config().capacity_bytes,
                    link: tx.link_rate(),
                };
                let _ = reply.send(view);
            }
            Request::Package { id, reply } => {
                let _ = reply.send(packages::view(node, &self.wanted, &self.sources, now, id));
            }
            Request::PackageFile { id, reply } => {
                let file = node.swarm().cache().package(id).map(|p| p.to_file_bytes());
                let _ = reply.send(file);
            }
            Request::WantPackage { id, reply } => {
                let mut ids: std::collections::BTreeSet<PackageId> = self.wanted.ids().collect();
                ids.insert(id);
                let outcome = self.wanted.set(ids).map(|()| {
                    node.request_package(now, id, tx);
                    self.recent
                        .push(now, EventKind::PackageRequested, id.to_string());
                    tracing::info!(node = %self.id, package = %id, "package requested");
                    // Already complete: nothing to fetch, nothing to keep.
                    let still = packages::still_wanted(node, &self.wanted);
                    if let Err(e) = self.wanted.set(still) {
                        tracing::error!(node = %self.id, error = %e,
                            "cannot update the wanted packages");
                    }
                    packages::view(node, &self.wanted, &self.sources, now, id)
                });
                let _ = reply.send(outcome);
            }
            Request::CancelPackage { id, reply } => {
                let was = self.wanted.contains(id);
                let mut ids: std::collections::BTreeSet<PackageId> = self.wanted.ids().collect();
                ids.remove(&id);
                let outcome = self.wanted.set(ids).map(|()| {
                    let fetching = node.cancel_package(id);
                    tracing::info!(node = %self.id, package = %id, "package request cancelled");
                    was || fetching
                });
                let _ = reply.send(outcome);
            }
        }
    }
}
