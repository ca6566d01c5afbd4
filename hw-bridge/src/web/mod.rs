//! The operator's web pages, served by `okmesh node --http` itself.
//!
//! Server-rendered HTML from plain Rust formatting: every string that can
//! come from a peer, a file or the request goes through [`esc`]. The one
//! style sheet and the one script are compiled into the binary
//! ([`CSS`], [`JS`]) and every page carries a `Content-Security-Policy` of
//! `'self'` only, so no page loads anything from outside the node. Pages
//! read through the same calls as the JSON API ([`Backend`]), which stays
//! the one source of truth; the only write, publishing a facility, is a
//! `fetch` to `POST /facilities` with the token and a JSON body, checked
//! by the API's guard like any other client.
//!
//! | page | what |
//! |---|---|
//! | `/` | node status: id, keys, neighbours, catalogue, sync |
//! | `/setup[?template=T]` | onboarding wizard: name, location, facility profile, publish |
//! | `/build?have=TEXT` or `?facility=ID` | what can I build? |
//! | `/catalogue[?kind=K][&q=TEXT]` | browse the catalogue |
//! | `/item/{id}` | one design or facility |
//! | `/pair` | enter the API token once |
//!
//! All text shown is in [`text`], so it can be translated in one place.

mod text;

use std::fmt::Write as _;

use catalogue::id::ItemKind;
use catalogue::taxonomy::{ConceptKind, Taxonomy};
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
        [] | ["setup"] | ["build"] | ["catalogue"] | ["item", _] | ["pair"] | ["assets", _]
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
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · okmesh</title><link rel=\"stylesheet\" href=\"/assets/app.css\"></head>\
<body><header><strong>{}</strong><nav>{nav}</nav></header><main>{body}</main>\
<script src=\"/assets/app.js\"></script></body></html>\n",
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
        [] => status_page(b).await,
        ["setup"] => Ok(setup_page(param(q, "template"))),
        ["build"] => build_page(b, q).await,
        ["catalogue"] => catalogue_page(b, q).await,
        ["item", id] => item_page(b, id).await,
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

async fn status_page<B: Backend>(b: &B) -> Result<Page, PageError> {
    let st = b.status().await?;
    let mut o = String::new();
    let node = st["node"].as_u64().unwrap_or(0);
    let _ = write!(
        o,
        "<h1>{}</h1><section><dl>\
<dt>{}</dt><dd class=\"mono\" id=\"node-id\">!{node:08x} ({node})</dd>\
<dt>{}</dt><dd class=\"mono\" id=\"node-key\">{}</dd>\
<dt>{}</dt><dd class=\"mono\">{}</dd>\
<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{} s</dd></dl></section>",
        text::STATUS_TITLE,
        text::NODE_ID,
        text::NODE_KEY,
        esc(s(&st["keys"]["node"], "fingerprint")),
        text::PUBLISHER_KEY,
        esc(s(&st["keys"]["publisher"], "fingerprint")),
        text::RADIO_LINK,
        if st["link_up"].as_bool() == Some(true) {
            text::UP
        } else {
            text::DOWN
        },
        text::UPTIME,
        num(&st["uptime_s"]),
    );
    let ns = st["neighbours"].as_array().cloned().unwrap_or_default();
    let _ = write!(
        o,
        "<h2>{} ({})</h2><section class=\"scroll\">",
        text::NEIGHBOURS,
        ns.len()
    );
    if ns.is_empty() {
        let _ = write!(o, "<p class=\"note\">{}</p>", text::NO_NEIGHBOURS);
    } else {
        let _ = write!(o, "<table id=\"neighbours\">{}", text::NEIGHBOUR_HEAD);
        for n in &ns {
            let id = n["node"].as_u64().unwrap_or(0);
            let _ = write!(
                o,
                "<tr><td class=\"mono\">!{id:08x}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"wide\">{}</td><td>{} s</td></tr>",
                num(&n["frames"]),
                num(&n["rssi_dbm"]),
                num(&n["snr_db"]),
                num(&n["hops_away"]),
                num(&n["last_heard_s_ago"])
            );
        }
        o.push_str("</table>");
    }
    o.push_str("</section>");
    let c = &st["catalogue"];
    let sy = &st["sync"];
    let d = &st["duty_cycle"];
    let _ = write!(
        o,
        "<h2>{}</h2><section><dl id=\"catalogue\">\
<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd><a href=\"/catalogue?kind=manifest\">{}</a></dd>\
<dt>{}</dt><dd><a href=\"/catalogue?kind=facility\">{}</a></dd><dt>{}</dt><dd>{} bytes</dd>\
<dt>{}</dt><dd class=\"mono\">{}</dd></dl></section>",
        text::CATALOGUE,
        text::ITEMS,
        num(&c["items"]),
        text::DESIGNS,
        num(&c["manifests"]),
        text::FACILITIES,
        num(&c["facilities"]),
        text::STORE_USED,
        num(&c["used_bytes"]),
        text::FINGERPRINT,
        esc(s(c, "fingerprint")),
    );
    let _ = write!(
        o,
        "<h2>{}</h2><section><dl id=\"sync\">\
<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{} % of {} s</dd></dl>\
<p class=\"note\">{}</p></section>",
        text::SYNC,
        text::SUMMARIES_SENT,
        num(&sy["summaries_sent"]),
        text::ITEMS_RECEIVED,
        num(&sy["items_received"]),
        text::DATA_SENT,
        num(&sy["data_sent"]),
        text::WANTS_SENT,
        num(&sy["wants_sent"]),
        text::REJECTED,
        num(&sy["rejected"]),
        text::DUTY_CYCLE,
        num(&d["used_pct"]),
        num(&d["window_s"]),
        text::SYNC_NOTE,
    );
    Ok(html(200, layout(text::STATUS_TITLE, "/", &o)))
}

