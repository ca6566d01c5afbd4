//! The adapter the operator's web pages ([`crate::web`]) read through:
//! the same calls as the JSON API, and the headers that keep a page to
//! this node.

use catalogue::id::ItemKind;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::Value;

use super::items::detail_json;
use super::{Body, Failure, Server, item_json, status_json};

impl From<Failure> for crate::web::PageError {
    fn from(f: Failure) -> Self {
        crate::web::PageError {
            status: f.status.as_u16(),
            message: f.message,
        }
    }
}

/// The pages read through the API's own calls.
impl crate::web::Backend for Server {
    async fn status(&self) -> Result<Value, crate::web::PageError> {
        Ok(status_json(
            &self.node.status().await.map_err(Failure::from)?,
        ))
    }
    async fn list(&self, kind: Option<ItemKind>) -> Result<Vec<Value>, crate::web::PageError> {
        let items = self.node.list(kind).await.map_err(Failure::from)?;
        Ok(items.iter().map(item_json).collect())
    }
    async fn item(&self, id: &str) -> Result<crate::web::ItemPage, crate::web::PageError> {
        let d = self.find(id).await?;
        let meta = detail_json(&d);
        Ok(crate::web::ItemPage {
            meta,
            raw: d.item.bytes,
        })
    }
    async fn matches(&self, q: &[(String, String)]) -> Result<Value, crate::web::PageError> {
        Ok(self.match_json(q).await?)
    }
    async fn demands(&self) -> Result<Vec<Value>, crate::web::PageError> {
        match super::signals::demands(&self.node, &[]).await? {
            Value::Array(a) => Ok(a),
            _ => Ok(Vec::new()),
        }
    }
    async fn packages(&self) -> Result<Vec<Value>, crate::web::PageError> {
        let v = super::packages::list(&self.node).await?;
        Ok(v["packages"].as_array().cloned().unwrap_or_default())
    }
    async fn places(&self) -> Result<Vec<crate::web::Place>, crate::web::PageError> {
        let me = self
            .node
            .status()
            .await
            .map_err(Failure::from)?
            .keys
            .publisher;
        let (_, items) = self
            .node
            .items(ItemKind::Facility)
            .await
            .map_err(Failure::from)?;
        let live: Vec<_> = items
            .into_iter()
            .filter(|i| !i.is_tombstone())
            .take(crate::web::map::MAX_PLACES)
            .collect();
        // Reading the files back is CPU work: off the async threads.
        let places = tokio::task::spawn_blocking(move || {
            let (facilities, _) = crate::kb::facilities_from_stored(&live);
            facilities
                .iter()
                .filter_map(|f| {
                    let (lat_deg, lon_deg) = position(f)?;
                    let ours = live
                        .iter()
                        .find(|i| i.id == f.item_id)
                        .and_then(|i| i.author)
                        .is_some_and(|a| a.publisher == me);
                    Some(crate::web::Place {
                        id: f.item_id.to_string(),
                        name: f.name.clone(),
                        lat_deg,
                        lon_deg,
                        ours,
                    })
                })
                .collect()
        })
        .await
        .unwrap_or_default();
        Ok(places)
    }
}

/// A facility's `location.latitude` and `location.longitude` (numbers or
/// numeric text), if both are there and on the globe.
fn position(f: &catalogue::okw::Facility) -> Option<(f64, f64)> {
    let loc = f.extra.get("location")?;
    let deg = |k: &str| match loc.get(k)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let (lat, lon) = (deg("latitude")?, deg("longitude")?);
    crate::web::map::valid(lat, lon).then_some((lat, lon))
}

/// A rendered page, with the policy that keeps it to this node.
pub(super) fn page_response(p: crate::web::Page) -> Response<Body> {
    let mut r = Response::new(super::full(p.body));
    *r.status_mut() = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(p.content_type));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(crate::web::CSP),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}
