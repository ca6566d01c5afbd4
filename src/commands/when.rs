//! Times on the command line: Unix seconds as UTC text and back, and the
//! `--now` argument the signal commands share.
//!
//! Mesh time is Unix time in whole seconds (see
//! `node_core::signals::SignalConfig::epoch_offset`), so a deadline read
//! here means the same on every node.

use super::{CliError, bad};

/// `--now`: the moment the command judges lifetimes and deadlines at.
#[derive(clap::Args, Debug, Clone, Copy)]
pub(crate) struct NowArg {
    /// Judge lifetimes and deadlines as of this time (Unix seconds, or UTC
    /// such as 2026-12-03T12:00Z) instead of the system clock.
    #[arg(long, value_name = "TIME", value_parser = now_arg)]
    now: Option<u64>,
}

impl NowArg {
    /// The given time, else the system clock (the CLI is a driver: it may
    /// read the clock; node-core never does).
    pub(crate) fn unix_s(self) -> u64 {
        self.now.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
    }
}

/// Parses `--now`: Unix seconds or a UTC date and time.
fn now_arg(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().map_err(|_| format!("'{text}': too large"));
    }
    parse_utc(t).ok_or_else(|| {
        format!("'{text}': expected Unix seconds or a UTC time such as 2026-12-03T12:00Z")
    })
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS][Z]` (a space for `T` too),
/// always UTC, into Unix seconds; `None` if it is not such a time (or is
/// before 1970).
pub(crate) fn parse_utc(text: &str) -> Option<u64> {
    let t = text.trim();
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix('z'))
        .unwrap_or(t);
    let (date, time) = match t.split_once(['T', 't', ' ']) {
        Some((d, tm)) => (d, Some(tm)),
        None => (t, None),
    };
    let mut dp = date.split('-');
    let (y, m, d) = (dp.next()?, dp.next()?, dp.next()?);
    if dp.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let num = |s: &str| -> Option<u32> {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (y, m, d) = (num(y)?, num(m)?, num(d)?);
    let month_days = [
        31,
        28 + u32::from(is_leap(y)),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d == 0 || d > month_days[(m - 1) as usize] {
        return None;
    }
    let secs_of_day = match time {
        None => 0,
        Some(tm) => {
            let mut tp = tm.split(':');
            let (h, mi) = (tp.next()?, tp.next()?);
            let s = tp.next().unwrap_or("00");
            if tp.next().is_some() || h.len() != 2 || mi.len() != 2 || s.len() != 2 {
                return None;
            }
            let (h, mi, s) = (num(h)?, num(mi)?, num(s)?);
            if h > 23 || mi > 59 || s > 59 {
                return None;
            }
            h * 3600 + mi * 60 + s
        }
    };
    let days = days_from_civil(i64::from(y), m, d);
    u64::try_from(days * 86_400 + i64::from(secs_of_day)).ok()
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

/// Unix seconds as `2026-12-03T12:00:00Z`.
pub(crate) fn format_utc(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let s = unix_s % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// A span of seconds, short: `45s`, `12m`, `3h20m`, `2d4h`.
pub(crate) fn format_span(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h{m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d{h}h"),
    }
}

/// Parses a `--deadline` (`flag` names the option in messages): a span
/// from `now_s` (`2h`, `3d`, `1h30m`) or a UTC time (`2026-12-05T18:00Z`),
/// into Unix seconds; in the past or more than `max_s` ahead is bad input.
pub(crate) fn deadline(text: &str, now_s: u64, max_s: u64, flag: &str) -> Result<u64, CliError> {
    let at = match parse_utc(text) {
        Some(at) => at,
        None => {
            let span = node_core::time::parse_duration(text).map_err(|e| {
                bad(format!(
                    "{flag} '{text}': {e}; give a span from now such as 2h or 3d, or a UTC time such as 2026-12-05T18:00Z"
                ))
            })?;
            // Whole seconds: signals count lifetimes in seconds.
            now_s.saturating_add(span.as_micros().div_ceil(1_000_000))
        }
    };
    if at <= now_s {
        return Err(bad(format!(
            "{flag} '{text}': {} is not in the future (now is {})",
            format_utc(at),
            format_utc(now_s)
        )));
    }
    if at - now_s > max_s {
        return Err(bad(format!(
            "{flag} '{text}': {} is {} from now, beyond the longest a signal lives ({})",
            format_utc(at),
            format_span(at - now_s),
            format_span(max_s)
        )));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_round_trips_and_refuses_what_is_not_a_time() {
        assert_eq!(parse_utc("1970-01-01"), Some(0));
        assert_eq!(parse_utc("2000-03-01T00:00Z"), Some(951_868_800));
        let t = parse_utc("2026-12-03T12:30:05Z").unwrap();
        assert_eq!(format_utc(t), "2026-12-03T12:30:05Z");
        assert_eq!(parse_utc("2024-02-29 23:59"), Some(1_709_251_140));
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "2h",
            "",
            "2026-12-03T25:00Z",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn deadlines_are_spans_or_times_in_the_allowed_window() {
        let now = parse_utc("2026-12-03T12:00Z").unwrap();
        let max = 30 * 86_400;
        assert_eq!(deadline("2h", now, max, "--deadline").unwrap(), now + 7200);
        assert_eq!(
            deadline("2026-12-04T12:00Z", now, max, "--deadline").unwrap(),
            now + 86_400
        );
        let past = deadline("2026-12-01", now, max, "--deadline").unwrap_err();
        assert!(past.to_string().contains("not in the future"), "{past}");
        let far = deadline("31d", now, max, "--deadline").unwrap_err();
        assert!(far.to_string().contains("beyond the longest"), "{far}");
        let junk = deadline("soon", now, max, "--deadline").unwrap_err();
        assert!(junk.to_string().contains("--deadline 'soon'"), "{junk}");
    }
}
