//! Browsing the catalogue (`/catalogue`) and one item (`/item/{id}`).

use std::fmt::Write as _;

use catalogue::id::ItemKind;
use serde_json::Value;

use super::{
    Backend, MAX_RAW_SHOWN_BYTES, MAX_ROWS, Page, PageError, esc, html, layout, live, num, param,
    s, text, url,
};

pub(super) async fn catalogue_page<B: Backend>(
    b: &B,
    q: &[(String, String)],
) -> Result<Page, PageError> {
    let kind = match param(q, "kind") {
        Some("manifest") => Some(ItemKind::Manifest),
        Some("facility") => Some(ItemKind::Facility),
        _ => None,
    };
    let needle = param(q, "q").unwrap_or("");
    let lower = needle.to_lowercase();
    let items = live(b.list(kind).await?);
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

pub(super) async fn item_page<B: Backend>(b: &B, id: &str) -> Result<Page, PageError> {
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
<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd class=\"mono\" id=\"signed-by\">{}</dd></dl></section>\
<h2>{}</h2><section><p class=\"note\">{}</p><table id=\"history\"><tr><th>{}</th><th>{}</th></tr>",
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
        text::SIGNED_BY,
        match meta["signed_by"].as_str() {
            Some(k) => esc(k),
            None => text::UNSIGNED.to_owned(),
        },
        text::HISTORY,
        text::HISTORY_NOTE,
        text::SEQ,
        text::CONTENT,
    );
    // The API lists versions oldest first; people read the newest first.
    for h in meta["history"].as_array().into_iter().flatten().rev() {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"mono\">{}</td></tr>",
            num(&h["seq"]),
            esc(s(h, "content"))
        );
    }
    o.push_str("</table></section>");
    if kind == "manifest" {
        // The packages of this design the node holds or fetches; one it
        // has never heard of is not listed (a package is asked for by id).
        let packages: Vec<Value> = b
            .packages()
            .await?
            .into_iter()
            .filter(|p| p["design"].as_str() == Some(full_id))
            .collect();
        let _ = write!(o, "<h2>{}</h2><section id=\"package\">", text::PACKAGE);
        if packages.is_empty() {
            let _ = write!(o, "<p>{}</p>", text::NO_PACKAGE);
        }
        for p in &packages {
            let state = if p["complete"] == true {
                text::PACKAGE_HELD
            } else if p["wanted"] == true || p["relay"] == true {
                text::PACKAGE_FETCHING
            } else {
                text::PACKAGE_PARTIAL
            };
            let _ = write!(
                o,
                "<p><strong>{state}</strong>: {} {} {} {}, {} / {} {} ({} {})</p><p class=\"mono\">{}</p>",
                num(&p["pieces"]),
                text::OF,
                num(&p["piece_count"]),
                text::PIECES,
                num(&p["bytes"]),
                num(&p["total_bytes"]),
                text::BYTES,
                num(&p["files"]),
                text::FILES,
                esc(s(p, "id")),
            );
        }
        o.push_str("</section>");
    }
    if kind == "facility" {
        let _ = write!(
            o,
            "<p><a class=\"button\" href=\"/build?facility={}\">{}</a></p>",
            url(full_id),
            text::BUILD_HERE
        );
    } else {
        let _ = write!(
            o,
            "<p><a class=\"button\" href=\"/board?design={}\" id=\"ask-for-it\">{}</a></p>",
            url(full_id),
            text::ASK_FOR_IT
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
