//! `okmesh scenarios`: list the library.

use std::process::ExitCode;

use super::CliError;

#[allow(clippy::print_stdout)]
pub(crate) fn run() -> Result<ExitCode, CliError> {
    for name in scenarios::library::names() {
        let s =
            scenarios::resolve(name, &[]).map_err(|source| CliError::Library { name, source })?;
        println!(
            "{:<20} {:>5} nodes {:>6}  {}",
            name,
            s.node_count(),
            scenarios::duration::format(s.duration),
            s.description
        );
    }
    Ok(ExitCode::SUCCESS)
}
