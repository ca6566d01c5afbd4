//! `okmesh demand new|list|cancel`, `okmesh offer` and `okmesh ask`: a
//! field node's supply and demand signals ([`node_core::signals`]), on its
//! data directory.
//!
//! Like `okmesh import` and `okmesh key`, these work on the node's store
//! folder (`--data-dir DIR`, else `$OKMESH_DATA_DIR`) while the node is
//! stopped, and sign with the folder's publisher key (created on first use,
//! as `import` does). A signal published here goes into the store's signal
//! log; the node takes it back into its book when it starts and announces
//! it to its neighbours by digest-and-pull. Epidemic relays start only at
//! publication on a running node, so an urgent demand that must spread at
//! once, and a query to the mesh, want the running node: with `--api
//! ADDR` (its `--http` address) every command goes through the node's
//! HTTP API instead ([`super::signals_api`]). While a node runs its store
//! is locked, and the commands without `--api` say so.
//!
//! Times are mesh time, Unix seconds: the clock, or `--now`.

use std::path::PathBuf;
use std::process::ExitCode;

use catalogue::id::{ItemId, ItemKind};
use hw_bridge::store::DiskStorage;
use node_core::identity::PublicKey;
use node_core::signals::{
    Held, MAX_QUANTITY, MAX_TTL_S, Payload, PublishSignalError, RejectReason, SignalConfig,
    SignalId, SignalSpec, SignalType, Tag, satisfies, tags_from, tags_from_list,
};
use node_core::store::{StorageError, StoredItem};
use node_core::transport::{MAX_HOP_LIMIT, MESHTASTIC_MAX_PAYLOAD_BYTES};
use node_core::{
    Capabilities, Duration, Instant, Node, NodeConfig, NodeId, OutFrame, SendError, Transport,
};
use serde_json::{Value, json};

use super::api::ApiArg;
use super::key::DataDir;
use super::out::outln;
use super::when::{NowArg, deadline, format_span, format_utc};
use super::{CliError, bad, db};

/// Arguments of `okmesh demand`.
#[derive(clap::Args, Debug)]
pub(crate) struct DemandArgs {
    #[command(subcommand)]
    command: DemandCommand,
}

/// Where and when a signal command works: a node's data directory, or a
/// running node's HTTP API, at the clock's time or `--now`.
#[derive(clap::Args, Debug)]
struct At {
    #[command(flatten)]
    dir: DataDir,
    #[command(flatten)]
    now: NowArg,
    #[command(flatten)]
    api: ApiArg,
}

#[derive(clap::Subcommand, Debug)]
enum DemandCommand {
    /// Publish a demand for a design in the store: how many, and by when.
    New {
        /// The design: its item id (32 hex digits, or a prefix of at least 8) or its title.
        #[arg(long)]
        design: String,
        /// How many are wanted (1 to 1000000).
        #[arg(long, value_parser = quantity_arg)]
        quantity: u32,
        /// Wanted by: a span from now (2h, 3d) or a UTC time (2026-12-05T18:00Z), at most
        /// 30 days ahead. The demand lives until then.
        #[arg(long)]
        deadline: String,
        /// Urgent: sent ahead of catalogue traffic (behind chat). Epidemic relays start only when a running
        /// node publishes it (POST /demands?urgent=true); from the store it spreads by digests.
        #[arg(long)]
        urgent: bool,
        /// What making it takes, for facilities' subscriptions (repeatable):
        /// --tag 3d-printing --tag material=pla.
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        #[command(flatten)]
        at: At,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the live demands the node holds, its own and the mesh's.
    List {
        #[command(flatten)]
        at: At,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Withdraw a signal this node signed (a demand, an offer).
    Cancel {
        /// The signal's id (16 hex digits, as `okmesh demand list` shows).
        signal: String,
        #[command(flatten)]
        at: At,
    },
}

/// Arguments of `okmesh offer`.
#[derive(clap::Args, Debug)]
pub(crate) struct OfferArgs {
    /// The demand taken on (16 hex digits, as `okmesh demand list` shows).
    demand: String,
    /// How many this facility makes (1 to the quantity the demand wants).
    #[arg(long, value_parser = quantity_arg)]
    quantity: u32,
    #[command(flatten)]
    at: At,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `okmesh ask`.
#[derive(clap::Args, Debug)]
pub(crate) struct AskArgs {
    /// What is needed, comma-separated: "3d printing, material=pla" (each
    /// part becomes a tag: lowercased, spaces as -).
    #[arg(long)]
    need: String,
    #[command(flatten)]
    at: At,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Parses a quantity: 1 to [`MAX_QUANTITY`].
fn quantity_arg(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_QUANTITY).contains(n))
        .ok_or_else(|| format!("expected a whole number from 1 to {MAX_QUANTITY}"))
}

/// The radio of a node that is not running: it has no room, so what is
/// published waits in the store's signal log for the node.
struct Offline;

impl Transport for Offline {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_payload_bytes: MESHTASTIC_MAX_PAYLOAD_BYTES,
            broadcast: true,
            bitrate_bps: 1074,
            max_hop_limit: MAX_HOP_LIMIT,
        }
    }
    fn airtime(&self, _payload_bytes: usize) -> Duration {
        Duration::ZERO
    }
    fn queue_room(&self) -> usize {
        0
    }
    fn send(&mut self, _frame: OutFrame) -> Result<(), SendError> {
        Err(SendError::Unavailable("the node is not running".into()))
    }
}

