//! The report as text: Telegram HTML for the message, plain for the terminal
//! (`vigil report --dry-run`). One writer for both, so they say the same.

use std::fmt::Write;

use app::format::{daily_change, daily_value, duration, number, percent, Digits};

use super::Report;
use crate::state::{AlertRecord, AlertStatus, Label, SOURCE_METRIC, STALE_METRIC};
use crate::telegram::message::escape_html;

/// How the text is marked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Markup {
    /// Telegram HTML: escaped, with bold headings.
    Html,
    /// Plain text for a terminal.
    Plain,
}

impl Markup {
    fn text(self, text: &str) -> String {
        match self {
            Markup::Html => escape_html(text),
            Markup::Plain => text.to_string(),
        }
    }

    fn bold(self, text: &str) -> String {
        match self {
            Markup::Html => format!("<b>{}</b>", escape_html(text)),
            Markup::Plain => text.to_string(),
        }
    }
}

/// The whole report: [`head`] then [`tail`].
pub fn render(report: &Report, markup: Markup) -> String {
    let tail = tail(report, markup);
    if tail.is_empty() {
        return head(report, markup);
    }
    format!("{}\n\n{tail}", head(report, markup))
}

/// The title and every metric's line: what the chart's caption always holds.
pub fn head(report: &Report, markup: Markup) -> String {
    let mut out = markup.bold(&format!("Morning report · {}", report.day.long()));
    if report.late {
        out.push_str(&markup.text(" (late: vigil was down when it was due)"));
    }
    out.push('\n');
    out.push_str(&markup.text("d/d: against the day before · w/w: against a week before"));
    out.push('\n');
    for metric in &report.metrics {
        let value = daily_value(metric.value(), metric.ratio);
        let _ = write!(
            out,
            "\n{}: {}  {} d/d · {} w/w",
            markup.text(&metric.title),
            markup.bold(&value),
            daily_change(metric.day_over_day()),
            daily_change(metric.week_over_week()),
        );
    }
    out
}

/// The day's alerts and the experiments' lines (empty when there are none
/// of the latter and the alerts say "no alerts" in the head's place).
pub fn tail(report: &Report, markup: Markup) -> String {
    let mut out = String::new();
    let count = report.alerts.len() + report.more_alerts;
    if count == 0 {
        out.push_str(&markup.text("No alerts that day."));
    } else {
        out.push_str(&markup.bold(&format!("Alerts ({count})")));
        for alert in &report.alerts {
            out.push('\n');
            out.push_str(&markup.text(&alert_line(report, alert)));
        }
        if report.more_alerts > 0 {
            let _ = write!(
                out,
                "\n{}",
                markup.text(&format!("… and {} more", report.more_alerts))
            );
        }
    }
    if !report.experiments.is_empty() {
        out.push_str("\n\n");
        out.push_str(&markup.bold("Experiments"));
        for line in &report.experiments {
            out.push('\n');
            out.push_str(&markup.text(line));
        }
    }
    out
}

/// `14:15 Feed views · os = Android: 512 (−48.0 %), resolved after 45 min`.
pub fn alert_line(report: &Report, alert: &AlertRecord) -> String {
    let offset = i64::from(report.day.utc_offset_minutes) * 60;
    let clock = chrono::DateTime::from_timestamp(alert.started_at + offset, 0)
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_default();
    let title = match alert.metric.as_str() {
        SOURCE_METRIC => "Data unavailable".to_string(),
        STALE_METRIC => "Data stale".to_string(),
        name => report
            .metrics
            .iter()
            .find(|m| m.name == name)
            .map_or_else(|| name.to_string(), |m| m.title.clone()),
    };
    let mut line = format!("{clock} {title}");
    if let Some(slice) = &alert.slice {
        let _ = write!(line, " · {} = {}", slice.dimension, slice.value);
    }
    if let Some(value) = alert.value.filter(|v| v.is_finite()) {
        let _ = write!(line, ": {}", number(Some(value), Digits::Exact));
        if let Some(deviation) = alert.deviation.filter(|d| d.is_finite()) {
            let _ = write!(line, " ({})", percent(deviation, Digits::Exact));
        }
    }
    match (alert.status, alert.resolved_at) {
        (AlertStatus::Resolved, Some(resolved)) => {
            let _ = write!(
                line,
                ", resolved after {}",
                duration(resolved - alert.started_at)
            );
        }
        _ => line.push_str(", still firing"),
    }
    match alert.label {
        Some(Label::FalseAlarm) => line.push_str(", marked a false alarm"),
        Some(Label::Expected) => line.push_str(", marked expected"),
        None => {}
    }
    line
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::metrics::model::SliceKey;
    use crate::report::{LocalDay, MetricDays};

    fn metric(name: &str, title: &str, ratio: bool, values: [Option<f64>; 8]) -> MetricDays {
        MetricDays {
            name: name.into(),
            title: title.into(),
            ratio,
            values,
        }
    }

    fn report() -> Report {
        let day = LocalDay::new(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(), 180);
        let mut views = [Some(1000.0); 8];
        views[6] = Some(800.0);
        views[0] = Some(1250.0);
        let mut ctr = [Some(0.2); 8];
        ctr[7] = None;
        Report {
            day,
            late: false,
            metrics: vec![
                metric("feed_views", "Feed views <all>", false, views),
                metric("feed_ctr", "Feed CTR", true, ctr),
            ],
            alerts: vec![AlertRecord {
                id: 4,
                metric: "feed_views".into(),
                slice: Some(SliceKey {
                    dimension: "os".into(),
                    value: "Android".into(),
                }),
                started_at: day.start() + 14 * 3600 + 900,
                resolved_at: Some(day.start() + 15 * 3600),
                value: Some(512.0),
                lower: None,
                upper: None,
                expected: None,
                deviation: Some(-0.48),
                detector: "iqr".into(),
                status: AlertStatus::Resolved,
                muted: false,
                label: None,
                label_by: None,
                delivery: "sent".into(),
                withdrawn: None,
            }],
            more_alerts: 0,
            experiments: Vec::new(),
        }
    }

    #[test]
    fn plain_text_reads_each_metric_and_alert_on_a_line() {
        let text = render(&report(), Markup::Plain);
        assert!(
            text.starts_with("Morning report · Sat 5 Dec 2026\n"),
            "{text}"
        );
        assert!(
            text.contains("\nFeed views <all>: 1,000  +25.0 % d/d · −20.0 % w/w"),
            "{text}"
        );
        assert!(text.contains("\nFeed CTR: —  — d/d · — w/w"), "{text}");
        assert!(
            text.contains(
                "Alerts (1)\n14:15 Feed views <all> · os = Android: 512 (−48.0 %), resolved after 45 min"
            ),
            "{text}"
        );
        assert!(!text.contains("Experiments"));
    }

    #[test]
    fn html_escapes_and_says_late_and_lists_experiments() {
        let mut report = report();
        report.late = true;
        report.alerts.clear();
        report.experiments = vec!["exp 2 vs 1: CTR +2.0 %".into()];
        let html = render(&report, Markup::Html);
        assert!(
            html.starts_with("<b>Morning report · Sat 5 Dec 2026</b> (late"),
            "{html}"
        );
        assert!(
            html.contains("Feed views &lt;all&gt;: <b>1,000</b>"),
            "{html}"
        );
        assert!(html.contains("No alerts that day."), "{html}");
        assert!(
            html.ends_with("<b>Experiments</b>\nexp 2 vs 1: CTR +2.0 %"),
            "{html}"
        );
    }
}
