//! The status page (`/`): who this node is, what it hears, what it holds.

use std::fmt::Write as _;

use serde_json::Value;

use super::{Backend, Page, PageError, esc, html, layout, num, s, text};

/// The radio link's facts as a definition list: kind, address, region,
/// preset, firmware (said plainly when the link is UDP, with no radio).
pub(super) fn radio_facts(st: &Value) -> String {
    let r = &st["radio"];
    let udp = s(r, "kind") == "udp";
    let said = |k: &str| match r[k].as_str() {
        Some(v) => esc(v),
        None if udp => text::NONE_ON_UDP.to_owned(),
        None => text::NOT_REPORTED.to_owned(),
    };
    let mut o = String::new();
    let _ = write!(
        o,
        "<dl id=\"radio\"><dt>{}</dt><dd id=\"link-kind\">{}</dd><dt>{}</dt><dd class=\"mono\">{}</dd>\
<dt>{}</dt><dd id=\"region\">{}</dd><dt>{}</dt><dd id=\"preset\">{}</dd>",
        text::LINK_KIND,
        if udp {
            text::LINK_UDP
        } else {
            text::LINK_MESHTASTIC
        },
        text::LINK_ADDRESS,
        esc(s(r, "address")),
        text::REGION,
        said("region"),
        text::PRESET,
        said("preset"),
    );
    if !udp {
        let _ = write!(
            o,
            "<dt>{}</dt><dd>{}</dd>",
            text::FIRMWARE,
            said("firmware")
        );
    }
    let _ = write!(
        o,
        "</dl><p class=\"note\">{}</p>",
        if udp {
            text::UDP_NOTE
        } else {
            text::RADIO_NOTE
        }
    );
    o
}

/// The neighbours heard, as a table (or a note when none is).
pub(super) fn neighbour_table(st: &Value) -> String {
    let ns = st["neighbours"].as_array().cloned().unwrap_or_default();
    let mut o = String::new();
    if ns.is_empty() {
        let _ = write!(
            o,
            "<p class=\"note\" id=\"no-neighbours\">{}</p>",
            text::NO_NEIGHBOURS
        );
        return o;
    }
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
    o
}

/// A percentage the radio may not report.
fn pct(v: &Value) -> String {
    match v.as_f64() {
        Some(p) => format!("{p:.1} %"),
        None => text::NOT_MEASURED.to_owned(),
    }
}

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
    let ns = st["neighbours"].as_array().map_or(0, Vec::len);
    let _ = write!(
        o,
        "<h2>{}</h2><section>{}</section><h2>{} ({ns})</h2><section class=\"scroll\">{}</section>",
        text::RADIO,
        radio_facts(&st),
        text::NEIGHBOURS,
        neighbour_table(&st),
    );
    let d = &st["duty_cycle"];
    let _ = write!(
        o,
        "<h2>{}</h2><section><dl id=\"channel\"><dt>{}</dt><dd id=\"channel-util\">{}</dd>\
<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd id=\"own-airtime\">{} s ({} % of {} s)</dd></dl></section>",
        text::CHANNEL_USE,
        text::CHANNEL_UTIL,
        pct(&d["channel_utilisation_pct"]),
        text::RADIO_TX,
        pct(&d["radio_air_util_tx_pct"]),
        text::OWN_AIRTIME,
        num(&d["airtime_s"]),
        num(&d["used_pct"]),
        num(&d["window_s"]),
    );
    let c = &st["catalogue"];
    let sy = &st["sync"];
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
<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd id=\"peers-in-sync\">{} / {}</dd></dl>\
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
        text::SYNC_PEERS,
        num(&sy["peers_in_sync"]),
        num(&sy["peers_summarised"]),
        text::SYNC_NOTE,
    );
    let events = st["recent_events"].as_array().cloned().unwrap_or_default();
    let _ = write!(o, "<h2>{}</h2><section>", text::RECENT_EVENTS);
    if events.is_empty() {
        let _ = write!(o, "<p class=\"note\">{}</p>", text::NO_EVENTS);
    } else {
        o.push_str("<ol id=\"events\" class=\"events\">");
        for e in &events {
            let kind = s(e, "kind");
            let label = text::EVENT_KINDS
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or_else(|| esc(kind), |(_, l)| (*l).to_owned());
            let _ = write!(
                o,
                "<li><span class=\"note\">{} {}</span> <b>{label}</b> {}</li>",
                num(&e["s_ago"]),
                text::AGO,
                esc(s(e, "detail"))
            );
        }
        o.push_str("</ol>");
    }
    o.push_str("</section>");
    Ok(html(200, layout(text::STATUS_TITLE, "/", &o)))
}
