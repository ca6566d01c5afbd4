//! Logs a peer cannot flood or forge lines in.
//!
//! * [`Escaped`] shows a peer-controlled string (an item title, a file
//!   name, an error text that quotes one) with control characters,
//!   newlines, ANSI escapes and invisible direction overrides written as
//!   escapes (`\n`, `\u{1b}`, `\u{202e}`), and cut to [`MAX_LOGGED_CHARS`];
//!   the same text then reaches the text and the JSON log format, so a
//!   title can neither start a fake log line nor recolour a terminal.
//! * [`LogLimiter`] lets at most one line per kind of peer-caused warning
//!   through per [`LOG_WINDOW`]; the ones held back are counted and
//!   reported in one aggregate line per kind (`suppressed = N`) once the
//!   window is over.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// The window of [`LogLimiter`]: at most one line per kind in it.
pub const LOG_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// Longest peer-controlled text logged, in characters (before escaping).
pub const MAX_LOGGED_CHARS: usize = 200;

/// A string shown safely in a log line (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct Escaped<'a>(pub &'a str);

/// Whether `c` is shown as an escape: control characters and the
/// invisible characters that reorder or hide text.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(MAX_LOGGED_CHARS) {
            match c {
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if needs_escape(c) => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        let rest = chars.count();
        if rest > 0 {
            write!(f, "…({rest} more characters)")?;
        }
        Ok(())
    }
}

/// [`Escaped`] over something's `Display` text (an error that may quote
/// peer data).
pub struct EscapedDisplay(String);

impl fmt::Display for EscapedDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Escaped(&self.0).fmt(f)
    }
}

impl fmt::Debug for EscapedDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `x`'s `Display` text, escaped for a log.
pub fn esc(x: impl fmt::Display) -> EscapedDisplay {
    EscapedDisplay(x.to_string())
}

/// The state of one kind of warning.
#[derive(Clone, Copy, Debug)]
struct Kind {
    /// When the line that opened the current window was written.
    opened: tokio::time::Instant,
    /// Events held back since.
    suppressed: u64,
}

/// Rate limits peer-caused warnings by kind (see the module docs). Kinds
/// are static strings, so the table is bounded by the code.
#[derive(Debug)]
pub struct LogLimiter {
    window: std::time::Duration,
    kinds: BTreeMap<&'static str, Kind>,
}

impl Default for LogLimiter {
    fn default() -> Self {
        LogLimiter::new(LOG_WINDOW)
    }
}

impl LogLimiter {
    /// A limiter with its own window.
    pub fn new(window: std::time::Duration) -> Self {
        LogLimiter {
            window,
            kinds: BTreeMap::new(),
        }
    }

    /// Whether an event of `kind` at `now` may be logged: `Some(n)` with
    /// the number of events held back before it (to be logged with it as
    /// `suppressed`), `None` if it is held back and counted.
    pub fn admit(&mut self, kind: &'static str, now: tokio::time::Instant) -> Option<u64> {
        match self.kinds.get_mut(kind) {
            Some(k) if now.duration_since(k.opened) < self.window => {
                k.suppressed += 1;
                None
            }
            Some(k) => {
                let n = k.suppressed;
                *k = Kind {
                    opened: now,
                    suppressed: 0,
                };
                Some(n)
            }
            None => {
                self.kinds.insert(
                    kind,
                    Kind {
                        opened: now,
                        suppressed: 0,
                    },
                );
                Some(0)
            }
        }
    }

    /// The kinds whose window is over with events held back, and how many:
    /// each is to be logged as one aggregate line, which opens a new window
    /// (so a kind still gets at most one line per window). With `all`,
    /// every kind with events held back (at shutdown).
    pub fn flush(&mut self, now: tokio::time::Instant, all: bool) -> Vec<(&'static str, u64)> {
        let mut out = Vec::new();
        for (kind, k) in &mut self.kinds {
            if k.suppressed > 0 && (all || now.duration_since(k.opened) >= self.window) {
                out.push((*kind, k.suppressed));
                *k = Kind {
                    opened: now,
                    suppressed: 0,
                };
            }
        }
        out
    }
}

/// Logs the aggregate lines of [`LogLimiter::flush`].
pub fn log_suppressed(flushed: &[(&'static str, u64)], window: std::time::Duration) {
    for (kind, n) in flushed {
        tracing::warn!(
            kind,
            suppressed = n,
            window_s = window.as_secs_f64(),
            "similar warnings suppressed"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_ansi_and_overrides_are_shown_escaped() {
        let s = "Chair\n2026-01-01 ERROR forged\u{1b}[31mred\u{1b}[0m\r\t\\ \u{202e}txt.exe\u{7f}é";
        let e = Escaped(s).to_string();
        assert_eq!(
            e,
            "Chair\\n2026-01-01 ERROR forged\\u{1b}[31mred\\u{1b}[0m\\r\\t\\\\ \\u{202e}txt.exe\\u{7f}é"
        );
        assert!(!e.chars().any(needs_escape));
        let long = "x".repeat(MAX_LOGGED_CHARS + 5);
        assert!(Escaped(&long).to_string().ends_with("…(5 more characters)"));
        assert_eq!(esc(format_args!("a\nb")).to_string(), "a\\nb");
    }

    #[test]
    fn one_line_per_kind_per_window_with_the_rest_counted() {
        let t0 = tokio::time::Instant::now();
        let at = |ms: u64| t0 + std::time::Duration::from_millis(ms);
        let mut l = LogLimiter::new(std::time::Duration::from_secs(10));
        assert_eq!(l.admit("frame", at(0)), Some(0));
        for i in 1..=100 {
            assert_eq!(l.admit("frame", at(i)), None);
        }
        // Another kind has its own window.
        assert_eq!(l.admit("item", at(5)), Some(0));
        assert!(l.flush(at(9_000), false).is_empty());
        assert_eq!(l.flush(at(10_000), false), vec![("frame", 100)]);
        // The aggregate line opened a new window.
        assert_eq!(l.admit("frame", at(11_000)), None);
        assert_eq!(l.admit("frame", at(20_001)), Some(1));
        assert_eq!(l.admit("item", at(20_002)), Some(0));
        assert_eq!(l.admit("item", at(20_003)), None);
        assert_eq!(l.flush(at(20_004), true), vec![("item", 1)]);
    }
}
