//! The operator's web pages, served by `okmesh node --http` itself.
//!
//! Server-rendered HTML from plain Rust formatting: every string that can
//! come from a peer, a file or the request goes through [`esc`]. The one
//! style sheet and the one script are compiled into the binary
//! ([`CSS`], [`JS`]) and every page carries a `Content-Security-Policy` of
//! `'self'` only, so no page loads anything from outside the node. Pages
//! read through the same calls as the JSON API ([`Backend`]), which stays
//! the one source of truth; every write (publishing a facility or design,
//! retiring one, making or confirming a demand) is a `fetch` to the API
//! with the token in its header, checked by the API's guard like any
//! other client.
//!
//! | page | what |
//! |---|---|
//! | `/` | node status: id, keys, radio link, neighbours, channel use, catalogue, sync, recent events |
//! | `/setup[?template=T]` | onboarding wizard: name, location (numbers or the offline map), radio check, facility profile, publish |
//! | `/build?have=TEXT` or `?facility=ID` | what can I build? |
//! | `/catalogue[?kind=K][&q=TEXT]` | browse the catalogue |
//! | `/item/{id}` | one design or facility: its facts, version history (newest first), package availability |
//! | `/board[?design=ID]` | what's in demand: open demands, make one, confirm one, withdraw one's own, live notices |
//! | `/publish[?edit=ID]` | publish (or edit) a design or facility file |
//! | `/mine` | this node's own items: edit, retire |
//! | `/pair` | enter the API token once |
//!
//! All text shown is in [`text`], so it can be translated in one place; each
//! page is rendered by its own module (`status`, `setup`, `build`, `browse`,
//! `board`, `publish`); [`map`] draws the offline map (an SVG made here,
//! from the catalogue's facility positions: no tiles, no map data).

mod board;
mod browse;
mod build;
pub mod map;
mod publish;
mod setup;
mod status;
mod text;

pub use setup::TEMPLATES;

use std::fmt::Write as _;

use catalogue::id::ItemKind;
use serde_json::Value;

/// The style sheet, served at `/assets/app.css`.
pub const CSS: &str = include_str!("app.css");
/// The script, served at `/assets/app.js`.
pub const JS: &str = include_str!("app.js");
/// The policy every page is served with: nothing from elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// The cookie that carries the token for page reads (set by `/pair`).
pub const TOKEN_COOKIE: &str = "okmesh_token";
/// Most catalogue rows a page lists.
pub const MAX_ROWS: usize = 200;
/// Largest raw file shown on an item page.
pub const MAX_RAW_SHOWN_BYTES: usize = 64 * 1024;

/// Why a page could not be made.
#[derive(Debug)]
pub struct PageError {
    /// HTTP status.
    pub status: u16,
    /// What went wrong, for the operator.
    pub message: String,
}

/// One item as the API gives it: metadata with history, and its file.
pub struct ItemPage {
    /// `GET /items/{id}`'s JSON.
    pub meta: Value,
    /// `GET /items/{id}/raw`.
    pub raw: Vec<u8>,
}

/// What pages read: the JSON API's own calls.
#[allow(async_fn_in_trait)]
pub trait Backend {
    /// `GET /status`.
    async fn status(&self) -> Result<Value, PageError>;
    /// `GET /items[?kind=]`.
    async fn list(&self, kind: Option<ItemKind>) -> Result<Vec<Value>, PageError>;
    /// `GET /items/{id}` and its raw file.
    async fn item(&self, id: &str) -> Result<ItemPage, PageError>;
    /// `GET /match` with these query pairs.
    async fn matches(&self, q: &[(String, String)]) -> Result<Value, PageError>;
    /// `GET /demands`.
    async fn demands(&self) -> Result<Vec<Value>, PageError>;
    /// The facilities in the catalogue that give a position, for the map
    /// (at most [`map::MAX_PLACES`]).
    async fn places(&self) -> Result<Vec<Place>, PageError>;
    /// `GET /packages`' `packages` (held or wanted).
    async fn packages(&self) -> Result<Vec<Value>, PageError> {
        Ok(Vec::new())
    }
}