/// A stopped node opened on its data directory, at mesh time `now_s`.
struct Local {
    node: Node<DiskStorage>,
    dir: PathBuf,
    now_s: u64,
}

/// How a running node does what a command does, for the "store locked"
/// message.
const WHILE_RUNNING: &str = "while a node runs on it, give --api ADDR (its --http address) or use its HTTP API: GET /demands, POST /demands, /offers, /cancellations, /queries";

impl Local {
    /// Opens the node in `dir` (an existing store) with its publisher key.
    fn open(dir: PathBuf, now_s: u64) -> Result<Local, CliError> {
        db::check_existing(&dir, "--data-dir")?;
        let disk = DiskStorage::open(&dir).map_err(|e| match e {
            StorageError::Locked { .. } => CliError::Io(format!(
                "--data-dir {}: the store is in use by another process (its LOCK is held); {WHILE_RUNNING}",
                dir.display()
            )),
            other => db::store_error(&dir, other.into()),
        })?;
        let (keys, _) = hw_bridge::keys::Keys::load_or_create(&dir)
            .map_err(|e| bad(format!("--data-dir {}: {e}", dir.display())))?;
        // Driver time 0 is `now_s` in mesh time: every signal rule is judged
        // on mesh time, so the node sees the moment the command runs at.
        let config = NodeConfig {
            publisher: keys.publisher.clone(),
            signals: SignalConfig {
                publisher: Some(keys.publisher),
                epoch_offset: Duration::from_secs(now_s),
                ..SignalConfig::default()
            },
            ..NodeConfig::new(NodeId(0), 0)
        };
        let node = Node::with_storage(config, disk, Instant::ZERO)
            .map_err(|e| db::store_error(&dir, e))?;
        Ok(Local { node, dir, now_s })
    }

    fn mesh_now(&self) -> Instant {
        Instant::from_micros(self.now_s.saturating_mul(1_000_000))
    }

    fn me(&self) -> PublicKey {
        self.node.signals().public_key()
    }

    /// The live signal `id`, or bad input naming it.
    fn live(&self, id: SignalId) -> Result<&Held, CliError> {
        let now = self.mesh_now();
        self.node
            .signals()
            .book()
            .live(now)
            .find(|(i, _)| *i == id)
            .map(|(_, h)| h)
            .ok_or_else(|| {
                bad(format!(
                    "{id}: no live signal with this id in {} (expired, cancelled or never heard; see `okmesh demand list`)",
                    self.dir.display()
                ))
            })
    }

    /// Signs, logs and (when the node next runs) announces a signal.
    fn publish(&mut self, spec: SignalSpec) -> Result<SignalId, CliError> {
        let id = self
            .node
            .publish_signal(Instant::ZERO, spec, &mut Offline)
            .map_err(|e| self.refused(e))?;
        self.node.flush_store(false).map_err(|e| {
            CliError::Io(format!(
                "--data-dir {}: writing the store failed: {e}",
                self.dir.display()
            ))
        })?;
        Ok(id)
    }

    /// Why the node would not publish a signal, explained.
    fn refused(&self, e: PublishSignalError) -> CliError {
        let dir = self.dir.display();
        match e {
            // The same signer, content and second give the same id.
            PublishSignalError::Refused(RejectReason::Cancelled) => bad(format!(
                "--data-dir {dir}: an identical signal (same content, same second) was cancelled and cannot come back; change it or publish it a second later"
            )),
            PublishSignalError::Refused(r) => {
                let l = SignalConfig::default().limits;
                CliError::Failed(format!(
                    "--data-dir {dir}: the node's signal book refused it: {} (a publisher may hold {} live signals and add {} per {}, a node {} in all)",
                    r.name(),
                    l.max_per_source,
                    l.max_new_per_window,
                    l.window,
                    l.max_signals
                ))
            }
            other => CliError::Failed(format!("--data-dir {dir}: {other}")),
        }
    }

