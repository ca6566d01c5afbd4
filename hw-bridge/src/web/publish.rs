//! Publishing a design (`/publish[?edit=ID]`) and the node's own items
//! (`/mine`): edit (publish a new version) or retire (a signed tombstone,
//! `POST /items/{id}/retire`). Both pages read without JavaScript; their
//! writes are `fetch` calls that carry the token.

use std::fmt::Write as _;

use super::{
    Backend, MAX_ROWS, Page, PageError, esc, html, layout, live, num, param, s, text, url,
};

/// A file name for an edited item: its title made safe, with the
/// extension of the format it was published in.
fn file_name(title: &str, format: &str) -> String {
    let stem: String = title
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let stem = stem.trim_matches('-');
    let ext = match format {
        "json" => "json",
        "toml" => "toml",
        _ => "yml",
    };
    format!("{}.{ext}", if stem.is_empty() { "item" } else { stem })
}

pub(super) async fn publish_page<B: Backend>(
    b: &B,
    q: &[(String, String)],
) -> Result<Page, PageError> {
    let (mut name, mut body, mut kind) = (String::new(), String::new(), "manifest".to_owned());
    let editing = param(q, "edit");
    if let Some(id) = editing {
        let it = b.item(id).await?;
        kind = s(&it.meta, "kind").to_owned();
        name = file_name(s(&it.meta, "name"), s(&it.meta, "format"));
        body = String::from_utf8_lossy(&it.raw).into_owned();
    }
    let mut o = String::new();
    let _ = write!(
        o,
        "<h1>{}</h1>{}<form class=\"card\" id=\"publish-form\">\
<label for=\"item-kind\">{}</label><select id=\"item-kind\">",
        text::PUBLISH_TITLE,
        if editing.is_some() {
            text::EDIT_INTRO
        } else {
            text::PUBLISH_INTRO
        },
        text::ITEM_KIND,
    );
    for (v, label) in [("manifest", text::DESIGN), ("facility", text::FACILITY)] {
        let sel = if kind == v { " selected" } else { "" };
        let _ = write!(o, "<option value=\"{v}\"{sel}>{label}</option>");
    }
    let _ = write!(
        o,
        "</select><label for=\"file\">{}</label><input type=\"file\" id=\"file\" accept=\".yml,.yaml,.toml,.json\">\
<label for=\"file-name\">{}</label><input type=\"text\" id=\"file-name\" value=\"{}\" placeholder=\"my-design.yml\">\
<label for=\"file-text\">{}</label><textarea id=\"file-text\" rows=\"14\" spellcheck=\"false\">{}</textarea>\
<button type=\"submit\" id=\"publish-go\">{}</button><div id=\"publish-result\" role=\"status\"></div></form>",
        text::UPLOAD,
        text::FILE_NAME,
        esc(&name),
        text::FILE_TEXT,
        esc(&body),
        text::PUBLISH_DESIGN,
    );
    Ok(html(200, layout(text::PUBLISH_TITLE, "/publish", &o)))
}

pub(super) async fn mine_page<B: Backend>(b: &B) -> Result<Page, PageError> {
    let st = b.status().await?;
    let me = s(&st["keys"]["publisher"], "fingerprint").to_owned();
    let mine: Vec<_> = live(b.list(None).await?)
        .into_iter()
        .filter(|i| !me.is_empty() && s(i, "signed_by") == me)
        .collect();
    let mut o = String::new();
    let _ = write!(
        o,
        "<h1>{}</h1>{}<p class=\"note\">{} <span class=\"mono\">{}</span></p>",
        text::MINE_TITLE,
        text::MINE_INTRO,
        text::SIGNED_BY,
        esc(&me)
    );
    if mine.is_empty() {
        let _ = write!(o, "<p class=\"note\" id=\"no-mine\">{}</p>", text::NO_MINE);
    } else {
        let c = text::MINE_COLS;
        let _ = write!(
            o,
            "<p class=\"note\">{}</p><section class=\"scroll\"><table id=\"mine\" class=\"cards\">\
<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            text::showing(mine.len().min(MAX_ROWS), mine.len()),
            c[0],
            c[1],
            c[2],
            c[3],
        );
        for i in mine.iter().take(MAX_ROWS) {
            let id = esc(s(i, "id"));
            let _ = write!(
                o,
                "<tr id=\"mine-{id}\"><td data-label=\"{}\"><a href=\"/item/{id}\">{}</a></td>\
<td data-label=\"{}\">{}</td><td data-label=\"{}\">{}</td><td data-label=\"{}\"><div><a class=\"button\" href=\"/publish?edit={}\" id=\"edit-{id}\">{}</a> \
<button type=\"button\" class=\"retire\" data-item=\"{id}\" id=\"retire-{id}\">{}</button>\
<div class=\"retire-result\" role=\"status\"></div></div></td></tr>",
                c[0],
                esc(s(i, "name")),
                c[1],
                if s(i, "kind") == "facility" {
                    text::FACILITY
                } else {
                    text::DESIGN
                },
                c[2],
                num(&i["seq"]),
                c[3],
                url(s(i, "id")),
                text::EDIT,
                text::RETIRE,
            );
        }
        o.push_str("</table></section>");
    }
    Ok(html(200, layout(text::MINE_TITLE, "/mine", &o)))
}
