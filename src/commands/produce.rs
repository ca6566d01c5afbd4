//! `okmesh produce`: reverse matching — the designs a facility can make
//! outright (every critical requirement met, directly or by substitution).
//!
//! With `--db` (a node's store), the live demand signals in the store's
//! signal log come first: the designs in demand that the facility can make,
//! ranked by [`combined`] score, with the open quantity and the deadline.
//! Without demand the output is the plain ranking.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use catalogue::id::ItemId;
use catalogue::matching::{MatchIndex, RankOptions};
use catalogue::ranked::{Designs, Input, rank, ranked_json};
use catalogue::taxonomy::Taxonomy;
use clap::Args;
use node_core::Instant;
use node_core::signals::{SignalBook, SignalConfig};
use serde_json::{Value, json};

use super::CliError;
use super::db::{self, DesignSource};
use super::kb;
use super::matches::{capabilities, check_top, print_ranked};
use super::out::outln;
use super::when::{NowArg, format_utc};

/// Arguments of `okmesh produce`.
#[derive(Args, Debug)]
pub(crate) struct ProduceArgs {
    /// An OKW facility file (YAML or JSON) holding one facility.
    #[arg(long)]
    facility: PathBuf,
    #[command(flatten)]
    source: DesignSource,
    /// Show at most this many designs.
    #[arg(long, default_value_t = 50)]
    top: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    now: NowArg,
}

/// How much urgency weighs in the combined score.
pub(crate) const URGENT_WEIGHT: f64 = 2.0;

/// The combined score of a design in demand: match quality (the produce
/// score, 0..1) × the open quantity (wanted and not yet taken by a
/// confirmation) × [`URGENT_WEIGHT`] when any of its demands is urgent.
pub(crate) fn combined(score: f32, d: &OpenDemand) -> f64 {
    let urgency = if d.urgent { URGENT_WEIGHT } else { 1.0 };
    f64::from(score) * d.open as f64 * urgency
}

/// One design in demand that the facility can make.
struct InDemand<'a> {
    demand: &'a OpenDemand,
    design: usize,
    score: f32,
    combined: f64,
}