/// A facility with a known position.
#[derive(Clone, PartialEq, Debug)]
pub struct Place {
    /// Its item id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Decimal degrees north.
    pub lat_deg: f64,
    /// Decimal degrees east.
    pub lon_deg: f64,
    /// Signed with this node's publisher key.
    pub ours: bool,
}

/// A rendered answer.
pub struct Page {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The bytes.
    pub body: String,
}

/// Escapes text for HTML element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encodes a query value.
fn url(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Whether `parts` (the path's segments) is a page or asset.
pub fn is_page(parts: &[&str]) -> bool {
    matches!(
        parts,
        [] | ["setup" | "build" | "catalogue" | "board" | "publish" | "mine" | "pair"]
            | ["item", _]
            | ["assets", _]
    )
}

/// Pages that hold no node data and may be fetched before pairing.
pub fn is_public(parts: &[&str]) -> bool {
    matches!(parts, ["pair"] | ["assets", _])
}

/// The token in a `Cookie` header value, if any.
pub fn cookie_token(cookie: &str) -> Option<&str> {
    cookie.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == TOKEN_COOKIE && !v.is_empty()).then_some(v)
    })
}

fn html(status: u16, body: String) -> Page {
    Page {
        status,
        content_type: "text/html; charset=utf-8",
        body,
    }
}

/// A whole page around `body`; `current` marks the nav entry.
fn layout(title: &str, current: &str, body: &str) -> String {
    let mut nav = String::new();
    for (href, label) in text::NAV {
        let cur = if *href == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(nav, "<a href=\"{href}\"{cur}>{label}</a>");
    }
    let mut words = String::new();
    for (k, v) in text::SCRIPT_TEXT {
        let _ = write!(words, " data-{k}=\"{}\"", esc(v));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · okmesh</title><link rel=\"stylesheet\" href=\"/assets/app.css\"></head>\
<body><header><strong>{}</strong><nav>{nav}</nav></header><main>{body}</main>\
<div id=\"ui-text\" hidden{words}></div><script src=\"/assets/app.js\"></script></body></html>\n",
        esc(title),
        text::BRAND
    )
}

/// The page for a failed request (an API refusal, an unknown item).
pub fn error_page(status: u16, message: &str) -> Page {
    let hint = if status == 401 { text::NEED_PAIR } else { "" };
    let body = format!(
        "<h1>{}</h1><p class=\"msg bad\" id=\"error\">{}</p>{hint}",
        text::ERROR_TITLE,
        esc(message)
    );
    html(status, layout(text::ERROR_TITLE, "", &body))
}

/// Renders page `parts` with query `q`.
pub async fn page<B: Backend>(b: &B, parts: &[&str], q: &[(String, String)]) -> Page {
    let r = match parts {
        ["assets", "app.css"] => Ok(Page {
            status: 200,
            content_type: "text/css; charset=utf-8",
            body: CSS.into(),
        }),
        ["assets", "app.js"] => Ok(Page {
            status: 200,
            content_type: "text/javascript; charset=utf-8",
            body: JS.into(),
        }),
        [] => status::status_page(b).await,
        ["setup"] => setup::setup_page(b, param(q, "template")).await,
        ["build"] => build::build_page(b, q).await,
        ["catalogue"] => browse::catalogue_page(b, q).await,
        ["item", id] => browse::item_page(b, id).await,
        ["board"] => board::board_page(b, q).await,
        ["publish"] => publish::publish_page(b, q).await,
        ["mine"] => publish::mine_page(b).await,
        ["pair"] => Ok(html(
            200,
            layout(text::PAIR_TITLE, "/pair", text::PAIR_BODY),
        )),
        _ => Err(PageError {
            status: 404,
            message: "no such page".into(),
        }),
    };
    r.unwrap_or_else(|e| error_page(e.status, &e.message))
}

fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

fn num(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.1}"),
            _ => n.to_string(),
        },
        Value::Null => "–".into(),
        Value::String(s) => esc(s),
        other => esc(&other.to_string()),
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

