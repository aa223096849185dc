//! A seasonal detector's period as users write it: a number of points or a
//! duration (`90m`, `6h`, `1d`, `1w`). `vigil detect --period` and the
//! config's `[detectors]` entries share this parser, so both accept the same
//! spellings.

/// Points in `arg` for a series of `step`-second buckets: a number of points,
/// or a duration (`s`, `m`/`min`, `h`, `d`, `w` suffix) that is a whole number
/// of steps. The error is the reason, starting with the argument.
pub fn period_points(arg: &str, step: i64) -> Result<usize, String> {
    let arg = arg.trim();
    if let Ok(points) = arg.parse::<usize>() {
        return Ok(points);
    }
    let split = arg
        .find(|c: char| !c.is_ascii_digit())
        .filter(|&i| i > 0)
        .ok_or_else(|| {
            format!("{arg:?}: expected a number of points or a duration like 6h, 1d, 1w")
        })?;
    let (count, unit) = arg.split_at(split);
    let unit_seconds: i64 = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "{arg:?}: unknown unit {unit:?} (expected s, m, h, d or w)"
            ))
        }
    };
    let seconds = count
        .parse::<i64>()
        .ok()
        .and_then(|c| c.checked_mul(unit_seconds))
        .ok_or_else(|| format!("{arg:?} is too long"))?;
    if step <= 0 || seconds % step != 0 {
        return Err(format!(
            "{arg} ({seconds} s) is not a whole number of the series' {step}-second steps"
        ));
    }
    usize::try_from(seconds / step).map_err(|_| format!("{arg:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_and_durations() {
        assert_eq!(period_points("96", 900), Ok(96));
        assert_eq!(period_points("1d", 900), Ok(96));
        assert_eq!(period_points("1w", 900), Ok(672));
        assert_eq!(period_points("90m", 900), Ok(6));
        assert!(period_points("7m", 900)
            .unwrap_err()
            .contains("whole number"));
        assert!(period_points("1y", 900)
            .unwrap_err()
            .contains("unknown unit"));
        assert!(period_points("d", 900).is_err());
        assert!(period_points("99999999999999999999w", 900).is_err());
    }
}
