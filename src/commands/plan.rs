//! `okmesh plan`: make one design across several facilities (greedy cover),
//! naming what no facility covers. Facilities cover processes and tools,
//! and parts and materials too: what they supply or hold in stock
//! (`supply-atoms`, `inventory-atoms`, typical materials) meets a design's
//! bill of materials. The output is a table of requirement → facility.

use std::path::PathBuf;
use std::process::ExitCode;

use catalogue::matching::MatchIndex;
use catalogue::okh::{Manifest, parse_manifest};
use catalogue::requirements::derive;
use catalogue::taxonomy::Taxonomy;
use clap::{ArgGroup, Args};
use serde_json::json;

use super::CliError;
use super::out::outln;
use super::{db, kb};

/// Most facilities a plan may use.
const MAX_PLAN_FACILITIES: usize = 64;

/// Arguments of `okmesh plan`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("facility_source").required(true).multiple(true).args(["facilities", "db"])))]
pub(crate) struct PlanArgs {
    /// The OKH manifest to make: a file, or with --db the title or item id of a design in the store.
    manifest: PathBuf,
    /// Facility file or folder of OKW files (default with --db: every facility in the store).
    #[arg(long)]
    facilities: Option<PathBuf>,
    /// Store made by `okmesh import`, for the design (when MANIFEST is not a file) and the facilities.
    #[arg(long, value_name = "DIR")]
    db: Option<PathBuf>,
    /// Use at most this many facilities (1..=64).
    #[arg(long, default_value_t = 3)]
    max_facilities: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: PlanArgs) -> Result<ExitCode, CliError> {
    if !(1..=MAX_PLAN_FACILITIES).contains(&a.max_facilities) {
        return Err(CliError::BadInput(format!(
            "--max-facilities {}: must be between 1 and {MAX_PLAN_FACILITIES}",
            a.max_facilities
        )));
    }
    let tax = Taxonomy::builtin();
    let store = a.db.as_deref().map(db::open_existing).transpose()?;
    let m: Manifest = match (&store, a.db.as_deref()) {
        (Some(store), Some(dir)) if !a.manifest.exists() => {
            db::find_manifest(store, dir, &a.manifest.to_string_lossy())?
        }
        _ => {
            let name = a.manifest.display().to_string();
            parse_manifest(&kb::read(&a.manifest)?, &name)
                .map_err(|e| CliError::BadInput(e.to_string()))?
        }
    };
    let set = derive(&m, tax);
    if set.requirements.is_empty() {
        return Err(CliError::BadInput(format!(
            "{}: no requirement could be derived; nothing to plan",
            m.file
        )));
    }
    let facilities = match (&a.facilities, &store) {
        (Some(path), _) => kb::load_facilities(path)?,
        (None, Some(store)) => {
            let (fs, notes) = db::facilities_in(store);
            for n in &notes {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("skipped: {n}");
                }
            }
            if fs.is_empty() {
                return Err(CliError::BadInput(format!(
                    "--db {}: the store holds no facility (import OKW files, or give --facilities)",
                    a.db.as_deref()
                        .unwrap_or(std::path::Path::new(""))
                        .display()
                )));
            }
            fs
        }
        (None, None) => {
            return Err(CliError::BadInput("give --facilities or --db".into()));
        }
    };
    drop(store);
    // The design goes into the index first, so that its parts and
    // materials named by Wikidata id or free text are known to the
    // profiles (a supplier's `supply-atoms` meet them).
    let mut idx = MatchIndex::new(tax);
    idx.add(&set).map_err(|e| CliError::Failed(e.to_string()))?;
    let profiles: Vec<_> = facilities
        .iter()
        .map(|f| idx.profile(&f.capabilities(tax)))
        .collect();
    let plan = idx.plan(&set, &profiles, a.max_facilities);
    let label = |r: usize| set.requirements[r].display(tax);
    // Which facility of the plan covers each requirement.
    let mut covered_by: Vec<Option<usize>> = vec![None; set.requirements.len()];
    for s in &plan.steps {
        for &r in &s.covers {
            covered_by[r] = Some(s.facility);
        }
    }
    if a.json {
        let out = json!({
            "design": m.title, "file": m.file, "complete": plan.complete,
            "table": set.requirements.iter().enumerate().map(|(r, req)| json!({
                "requirement": label(r), "id": req.term.id(tax), "kind": req.kind.as_str(),
                "critical": req.critical, "inferred": req.inferred,
                "facility": covered_by[r].map(|f| facilities[f].name.clone()),
            })).collect::<Vec<_>>(),
            "steps": plan.steps.iter().map(|s| json!({
                "facility": facilities[s.facility].name, "file": facilities[s.facility].file,
                "covers": s.covers.iter().map(|&r| label(r)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "parts": set.parts.iter().zip(&plan.parts).map(|(p, f)| json!({
                "part": p.name, "facility": f.map(|f| facilities[f].name.clone()),
            })).collect::<Vec<_>>(),
            "gaps": plan.gaps.iter().map(|&r| json!({
                "requirement": label(r), "critical": set.requirements[r].critical,
                "inferred": set.requirements[r].inferred,
            })).collect::<Vec<_>>(),
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| CliError::Io(e.to_string()))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{}: {} with {} of {} facilities (at most {})",
        m.title,
        if plan.complete {
            "every critical requirement covered"
        } else {
            "NOT fully covered"
        },
        plan.steps.len(),
        facilities.len(),
        a.max_facilities
    );
    outln!(
        "  {:<36}  {:<8}  {:<8}  facility",
        "requirement",
        "kind",
        "need"
    );
    for (r, req) in set.requirements.iter().enumerate() {
        outln!(
            "  {:<36}  {:<8}  {:<8}  {}",
            kb::clip(&label(r), 36),
            req.kind.as_str(),
            if req.critical { "critical" } else { "optional" },
            covered_by[r].map_or("(gap)", |f| facilities[f].name.as_str())
        );
    }
    outln!("facilities:");
    for (i, s) in plan.steps.iter().enumerate() {
        let covers: Vec<String> = s.covers.iter().map(|&r| label(r)).collect();
        outln!(
            "  {}. {} — {}",
            i + 1,
            facilities[s.facility].name,
            kb::list(&covers)
        );
    }
    if !set.parts.is_empty() {
        outln!("parts:");
        for (p, f) in set.parts.iter().zip(&plan.parts) {
            outln!(
                "  {} → {}",
                p.name,
                f.map_or("(no facility)", |f| facilities[f].name.as_str())
            );
        }
    }
    let crit: Vec<String> = plan
        .gaps
        .iter()
        .filter(|&&r| set.requirements[r].critical)
        .map(|&r| label(r))
        .collect();
    let opt: Vec<String> = plan
        .gaps
        .iter()
        .filter(|&&r| !set.requirements[r].critical)
        .map(|&r| label(r))
        .collect();
    outln!("gaps (critical): {}", kb::list(&crit));
    outln!("gaps (optional): {}", kb::list(&opt));
    Ok(ExitCode::SUCCESS)
}