/// The designs in `demand` that pass the produce ranking, best combined
/// score first (ties: better match, then item id).
fn in_demand<'a>(
    designs: &Designs,
    idx: &MatchIndex<'_>,
    input: &Input,
    demand: &'a [OpenDemand],
) -> Vec<InDemand<'a>> {
    let p = idx.profile(&input.caps);
    let every = RankOptions {
        threshold: 0.0,
        complete_only: true,
        top: designs.len().max(1),
    };
    let mut out: Vec<InDemand<'a>> = rank(idx, &p, &every)
        .results
        .iter()
        .filter_map(|r| {
            let id = designs.info[r.design].item_id;
            let d = demand.iter().find(|d| d.design == id)?;
            Some(InDemand {
                demand: d,
                design: r.design,
                score: r.score.score,
                combined: combined(r.score.score, d),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.combined
            .total_cmp(&a.combined)
            .then(b.score.total_cmp(&a.score))
            .then(a.demand.design.cmp(&b.demand.design))
    });
    out
}

fn in_demand_json(designs: &Designs, rows: &[InDemand<'_>]) -> Value {
    rows.iter()
        .map(|r| {
            json!({
                "design": r.demand.design.to_string(),
                "title": designs.info[r.design].title,
                "combined": r.combined, "score": r.score,
                "open": r.demand.open, "deadline_s": r.demand.deadline_s,
                "urgent": r.demand.urgent, "demands": r.demand.demands,
            })
        })
        .collect()
}

fn print_in_demand(designs: &Designs, rows: &[InDemand<'_>], demanded: usize) {
    if rows.is_empty() {
        outln!(
            "in demand on the mesh: {demanded} designs; this facility can make none of them outright"
        );
        outln!();
        return;
    }
    outln!(
        "in demand on the mesh and makeable here: {} of {demanded} designs in demand (combined = score × open quantity, × {URGENT_WEIGHT} if urgent)",
        rows.len()
    );
    outln!(
        "{:>4}  {:>8}  {:>5}  {:>7}  {:<20}  design",
        "rank",
        "combined",
        "score",
        "open",
        "deadline"
    );
    for (i, r) in rows.iter().enumerate() {
        outln!(
            "{:>4}  {:>8.2}  {:>5.2}  {:>7}  {:<20}  {}{}",
            i + 1,
            r.combined,
            r.score,
            r.demand.open,
            format_utc(r.demand.deadline_s),
            kb::clip(&designs.info[r.design].title, 36),
            if r.demand.urgent { " (urgent)" } else { "" }
        );
    }
    outln!();
}

pub(crate) fn run(a: ProduceArgs) -> Result<ExitCode, CliError> {
    let tax = Taxonomy::builtin();
    let top = check_top(a.top)?;
    let input = capabilities(None, Some(&a.facility), tax)?;
    let designs = a.source.load(tax)?;
    let idx = designs
        .index(tax)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let opts = RankOptions {
        threshold: 0.0,
        complete_only: true,
        top,
    };
    // Network demand lives in a node's store (its signal log).
    let demand = match a.source.db_dir() {
        Some(dir) => open_demand(dir, a.now.unix_s())?,
        None => Vec::new(),
    };
    if demand.is_empty() {
        return print_ranked(&designs, &idx, &input, &opts, a.json);
    }
    let rows = in_demand(&designs, &idx, &input, &demand);
    if a.json {
        let mut out = ranked_json(&designs, &idx, &input, &opts);
        out["in_demand"] = in_demand_json(&designs, &rows);
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| CliError::Io(e.to_string()))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    print_in_demand(&designs, &rows, demand.len());
    print_ranked(&designs, &idx, &input, &opts, false)
}

/// Live demand in the store of `dir` at mesh time `now_s`, per design:
/// what `okmesh produce --db` ranks by.
pub(crate) fn open_demand(dir: &Path, now_s: u64) -> Result<Vec<OpenDemand>, CliError> {
    let store = db::open_existing(dir)?;
    let now = Instant::from_micros(now_s.saturating_mul(1_000_000));
    let mut book = SignalBook::new(SignalConfig::default().limits);
    for (_, bytes) in store.signals() {
        // An expired or superseded signal is simply not taken back.
        let _ = book.restore(now, bytes);
    }
    let mut per_design: std::collections::BTreeMap<ItemId, OpenDemand> = Default::default();
    for t in book.demand_totals(now) {
        let urgent = t
            .demands
            .iter()
            .any(|id| book.get(*id).is_some_and(|h| h.repr.urgent));
        let deadline_s = t.deadline.as_micros() / 1_000_000;
        let d = per_design.entry(t.design).or_insert(OpenDemand {
            design: t.design,
            open: 0,
            deadline_s,
            urgent: false,
            demands: 0,
        });
        d.open += t.quantity.saturating_sub(t.confirmed);
        d.deadline_s = d.deadline_s.min(deadline_s);
        d.urgent |= urgent;
        d.demands += t.demands.len();
    }
    Ok(per_design.into_values().filter(|d| d.open > 0).collect())
}

/// The live demand for one design, summed over its demands.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OpenDemand {
    /// The design.
    pub(crate) design: ItemId,
    /// Wanted and not yet taken by a confirmation.
    pub(crate) open: u64,
    /// The earliest deadline, Unix seconds.
    pub(crate) deadline_s: u64,
    /// Whether any of its demands is urgent.
    pub(crate) urgent: bool,
    /// How many demands.
    pub(crate) demands: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_score_weighs_quantity_and_urgency() {
        let d = |open, urgent| OpenDemand {
            design: catalogue::id::ItemId([0; 16]),
            open,
            deadline_s: 0,
            urgent,
            demands: 1,
        };
        assert_eq!(combined(1.0, &d(40, false)), 40.0);
        assert_eq!(combined(0.5, &d(40, true)), 40.0);
        assert!(combined(0.9, &d(10, false)) < combined(0.6, &d(40, false)));
    }
}