/// The catalogue as the pages list it: a retired item (a tombstone) is
/// gone for the operator, though the store keeps it to spread.
fn live(items: Vec<Value>) -> Vec<Value> {
    items
        .into_iter()
        .filter(|i| i["retired"].as_bool() != Some(true))
        .collect()
}

#[cfg(test)]
mod tests {
    use catalogue::taxonomy::Taxonomy;

    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>\"x\"&'y'</script>"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn every_template_key_is_in_the_taxonomy() {
        let tax = Taxonomy::builtin();
        for (name, _, keys) in &TEMPLATES {
            for k in *keys {
                assert!(tax.by_key(k).is_some(), "template {name}: no concept {k}");
            }
        }
    }

    #[test]
    fn assets_reference_nothing_outside() {
        for a in [CSS, JS] {
            assert!(!a.contains("http://") && !a.contains("https://") && !a.contains("@import"));
        }
    }

    #[test]
    fn every_word_the_script_says_is_in_the_text_module() {
        let keys: Vec<&str> = text::SCRIPT_TEXT.iter().map(|(k, _)| *k).collect();
        let mut said = 0;
        for part in JS.split("say(\"").skip(1) {
            let key = part.split('"').next().unwrap();
            assert!(keys.contains(&key), "app.js says {key:?}, not in text.rs");
            said += 1;
        }
        assert!(said > 20, "only {said} messages found");
    }

    /// A node's API answers, canned.
    struct Canned {
        items: Vec<Value>,
        demands: Vec<Value>,
        /// `radio.kind` in the status.
        radio: &'static str,
    }

    impl Backend for Canned {
        async fn status(&self) -> Result<Value, PageError> {
            Ok(
                serde_json::json!({"keys": {"publisher": {"fingerprint": "aaaa-bbbb"}},
                "radio": {"kind": self.radio, "address": "127.0.0.1:1 → 127.0.0.1:2",
                          "region": null, "preset": null, "firmware": null},
                "duty_cycle": {"channel_utilisation_pct": null, "airtime_s": 1.5, "used_pct": 0.1,
                               "window_s": 3600.0},
                "recent_events": [{"kind": "stored", "detail": "<b>x</b> (11, version 1)", "s_ago": 2.0}],
                "neighbours": [{"node": 7, "frames": 3, "rssi_dbm": -80.0, "snr_db": 8.0,
                                "hops_away": 0, "last_heard_s_ago": 1.0}]}),
            )
        }
        async fn list(&self, kind: Option<ItemKind>) -> Result<Vec<Value>, PageError> {
            let k = kind.map(|k| match k {
                ItemKind::Manifest => "manifest",
                ItemKind::Facility => "facility",
            });
            Ok(self
                .items
                .iter()
                .filter(|i| k.is_none_or(|k| i["kind"] == k))
                .cloned()
                .collect())
        }
        async fn item(&self, _: &str) -> Result<ItemPage, PageError> {
            Err(PageError {
                status: 404,
                message: "none".into(),
            })
        }
        async fn matches(&self, _: &[(String, String)]) -> Result<Value, PageError> {
            Ok(Value::Null)
        }
        async fn demands(&self) -> Result<Vec<Value>, PageError> {
            Ok(self.demands.clone())
        }
        async fn places(&self) -> Result<Vec<Place>, PageError> {
            Ok(vec![Place {
                id: "33".repeat(16),
                name: "Their <shop>".into(),
                lat_deg: 45.76,
                lon_deg: 4.83,
                ours: false,
            }])
        }
    }

