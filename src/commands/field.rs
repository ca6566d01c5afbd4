//! What `okmesh node` and `okmesh emulate` share: the tokio runtime, logs,
//! the shutdown signal and duration arguments.

use std::future::Future;

use crate::commands::CliError;

/// How log lines are written (to stderr).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for collectors and tests).
    Json,
}

/// The log arguments of a long-running command.
#[derive(clap::Args, Debug)]
pub(crate) struct LogArgs {
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    log: tracing::Level,
    /// Log line format.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

impl LogArgs {
    /// Installs the process-wide `tracing` subscriber.
    pub(crate) fn init(&self) {
        let builder = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(self.log)
            .with_target(false);
        // Only the first call wins; a second one is harmless.
        let _ = match self.log_format {
            LogFormat::Text => builder.with_ansi(false).try_init(),
            LogFormat::Json => builder.json().try_init(),
        };
    }
}

/// Parses a duration argument the way scenario files write them (`250ms`,
/// `2s`, `1m30s`).
pub(crate) fn duration_arg(s: &str) -> Result<node_core::Duration, String> {
    scenarios::duration::parse(s)
}

/// Runs `f` on a single-threaded tokio runtime.
pub(crate) fn block_on<F: Future>(f: F) -> Result<F::Output, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| CliError::Io(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}

/// Completes on SIGTERM, ctrl-c (SIGINT) or after `run_for`, whichever
/// comes first.
pub(crate) async fn shutdown_signal(run_for: Option<node_core::Duration>) {
    let deadline = async {
        match run_for {
            Some(d) => tokio::time::sleep(std::time::Duration::from_micros(d.as_micros())).await,
            None => std::future::pending().await,
        }
    };
    let term = async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    };
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = deadline => tracing::info!("run time elapsed"),
        () = term => tracing::info!("SIGTERM received"),
        () = interrupt => tracing::info!("interrupt received"),
    }
}
