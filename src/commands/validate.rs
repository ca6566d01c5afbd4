//! `okmesh validate`: check a scenario and print it fully resolved.

use std::process::ExitCode;

use clap::Args;

use super::out::outln;
use super::{CliError, load_scenario};

/// Arguments of `okmesh validate`.
#[derive(Args, Debug)]
pub(crate) struct ValidateArgs {
    /// A scenario file, or the name of a library scenario.
    scenario: String,
    /// Override a scenario field, e.g. `--set topology.nodes=400` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
}

pub(crate) fn run(args: ValidateArgs) -> Result<ExitCode, CliError> {
    let s = load_scenario(&args.scenario, &args.set)?;
    outln!(
        "# {}: valid · {} nodes · {} simulated",
        s.name,
        s.node_count(),
        scenarios::duration::format(s.duration)
    );
    outln!("# fully resolved:");
    super::out::out(format_args!("{}", scenarios::to_yaml(&s)));
    Ok(ExitCode::SUCCESS)
}
