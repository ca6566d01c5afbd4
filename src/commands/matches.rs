//! `okmesh match`: what can be built with what a maker or facility has.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use node_core::matching::{MatchIndex, PARTIAL_MATCH_THRESHOLD, RankOptions};
use node_core::okw::build_profile;
use node_core::requirements::Capabilities;
use node_core::taxonomy::Taxonomy;
use serde_json::json;

use super::CliError;
use super::db::DesignSource;
use super::kb::{self, Designs};

/// Arguments of `okmesh match`.
#[derive(Args, Debug)]
pub(crate) struct MatchArgs {
    /// What you have, in words: "3d printer, PLA, soldering iron, basic electronics".
    #[arg(
        long,
        required_unless_present = "facility",
        conflicts_with = "facility"
    )]
    have: Option<String>,
    /// An OKW facility file (YAML or JSON) holding one facility.
    #[arg(long)]
    facility: Option<PathBuf>,
    #[command(flatten)]
    source: DesignSource,
    /// Show at most this many designs.
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// Least score for a partial match, 0..1 (full matches always show).
    #[arg(long, default_value_t = PARTIAL_MATCH_THRESHOLD)]
    threshold: f32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The maker's or facility's capabilities, with notes on the input.
pub(crate) struct Input {
    pub(crate) name: String,
    pub(crate) caps: Capabilities,
    pub(crate) notes: Vec<String>,
    pub(crate) json: serde_json::Value,
}

pub(crate) fn capabilities(
    have: Option<&str>,
    facility: Option<&std::path::Path>,
    tax: &Taxonomy,
) -> Result<Input, CliError> {
    if let Some(text) = have {
        let d = build_profile(text, tax);
        if d.recognised.is_empty() && d.unrecognised.is_empty() {
            return Err(CliError::BadInput("--have: nothing given".into()));
        }
        let mut notes = Vec::new();
        for u in &d.unrecognised {
            let hint = if u.suggestions.is_empty() {
                String::new()
            } else {
                format!(" (did you mean: {}?)", u.suggestions.join(", "))
            };
            notes.push(format!(
                "not recognised: \"{}\"{hint}; kept as free text",
                u.phrase
            ));
        }
        let json = json!({
            "recognised": d.recognised.iter().map(|(p, c)| json!({"phrase": p, "as": tax.concept(*c).key})).collect::<Vec<_>>(),
            "unrecognised": d.unrecognised.iter().map(|u| json!({"phrase": u.phrase, "suggestions": u.suggestions})).collect::<Vec<_>>(),
        });
        return Ok(Input {
            name: "your profile".into(),
            caps: d.capabilities,
            notes,
            json,
        });
    }
    let path = facility.ok_or_else(|| CliError::BadInput("give --have or --facility".into()))?;
    let f = kb::load_one_facility(path)?;
    let notes = f
        .warnings
        .iter()
        .map(|w| format!("{}: {w}", f.file))
        .collect();
    let json = json!({"facility": f.name, "file": f.file, "item_id": f.item_id.to_string()});
    Ok(Input {
        name: f.name.clone(),
        caps: f.capabilities(tax),
        notes,
        json,
    })
}

/// Prints ranked designs as a table or JSON.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub(crate) fn print_ranked(
    designs: &Designs,
    idx: &MatchIndex<'_>,
    input: &Input,
    opts: &RankOptions,
    as_json: bool,
) -> Result<ExitCode, CliError> {
    let p = idx.profile(&input.caps);
    let ranked = idx.rank(&p, opts);
    let assessed = designs
        .sets
        .iter()
        .filter(|s| !s.requirements.is_empty())
        .count();
    if as_json {
        let results: Vec<_> = ranked
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let m = &designs.manifests[r.design];
                let d = kb::detail(idx, &p, &designs.sets[r.design]);
                json!({
                    "rank": i + 1, "title": m.title, "file": m.file, "item_id": m.item_id.to_string(),
                    "content_id": m.content_id.to_string(), "domain": designs.sets[r.design].domain.as_str(),
                    "score": r.score.score, "full": r.score.full,
                    "critical_met": r.score.critical_met, "critical_total": r.score.critical_total,
                    "missing": d.missing, "substitutions": d.substitutions, "inferred": d.inferred,
                    "skill": d.skill, "requirements": d.json,
                })
            })
            .collect();
        let out = json!({
            "input": input.json, "notes": input.notes, "designs": designs.manifests.len(),
            "assessed": assessed, "skipped": designs.skipped, "threshold": opts.threshold, "results": results,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| CliError::Io(e.to_string()))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    for n in &input.notes {
        eprintln!("note: {n}");
    }
    for s in &designs.skipped {
        eprintln!("skipped: {s}");
    }
    println!(
        "{}: {} of {} designs pass (score >= {:.2} or full); {} designs had no known requirement",
        input.name,
        ranked.len(),
        assessed,
        opts.threshold,
        designs.manifests.len() - assessed
    );
    println!(
        "{:>4}  {:>5}  {:<7}  {:<36}  {:<30}  {:<30}  notes",
        "rank", "score", "fit", "design", "missing", "substitutions"
    );
    for (i, r) in ranked.iter().enumerate() {
        let m = &designs.manifests[r.design];
        let d = kb::detail(idx, &p, &designs.sets[r.design]);
        let mut notes = Vec::new();
        if !d.inferred.is_empty() {
            notes.push(format!("inferred: {}", d.inferred.join(", ")));
        }
        if !d.skill.is_empty() {
            notes.push(format!("skill: {}", d.skill.join(", ")));
        }
        println!(
            "{:>4}  {:>5.2}  {:<7}  {:<36}  {:<30}  {:<30}  {}",
            i + 1,
            r.score.score,
            if r.score.full { "full" } else { "partial" },
            kb::clip(&m.title, 36),
            kb::clip(&kb::list(&d.missing), 30),
            kb::clip(&kb::list(&d.substitutions), 30),
            kb::list(&notes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(a: MatchArgs) -> Result<ExitCode, CliError> {
    let tax = Taxonomy::builtin();
    let threshold = kb::check_threshold(a.threshold)?;
    let input = capabilities(a.have.as_deref(), a.facility.as_deref(), tax)?;
    let designs = a.source.load(tax)?;
    let mut idx = MatchIndex::new(tax);
    for s in &designs.sets {
        idx.add(s).map_err(|e| CliError::Failed(e.to_string()))?;
    }
    let opts = RankOptions {
        threshold,
        full_only: false,
        top: a.top,
    };
    print_ranked(&designs, &idx, &input, &opts, a.json)
}
