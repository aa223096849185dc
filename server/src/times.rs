//! Times as users type and read them on the command line: every command that
//! takes `--from`, `--at` or `--now`, and everything that prints a bucket time.

use anyhow::{bail, Context};

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn format_time(unix: i64) -> String {
    app::format::time(unix, app::format::When::Seconds)
}

/// The earliest accepted instant: 1970-01-01 00:00:00 UTC.
pub const MIN_TIME: i64 = 0;
/// The latest accepted instant: 9999-12-31 23:59:59 UTC. Every time the
/// commands take stays in this range, so bucket arithmetic on it (a few days
/// or weeks either side) cannot overflow an i64.
pub const MAX_TIME: i64 = 253_402_300_799;

/// Parse a point in time (UTC): `now`, `now-<N>m|h|d`, unix seconds, RFC 3339,
/// `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DD`. `now` is the current unix time.
/// The result is always within [`MIN_TIME`]..=[`MAX_TIME`].
pub fn parse_time(text: &str, now: i64) -> anyhow::Result<i64> {
    let unix = parse_unbounded(text.trim(), now)?;
    check_in_range(unix)
}

/// `unix` if it lies in 1970-01-01..=9999-12-31, else an error saying the
/// range (and that the number looks like milliseconds, when it does).
pub fn check_in_range(unix: i64) -> anyhow::Result<i64> {
    if (MIN_TIME..=MAX_TIME).contains(&unix) {
        return Ok(unix);
    }
    let range = format!(
        "{} is outside the supported range {} ({MIN_TIME}) to {} ({MAX_TIME}) UTC",
        unix,
        format_time(MIN_TIME),
        format_time(MAX_TIME)
    );
    // Unix milliseconds of any date since 2001-09-09 have 13 digits; seconds
    // just past 9999 are not taken for milliseconds.
    let seconds = unix / 1000;
    if unix >= 1_000_000_000_000 && (MIN_TIME..=MAX_TIME).contains(&seconds) {
        bail!(
            "{range}; it looks like milliseconds: unix seconds would be {seconds} ({})",
            format_time(seconds)
        );
    }
    bail!("{range}")
}

fn parse_unbounded(text: &str, now: i64) -> anyhow::Result<i64> {
    if let Some(rest) = text.strip_prefix("now") {
        return parse_relative(text, rest, now);
    }
    if let Ok(unix) = text.parse::<i64>() {
        return Ok(unix);
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp());
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(time) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(time.and_utc().timestamp());
        }
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(time) = date.and_hms_opt(0, 0, 0) {
            return Ok(time.and_utc().timestamp());
        }
    }
    bail!("not a time: use `YYYY-MM-DD HH:MM:SS` (UTC), `YYYY-MM-DD`, RFC 3339, unix seconds or now-6h")
}

/// `now` or `now-<N><unit>`; `rest` is what follows "now".
fn parse_relative(text: &str, rest: &str, now: i64) -> anyhow::Result<i64> {
    if rest.is_empty() {
        return Ok(now);
    }
    let Some(amount) = rest.strip_prefix('-') else {
        bail!("expected now or now-<N>m|h|d, e.g. now-6h");
    };
    // Split off the last character, not the last byte: the unit may be any text.
    let Some((unit_at, unit)) = amount.char_indices().last() else {
        bail!("expected now-<N>m|h|d, e.g. now-6h, got {text:?}");
    };
    let number: i64 = amount[..unit_at]
        .parse()
        .with_context(|| format!("expected now-<N>m|h|d, e.g. now-6h, got {text:?}"))?;
    let seconds = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => bail!("unknown unit {unit:?}: use m, h or d"),
    };
    number
        .checked_mul(seconds)
        .and_then(|back| now.checked_sub(back))
        .with_context(|| format!("{text:?} is too far from now"))
}

/// The one clock: the current unix time in seconds. Everything that asks
/// "what time is it" asks here, so a test or a replay has one place to look.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_format() {
        let now = 1_704_067_200;
        assert_eq!(parse_time("now", now).unwrap(), now);
        assert_eq!(parse_time("now-6h", now).unwrap(), now - 6 * 3600);
        assert_eq!(parse_time("2024-01-01 00:00:00", now).unwrap(), now);
        assert_eq!(parse_time("2024-01-01", now).unwrap(), now);
        assert_eq!(parse_time("2024-01-01T03:00:00+03:00", now).unwrap(), now);
        assert_eq!(parse_time("1704067200", now).unwrap(), now);
        assert!(parse_time("yesterday", now).is_err());
        assert!(parse_time("now-6y", now).is_err());
        assert_eq!(format_time(now + 900), "2024-01-01 00:15:00");
    }

    #[test]
    fn times_outside_1970_to_9999_are_errors() {
        let now = 1_704_067_200;
        assert_eq!(parse_time("0", now).unwrap(), 0);
        assert_eq!(parse_time("9999-12-31 23:59:59", now).unwrap(), MAX_TIME);
        assert_eq!(format_time(MAX_TIME), "9999-12-31 23:59:59");
        for text in [
            "9223372036854775807",
            "-9223372036854775808",
            "-1",
            "253402300800",
            "now-19724d",
        ] {
            let error = parse_time(text, now).unwrap_err().to_string();
            assert!(
                error.contains("outside the supported range"),
                "{text}: {error}"
            );
            assert!(error.contains("9999-12-31 23:59:59"), "{text}: {error}");
            assert!(!error.contains("milliseconds"), "{text}: {error}");
        }
        let error = parse_time("1796000000000", now).unwrap_err().to_string();
        assert!(error.contains("looks like milliseconds"), "{error}");
        assert!(error.contains("1796000000"), "{error}");
    }

    #[test]
    fn hostile_relative_times_are_errors_not_panics() {
        let now = 1_704_067_200;
        assert!(parse_time("now-5ч", now).is_err(), "multibyte unit");
        assert!(parse_time("now-ч", now).is_err());
        assert!(parse_time("now-", now).is_err());
        assert!(
            parse_time("now-99999999999999999d", now).is_err(),
            "overflow"
        );
        assert!(
            parse_time(&format!("now-{}d", i64::MAX), now).is_err(),
            "overflow"
        );
        assert!(parse_time("now+6h", now).is_err());
    }
}
