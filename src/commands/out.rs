//! Standard output that goes quiet when its reader goes away.
//!
//! `okmesh run … | head` closes the pipe after a few lines; `println!`
//! would then panic (exit 101). Commands print through [`outln!`] and
//! [`out`] instead: the first broken pipe stops all further printing and
//! the command finishes its work (a run still writes its folder) and
//! exits with its own code, like other Unix tools that stop talking when
//! nobody listens. Any other write error stops printing too, with one
//! line on stderr.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `args` to stdout unless a previous write found it closed.
pub(crate) fn out(args: fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("warning: stdout: {e}; printing stops");
            }
        }
    }
}

/// `println!` that goes quiet on a broken pipe (see the module docs).
macro_rules! outln {
    () => {
        $crate::commands::out::out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::commands::out::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;
