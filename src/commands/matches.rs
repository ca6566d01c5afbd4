//! `okmesh match`: what can be built with what a maker or facility has.

use std::path::PathBuf;
use std::process::ExitCode;

use catalogue::matching::{MIN_SCORE, MatchIndex, PARTIAL_MATCH_THRESHOLD, RankOptions, Ranked};
use catalogue::ranked::{Input, assessed, detail, rank, ranked_json};
use catalogue::taxonomy::Taxonomy;
use clap::Args;

use super::CliError;
use super::db::DesignSource;
use super::kb::{self, Designs};
use super::out::outln;

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
    /// Show at most this many designs (at least 1; the header counts all that pass).
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
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| CliError::Io(e.to_string()))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let p = idx.profile(&input.caps);
    let ranking = rank(idx, &p, opts);
    let assessed = assessed(designs);
    for n in &input.notes {
        eprintln!("note: {n}");
    }
    for s in &designs.skipped {
        eprintln!("skipped: {s}");
    }
    let what = if opts.complete_only {
        "can be made outright (full or likely)".to_owned()
    } else {
        format!(
            "pass (score >= {MIN_SCORE:.2}, and every critical need met or coverage >= {:.2})",
            opts.threshold
        )
    };
    outln!(
        "{}: {} of {} designs {what}{}; {} designs had no known requirement",
        input.name,
        ranking.passing,
        assessed,
        if ranking.passing > ranking.results.len() {
            format!(", the best {} shown", ranking.results.len())
        } else {
            String::new()
        },
        designs.len() - assessed
    );
    if ranking.results.is_empty() {
        match &ranking.nearest {
            Some(r) => {
                let m = &designs.info[r.design];
                let d = detail(idx, &p, &designs.sets[r.design]);
                let why = if d.missing.is_empty() {
                    "everything it is known to need is there, but too little is known of it to pass"
                        .to_owned()
                } else {
                    format!("missing: {}", kb::list(&d.missing))
                };
                outln!(
                    "nothing passes; nearest: \"{}\" (score {:.2}, coverage {:.2}): {why}",
                    m.title,
                    r.score.score,
                    r.score.coverage,
                );
            }
            None => outln!("nothing passes, and no design needs anything given here"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    print_table(designs, idx, &p, &ranking.results);
    Ok(ExitCode::SUCCESS)
}

/// The result table: rank, score, fit, design, missing, substitutions, notes.
fn print_table(
    designs: &Designs,
    idx: &MatchIndex<'_>,
    p: &catalogue::matching::Profile,
    ranked: &[Ranked],
) {
    outln!(
        "{:>4}  {:>5}  {:<7}  {:<36}  {:<30}  {:<30}  notes",
        "rank",
        "score",
        "fit",
        "design",
        "missing",
        "substitutions"
    );
    for (i, r) in ranked.iter().enumerate() {
        let m = &designs.info[r.design];
        let d = detail(idx, p, &designs.sets[r.design]);
        let mut notes = Vec::new();
        if !d.inferred.is_empty() {
            notes.push(format!("inferred: {}", d.inferred.join("; ")));
        }
        if !d.skill.is_empty() {
            notes.push(format!("skill: {}", d.skill.join(", ")));
        }
        outln!(
            "{:>4}  {:>5.2}  {:<7}  {:<36}  {:<30}  {:<30}  {}",
            i + 1,
            r.score.score,
            r.score.fit(),
            kb::clip(&m.title, 36),
            kb::clip(&kb::list(&d.missing), 30),
            kb::clip(&kb::list(&d.substitutions), 30),
            kb::list(&notes)
        );
    }
}

/// Checks a `--top` value.
pub(crate) fn check_top(top: usize) -> Result<usize, CliError> {
    if top == 0 {
        Err(CliError::BadInput(
            "--top 0: show at least one design (the header counts every design that passes)".into(),
        ))
    } else {
        Ok(top)
    }
}

pub(crate) fn run(a: MatchArgs) -> Result<ExitCode, CliError> {
    let tax = Taxonomy::builtin();
    let threshold = kb::check_threshold(a.threshold)?;
    let top = check_top(a.top)?;
    let input = capabilities(a.have.as_deref(), a.facility.as_deref(), tax)?;
    let designs = a.source.load(tax)?;
    let idx = designs
        .index(tax)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let opts = RankOptions {
        threshold,
        complete_only: false,
        top,
    };
    print_ranked(&designs, &idx, &input, &opts, a.json)
}
