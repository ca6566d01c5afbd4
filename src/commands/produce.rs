//! `okmesh produce`: reverse matching — the designs a facility can make
//! outright (every critical requirement met, directly or by substitution).

use std::path::PathBuf;
use std::process::ExitCode;

use catalogue::matching::RankOptions;
use catalogue::taxonomy::Taxonomy;
use clap::Args;

use super::CliError;
use super::db::DesignSource;
use super::matches::{capabilities, check_top, print_ranked};

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
    print_ranked(&designs, &idx, &input, &opts, a.json)
}
