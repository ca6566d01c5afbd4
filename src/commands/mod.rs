//! One module per subcommand; each exposes `run(args) -> Result<ExitCode, CliError>`.

pub(crate) mod airtime;
pub(crate) mod api;
pub(crate) mod db;
pub(crate) mod emulate;
pub(crate) mod field;
pub(crate) mod import;
pub(crate) mod kb;
pub(crate) mod key;
pub(crate) mod matches;
pub(crate) mod merge;
pub(crate) mod node;
pub(crate) mod out;
pub(crate) mod package;
pub(crate) mod package_api;
pub(crate) mod plan;
pub(crate) mod produce;
pub(crate) mod run;
pub(crate) mod scenario_list;
pub(crate) mod signals;
pub(crate) mod signals_api;
pub(crate) mod sweep;
pub(crate) mod validate;
pub(crate) mod when;

use std::process::ExitCode;

use crate::Command;

/// A command that could not do its job. Exit codes: 2 for bad input, 1
/// for work that started and could not finish.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// An argument that cannot be used, with what is wrong (exit code 2).
    #[error("{0}")]
    BadInput(String),
    /// Reading or writing failed, as a command without a typed source
    /// reports it (exit code 2).
    #[error("{0}")]
    Io(String),
    /// The work started but could not finish, as a command without a typed
    /// source reports it (exit code 1).
    #[error("{0}")]
    Failed(String),
    /// A scenario (file, library entry or `--set`) cannot be loaded (exit code 2).
    #[error(transparent)]
    Scenario(#[from] scenarios::ScenarioError),
    /// A scenario of the built-in library does not load: a defect of this
    /// build (exit code 1).
    #[error("library scenario {name}: {source}")]
    Library {
        /// The library entry.
        name: &'static str,
        /// Why it does not load.
        #[source]
        source: scenarios::ScenarioError,
    },
    /// The run pipeline stopped (exit code 2 for bad input, 1 for a run
    /// that could not finish; see [`okmesh::PipelineError::is_bad_input`]).
    #[error(transparent)]
    Pipeline(#[from] okmesh::PipelineError),
    /// Sweep folders, `--shard` or `--metric` cannot be used (exit code 2).
    #[error(transparent)]
    Sweep(#[from] reports::sweep::SweepError),
}

/// Bad input with this message.
pub(crate) fn bad(msg: impl Into<String>) -> CliError {
    CliError::BadInput(msg.into())
}

impl CliError {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::BadInput(_)
            | CliError::Io(_)
            | CliError::Scenario(_)
            | CliError::Sweep(_) => 2,
            CliError::Failed(_) | CliError::Library { .. } => 1,
            CliError::Pipeline(e) => {
                if e.is_bad_input() {
                    2
                } else {
                    1
                }
            }
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
        Command::Key(args) => key::run(args),
        Command::Package(args) => package::run(args),
        Command::Demand(args) => signals::run_demand(args),
        Command::Offer(args) => signals::run_offer(args),
        Command::Ask(args) => signals::run_ask(args),
        Command::Emulate(args) => emulate::run(args),
    }
}

/// Loads a scenario file or library entry with `--set` overrides.
pub(crate) fn load_scenario(spec: &str, sets: &[String]) -> Result<scenarios::Scenario, CliError> {
    Ok(okmesh::load_scenario(spec, sets)?)
}
