//! The status page (`/`): who this node is, what it hears, what it holds.

use std::fmt::Write as _;

use super::{Backend, Page, PageError, esc, html, layout, num, s, text};

pub(super) async fn status_page<B: Backend>(b: &B) -> Result<Page, PageError> {
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
<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{} % of {} s</dd><dt>{}</dt><dd id=\"peers-in-sync\">{} / {}</dd></dl>\
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
        text::SYNC_PEERS,
        num(&sy["peers_in_sync"]),
        num(&sy["peers_summarised"]),
        text::SYNC_NOTE,
    );
    Ok(html(200, layout(text::STATUS_TITLE, "/", &o)))
}
