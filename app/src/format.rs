//! How vigil writes numbers and times for people: the pages and the Telegram
//! messages (the server uses this module too), so a value reads the same
//! wherever it is shown. Each place picks a style; the rules live only here.

use detect::alerting::{Measure, Notify};

/// How many digits a number shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digits {
    /// Chart axes and lab lists, short: `12k`, `345`, `0.12`; `-23%`.
    Short,
    /// Tables and cards: whole from 100, two decimals from 1, four below;
    /// `–` for none; `+5.3%`.
    Table,
    /// Messages: integers exactly, then `123.4`, `1.23`, `0.0123`; `—` for
    /// none (or not finite); `−17.7 %` with a true minus sign.
    Exact,
}

/// A replayed notification in words (the lab's and the experiment page's
/// replays).
pub fn notify_words(notify: &Notify) -> &'static str {
    match notify {
        Notify::Opened => "alert",
        Notify::Repeat { .. } => "still firing",
        Notify::Resolved { .. } => "resolved",
        Notify::Reopened { .. } => "firing again",
    }
}

/// A metric value in the given style.
pub fn number(value: Option<f64>, digits: Digits) -> String {
    match (digits, value) {
        (Digits::Short, None) => String::new(),
        (Digits::Short, Some(v)) if v.abs() >= 10_000.0 => format!("{:.0}k", v / 1000.0),
        (Digits::Short, Some(v)) if v.abs() >= 10.0 || v == v.trunc() => format!("{v:.0}"),
        (Digits::Short, Some(v)) => format!("{v:.2}"),
        (Digits::Table, None) => "–".into(),
        (Digits::Table, Some(v)) if v.abs() >= 100.0 => format!("{v:.0}"),
        (Digits::Table, Some(v)) if v.abs() >= 1.0 => format!("{v:.2}"),
        (Digits::Table, Some(v)) => format!("{v:.4}"),
        (Digits::Exact, Some(v)) if v.is_finite() => {
            let a = v.abs();
            if v.fract() == 0.0 && a < 1e15 {
                format!("{v:.0}")
            } else if a >= 100.0 {
                format!("{v:.1}")
            } else if a >= 1.0 {
                format!("{v:.2}")
            } else {
                format!("{v:.4}")
            }
        }
        (Digits::Exact, _) => "—".to_string(),
    }
}

/// What a metric's values are, so they are written and bounded as such.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    /// Events or distinct values per bucket: whole and never negative.
    Count,
    /// One count over another: never negative, and at most 1 when it is a
    /// share of the same events (CTR).
    Ratio { share: bool },
}

impl Quantity {
    /// What a metric's values are: its measure as the server says it (a
    /// count, or one count over another); whole values read as a count when
    /// the measure is not known. A ratio whose `values` all lie within 0 and
    /// 1 is a share (CTR), bounded by one. The overview, the lab and
    /// `/alerts` all decide it here.
    pub fn of(measure: Option<Measure>, values: impl Iterator<Item = f64> + Clone) -> Quantity {
        let whole = values.clone().all(|v| v.fract() == 0.0);
        match measure {
            Some(Measure::Count) => Quantity::Count,
            None if whole => Quantity::Count,
            _ => Quantity::Ratio {
                share: values.into_iter().all(|v| (0.0..=1.0).contains(&v)),
            },
        }
    }

    /// `value` moved into the range the quantity can take (a band edge of
    /// -3.7 likes is 0 likes).
    pub fn clamp(self, value: f64) -> f64 {
        match self {
            Quantity::Ratio { share: true } => value.clamp(0.0, 1.0),
            _ => value.max(0.0),
        }
    }
}

/// A value of `quantity` in the given style: counts whole (`27`, never
/// `27.00`), ratios with the style's decimals.
pub fn amount(value: Option<f64>, quantity: Quantity, digits: Digits) -> String {
    match (quantity, value) {
        (Quantity::Count, Some(v)) if v.is_finite() && v.abs() < 10_000.0 => {
            format!("{:.0}", v.round())
        }
        (Quantity::Count, Some(v)) => number(Some(v.round()), digits),
        _ => number(value, digits),
    }
}

