//! `okmesh match`: what can be built with what a maker or facility has.

use std::path::PathBuf;
use std::process::ExitCode;

use catalogue::matching::{MatchIndex, PARTIAL_MATCH_THRESHOLD, RankOptions};
use catalogue::ranked::{Input, assessed, detail, ranked_json};
use catalogue::taxonomy::Taxonomy;
use clap::Args;

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

/// The maker's (`--have`) or facility's (`--facility`) capabilities.
pub(crate) fn capabilities(
    have: Option<&str>,
    facility: Option<&std::path::Path>,
    tax: &Taxonomy,
) -> Result<Input, CliError> {
    if let Some(text) = have {
        return Input::from_text(text, tax).map_err(|e| CliError::BadInput(format!("--have: {e}")));
    }
    let path = facility.ok_or_else(|| CliError::BadInput("give --have or --facility".into()))?;
    Ok(Input::from_facility(&kb::load_one_facility(path)?, tax))
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
    if as_json {
        let out = ranked_json(designs, idx, input, opts);
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| CliError::Io(e.to_string()))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let p = idx.profile(&input.caps);
    let ranked = idx.rank(&p, opts);
    let assessed = assessed(designs);
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
        let d = detail(idx, &p, &designs.sets[r.design]);
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
    let idx = designs
        .index(tax)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let opts = RankOptions {
        threshold,
        full_only: false,
        top: a.top,
    };
    print_ranked(&designs, &idx, &input, &opts, a.json)
}
