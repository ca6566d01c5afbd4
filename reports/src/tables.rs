//! The CSV tables of a run (columns in the crate docs). Every number is
//! printed with a fixed number of decimals and every table is in a fixed
//! order, so the same run gives the same bytes.

use std::fmt::Write as _;

use node_core::Instant;
use sim::trace::RunInfo;

use crate::Metrics;
use crate::channel::CLASSES;
use crate::latency::LatencySummary;

/// Seconds since the start of the run, or an empty cell.
fn secs(t: Option<Instant>) -> String {
    t.map_or(String::new(), |t| {
        format!("{:.3}", (t - Instant::ZERO).as_secs_f64())
    })
}

/// `nodes.csv`: one row per node.
pub fn nodes_csv(info: &RunInfo, m: &Metrics) -> String {
    let mut out = String::from(
        "node,x_m,y_m,z_m,role,degree,originated,frames_sent,relays,received,duplicates,collisions,below_sensitivity,half_duplex_misses,drops,airtime_s,duty_cycle_max_pct,crashes,up_at_end,items_held,converged_s,channel_util_mean_pct,channel_util_max_pct\n",
    );
    for (i, (site, x)) in info.sites.iter().zip(m.nodes()).enumerate() {
        let _ = writeln!(
            out,
            "{i},{:.1},{:.1},{:.1},{},{},{},{},{},{},{},{},{},{},{},{:.3},{:.3},{},{},{},{},{:.2},{:.2}",
            site.x_m,
            site.y_m,
            site.z_m,
            site.role.name(),
            info.degrees[i],
            x.originated,
            x.frames_sent,
            x.relays,
            x.received,
            x.duplicates,
            x.collisions,
            x.below_sensitivity,
            x.half_duplex_misses,
            x.drops,
            x.airtime_us as f64 / 1e6,
            m.duty().max_pct(i),
            x.crashes,
            u8::from(m.up()[i]),
            m.items().items_held(i),
            secs(m.items().converged_at(i)),
            m.utilisation().node_mean_pct(i),
            m.utilisation().node_max_pct(i),
        );
    }
    out
}

/// `items.csv`: one row per catalogue item, in order of first appearance.
pub fn items_csv(m: &Metrics) -> String {
    let mut out = String::from(
        "item,seq,publisher,first_published_s,published_s,size_bytes,holders_end,coverage_end_pct,completed_s,propagation_s,data_frames,data_airtime_s,data_bytes\n",
    );
    let n = m.nodes().len().max(1) as f64;
    for (i, s) in m.items().items().iter().enumerate() {
        let completed = m.items().completed_at(i, m.up());
        let propagation = match (completed, s.published_at) {
            (Some(c), Some(p)) => format!("{:.3}", (c.saturating_since(p)).as_secs_f64()),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{:.2},{},{},{},{:.3},{}",
            s.id,
            s.newest_seq,
            s.publisher.map_or(String::new(), |p| p.0.to_string()),
            secs(s.first_published_at),
            secs(s.published_at),
            s.size_bytes,
            s.holders,
            100.0 * f64::from(s.holders) / n,
            secs(completed),
            propagation,
            s.data_frames,
            s.data_airtime_us as f64 / 1e6,
            s.data_bytes,
        );
    }
    out
}

/// `coverage.csv`: per time bucket and item, the nodes holding the item's
/// newest version at the end of the bucket (long format).
pub fn coverage_csv(m: &Metrics) -> String {
    let mut out = String::from("t_s,item,holders,coverage_pct\n");
    let n = m.nodes().len().max(1) as f64;
    let timeline = m.channel().timeline();
    let items = m.items().items();
    for (b, holders) in m.items().coverage().iter().enumerate() {
        let t = timeline.end_of_us(b) as f64 / 1e6;
        for (i, h) in holders.iter().enumerate() {
            let _ = writeln!(
                out,
                "{t:.3},{},{h},{:.2}",
                items[i].id,
                100.0 * f64::from(*h) / n
            );
        }
    }
    out
}

/// `channel.csv`: per time bucket, the share of time with a transmission on
/// the air and the airtime of each frame class.
pub fn channel_csv(m: &Metrics) -> String {
    let mut out = String::from("t_start_s,t_end_s,busy_pct,frames");
    for c in CLASSES {
        let _ = write!(out, ",airtime_{}_s", c.name());
    }
    out.push('\n');
    let timeline = m.channel().timeline();
    for (b, x) in m.channel().buckets().iter().enumerate() {
        let (s, e) = (timeline.start_us(b), timeline.end_of_us(b));
        let _ = write!(
            out,
            "{:.3},{:.3},{:.3},{}",
            s as f64 / 1e6,
            e as f64 / 1e6,
            100.0 * x.busy_us as f64 / (e - s).max(1) as f64,
            x.frames
        );
        for us in x.airtime_us {
            let _ = write!(out, ",{:.3}", us as f64 / 1e6);
        }
        out.push('\n');
    }
    out
}

/// `latency.csv`: percentiles of message delivery and item propagation.
pub fn latency_csv(m: &Metrics) -> String {
    let mut out = String::from("kind,count,mean_s,p50_s,p90_s,p99_s,max_s\n");
    for (kind, h) in [
        ("message", m.messages().histogram()),
        ("item", m.items().latency()),
    ] {
        match LatencySummary::of(h) {
            Some(l) => {
                let _ = writeln!(
                    out,
                    "{kind},{},{:.3},{:.3},{:.3},{:.3},{:.3}",
                    l.count, l.mean_s, l.p50_s, l.p90_s, l.p99_s, l.max_s
                );
            }
            None => {
                let _ = writeln!(out, "{kind},0,,,,,");
            }
        }
    }
    out
}