/// A value of `quantity` for a card, and its unit: a share as a percentage
/// (`4.12`, `%`), a count whole (`27`), another ratio as [`Digits::Table`]
/// writes it; `–` for none.
pub fn figure(value: Option<f64>, quantity: Quantity) -> (String, &'static str) {
    match (quantity, value) {
        (Quantity::Ratio { share: true }, Some(v)) if v.is_finite() => {
            (format!("{:.2}", v * 100.0), "%")
        }
        _ => (amount(value, quantity, Digits::Table), ""),
    }
}

/// A value of `quantity` with its unit, as the pages write one in text:
/// the overview's cards, `/alerts`, the lab's stored alert, what-if and
/// chart tip (`4.12%`, `27`, `1.50`; `–` for none).
pub fn shown(value: Option<f64>, quantity: Quantity) -> String {
    let (text, unit) = figure(value, quantity);
    format!("{text}{unit}")
}

/// A band of `quantity` as the pages write it (`20 – 65`, `3.10% – 5.20%`),
/// each edge moved into what the quantity can take (a count is never banded
/// below zero); `–` without a band.
pub fn band(lower: Option<f64>, upper: Option<f64>, quantity: Quantity) -> String {
    match (lower, upper) {
        (None, None) => "–".to_string(),
        (lower, upper) => {
            let edge = |v: Option<f64>| shown(v.map(|v| quantity.clamp(v)), quantity);
            format!("{} – {}", edge(lower), edge(upper))
        }
    }
}

/// An axis tick `value` on a scale whose ticks are `step` apart, with just
/// the decimals that tell neighbouring ticks apart (`0.05`, `0.1`, `500`, `12k`).
pub fn tick(value: f64, step: f64) -> String {
    if step >= 1.0 || !step.is_finite() || step <= 0.0 {
        return number(Some(value.round()), Digits::Short);
    }
    // Rounding must not write the zero tick as `-0.00`.
    let value = if value.abs() < step / 2.0 { 0.0 } else { value };
    let decimals = (-step.log10().floor()).clamp(0.0, 9.0) as usize;
    format!("{value:.decimals$}")
}

/// An axis tick of `quantity`: a share in percent, as its tooltip and card
/// write it (`4.5%`, ticks `step` apart), anything else as [`tick`] does.
pub fn quantity_tick(value: f64, step: f64, quantity: Quantity) -> String {
    match quantity {
        Quantity::Ratio { share: true } => format!("{}%", tick(value * 100.0, step * 100.0)),
        _ => tick(value, step),
    }
}

/// A day's total as the morning report writes it (page and message): a share
/// in percent (`18.20 %`), a count with its thousands grouped (`66,692`), so
/// a column of them reads at a glance.
pub fn daily_value(value: Option<f64>, share: bool) -> String {
    match value {
        Some(v) if share && v.is_finite() => format!("{:.2} %", v * 100.0),
        Some(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 => grouped(v as i64),
        value => number(value, Digits::Exact),
    }
}

/// A day's change against another day as the morning report writes it
/// (`+1.2 %`, `−6.6 %`; `—` when there is nothing to compare with).
pub fn daily_change(change: Option<f64>) -> String {
    change.map_or_else(|| "—".to_string(), |c| percent(c, Digits::Exact))
}

/// A whole number with commas between its thousands (`-1,234,567`).
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A p-value as people read one: three decimals down to 0.001 (`0.042`,
/// `1.000`), below that in scientific notation (`1.2e-5`).
pub fn p_value(p: f64) -> String {
    if p >= 0.001 || p == 0.0 || !p.is_finite() {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

/// A relative change (`-0.177` is 17.7% below) as a signed percentage.
pub fn percent(ratio: f64, digits: Digits) -> String {
    let p = ratio * 100.0;
    match digits {
        Digits::Short => format!("{p:+.0}%"),
        Digits::Table => format!("{p:+.1}%"),
        Digits::Exact if p < 0.0 => format!("−{:.1} %", -p),
        Digits::Exact => format!("+{p:.1} %"),
    }
}

/// Which parts of an instant are shown. Every style reads in UTC unless
/// given an offset ([`local_time`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// `23 Nov 14:15`: lab lists.
    Axis,
    /// `23 Nov`: a chart axis tick at midnight or a day apart.
    Date,
    /// `14:00`: a chart axis tick within a day.
    Hour,
    /// `2026-11-23 14:15`: what the label form reads and writes.
    Input,
    /// `2026-11-23 14:15 UTC`: tables and messages.
    Minute,
    /// `11-23 18:15 UTC`: a card's recent alert.
    Day,
    /// `18:15 UTC`: the time of today's check.
    Clock,
    /// `2025-11-23T18:15:00Z`: a `<time datetime>` attribute.
    Iso,
    /// `2026-11-23 14:15:00`: what the command line prints and reads.
    Seconds,
}

impl When {
    fn pattern(self) -> &'static str {
        match self {
            When::Axis => "%d %b %H:%M",
            When::Date => "%d %b",
            When::Hour => "%H:%M",
            When::Input => "%Y-%m-%d %H:%M",
            When::Minute => "%Y-%m-%d %H:%M UTC",
            When::Day => "%m-%d %H:%M UTC",
            When::Clock => "%H:%M UTC",
            When::Iso => "%Y-%m-%dT%H:%M:%SZ",
            When::Seconds => "%Y-%m-%d %H:%M:%S",
        }
    }
}

/// `unix` seconds in UTC; the bare number when it is beyond any calendar.
pub fn time(unix: i64, when: When) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format(when.pattern()).to_string())
        .unwrap_or_else(|| unix.to_string())
}

