//! # reports — what a run means, computed from its trace
//!
//! The simulator emits one stream of typed records; this crate turns it
//! into the numbers a planner asks for. [`Metrics`] observes the trace as it
//! is produced (it implements `sim::TraceSink`, so a run of a thousand nodes
//! needs no stored trace) and [`Summary`] assembles the results with the
//! run's description, check results and assertions.
//!
//! ## Layer and imports
//!
//! `reports` sits after the simulator and reads only what a run emits:
//!
//! * from `sim`, the trace types only (`sim::trace`: records, `RunInfo`,
//!   `TraceSink`) — never the engine, the checkers or other internals. The
//!   duty-cycle figures are measured here ([`duty`]), independently of the
//!   simulator's checker; check outcomes come in as plain [`CheckResult`]s
//!   that the run pipeline converts;
//! * from `node-core`, value types the records carry (time, frame class,
//!   item ids);
//! * from `scenarios`, only [`Metric`], the names of the result figures
//!   (it lives there because the scenario schema's assertions name them and
//!   `scenarios` must not depend on `reports`).
//!
//! Modules: [`metrics`] (the trace sink), [`duty`], [`items`], [`channel`],
//! [`latency`], [`timeline`] and [`sync`] (what it accumulates),
//! [`summary`] (`summary.json`), [`tables`] (the CSV files), [`plot`] (the
//! pictures), [`report`] (writing a run's folder, `report.html`,
//! `summary.md`), [`sweep`] (`okmesh sweep` and `merge` files).
//!
//! ## `summary.json`
//!
//! | key | meaning |
//! |---|---|
//! | `scenario`, `seed` | what ran |
//! | `nodes` | nodes in the mesh |
//! | `sim_time_s` | simulated seconds |
//! | `wall_time_s`, `events_per_s` | how long the run took on this machine (the only fields that differ between identical runs) |
//! | `events` | events the engine processed |
//! | `trace_records`, `trace_hash` | size and BLAKE3 hash of the trace; equal hashes mean identical runs |
//! | `frames_sent` | transmissions started, originals and relays |
//! | `relays` | of which relays |
//! | `frames_received` | frames decoded by some receiver, duplicates included |
//! | `duplicates` | decoded frames the receiver had already seen |
//! | `collisions` | decodable receptions lost to interference |
//! | `below_sensitivity` | signals that arrived too weak to decode |
//! | `half_duplex_misses` | decodable receptions missed because the receiver was transmitting |
//! | `messages_originated` | messages the nodes handed to their radios |
//! | `reach_pct` | mean share of the other nodes that received each originated message |
//! | `reach_within_hop_limit_pct` | first receptions ÷ nodes within the hop limit (hop limit + 1 links) of each originator: how well the flood covers what it may cover |
//! | `usefulness_pct` | first receptions ÷ all receptions |
//! | `air_utilisation_pct` | mean share of time a node spent transmitting |
//! | `duty_cycle_max_pct` | highest transmit share of any node in any duty-cycle window |
//! | `max_hops_away` | most relays any delivered message had passed |
//! | `drops`, `drops_by_reason` | frames dropped, in total and by reason |
//! | `topology` | degree, component and diameter statistics |
//! | `radio` | region, modulation, power, sensitivity, duty-cycle limit |
//! | `checks` | invariant checks, each with `passed` and a detail |
//! | `sync`, `baseline` | catalogue-sync figures of the run and of its flooding baseline (see [`sync`]) |
//! | `assertions` | the scenario's assertions with the measured value |
//! | `passed` | every check and assertion passed |
//! | `message_latency` | chat delivery latency (origination → first decoding at each node): `count, mean_s, p50_s, p90_s, p99_s, max_s`, or `null` |
//! | `item_latency` | item propagation latency (publication of a version → its storing at each node), same fields |
//! | `items`, `items_published` | catalogue items seen, and published during the run |
//! | `items_complete_s` | when the last item's newest version was held by every node up at the end (`null` without items or while one is incomplete) |
//! | `nodes_holding_all_pct` | share of the nodes up at the end that hold every item's newest version |
//! | `nodes_up_at_end` | nodes not down at the end (crashed without restart) |
//! | `channel_busy_mean_pct`, `channel_busy_max_pct` | share of time with at least one transmission on the air: over the run, and in the busiest bucket of `channel.csv` |
//! | `bucket_s` | width of the time buckets of `channel.csv` and `coverage.csv` |
//! | `airtime_by_class_s` | airtime by frame class (`chat`, `summary`, `request`, `data`, `other`) |
//!
//! Every number in the tables below has a fixed number of decimals and
//! every table a fixed row order: the same scenario and seed give the same
//! bytes. Times are seconds from the start of the run; an empty cell means
//! "never" or "none".
//!
//! ## `nodes.csv`
//!
//! One row per node: `node, x_m, y_m, z_m, role, degree, originated,
//! frames_sent, relays, received` (first receptions), `duplicates,
//! collisions, below_sensitivity, half_duplex_misses, drops, airtime_s,
//! duty_cycle_max_pct` (largest share of any duty-cycle window, measured
//! exactly by [`duty`]), `crashes, up_at_end` (1/0), `items_held` (items
//! it holds some version of at the end), `converged_s` (the first time it
//! held the newest version of every item, counted after the last
//! publication; empty if never or without items),
//! `channel_util_mean_pct, channel_util_max_pct` (channel utilisation as
//! the node's Meshtastic firmware reports it — its own transmissions plus
//! every frame it received or lost to a collision — over the run and in
//! its busiest time bucket, see [`utilisation`]).
//!
//! ## `items.csv`
//!
//! One row per catalogue item, in order of first appearance: `item` (32 hex
//! digits), `seq` (newest version), `publisher` (of the newest version),
//! `first_published_s, published_s` (first and newest version),
//! `size_bytes, holders_end, coverage_end_pct` (nodes holding the newest
//! version at the end, and their share of all nodes), `completed_s` (when
//! every node up at the end held it), `propagation_s` (completed −
//! published), `data_frames, data_airtime_s, data_bytes` (transmissions of
//! class `data` whose subject is one of the item's elements).
//!
//! ## `coverage.csv`
//!
//! Long format, one row per time bucket and item known by then: `t_s` (end
//! of the bucket), `item, holders, coverage_pct` (share of all nodes
//! holding the newest version at that time). Buckets are 1 s … 1 d wide,
//! at most 240 per run ([`timeline`]).
//!
//! ## `channel.csv`
//!
//! One row per time bucket: `t_start_s, t_end_s, busy_pct` (share of the
//! bucket with at least one transmission on the air anywhere), `frames`
//! (transmissions starting in it), `airtime_chat_s, airtime_summary_s,
//! airtime_request_s, airtime_data_s, airtime_signal_s, airtime_other_s`
//! (airtime of each
//! frame class within the bucket; the sum may exceed the bucket when
//! distant nodes transmit at once).
//!
//! ## `latency.csv`
//!
//! Two rows, `message` and `item`: `kind, count, mean_s, p50_s, p90_s,
//! p99_s, max_s`, from HDR histograms (3 significant digits); empty cells
//! when nothing was recorded.
//!
//! ## Plots and the report
//!
//! [`plot`] draws these as PNG and SVG with an embedded font (`<stem>.png`,
//! `<stem>.svg`):
//!
//! | stem | what |
//! |---|---|
//! | `map` | nodes at their sites, mesh links in grey; colour = when the node first held every item (or, without items, the share of others' chat messages it received); red cross = up at the end but never converged; grey with a black cross = down at the end; black ring = crashed at some time; coloured ring = partition group |
//! | `coverage` | share of nodes holding each item's newest version over time, one thin line per item and their mean in bold |
//! | `channel` | share of time with a transmission on the air, and airtime by frame class (stacked; may pass 100 % when distant nodes transmit at once) |
//! | `airtime` | each node's airtime as a share of the run (bars) and its largest share of any duty-cycle window (dots), with the regional limit |
//! | `latency` | cumulative distribution of chat delivery and item propagation latency (log time axis) |
//! | `sweep-<metric>` | (`okmesh sweep`) the metric against the first swept field with several values, one line per value of the others, median with a min–max band across seeds |
//!
//! [`report`] writes them with the tables, `report.html` (self-contained)
//! and `summary.md`. [`sweep`] holds the grid, `runs.csv` and
//! `aggregate.csv` of `okmesh sweep`.
//!
//! Memory is bounded whatever the trace's length: per node, per item, per
//! time bucket, and at most [`latency::MAX_TRACKED_MESSAGES`] messages in
//! flight.

