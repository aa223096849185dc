//! Times as users type and read them on the command line: every command that
//! takes `--from`, `--at` or `--now`, and everything that prints a bucket time.

use anyhow::{bail, Context};

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn format_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|time| time.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| unix.to_string())
}

/// Parse a point in time (UTC): `now`, `now-<N>m|h|d`, unix seconds, RFC 3339,
/// `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DD`. `now` is the current unix time.
pub fn parse_time(text: &str, now: i64) -> anyhow::Result<i64> {
    let text = text.trim();
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