/// `2026-11-23 14:15 UTC+03:00`: [`When::Minute`] in a fixed offset from UTC
/// (the Telegram messages' `utc_offset_minutes`); plain `UTC` at zero.
pub fn local_time(unix: i64, utc_offset_minutes: i32) -> String {
    use chrono::FixedOffset;
    let offset = FixedOffset::east_opt(utc_offset_minutes.saturating_mul(60))
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset is valid"));
    let Some(utc) = chrono::DateTime::from_timestamp(unix, 0) else {
        return format!("@{unix}");
    };
    let local = utc.with_timezone(&offset);
    let secs = offset.local_minus_utc();
    if secs == 0 {
        return local.format(When::Minute.pattern()).to_string();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let m = secs.unsigned_abs() / 60;
    format!(
        "{}{sign}{:02}:{:02}",
        local.format(When::Minute.pattern()),
        m / 60,
        m % 60
    )
}

/// A span of time: `45 min`, `2 h 05 min`, `3 d 4 h`.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let minutes = secs / 60;
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else {
        format!("{m} min")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers_and_axis_times() {
        assert_eq!(time(0, When::Axis), "01 Jan 00:00");
        assert_eq!(number(Some(12_345.0), Digits::Short), "12k");
        assert_eq!(number(Some(0.125), Digits::Short), "0.12");
        assert_eq!(percent(-0.234, Digits::Short), "-23%");
    }

    #[test]
    fn the_reports_totals_group_their_thousands() {
        assert_eq!(daily_value(Some(66_692.0), false), "66,692");
        assert_eq!(daily_value(Some(1_234_567.0), false), "1,234,567");
        assert_eq!(daily_value(Some(-1_000.0), false), "-1,000");
        assert_eq!(daily_value(Some(834.0), false), "834");
        assert_eq!(daily_value(Some(0.182), true), "18.20 %");
        assert_eq!(daily_value(Some(12.5), false), "12.50");
        assert_eq!(daily_value(None, true), "—");
        assert_eq!(daily_change(Some(-0.066)), "−6.6 %");
        assert_eq!(daily_change(None), "—");
    }

    #[test]
    fn counts_are_whole_and_never_below_zero() {
        let count = Quantity::Count;
        let ctr = Quantity::Ratio { share: true };
        assert_eq!(amount(Some(27.0), count, Digits::Table), "27");
        assert_eq!(amount(Some(86.33), count, Digits::Short), "86");
        assert_eq!(amount(Some(3.5), count, Digits::Short), "4");
        assert_eq!(amount(Some(12_345.0), count, Digits::Short), "12k");
        assert_eq!(amount(None, count, Digits::Table), "–");
        assert_eq!(amount(Some(0.0412), ctr, Digits::Table), "0.0412");
        assert_eq!(figure(Some(0.0412), ctr), ("4.12".into(), "%"));
        assert_eq!(figure(Some(27.0), count), ("27".into(), ""));
        assert_eq!(figure(None, ctr), ("–".into(), ""));
        assert_eq!(
            figure(Some(1.5), Quantity::Ratio { share: false }),
            ("1.50".into(), "")
        );
        assert_eq!(count.clamp(-3.67), 0.0);
        assert_eq!(ctr.clamp(1.2), 1.0);
        assert_eq!(Quantity::Ratio { share: false }.clamp(1.2), 1.2);
        assert_eq!(tick(0.1, 0.05), "0.10");
        assert_eq!(tick(0.0, 0.02), "0.00");
        assert_eq!(tick(500.0, 100.0), "500");
        assert_eq!(tick(20_000.0, 5_000.0), "20k");
        // A share's ticks read as its tooltip does: in percent.
        let share = Quantity::Ratio { share: true };
        assert_eq!(quantity_tick(0.045, 0.005, share), "4.5%");
        assert_eq!(quantity_tick(0.04, 0.01, share), "4%");
        assert_eq!(quantity_tick(0.0, 0.02, share), "0%");
        assert_eq!(
            quantity_tick(1.5, 0.5, Quantity::Ratio { share: false }),
            "1.5"
        );
        assert_eq!(quantity_tick(500.0, 100.0, Quantity::Count), "500");
        assert_eq!(p_value(1.0), "1.000");
        assert_eq!(p_value(0.0421), "0.042");
        assert_eq!(p_value(0.000_011_4), "1.1e-5");
        assert_eq!(time(0, When::Date), "01 Jan");
        assert_eq!(time(3600, When::Hour), "01:00");
    }

    #[test]
    fn a_metric_is_written_by_its_kind_wherever_it_is_shown() {
        let ctr = Quantity::of(Some(Measure::Ratio), [0.0, 0.05, 1.0].into_iter());
        assert_eq!(ctr, Quantity::Ratio { share: true });
        // A CTR of exactly 0 or 1 is a share, not a count.
        assert_eq!(shown(Some(0.0), ctr), "0.00%");
        assert_eq!(shown(Some(1.0), ctr), "100.00%");
        assert_eq!(band(Some(-0.01), Some(1.2), ctr), "0.00% – 100.00%");
        let views = Quantity::of(Some(Measure::Count), [12.5].into_iter());
        assert_eq!(views, Quantity::Count);
        assert_eq!(shown(Some(27.0), views), "27");
        assert_eq!(band(Some(-3.67), Some(86.33), views), "0 – 86");
        assert_eq!(band(None, None, views), "–");
        assert_eq!(shown(None, views), "–");
        // Without the measure, whole values read as a count.
        assert_eq!(Quantity::of(None, [3.0, 4.0].into_iter()), Quantity::Count);
        let other = Quantity::of(Some(Measure::Ratio), [1.5, 2.0].into_iter());
        assert_eq!(other, Quantity::Ratio { share: false });
        assert_eq!(shown(Some(2.0), other), "2.00");
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(time(1_763_921_700, When::Clock), "18:15 UTC");
        assert_eq!(time(1_763_921_700, When::Day), "11-23 18:15 UTC");
        assert_eq!(time(1_763_921_700, When::Iso), "2025-11-23T18:15:00Z");
        assert_eq!(time(1_763_921_700, When::Minute), "2025-11-23 18:15 UTC");
        assert_eq!(time(1_763_921_700, When::Input), "2025-11-23 18:15");
        assert_eq!(local_time(1_763_921_700, 0), "2025-11-23 18:15 UTC");
        assert_eq!(local_time(1_763_921_700, 180), "2025-11-23 21:15 UTC+03:00");
        assert_eq!(local_time(1_763_921_700, -90), "2025-11-23 16:45 UTC-01:30");
    }

    #[test]
    fn table_numbers_keep_sensible_digits() {
        assert_eq!(number(None, Digits::Table), "–");
        assert_eq!(number(Some(12_345.6), Digits::Table), "12346");
        assert_eq!(number(Some(0.04567), Digits::Table), "0.0457");
        assert_eq!(percent(0.0534, Digits::Table), "+5.3%");
    }

    #[test]
    fn exact_numbers_for_messages() {
        assert_eq!(number(Some(1200.0), Digits::Exact), "1200");
        assert_eq!(number(Some(123.45), Digits::Exact), "123.5");
        assert_eq!(number(Some(0.01234), Digits::Exact), "0.0123");
        assert_eq!(number(Some(f64::NAN), Digits::Exact), "—");
        assert_eq!(percent(-0.177, Digits::Exact), "−17.7 %");
        assert_eq!(percent(0.05, Digits::Exact), "+5.0 %");
        assert_eq!(duration(45 * 60), "45 min");
        assert_eq!(duration(125 * 60), "2 h 05 min");
        assert_eq!(duration(76 * 3600), "3 d 4 h");
    }
}