/// A facility template: a label and the taxonomy keys it ticks.
pub const TEMPLATES: [(&str, &str, &[&str]); 6] = [
    (
        "makerspace",
        "Makerspace",
        &[
            "3d_printing",
            "fff_printing",
            "laser_cutting",
            "soldering",
            "electronics_assembly",
            "woodworking",
            "3d_printer",
            "laser_cutter",
            "soldering_iron",
            "hand_tools",
            "power_drill",
            "multimeter",
            "computer",
            "pla",
            "petg",
            "plywood",
            "acrylic",
            "solder",
            "electronic_components",
            "microcontroller_board",
            "fasteners",
        ],
    ),
    (
        "machine-shop",
        "Machine shop",
        &[
            "machining",
            "cnc_machining",
            "cnc_milling",
            "turning",
            "drilling",
            "metalworking",
            "welding",
            "grinding",
            "sheet_metal",
            "cnc_mill",
            "lathe",
            "drill_press",
            "welder",
            "angle_grinder",
            "surface_grinder",
            "sheet_metal_brake",
            "calipers",
            "tap_and_die",
            "hand_tools",
            "steel",
            "aluminium",
            "fasteners",
        ],
    ),
    (
        "sewing",
        "Sewing workshop",
        &[
            "sewing",
            "weaving",
            "sewing_machine",
            "sewing_needle",
            "pins",
            "scissors",
            "loom",
            "fabric",
            "thread",
        ],
    ),
    (
        "electronics",
        "Electronics lab",
        &[
            "electronics_assembly",
            "soldering",
            "smt_assembly",
            "pcb_fabrication",
            "programming",
            "quality_testing",
            "soldering_iron",
            "reflow_oven",
            "multimeter",
            "pcb_mill",
            "breadboard",
            "computer",
            "heat_gun",
            "solder",
            "fr4",
            "electronic_components",
            "microcontroller_board",
            "wire",
        ],
    ),
    (
        "carpentry",
        "Carpentry",
        &[
            "woodworking",
            "drilling",
            "assembly",
            "painting",
            "saw",
            "power_drill",
            "sander",
            "hammer",
            "screwdriver",
            "hand_tools",
            "wood",
            "plywood",
            "wood_glue",
            "fasteners",
        ],
    ),
    (
        "kitchen",
        "Kitchen",
        &[
            "baking",
            "cooking",
            "oven",
            "sheet_pan",
            "spatula",
            "kitchen_utensils",
            "flour",
            "sugar",
            "butter",
            "egg",
            "salt",
            "yeast",
            "food_packaging",
        ],
    ),
];

