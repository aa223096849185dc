//! How times and numbers read on the metric page (chart axes, lists, figures).

/// `23 Nov 14:15` (UTC).
pub fn format_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%d %b %H:%M").to_string())
        .unwrap_or_default()
}

/// Short value: `12k`, `345`, `0.12`.
pub fn format_value(v: f64) -> String {
    if v.abs() >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v.abs() >= 10.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A relative change: `-23%`, `+5%`.
pub fn format_percent(v: f64) -> String {
    format!("{:+.0}%", v * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(format_time(0), "01 Jan 00:00");
        assert_eq!(format_value(12_345.0), "12k");
        assert_eq!(format_value(0.125), "0.12");
        assert_eq!(format_percent(-0.234), "-23%");
    }
}
