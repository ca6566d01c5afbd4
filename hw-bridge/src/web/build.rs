//! "What can I build?" (`/build`): ranked designs for what a maker has.

use std::fmt::Write as _;

use catalogue::id::ItemKind;
use serde_json::Value;

use super::{Backend, MAX_ROWS, Page, PageError, esc, html, layout, live, param, s, text};

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

pub(super) async fn build_page<B: Backend>(
    b: &B,
    q: &[(String, String)],
) -> Result<Page, PageError> {
    let have = param(q, "have");
    let facility = param(q, "facility");
    let facilities = live(b.list(Some(ItemKind::Facility)).await?);
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
