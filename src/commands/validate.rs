//! `okmesh validate`: check a scenario and print it fully resolved.

use std::process::ExitCode;

use clap::Args;

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

#[allow(clippy::print_stdout)]
pub(crate) fn run(args: ValidateArgs) -> Result<ExitCode, CliError> {
    let s = load_scenario(&args.scenario, &args.set)?;
    println!(
        "# {}: valid · {} nodes · {} simulated",
        s.name,
        s.node_count(),
        scenarios::duration::format(s.duration)
    );
    println!("# fully resolved:");
    print!("{}", scenarios::to_yaml(&s));
    Ok(ExitCode::SUCCESS)
}