pub mod channel;
pub mod deployment;
pub mod duty;
pub mod items;
pub mod latency;
pub mod metrics;
pub mod plot;
pub mod report;
pub mod signals;
pub mod summary;
pub mod sweep;
pub mod sync;
pub mod tables;
pub mod timeline;
pub mod utilisation;

pub use metrics::{LimitHit, Metrics, NodeMetrics};
pub use scenarios::Metric;
pub use summary::{AssertionOutcome, CheckResult, RunFacts, Summary, SyncReport};
pub use tables::nodes_csv;

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every Rust source file of this crate.
    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source is text");
                out.push((path.display().to_string(), text));
            }
        }
    }

    #[test]
    fn reports_reads_only_the_trace() {
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 10);
        for (path, text) in files {
            // Code only: not the tests (this one names what it looks for).
            let text = text.split("\n#[cfg(test)]").next().unwrap_or("");
            for (k, _) in text.match_indices("sim::") {
                let rest = &text[k + 5..];
                // Prose in docs may name sim's modules; code may use only its trace types.
                let line = text[..k].rsplit('\n').next().unwrap_or("");
                if line.trim_start().starts_with("//") {
                    continue;
                }
                assert!(
                    rest.starts_with("trace::"),
                    "{path}: sim::{}",
                    &rest[..rest.len().min(20)]
                );
            }
            for (k, _) in text.match_indices("scenarios::") {
                let line = text[..k].rsplit('\n').next().unwrap_or("");
                if line.trim_start().starts_with("//") {
                    continue;
                }
                let rest = &text[k + 11..];
                assert!(
                    rest.starts_with("Metric") || rest.starts_with("metric::names"),
                    "{path}: scenarios::{}",
                    &rest[..rest.len().min(20)]
                );
            }
        }
    }
}