    /// A design's title, if the store holds it.
    fn title(&self, design: ItemId) -> Option<&str> {
        self.node
            .store()
            .get(design)
            .filter(|i| i.kind == ItemKind::Manifest)
            .map(|i| i.name.as_str())
    }
}

/// Parses a signal id argument (`what` names it in messages).
fn signal_id(text: &str, what: &str) -> Result<SignalId, CliError> {
    SignalId::from_hex(&text.trim().to_ascii_lowercase()).ok_or_else(|| {
        bad(format!(
            "{what} '{text}': expected a signal id, 16 hex digits (see `okmesh demand list`)"
        ))
    })
}

/// Finds one manifest in the store by item id (or a prefix of at least 8
/// hex digits) or by title.
fn find_design<'a>(local: &'a Local, query: &str) -> Result<&'a StoredItem, CliError> {
    let store = local.node.store();
    // A retired design (a signed tombstone) cannot be made any more.
    let mut hits = db::manifests_named(store, query);
    hits.retain(|i| !i.is_tombstone());
    match hits.as_slice() {
        [item] => Ok(item),
        [] => Err(bad(format!(
            "--design '{query}': no manifest in the store {} has this id or title (import it, or see GET /manifests)",
            local.dir.display()
        ))),
        many => Err(bad(format!(
            "--design '{query}': {} manifests match ({}); give the item id",
            many.len(),
            db::listed(many)
        ))),
    }
}

/// The quantity of the confirmation that won demand `id`, if any.
fn taken(local: &Local, id: SignalId) -> Option<(SignalId, u32)> {
    let book = local.node.signals().book();
    let w = book.winner(id)?;
    match book.get(w)?.repr.payload {
        Payload::Confirmation { quantity, .. } => Some((w, quantity)),
        _ => None,
    }
}