fn setup_page(template: Option<&str>) -> Page {
    let tax = Taxonomy::builtin();
    let ticked: &[&str] = TEMPLATES
        .iter()
        .find(|(k, _, _)| Some(*k) == template)
        .map(|t| t.2)
        .unwrap_or(&[]);
    let mut o = String::new();
    let _ = write!(
        o,
        "<h1>{}</h1>{}<form id=\"setup-form\" class=\"card\" method=\"get\" action=\"/setup\">\
<h2>{}</h2><label for=\"name\">{}</label><input type=\"text\" id=\"name\" name=\"name\" required autocomplete=\"organization\">\
<div class=\"row\"><div><label for=\"city\">{}</label><input type=\"text\" id=\"city\"></div>\
<div><label for=\"country\">{}</label><input type=\"text\" id=\"country\"></div>\
<div><label for=\"lat\">{}</label><input type=\"text\" id=\"lat\" inputmode=\"decimal\"></div>\
<div><label for=\"lon\">{}</label><input type=\"text\" id=\"lon\" inputmode=\"decimal\"></div></div>\
<h2>{}</h2><label for=\"template\">{}</label><select id=\"template\" name=\"template\"><option value=\"\" data-keys=\"\">{}</option>",
        text::SETUP_TITLE,
        text::SETUP_INTRO,
        text::STEP_PLACE,
        text::FACILITY_NAME,
        text::CITY,
        text::COUNTRY,
        text::LATITUDE,
        text::LONGITUDE,
        text::STEP_PROFILE,
        text::TEMPLATE,
        text::NO_TEMPLATE,
    );
    for (key, label, keys) in &TEMPLATES {
        let sel = if Some(*key) == template {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            o,
            "<option value=\"{key}\" data-keys=\"{}\"{sel}>{label}</option>",
            keys.join(" ")
        );
    }
    o.push_str("</select><noscript><button type=\"submit\">Apply template</button></noscript>");
    for (kind, legend) in [
        (ConceptKind::Process, text::PROCESSES),
        (ConceptKind::Tool, text::EQUIPMENT),
        (ConceptKind::Material, text::MATERIALS),
    ] {
        let _ = write!(o, "<fieldset><legend>{legend}</legend>");
        for c in tax.concepts().iter().filter(|c| c.kind == kind) {
            let checked = if ticked.contains(&c.key.as_str()) {
                " checked"
            } else {
                ""
            };
            let _ = write!(
                o,
                "<label><input type=\"checkbox\" value=\"{}\" data-kind=\"{}\" data-name=\"{}\"{checked}>{}</label>",
                esc(&c.key),
                kind.as_str(),
                esc(&c.name),
                esc(&c.name)
            );
        }
        o.push_str("</fieldset>");
    }
    let _ = write!(
        o,
        "<label for=\"other\">{}</label><textarea id=\"other\" rows=\"2\"></textarea>\
<h2>{}</h2><p class=\"note\">{}</p><button type=\"submit\" id=\"publish\">{}</button>\
<div id=\"setup-result\" role=\"status\"></div></form>",
        text::OTHER,
        text::STEP_PUBLISH,
        text::PUBLISH_NOTE,
        text::PUBLISH,
    );
    html(200, layout(text::SETUP_TITLE, "/setup", &o))
}

fn labels(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str()).map(esc).collect())
        .unwrap_or_default();
    if items.is_empty() {
        "–".into()
    } else {
        items.join(", ")
    }
}

