//! One module per subcommand; each exposes `run(args) -> Result<ExitCode, CliError>`.

pub(crate) mod airtime;
pub(crate) mod db;
pub(crate) mod emulate;
pub(crate) mod field;
pub(crate) mod import;
pub(crate) mod kb;
pub(crate) mod matches;
pub(crate) mod merge;
pub(crate) mod node;
pub(crate) mod pipeline;
pub(crate) mod plan;
pub(crate) mod produce;
pub(crate) mod run;
pub(crate) mod scenario_list;
pub(crate) mod sweep;
pub(crate) mod validate;

use std::process::ExitCode;

use crate::Command;

/// A command that could not do its job.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The user gave input that cannot be used (exit code 2).
    #[error("{0}")]
    BadInput(String),
    /// Reading or writing a file failed (exit code 2).
    #[error("{0}")]
    Io(String),
    /// The work started but could not finish, e.g. a limit was hit (exit code 1).
    #[error("{0}")]
    Failed(String),
}

/// Bad input with this message.
pub(crate) fn bad(msg: impl Into<String>) -> CliError {
    CliError::BadInput(msg.into())
}

impl CliError {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::BadInput(_) | CliError::Io(_) => 2,
            CliError::Failed(_) => 1,
        }
    }
}

pub(crate) fn dispatch(command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Run(args) => run::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Airtime(args) => airtime::run(args),
        Command::Scenarios => scenario_list::run(),
        Command::Match(args) => matches::run(args),
        Command::Produce(args) => produce::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Import(args) => import::run(args),
        Command::Node(args) => node::run(args),
        Command::Emulate(args) => emulate::run(args),
    }
}

/// Loads a scenario file or library entry with `--set` overrides.
pub(crate) fn load_scenario(spec: &str, sets: &[String]) -> Result<scenarios::Scenario, CliError> {
    let overrides = sets
        .iter()
        .map(|s| s.parse::<scenarios::Override>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    scenarios::resolve(spec, &overrides).map_err(|e| CliError::BadInput(e.to_string()))
}

/// Small helpers for scenario text in command output.
pub(crate) mod scenario {
    pub(crate) use scenarios::to_yaml;

    /// A duration as scenarios write it (`1h30m`).
    pub(crate) fn duration_text(d: node_core::Duration) -> String {
        scenarios::duration::format(d)
    }
}
