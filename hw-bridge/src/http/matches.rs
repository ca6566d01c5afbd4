//! `GET /match`: designs ranked for what one has or for a stored
//! facility, over the catalogue's designs parsed and indexed once per
//! catalogue change.

use std::sync::Arc;

use catalogue::id::ItemKind;
use catalogue::matching::{MatchIndex, PARTIAL_MATCH_THRESHOLD, RankOptions};
use catalogue::ranked::{Designs, Input, ranked_json};
use catalogue::taxonomy::Taxonomy;
use hyper::{Response, StatusCode};
use serde_json::Value;
use tokio::sync::OnceCell;

use super::{Body, Failure, MAX_TOP, Server, json_response, param};
use crate::driver::Stopped;
use crate::kb::{designs_from_stored, facilities_from_stored};

/// The catalogue's designs, parsed and indexed.
pub(super) type Built = Arc<(Designs, MatchIndex<'static>)>;

/// The one build of the designs for a catalogue fingerprint: every match
/// of that catalogue waits for and shares it.
pub(super) type DesignCache = Option<(u64, Arc<OnceCell<Built>>)>;

impl Server {
    /// The catalogue's designs, parsed and indexed, re-read only when the
    /// catalogue changed: one build per catalogue fingerprint, which every
    /// request of that catalogue shares (those that come during the build
    /// wait for it).
    pub(super) async fn designs(&self) -> Result<Built, Failure> {
        let fingerprint = self.node.fingerprint().await?;
        let cell = {
            let mut cache = self.designs.lock().expect("not poisoned");
            match &*cache {
                Some((fp, cell)) if *fp == fingerprint => cell.clone(),
                _ => {
                    let cell = Arc::new(OnceCell::new());
                    *cache = Some((fingerprint, cell.clone()));
                    cell
                }
            }
        };
        cell.get_or_try_init(|| async {
            let _permit = self.matching.acquire().await.map_err(|_| Stopped)?;
            let (_, items) = self.node.items(ItemKind::Manifest).await?;
            build_designs(items, self.index_dir.clone()).await
        })
        .await
        .cloned()
    }

    pub(super) async fn matches(&self, q: &[(String, String)]) -> Result<Response<Body>, Failure> {
        Ok(json_response(StatusCode::OK, &self.match_json(q).await?))
    }

    pub(super) async fn match_json(&self, q: &[(String, String)]) -> Result<Value, Failure> {
        let tax = Taxonomy::builtin();
        let top = match param(q, "top") {
            None => 20,
            Some(t) => t
                .parse::<usize>()
                .ok()
                .filter(|t| (1..=MAX_TOP).contains(t))
                .ok_or_else(|| Failure::bad(format!("top '{t}': expected 1..={MAX_TOP}")))?,
        };
        let threshold = match param(q, "threshold") {
            None => PARTIAL_MATCH_THRESHOLD,
            Some(t) => t
                .parse::<f32>()
                .ok()
                .filter(|t| (0.0..=1.0).contains(t))
                .ok_or_else(|| {
                    Failure::bad(format!("threshold '{t}': expected a number from 0 to 1"))
                })?,
        };
        let input = match (param(q, "have"), param(q, "facility")) {
            (Some(text), None) => {
                Input::from_text(text, tax).map_err(|e| Failure::bad(format!("have: {e}")))?
            }
            (None, Some(id)) => {
                let d = self.find(id).await?;
                if d.item.kind != ItemKind::Facility {
                    return Err(Failure::bad(format!("item {id} is not a facility")));
                }
                let (mut fs, notes) = facilities_from_stored([&d.item]);
                if fs.is_empty() {
                    return Err(Failure::bad(notes.join("; ")));
                }
                Input::from_facility(&fs.remove(0), tax)
            }
            _ => {
                return Err(Failure::bad(
                    "give exactly one of have=TEXT (what you have) and facility=ID",
                ));
            }
        };
        let designs = self.designs().await?;
        let opts = RankOptions {
            threshold,
            complete_only: false,
            top,
        };
        let _permit = self.matching.acquire().await.map_err(|_| Stopped)?;
        let out = tokio::task::spawn_blocking(move || {
            let (d, idx) = &*designs;
            ranked_json(d, idx, &input, &opts)
        })
        .await
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        Ok(out)
    }
}

/// Parses and indexes the stored manifests `items` on a blocking thread.
/// Reads the designs (through the persisted match index when the node has
/// a store folder) and indexes them, off the async threads.
async fn build_designs(
    items: Vec<node_core::store::StoredItem>,
    index_dir: Option<std::path::PathBuf>,
) -> Result<Built, Failure> {
    tokio::task::spawn_blocking(move || {
        let tax = Taxonomy::builtin();
        let designs = match &index_dir {
            Some(dir) => crate::match_index::designs(dir, &items, tax).0,
            None => designs_from_stored(&items, tax),
        };
        designs.index(tax).map(|idx| Arc::new((designs, idx)))
    })
    .await
    .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}