pub(crate) fn run_demand(a: DemandArgs) -> Result<ExitCode, CliError> {
    match a.command {
        DemandCommand::New {
            design,
            quantity,
            deadline: when,
            urgent,
            tags,
            at: At { dir, now, api },
            json,
        } => {
            let now_s = now.unix_s();
            // Arguments first: a bad one touches no store.
            let deadline_s = deadline(&when, now_s, MAX_TTL_S, "--deadline")?;
            let tags = tags_from(tags.iter().map(String::as_str))
                .map_err(|e| bad(format!("--tag {}: {e}", tags.join(","))))?;
            if let Some(api) = api.open(dir.opt())? {
                let d = super::signals_api::NewDemand {
                    design: &design,
                    quantity,
                    deadline_s,
                    now_s,
                    urgent,
                    tags: &tags,
                };
                return super::signals_api::demand_new(&api, &d, json);
            }
            let mut local = Local::open(dir.get()?, now_s)?;
            let item = find_design(&local, &design)?;
            let (design_id, title) = (item.id, item.name.clone());
            let spec = SignalSpec {
                payload: Payload::Demand {
                    design: design_id,
                    quantity,
                    deadline: Instant::from_micros(deadline_s * 1_000_000),
                    tags: tags.clone(),
                },
                urgent,
                ttl: Duration::from_secs(deadline_s - now_s),
                flood: false,
            };
            let id = local.publish(spec)?;
            let signer = local.me().fingerprint().to_string();
            if json {
                outln!(
                    "{}",
                    json!({
                        "id": id.to_string(), "design": design_id.to_string(), "title": title,
                        "quantity": quantity, "deadline_s": deadline_s, "urgent": urgent,
                        "tags": tags.iter().map(Tag::as_str).collect::<Vec<_>>(),
                        "signed_by": signer,
                    })
                );
            } else {
                outln!(
                    "demand {id}: {quantity} × \"{title}\" ({design_id}) by {} (in {}){}",
                    format_utc(deadline_s),
                    format_span(deadline_s - now_s),
                    if urgent { ", urgent" } else { "" }
                );
                outln!(
                    "signed by publisher {signer}; logged in {}: the node announces it when it runs",
                    local.dir.display()
                );
            }
        }
        DemandCommand::List {
            at: At { dir, now, api },
            json,
        } => {
            if let Some(api) = api.open(dir.opt())? {
                return super::signals_api::demand_list(&api, now.unix_s(), json);
            }
            let local = Local::open(dir.get()?, now.unix_s())?;
            list(&local, json);
        }
        DemandCommand::Cancel {
            signal,
            at: At { dir, now, api },
        } => {
            let id = signal_id(&signal, "signal")?;
            if let Some(api) = api.open(dir.opt())? {
                return super::signals_api::cancel(&api, id);
            }
            let mut local = Local::open(dir.get()?, now.unix_s())?;
            let held = local.live(id)?;
            if held.repr.source != local.me() {
                return Err(bad(format!(
                    "{id}: signed by {}, not by this node's publisher key {}: only its signer may cancel it",
                    held.repr.source.fingerprint(),
                    local.me().fingerprint()
                )));
            }
            let ty = held.repr.signal_type();
            if ty == SignalType::Cancellation {
                return Err(bad(format!("{id}: a cancellation cannot be cancelled")));
            }
            // The cancellation lives as long as what it withdraws would have.
            let left_s = (held.repr.expires().as_micros() / 1_000_000).saturating_sub(local.now_s);
            let spec = SignalSpec {
                payload: Payload::Cancellation { target: id },
                urgent: false,
                ttl: Duration::from_secs(left_s.max(1)),
                flood: false,
            };
            let c = local.publish(spec)?;
            outln!("cancelled {} {id} (cancellation {c})", ty.name());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `okmesh demand list`.
fn list(local: &Local, as_json: bool) {
    let now = local.mesh_now();
    let me = local.me();
    let book = local.node.signals().book();
    let demands: Vec<Value> = book
        .of_type(now, SignalType::Demand)
        .filter_map(|(id, h)| {
            let Payload::Demand {
                design,
                quantity,
                deadline,
                tags,
            } = &h.repr.payload
            else {
                return None;
            };
            let taken = taken(local, id);
            Some(json!({
                "id": id.to_string(), "design": design.to_string(),
                "title": local.title(*design), "quantity": quantity,
                "taken": taken.map(|t| t.1), "taken_by": taken.map(|t| t.0.to_string()),
                "deadline_s": deadline.as_micros() / 1_000_000, "urgent": h.repr.urgent,
                "tags": tags.iter().map(Tag::as_str).collect::<Vec<_>>(),
                "ours": h.repr.source == me,
                "signed_by": h.repr.source.fingerprint().to_string(),
            }))
        })
        .collect();
    print_demands(
        &demands,
        &local.dir.display().to_string(),
        local.now_s,
        as_json,
    );
}

/// Prints demand rows (`id`, `design`, `title`, `quantity`, `taken`,
/// `deadline_s`, `urgent`, `ours`, `signed_by`) held by `place`.
pub(crate) fn print_demands(demands: &[Value], place: &str, now_s: u64, as_json: bool) {
    if as_json {
        outln!("{}", Value::Array(demands.to_vec()));
        return;
    }
    if demands.is_empty() {
        outln!("no live demand in {place} (now {})", format_utc(now_s));
        return;
    }
    outln!(
        "{} live demands in {place} (now {}):",
        demands.len(),
        format_utc(now_s)
    );
    outln!(
        "{:<16}  {:>7}  {:>7}  {:<20}  {:>6}  {:<6}  {:<19}  design",
        "id",
        "wanted",
        "taken",
        "deadline",
        "left",
        "urgent",
        "signer"
    );
    for d in demands {
        let deadline_s = d["deadline_s"].as_u64().unwrap_or_default();
        let signer = if d["ours"] == true {
            "this node".to_owned()
        } else {
            d["signed_by"].as_str().unwrap_or_default().to_owned()
        };
        let title = d["title"].as_str().unwrap_or("(not in the store)");
        outln!(
            "{:<16}  {:>7}  {:>7}  {:<20}  {:>6}  {:<6}  {:<19}  {title} ({})",
            d["id"].as_str().unwrap_or_default(),
            d["quantity"].as_u64().unwrap_or_default(),
            d["taken"]
                .as_u64()
                .map_or("-".to_owned(), |t| t.to_string()),
            format_utc(deadline_s),
            format_span(deadline_s.saturating_sub(now_s)),
            if d["urgent"] == true { "yes" } else { "no" },
            signer,
            d["design"].as_str().unwrap_or_default(),
        );
    }
}

pub(crate) fn run_offer(a: OfferArgs) -> Result<ExitCode, CliError> {
    let id = signal_id(&a.demand, "demand")?;
    if let Some(api) = a.at.api.open(a.at.dir.opt())? {
        return super::signals_api::offer(&api, id, a.quantity, a.json);
    }
    let mut local = Local::open(a.at.dir.get()?, a.at.now.unix_s())?;
    let held = local.live(id)?;
    let Payload::Demand {
        design,
        quantity: wanted,
        deadline,
        ..
    } = held.repr.payload
    else {
        return Err(bad(format!(
            "{id}: a {} signal, not a demand (see `okmesh demand list`)",
            held.repr.signal_type().name()
        )));
    };
    if a.quantity > wanted {
        return Err(bad(format!(
            "--quantity {}: the demand {id} wants {wanted}; offer at most that",
            a.quantity
        )));
    }
    // The offer lives until the demand's deadline.
    let deadline_s = deadline.as_micros() / 1_000_000;
    let spec = SignalSpec {
        payload: Payload::Confirmation {
            demand: id,
            design,
            quantity: a.quantity,
        },
        urgent: false,
        ttl: Duration::from_secs(deadline_s.saturating_sub(local.now_s).max(1)),
        flood: false,
    };
    let offer = local.publish(spec)?;
    let title = local
        .title(design)
        .unwrap_or("(not in the store)")
        .to_owned();
    let winner = local.node.signals().book().winner(id);
    if a.json {
        outln!(
            "{}",
            json!({
                "id": offer.to_string(), "demand": id.to_string(), "design": design.to_string(),
                "quantity": a.quantity, "won": winner == Some(offer),
                "winner": winner.map(|w| w.to_string()),
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "offer {offer}: {} of {wanted} × \"{title}\" for demand {id}, due {}",
        a.quantity,
        format_utc(deadline_s)
    );
    match winner {
        Some(w) if w != offer => outln!(
            "note: confirmation {w} came first and takes the demand (the first confirmation wins)"
        ),
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Tags from `--need` text: comma-separated, each normalised.
pub(crate) fn need_tags(text: &str) -> Result<Vec<Tag>, String> {
    let tags = tags_from_list(text).map_err(|e| e.to_string())?;
    if tags.is_empty() {
        return Err("say what is needed, e.g. \"3d printing, material=pla\"".into());
    }
    Ok(tags)
}

pub(crate) fn run_ask(a: AskArgs) -> Result<ExitCode, CliError> {
    let need = need_tags(&a.need).map_err(|e| bad(format!("--need '{}': {e}", a.need)))?;
    if let Some(api) = a.at.api.open(a.at.dir.opt())? {
        return super::signals_api::ask(&api, &need, a.json);
    }
    let local = Local::open(a.at.dir.get()?, a.at.now.unix_s())?;
    let me = local.me();
    // Answered from the book, as the node answers a query it can (nothing
    // is sent): the facilities that announced every tag needed.
    let found: Vec<(PublicKey, Vec<Tag>)> = local
        .node
        .signals()
        .book()
        .supply()
        .filter(|(k, tags)| *k != me && satisfies(tags, &need))
        .map(|(k, tags)| (k, tags.to_vec()))
        .collect();
    let need_text: Vec<&str> = need.iter().map(Tag::as_str).collect();
    if a.json {
        let facilities: Vec<Value> = found
            .iter()
            .map(|(k, tags)| {
                json!({"facility": k.fingerprint().to_string(),
                       "tags": tags.iter().map(Tag::as_str).collect::<Vec<_>>()})
            })
            .collect();
        outln!("{}", json!({"need": need_text, "facilities": facilities}));
        return Ok(ExitCode::SUCCESS);
    }
    if found.is_empty() {
        outln!(
            "no facility this node has heard of announces all of: {}",
            need_text.join(", ")
        );
        outln!(
            "a running node asks the mesh: okmesh ask --api ADDR, or POST /queries?need={} on its HTTP API",
            need_text.join(",")
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} facilities this node has heard of announce all of: {}",
        found.len(),
        need_text.join(", ")
    );
    for (k, tags) in &found {
        let tags: Vec<&str> = tags.iter().map(Tag::as_str).collect();
        outln!("{}  {}", k.fingerprint(), tags.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn need_text_becomes_sorted_tags_and_empty_is_refused() {
        let t = need_tags("3d printing, PLA,,").unwrap();
        let t: Vec<&str> = t.iter().map(Tag::as_str).collect();
        assert_eq!(t, ["3d-printing", "pla"]);
        assert!(need_tags(" , ").unwrap_err().contains("say what is needed"));
        assert!(need_tags("pla/abs").is_err());
    }

    #[test]
    fn quantities_are_one_to_the_limit() {
        assert_eq!(quantity_arg("40"), Ok(40));
        for bad in ["0", "1000001", "-1", "many"] {
            assert!(quantity_arg(bad).is_err(), "{bad}");
        }
    }
}