async fn build_page<B: Backend>(b: &B, q: &[(String, String)]) -> Result<Page, PageError> {
    let have = param(q, "have");
    let facility = param(q, "facility");
    let facilities = b.list(Some(ItemKind::Facility)).await?;
    let mut o = String::new();
    let _ = write!(
        o,
        "<h1>{}</h1><form class=\"card\" method=\"get\" action=\"/build\" id=\"build-form\">\
<label for=\"have\">{}</label><input type=\"search\" id=\"have\" name=\"have\" value=\"{}\" placeholder=\"{}\">\
<button type=\"submit\" id=\"build-go\">{}</button></form>",
        text::BUILD_TITLE,
        text::HAVE,
        esc(have.unwrap_or("")),
        text::HAVE_EXAMPLE,
        text::SEARCH,
    );
    if !facilities.is_empty() {
        let _ = write!(
            o,
            "<form class=\"card\" method=\"get\" action=\"/build\"><label for=\"facility\">{}</label><select id=\"facility\" name=\"facility\">",
            text::OR_FACILITY
        );
        for f in facilities.iter().take(MAX_ROWS) {
            let id = s(f, "id");
            let sel = if Some(id) == facility {
                " selected"
            } else {
                ""
            };
            let _ = write!(
                o,
                "<option value=\"{}\"{sel}>{}</option>",
                esc(id),
                esc(s(f, "name"))
            );
        }
        let _ = write!(
            o,
            "</select><button type=\"submit\">{}</button></form>",
            text::SEARCH
        );
    }
    if have.is_some() || facility.is_some() {
        let mut mq = vec![("top".to_owned(), "20".to_owned())];
        if let Some(h) = have {
            mq.push(("have".into(), h.into()));
        } else if let Some(f) = facility {
            mq.push(("facility".into(), f.into()));
        }
        let m = b.matches(&mq).await?;
        let input = &m["input"];
        if let Some(un) = input["unrecognised"].as_array().filter(|a| !a.is_empty()) {
            o.push_str("<p class=\"msg bad\">");
            o.push_str(text::UNRECOGNISED);
            for u in un {
                let _ = write!(o, " <b>{}</b>", esc(s(u, "phrase")));
                let sug = labels(&u["suggestions"]);
                if sug != "–" {
                    let _ = write!(o, " ({} {sug})", text::DID_YOU_MEAN);
                }
            }
            o.push_str("</p>");
        }
        if let Some(rec) = input["recognised"].as_array().filter(|a| !a.is_empty()) {
            let words: Vec<String> = rec.iter().map(|r| esc(s(r, "as"))).collect();
            let _ = write!(
                o,
                "<p class=\"note\">{} {}</p>",
                text::RECOGNISED,
                words.join(", ")
            );
        }
        let results = m["results"].as_array().cloned().unwrap_or_default();
        let _ = write!(
            o,
            "<h2>{}</h2><section id=\"results\">",
            text::ranked(results.len(), m["designs"].as_u64().unwrap_or(0))
        );
        if results.is_empty() {
            let _ = write!(o, "<p class=\"note\">{}</p>", text::NO_RESULTS);
        }
        for r in &results {
            let _ = write!(
                o,
                "<div class=\"result\"><a class=\"design\" href=\"/item/{}\">{}</a> <span class=\"score\">{:.0}%</span><br>\
<span class=\"note\">{}</span> {}<br><span class=\"note\">{}</span> {}</div>",
                esc(s(r, "item_id")),
                esc(s(r, "title")),
                r["score"].as_f64().unwrap_or(0.0) * 100.0,
                text::MISSING,
                labels(&r["missing"]),
                text::SUBSTITUTIONS,
                labels(&r["substitutions"]),
            );
        }
        o.push_str("</section>");
    }
    Ok(html(200, layout(text::BUILD_TITLE, "/build", &o)))
}

async fn catalogue_page<B: Backend>(b: &B, q: &[(String, String)]) -> Result<Page, PageError> {
    let kind = match param(q, "kind") {
        Some("manifest") => Some(ItemKind::Manifest),
        Some("facility") => Some(ItemKind::Facility),
        _ => None,
    };
    let needle = param(q, "q").unwrap_or("");
    let lower = needle.to_lowercase();
    let items = b.list(kind).await?;
    let hits: Vec<&Value> = items
        .iter()
        .filter(|i| lower.is_empty() || s(i, "name").to_lowercase().contains(&lower))
        .collect();
    let mut o = String::new();
    let _ = write!(
        o,
        "<h1>{}</h1><form class=\"card\" method=\"get\" action=\"/catalogue\"><div class=\"row\">\
<div><label for=\"q\">{}</label><input type=\"search\" id=\"q\" name=\"q\" value=\"{}\"></div>\
<div><label for=\"kind\">{}</label><select id=\"kind\" name=\"kind\">",
        text::CATALOGUE_TITLE,
        text::NAME_CONTAINS,
        esc(needle),
        text::KIND,
    );
    for (v, label) in [
        ("", text::ALL),
        ("manifest", text::DESIGNS),
        ("facility", text::FACILITIES),
    ] {
        let sel = if param(q, "kind").unwrap_or("") == v {
            " selected"
        } else {
            ""
        };
        let _ = write!(o, "<option value=\"{v}\"{sel}>{label}</option>");
    }
    let _ = write!(
        o,
        "</select></div></div><button type=\"submit\">{}</button></form><p class=\"note\">{}</p>\
<section class=\"scroll\"><table id=\"items\">{}",
        text::SEARCH,
        text::showing(hits.len().min(MAX_ROWS), hits.len()),
        text::ITEM_HEAD
    );
    for i in hits.iter().take(MAX_ROWS) {
        let _ = write!(
            o,
            "<tr><td><a href=\"/item/{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"wide\">{}</td></tr>",
            esc(s(i, "id")),
            esc(s(i, "name")),
            if s(i, "kind") == "facility" {
                text::FACILITY
            } else {
                text::DESIGN
            },
            num(&i["seq"]),
            num(&i["size_bytes"]),
        );
    }
    o.push_str("</table></section>");
    Ok(html(200, layout(text::CATALOGUE_TITLE, "/catalogue", &o)))
}

