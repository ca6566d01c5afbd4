//! One module per subcommand; each exposes `run(args) -> Result<ExitCode, CliError>`.

pub(crate) mod emulate;
pub(crate) mod field;
pub(crate) mod node;

use std::process::ExitCode;

use crate::Command;

/// A command that could not do its job.
#[allow(dead_code, reason = "constructed once the first subcommands land")]
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The user gave input that cannot be used (exit code 2).
    #[error("{0}")]
    BadInput(String),
    /// Something outside the user's input failed, e.g. writing an output file (exit code 2).
    #[error("{0}")]
    Io(String),
}

impl CliError {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::BadInput(_) | CliError::Io(_) => 2,
        }
    }
}

pub(crate) fn dispatch(command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Node(args) => node::run(args),
        Command::Emulate(args) => emulate::run(args),
    }
}
