//! `GET /status`: what the node hears, sends and holds, as JSON.

use node_core::sync::SyncStats;
use serde_json::{Value, json};

use crate::driver::NodeStatus;

/// Sync counters as JSON.
pub fn sync_json(s: &SyncStats) -> Value {
    json!({
        "summaries_sent": s.summaries_sent, "decodes": s.decodes, "decode_misses": s.decode_misses,
        "syndromes_used": s.syndromes_used, "wants_sent": s.wants_sent,
        "sketch_requests_sent": s.sketch_requests_sent, "sketches_sent": s.sketches_sent,
        "data_sent": s.data_sent, "items_received": s.items_received, "rejected": s.rejected,
        "forged": s.forged, "stale": s.stale, "untrusted": s.untrusted,
        "unsolicited": s.unsolicited, "frames_over_quota": s.frames_over_quota,
        "items_over_quota": s.items_over_quota,
    })
}

/// The status report as JSON (`GET /status`).
pub fn status_json(s: &NodeStatus) -> Value {
    let neighbours: Vec<Value> = s
        .neighbours
        .iter()
        .map(|(id, n)| {
            json!({
                "node": id.0, "frames": n.frames, "hops_away": n.hops_away,
                "rssi_dbm": n.rssi_dbm, "snr_db": n.snr_db,
                "last_heard_s_ago": (s.now - n.last_heard).as_secs_f64(),
            })
        })
        .collect();
    let c = &s.catalogue;
    // How far this catalogue has spread: neighbours that last summarised
    // the same fingerprint hold every version this node holds.
    let mut sync = sync_json(&s.sync);
    sync["peers_in_sync"] = json!(s.sync_peers.0);
    sync["peers_summarised"] = json!(s.sync_peers.1);
    let r = &s.radio;
    // Newest first, with how long ago (the driver's clock is not wall time).
    let recent: Vec<Value> = s
        .recent
        .newest_first()
        .map(|e| {
            json!({"kind": e.kind.name(), "detail": e.detail,
                   "s_ago": (s.now - e.at).as_secs_f64()})
        })
        .collect();
    json!({
        "node": s.node.0,
        // What the link says of itself: on the UDP testbed there is no
        // radio, so no region or preset (null), only the addresses.
        "radio": {
            "kind": r.kind.name(), "address": r.address, "region": r.region,
            "preset": r.preset, "firmware": r.firmware,
        },
        "recent_events": recent,
        "uptime_s": s.now.as_micros() as f64 / 1e6,
        "link_up": s.link_up,
        "neighbours": neighbours,
        "queue": {
            "room": s.queue_room, "frames_queued": s.driver.frames_queued,
            "frames_received": s.driver.frames_received, "send_failures": s.node_stats.send_failures,
            "late_send_failures": s.driver.late_send_failures, "link_downs": s.driver.link_downs,
        },
        "duty_cycle": {
            "window_s": crate::driver::DUTY_CYCLE_WINDOW.as_secs_f64(),
            "airtime_s": s.airtime_last_window.as_secs_f64(),
            "used_pct": s.duty_cycle_pct,
            "radio_air_util_tx_pct": s.radio_air_util_tx_pct,
            "channel_utilisation_pct": s.channel_utilisation_pct,
        },
        "catalogue": {
            "items": c.items, "manifests": c.manifests, "facilities": c.facilities,
            "fingerprint": format!("{:016x}", c.fingerprint), "used_bytes": c.used_bytes,
        },
        "sync": sync,
        "chat": {"sent": s.node_stats.chat_sent, "received": s.node_stats.chat_received},
        "frames_rejected": s.node_stats.frames_rejected,
        "keys": {
            "origin": s.keys.origin.name(),
            "node": {"fingerprint": s.keys.node.fingerprint().to_string(), "public_key": s.keys.node.to_string()},
            "publisher": {"fingerprint": s.keys.publisher.fingerprint().to_string(), "public_key": s.keys.publisher.to_string()},
        },
        "trust": {
            "file": s.trust.source,
            "pinned_keys": s.trust.pinned,
            "refuse_unknown": s.trust.refuse_unknown,
        },
    })
}
