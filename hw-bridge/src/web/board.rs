//! "What's in demand?" (`/board`): the open demands the node's signal
//! book holds, marked when this node's facility can make the design; a
//! form to make a demand, one per row to confirm it (or, for this node's
//! own, a button to withdraw it: `POST /cancellations`), and notices from
//! `GET /events`. The board reads whole without JavaScript; sending needs
//! it (a write carries the token in a header).

use std::collections::HashMap;
use std::fmt::Write as _;

use catalogue::id::ItemKind;
use serde_json::Value;

use super::{Backend, MAX_ROWS, Page, PageError, esc, html, layout, live, num, param, s, text};

/// Unix time now, in the mesh's seconds (a field node's signal clock).
fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub(super) async fn board_page<B: Backend>(
    b: &B,
    q: &[(String, String)],
) -> Result<Page, PageError> {
    let demands = b.demands().await?;
    let mut designs = live(b.list(Some(ItemKind::Manifest)).await?);
    designs.sort_by(|x, y| s(x, "name").cmp(s(y, "name")));
    let names: HashMap<&str, &str> = designs.iter().map(|d| (s(d, "id"), s(d, "name"))).collect();
    let now = now_s();
    let mut o = String::new();
    let _ = write!(
        o,
        "<h1>{}</h1><section id=\"notices\" aria-labelledby=\"notices-h\">\
<h2 id=\"notices-h\">{}</h2><p class=\"note\" id=\"notices-state\">{}</p>\
<ul id=\"notice-list\" role=\"status\" aria-live=\"polite\"></ul></section>",
        text::BOARD_TITLE,
        text::NOTICES,
        text::NOTICES_STATIC,
    );
    // Every live demand: a taken one stays until it expires, marked so.
    let open = &demands;
    let _ = write!(
        o,
        "<h2>{} ({})</h2><section class=\"scroll\">",
        text::OPEN_DEMANDS,
        open.len()
    );
    if open.is_empty() {
        let _ = write!(
            o,
            "<p class=\"note\" id=\"no-demands\">{}</p>",
            text::NO_DEMANDS
        );
    } else {
        o.push_str("<table id=\"demands\" class=\"cards\"><tr>");
        for (i, c) in text::DEMAND_COLS.iter().enumerate() {
            let wide = if i == 4 { " class=\"wide\"" } else { "" };
            let _ = write!(o, "<th{wide}>{c}</th>");
        }
        o.push_str("</tr>");
        for d in open.iter().take(MAX_ROWS) {
            board_row(&mut o, d, &names, now);
        }
        o.push_str("</table>");
    }
    o.push_str("</section>");
    let _ = write!(
        o,
        "<h2>{}</h2><form class=\"card\" id=\"demand-form\"><p class=\"note\">{}</p>",
        text::MAKE_DEMAND,
        text::DEMAND_NOTE
    );
    if designs.is_empty() {
        let _ = write!(o, "<p class=\"note\">{}</p></form>", text::NO_DESIGNS);
    } else {
        let wanted = param(q, "design");
        let _ = write!(
            o,
            "<label for=\"design\">{}</label><select id=\"design\" name=\"design\">",
            text::DESIGN_FIELD
        );
        // The design asked for (from an item page) is offered even when it
        // is past the first rows.
        let shown = designs.iter().take(MAX_ROWS).chain(
            designs
                .iter()
                .skip(MAX_ROWS)
                .filter(|d| Some(s(d, "id")) == wanted),
        );
        for d in shown {
            let id = s(d, "id");
            let sel = if Some(id) == wanted { " selected" } else { "" };
            let _ = write!(
                o,
                "<option value=\"{}\"{sel}>{}</option>",
                esc(id),
                esc(s(d, "name"))
            );
        }
        let _ = write!(
            o,
            "</select><div class=\"row\"><div><label for=\"quantity\">{}</label>\
<input type=\"number\" id=\"quantity\" name=\"quantity\" min=\"1\" max=\"1000000\" value=\"1\" required></div>\
<div><label for=\"deadline\">{}</label><input type=\"text\" id=\"deadline\" name=\"deadline\" value=\"24h\" required></div></div>\
<label class=\"check\" for=\"urgent\"><input type=\"checkbox\" id=\"urgent\" name=\"urgent\"> {}</label>\
<button type=\"submit\" id=\"demand-go\">{}</button><div id=\"demand-result\" role=\"status\"></div></form>",
            text::QUANTITY,
            text::DEADLINE,
            text::URGENT,
            text::SEND_DEMAND,
        );
    }
    Ok(html(200, layout(text::BOARD_TITLE, "/board", &o)))
}

/// One demand's row: the design, how many are wanted and taken, the
/// deadline, and (for another node's demand still open) an offer form.
fn board_row(o: &mut String, d: &Value, names: &HashMap<&str, &str>, now: i64) {
    let c = text::DEMAND_COLS;
    let id = s(d, "id");
    let design = s(d, "design");
    let open = d["open"].as_u64().unwrap_or(0);
    let name = match names.get(design) {
        Some(n) => format!("<a href=\"/item/{}\">{}</a>", esc(design), esc(n)),
        None => format!(
            "<span class=\"mono\">{}</span> <span class=\"note\">({})</span>",
            esc(design),
            text::UNKNOWN_DESIGN
        ),
    };
    let mut marks = String::new();
    if d["maker"].is_object() {
        let _ = write!(
            marks,
            " <span class=\"tag ok can-make\">{}</span>",
            text::CAN_MAKE
        );
    }
    if d["urgent"].as_bool() == Some(true) {
        let _ = write!(
            marks,
            " <span class=\"tag bad\">{}</span>",
            text::URGENT_MARK
        );
    }
    let ours = d["ours"].as_bool() == Some(true);
    if ours {
        let _ = write!(marks, " <span class=\"tag\">{}</span>", text::YOURS);
    }
    let due = d["deadline_s"]
        .as_i64()
        .map_or_else(|| "–".into(), |t| text::due_in(t - now));
    let offer = if ours {
        // The maker may withdraw it (a signed cancellation), taken or not.
        format!(
            "<button type=\"button\" class=\"withdraw\" data-demand=\"{id}\" id=\"withdraw-{id}\">{}</button>\
<div class=\"withdraw-result\" role=\"status\"></div>",
            text::WITHDRAW,
            id = esc(id),
        )
    } else if open == 0 {
        text::ALL_TAKEN.to_owned()
    } else {
        format!(
            "<form class=\"confirm\" data-demand=\"{id}\"><label for=\"offer-{id}\">{}</label>\
<input type=\"number\" id=\"offer-{id}\" min=\"1\" max=\"{open}\" value=\"{open}\" required>\
<button type=\"submit\" id=\"confirm-{id}\">{}</button><div class=\"offer-result\" role=\"status\"></div></form>",
            text::OFFER_QUANTITY,
            text::CONFIRM,
            id = esc(id),
        )
    };
    let _ = write!(
        o,
        "<tr class=\"demand\" id=\"demand-{}\"><td data-label=\"{}\"><div>{name}{marks}</div></td><td data-label=\"{}\">{}</td>\
<td class=\"taken\" data-label=\"{}\">{}</td><td class=\"open\" data-label=\"{}\">{open}</td>\
<td class=\"wide\" data-label=\"{}\">{}</td><td data-label=\"{}\"><div>{offer}</div></td></tr>",
        esc(id),
        c[0],
        c[1],
        num(&d["quantity"]),
        c[2],
        num(&d["taken"]),
        c[3],
        c[4],
        esc(&due),
        c[5],
    );
}