    fn render(b: &Canned, parts: &[&str]) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let p = rt.block_on(page(b, parts, &[]));
        assert_eq!(p.status, 200, "{}", p.body);
        p.body
    }

    fn canned() -> Canned {
        let design = "11".repeat(16);
        let item = |id: &str, name: &str, kind: &str, by: &str, retired: bool| {
            serde_json::json!({"id": id, "name": name, "kind": kind, "seq": 1,
                "size_bytes": 10, "signed_by": by, "retired": retired})
        };
        Canned {
            items: vec![
                item(
                    &design,
                    "<img src=x onerror=alert(1)>",
                    "manifest",
                    "aaaa-bbbb",
                    false,
                ),
                item(
                    &"22".repeat(16),
                    "Gone design",
                    "manifest",
                    "aaaa-bbbb",
                    true,
                ),
                item(
                    &"33".repeat(16),
                    "Their shop",
                    "facility",
                    "cccc-dddd",
                    false,
                ),
            ],
            demands: vec![
                serde_json::json!({"id": "00112233aabbccdd", "design": design,
                "quantity": 5, "taken": 2, "open": 3, "urgent": true, "ours": false,
                "deadline_s": 1, "maker": {"facility": "x", "facility_name": "y", "score": 1.0}}),
                serde_json::json!({"id": "99112233aabbccdd", "design": design,
                "quantity": 2, "taken": null, "open": 2, "urgent": false, "ours": true,
                "deadline_s": 1, "maker": null}),
            ],
            radio: "udp",
        }
    }

    #[test]
    fn the_board_escapes_names_and_marks_what_the_facility_can_make() {
        let body = render(&canned(), &["board"]);
        assert!(!body.contains("<img src=x"), "unescaped name");
        assert!(body.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(body.contains(text::CAN_MAKE) && body.contains(text::URGENT_MARK));
        assert!(body.contains("id=\"offer-00112233aabbccdd\" min=\"1\" max=\"3\""));
        assert!(body.contains("passed"), "a deadline in the past says so");
        assert!(!body.contains("Gone design"), "a retired design is offered");
    }

    #[test]
    fn retired_items_leave_the_catalogue_and_my_items_lists_only_mine() {
        let b = canned();
        let cat = render(&b, &["catalogue"]);
        assert!(!cat.contains("Gone design") && cat.contains("Their shop"));
        let mine = render(&b, &["mine"]);
        assert!(mine.contains("retire-1111") && !mine.contains("Gone design"));
        assert!(
            !mine.contains("Their shop"),
            "another's facility listed as mine"
        );
    }

    #[test]
    fn the_status_page_shows_the_radio_channel_use_and_recent_events() {
        let mut b = canned();
        let body = render(&b, &[]);
        assert!(body.contains(text::LINK_UDP) && body.contains(text::NONE_ON_UDP));
        assert!(body.contains(text::UDP_NOTE) && body.contains(text::NOT_MEASURED));
        assert!(body.contains("Received from the mesh") && body.contains("&lt;b&gt;x"));
        assert!(!body.contains("<b>x</b>"), "an event's detail unescaped");
        b.radio = "meshtastic";
        let body = render(&b, &[]);
        assert!(body.contains(text::LINK_MESHTASTIC) && body.contains(text::NOT_REPORTED));
        assert!(!body.contains(text::UDP_NOTE));
    }

    #[test]
    fn the_wizard_has_the_radio_check_and_the_map_with_known_places() {
        let body = render(&canned(), &["setup"]);
        assert!(body.contains(text::STEP_RADIO) && body.contains("id=\"neighbours\""));
        assert!(body.contains("<svg id=\"map\"") && body.contains("Their &lt;shop&gt;"));
        assert!(!body.contains(text::MAP_EMPTY));
    }

    #[test]
    fn only_the_makers_own_demand_has_a_withdraw_button() {
        let body = render(&canned(), &["board"]);
        assert!(body.contains("id=\"withdraw-99112233aabbccdd\""));
        assert!(!body.contains("withdraw-00112233aabbccdd"));
        assert!(
            !body.contains("offer-99112233aabbccdd"),
            "one's own demand offered"
        );
    }

    #[test]
    fn cookie_token_is_read_by_name() {
        assert_eq!(cookie_token("a=b; okmesh_token=abc12"), Some("abc12"));
        assert_eq!(cookie_token("okmesh_tokenx=abc"), None);
        assert_eq!(cookie_token("okmesh_token="), None);
    }
}