fn list_row(o: &mut String, label: &str, items: &[String]) {
    if !items.is_empty() {
        let v: Vec<String> = items.iter().map(|i| esc(i)).collect();
        let _ = write!(o, "<dt>{label}</dt><dd>{}</dd>", v.join(", "));
    }
}

async fn item_page<B: Backend>(b: &B, id: &str) -> Result<Page, PageError> {
    let it = b.item(id).await?;
    let meta = &it.meta;
    let name = s(meta, "name");
    let kind = s(meta, "kind");
    let full_id = s(meta, "id");
    let mut o = String::new();
    let mut title = name.to_owned();
    let mut dl = String::new();
    if kind == "manifest" {
        match catalogue::okh::parse_manifest(&it.raw, name) {
            Ok(m) => {
                title = m.title.clone();
                if let Some(d) = m.description.as_deref().or(m.function.as_deref()) {
                    let _ = write!(
                        dl,
                        "<dt>{}</dt><dd id=\"description\">{}</dd>",
                        text::DESCRIPTION,
                        esc(d)
                    );
                }
                if let Some(v) = &m.version {
                    let _ = write!(dl, "<dt>{}</dt><dd>{}</dd>", text::VERSION, esc(v));
                }
                list_row(&mut dl, text::PROCESSES, &m.processes);
                list_row(&mut dl, text::EQUIPMENT, &m.tools);
                list_row(&mut dl, text::MATERIALS, &m.materials);
                list_row(&mut dl, text::KEYWORDS, &m.keywords);
                // Links as text: a page never points the browser elsewhere.
                let links: Vec<String> = [&m.repo, &m.documentation_home]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
                if !links.is_empty() {
                    let v: Vec<String> = links
                        .iter()
                        .map(|l| format!("<code>{}</code>", esc(l)))
                        .collect();
                    let _ = write!(dl, "<dt>{}</dt><dd>{}</dd>", text::LINKS, v.join("<br>"));
                }
            }
            Err(e) => {
                let _ = write!(
                    dl,
                    "<dt>{}</dt><dd class=\"bad\">{}</dd>",
                    text::PARSE,
                    esc(&e.to_string())
                );
            }
        }
    }
    let _ = write!(
        o,
        "<h1 id=\"title\">{}</h1><section><dl>{dl}<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd class=\"mono\">{}</dd>\
<dt>{}</dt><dd>{}</dd></dl></section><h2>{}</h2><section><table><tr><th>{}</th><th>{}</th></tr>",
        esc(&title),
        text::KIND,
        if kind == "facility" {
            text::FACILITY
        } else {
            text::DESIGN
        },
        text::ITEM_ID,
        esc(full_id),
        text::FILE,
        esc(name),
        text::HISTORY,
        text::SEQ,
        text::CONTENT,
    );
    for h in meta["history"].as_array().into_iter().flatten() {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"mono\">{}</td></tr>",
            num(&h["seq"]),
            esc(s(h, "content"))
        );
    }
    o.push_str("</table></section>");
    if kind == "facility" {
        let _ = write!(
            o,
            "<p><a class=\"button\" href=\"/build?facility={}\">{}</a></p>",
            url(full_id),
            text::BUILD_HERE
        );
    }
    let shown = &it.raw[..it.raw.len().min(MAX_RAW_SHOWN_BYTES)];
    let _ = write!(
        o,
        "<details><summary>{}</summary><pre>{}</pre></details>",
        text::RAW,
        esc(&String::from_utf8_lossy(shown))
    );
    Ok(html(200, layout(&title, "/catalogue", &o)))
}

#[cfg(test)]
mod tests {
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
    fn cookie_token_is_read_by_name() {
        assert_eq!(cookie_token("a=b; okmesh_token=abc12"), Some("abc12"));
        assert_eq!(cookie_token("okmesh_tokenx=abc"), None);
        assert_eq!(cookie_token("okmesh_token="), None);
    }
}
