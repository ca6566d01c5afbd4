//! The signal commands with `--api ADDR`: the same work through a running
//! node's HTTP API (`POST /demands`, `GET /demands`, `POST /cancellations`,
//! `/offers`, `/queries`), so that an urgent demand spreads at once and a
//! query reaches the mesh. The node signs with its own publisher key and
//! judges lifetimes on its own clock.

use std::collections::BTreeMap;
use std::process::ExitCode;

use node_core::signals::{SignalId, Tag};
use serde_json::{Value, json};

use super::api::{Api, enc};
use super::out::outln;
use super::signals::print_demands;
use super::when::{format_span, format_utc};
use super::{CliError, bad};

/// Shortest item id prefix accepted for `--design`.
const MIN_ID_PREFIX: usize = 8;

/// A demand to publish through the API.
pub(crate) struct NewDemand<'a> {
    /// `--design`: an item id, a prefix or a title.
    pub(crate) design: &'a str,
    /// How many.
    pub(crate) quantity: u32,
    /// Wanted by, Unix seconds.
    pub(crate) deadline_s: u64,
    /// The command's now, Unix seconds.
    pub(crate) now_s: u64,
    /// Urgent.
    pub(crate) urgent: bool,
    /// What making it takes.
    pub(crate) tags: &'a [Tag],
}

/// The node's manifests: item id → name.
fn manifests(api: &Api) -> Result<BTreeMap<String, String>, CliError> {
    let list = api.get("/manifests")?;
    Ok(list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| Some((i["id"].as_str()?.to_owned(), i["name"].as_str()?.to_owned())))
        .collect())
}

/// `okmesh demand new --api`.
pub(crate) fn demand_new(
    api: &Api,
    d: &NewDemand<'_>,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let all = manifests(api)?;
    let q = d.design.trim().to_lowercase();
    let by_id = q.len() >= MIN_ID_PREFIX && q.bytes().all(|b| b.is_ascii_hexdigit());
    let hits: Vec<(&String, &String)> = all
        .iter()
        .filter(|(id, name)| (by_id && id.starts_with(&q)) || name.trim().to_lowercase() == q)
        .collect();
    let (design, title) = match hits.as_slice() {
        [one] => (one.0.clone(), one.1.clone()),
        [] => {
            return Err(bad(format!(
                "--design '{}': no manifest on the node at {} has this id or title",
                d.design,
                api.addr()
            )));
        }
        many => {
            return Err(bad(format!(
                "--design '{}': {} manifests match; give the item id",
                d.design,
                many.len()
            )));
        }
    };
    let tags: Vec<&str> = d.tags.iter().map(Tag::as_str).collect();
    let mut path = format!(
        "/demands?design={design}&quantity={}&deadline={}s&urgent={}",
        d.quantity,
        d.deadline_s - d.now_s,
        d.urgent
    );
    if !tags.is_empty() {
        path.push_str(&format!("&tags={}", enc(&tags.join(","))));
    }
    let (_, v) = api.post(&path)?;
    let id = v["id"].as_str().unwrap_or_default().to_owned();
    let status = api.get("/status")?;
    let signer = status["keys"]["publisher"]["fingerprint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if as_json {
        outln!(
            "{}",
            json!({
                "id": id, "design": design, "title": title, "quantity": d.quantity,
                "deadline_s": d.deadline_s, "urgent": d.urgent, "tags": tags,
                "signed_by": signer, "via": api.addr(),
            })
        );
    } else {
        outln!(
            "demand {id}: {} × \"{title}\" ({design}) by {} (in {}){}",
            d.quantity,
            format_utc(d.deadline_s),
            format_span(d.deadline_s - d.now_s),
            if d.urgent { ", urgent" } else { "" }
        );
        outln!(
            "signed by publisher {signer}; sent by the node at {}",
            api.addr()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `okmesh demand list --api`.
pub(crate) fn demand_list(api: &Api, now_s: u64, as_json: bool) -> Result<ExitCode, CliError> {
    let titles = manifests(api)?;
    let list = api.get("/demands")?;
    let rows: Vec<Value> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let design = d["design"].as_str().unwrap_or_default();
            json!({
                "id": d["id"], "design": design, "title": titles.get(design),
                "quantity": d["quantity"], "taken": d["taken"], "taken_by": d["winner"],
                "deadline_s": d["deadline_s"], "urgent": d["urgent"], "tags": d["tags"],
                "ours": d["ours"], "signed_by": d["source"],
            })
        })
        .collect();
    print_demands(
        &rows,
        &format!("the node at {}", api.addr()),
        now_s,
        as_json,
    );
    Ok(ExitCode::SUCCESS)
}

/// `okmesh demand cancel --api`.
pub(crate) fn cancel(api: &Api, id: SignalId) -> Result<ExitCode, CliError> {
    let (_, v) = api.post(&format!("/cancellations?signal={id}"))?;
    outln!(
        "cancelled {id} (cancellation {})",
        v["id"].as_str().unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// `okmesh offer --api`.
pub(crate) fn offer(
    api: &Api,
    id: SignalId,
    quantity: u32,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let (_, v) = api.post(&format!("/offers?demand={id}&quantity={quantity}"))?;
    let offer = v["id"].as_str().unwrap_or_default();
    if as_json {
        outln!(
            "{}",
            json!({"id": offer, "demand": id.to_string(), "quantity": quantity, "via": api.addr()})
        );
    } else {
        outln!(
            "offer {offer}: {quantity} for demand {id}, sent by the node at {}",
            api.addr()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `okmesh ask --api`: answered from the node's book, else a query to the mesh.
pub(crate) fn ask(api: &Api, need: &[Tag], as_json: bool) -> Result<ExitCode, CliError> {
    let need: Vec<&str> = need.iter().map(Tag::as_str).collect();
    let (_, v) = api.post(&format!("/queries?need={}", enc(&need.join(","))))?;
    if as_json {
        outln!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    let facilities = v["facilities"].as_array().cloned().unwrap_or_default();
    if v["local"] == true {
        outln!(
            "{} facilities the node has heard of announce all of: {}",
            facilities.len(),
            need.join(", ")
        );
        for f in &facilities {
            let tags: Vec<&str> = f["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            outln!(
                "{}  {}",
                f["source"].as_str().unwrap_or_default(),
                tags.join(", ")
            );
        }
    } else {
        outln!(
            "no facility the node has heard of announces all of: {}; query {} went to the mesh (its answers arrive as capability signals: okmesh ask again, or GET /signals)",
            need.join(", "),
            v["id"].as_str().unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
