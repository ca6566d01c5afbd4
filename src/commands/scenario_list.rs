//! `okmesh scenarios`: list the library.

use std::process::ExitCode;

use super::CliError;
use super::out::outln;

pub(crate) fn run() -> Result<ExitCode, CliError> {
    for name in scenarios::library::names() {
        let s =
            scenarios::resolve(name, &[]).map_err(|source| CliError::Library { name, source })?;
        outln!(
            "{:<20} {:>5} nodes {:>6}  {}",
            name,
            s.node_count(),
            scenarios::duration::format(s.duration),
            s.description
        );
    }
    Ok(ExitCode::SUCCESS)
}
