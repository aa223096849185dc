//! What a queued notification looks like: its message (from the stored
//! payload and the config) and its chart (read from the source, banded by the
//! metric's detector, like the check that raised it).

use detect::Series;

use crate::alerts::Notify;
use crate::chart_png::ChartInput;
use crate::check::plan::{self, CHART_BUCKETS};
use crate::check::{grid_values, Watermarks};
use crate::config::{AlertingConfig, LinkAlert};
use crate::metrics::model::{MetricDef, SliceKey, BUCKET_SECONDS};
use crate::sources::{Source, SourceError};
use crate::state::{AlertRecord, AlertStatus, NotificationPayload, SOURCE_METRIC, STALE_METRIC};
use crate::telegram::message::{escape_html, AlertMessage, AlertState, GroupLine, MessageExtras};

/// Where links in messages point.
#[derive(Clone, Debug)]
pub struct Links {
    /// Base URL of vigil's pages, without a trailing slash.
    pub base_url: String,
}

impl Links {
    /// vigil's page for a metric, or the alert's slice of it, at the alert's bucket.
    pub fn metric_page(&self, metric: &str, slice: Option<&SliceKey>, bucket: i64) -> String {
        let slice = slice.map(|s| format!("{}={}", s.dimension, s.value));
        let path = app::routes::metric_page(metric, slice.as_deref(), Some(bucket));
        format!("{}{path}", self.base_url)
    }

    /// vigil's page for an experiment. The group watch is no declared
    /// experiment and has no page of its own: its alerts link to the list,
    /// which shows the experiments that hold the other groups.
    pub fn experiment_page(&self, name: &str) -> String {
        if name == crate::config::group_watch::NAME {
            return format!("{}/experiments", self.base_url);
        }
        format!("{}{}", self.base_url, app::routes::experiment_page(name))
    }
}

/// The message of one alert from its payload. `state` is how it stands now.
pub fn alert_message(
    payload: &NotificationPayload,
    metric: Option<&MetricDef>,
    alerting: &AlertingConfig,
    links: &Links,
    state: AlertState,
) -> AlertMessage {
    AlertMessage {
        metric_name: payload.metric.clone(),
        metric_title: metric.map_or_else(|| payload.metric.clone(), |m| m.title.clone()),
        slice: payload.slice.clone(),
        bucket: payload.bucket,
        utc_offset_minutes: alerting.utc_offset_minutes,
        value: payload.value,
        expected: payload.expected,
        lower: payload.lower,
        upper: payload.upper,
        deviation: payload.deviation,
        vs_yesterday: payload.context.vs_yesterday,
        vs_week_ago: payload.context.vs_week_ago,
        detector: payload.detector.clone(),
        page_url: links.metric_page(&payload.metric, payload.slice.as_ref(), payload.bucket),
        dashboards: alerting.links_for(&LinkAlert::around(
            &payload.metric,
            payload.slice.as_ref(),
            payload.started_at,
            payload.bucket,
        )),
        state,
        extra: MessageExtras {
            late: payload.context.late,
            drilldown: payload.context.drilldown.clone(),
            held_back_unlisted: payload.context.held_back_unlisted,
            caused_by: payload.context.caused_by.clone(),
            why: payload.context.why.clone(),
            group: Vec::new(),
        },
    }
}

/// The state a payload announces.
pub fn state_of(payload: &NotificationPayload) -> AlertState {
    match payload.notify {
        Notify::Opened => AlertState::Firing {
            for_secs: payload.bucket - payload.started_at + BUCKET_SECONDS,
        },
        Notify::Repeat { firing_secs } => AlertState::Firing {
            for_secs: firing_secs,
        },
        // A withdrawal (late rows put its bucket in band) says so instead.
        Notify::Resolved { lasted_secs } => match &payload.notice {
            Some(note) => AlertState::Withdrawn { note: note.clone() },
            None => AlertState::Resolved { lasted_secs },
        },
        // Firing again: since its first bucket, the calm spell included.
        Notify::Reopened { .. } => AlertState::Firing {
            for_secs: payload.bucket - payload.started_at + BUCKET_SECONDS,
        },
    }
}

/// The state an alert record is in now (for rewriting a message). A
/// withdrawn one says why, as its own edit did.
pub fn state_of_record(record: &AlertRecord) -> AlertState {
    if let Some(note) = &record.withdrawn {
        return AlertState::Withdrawn { note: note.clone() };
    }
    match (record.status, record.resolved_at) {
        (AlertStatus::Resolved, Some(resolved)) => AlertState::Resolved {
            lasted_secs: resolved - record.started_at,
        },
        _ => AlertState::Firing {
            for_secs: BUCKET_SECONDS,
        },
    }
}

/// One line for another alert of the same message.
pub fn group_line(
    payload: &NotificationPayload,
    metric: Option<&MetricDef>,
    resolved: bool,
) -> GroupLine {
    GroupLine {
        metric_title: metric.map_or_else(|| payload.metric.clone(), |m| m.title.clone()),
        slice: payload.slice.clone(),
        value: payload.value,
        deviation: payload.deviation,
        caused_by: payload.context.caused_by.clone(),
        resolved,
    }
}

/// The text of a notice about vigil's data: the source cannot be read, or
/// one table stopped receiving events ("data stale").
pub fn notice_text(payload: &NotificationPayload, source: &str) -> String {
    let reason = escape_html(payload.notice.as_deref().unwrap_or("unknown reason"));
    let source = escape_html(source);
    if payload.metric == STALE_METRIC {
        let table = escape_html(payload.slice.as_ref().map_or("a table", |s| &s.value));
        return match payload.notify {
            Notify::Resolved { lasted_secs } => format!(
                "✅ <b>Data fresh again</b>\n{table} receives events again after {}.\nIts metrics are checked again.",
                app::format::duration(lasted_secs)
            ),
            _ => format!(
                "⚠️ <b>Data stale</b>: {table}\n{reason}.\nvigil reads {source}, but no new events arrive in {table}: its metrics are not checked (rather than read as a drop) until it catches up."
            ),
        };
    }
    match payload.notify {
        Notify::Resolved { lasted_secs } => format!(
            "✅ <b>Data available again</b>\nvigil reads {source} again after {}.\nChecks resume; missed buckets are evaluated late.",
            app::format::duration(lasted_secs)
        ),
        _ => format!(
            "⚠️ <b>Data unavailable</b>\nvigil cannot read {source}: {reason}\nNo metric is checked until it answers; vigil keeps retrying."
        ),
    }
}

/// Whether a payload is a notice about vigil's data rather than a metric alert.
pub fn is_notice(payload: &NotificationPayload) -> bool {
    payload.metric == SOURCE_METRIC || payload.metric == STALE_METRIC
}

/// Whether a payload is an experiment's alert (a divergence or a sample
/// ratio mismatch) rather than a metric's.
pub fn is_experiment(payload: &NotificationPayload) -> bool {
    payload.context.experiment.is_some()
}

/// The Telegram text of an experiment alert (HTML): which experiment, which
/// groups, the effect with its interval (or the users against the split),
/// how it stands, and a link to the experiment's page.
pub fn experiment_text(
    payload: &NotificationPayload,
    utc_offset_minutes: i32,
    links: &Links,
) -> String {
    let Some(finding) = &payload.context.experiment else {
        return escape_html(&payload.metric);
    };
    let name = escape_html(&finding.experiment);
    let users = finding
        .users
        .iter()
        .map(|(arm, observed, expected)| {
            format!("{} {observed} (split: {expected:.0})", escape_html(arm))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let resolved = matches!(payload.notify, Notify::Resolved { .. });
    let state = match state_of(payload) {
        AlertState::Resolved { lasted_secs } => {
            format!("Resolved after {}.", app::format::duration(lasted_secs))
        }
        AlertState::Firing { for_secs } => {
            format!("Firing for {}.", app::format::duration(for_secs))
        }
        AlertState::Withdrawn { note } => format!("{}.", escape_html(&note)),
    };
    let page = crate::telegram::message::link(
        "Open in vigil",
        &links.experiment_page(&finding.experiment),
    );
    let text = match &finding.effect {
        Some(effect) => {
            let sentence = escape_html(&effect.sentence(finding.since, utc_offset_minutes));
            let (icon, verdict) = if resolved {
                ("✅", "no longer diverges")
            } else {
                ("🧪", "diverges")
            };
            format!(
                "{icon} <b>Experiment {name}</b>: {} {verdict}\n{sentence}.\n\
                 Always-valid p = {} (mSPRT, checked every 15 min). Users: {users}.\n{state}",
                escape_html(&effect.metric_title),
                app::format::p_value(effect.p_value),
            )
        }
        None if resolved => format!(
            "✅ <b>Experiment {name}</b>: group sizes match the split again\nUsers: {users}.\n{state}"
        ),
        None => format!(
            "⚠️ <b>Experiment {name}: sample ratio mismatch</b>\nThe comparison is invalid: \
             users per group do not match the configured split (sequential p = {}). \
             Users: {users}.\nAssignment or logging is broken; no effect of this experiment \
             can be trusted until it is fixed.\n{state}",
            app::format::p_value(finding.srm_p_value),
        ),
    };
    format!("{text}\n{page}")
}

/// The chart of an alert: the last 24 hours up to its bucket with the band the
/// detector computes, yesterday's values and the alert's point marked.
pub async fn chart_input(
    source: &Source,
    metric: &MetricDef,
    payload: &NotificationPayload,
    detector: &detect::Ensemble,
    utc_offset_minutes: i32,
) -> Result<ChartInput, SourceError> {
    let range = plan::chart_range(payload.bucket, detector.lookback());
    let data = source.series(metric, range, payload.slice.as_ref()).await?;
    let watermark = Watermarks::read(source).await?.for_metric(metric);
    let values = grid_values(metric, range, watermark, &data);
    let n = values.len();
    let start = n.saturating_sub(CHART_BUCKETS);
    let detection = Series::new(range.from, BUCKET_SECONDS, values.clone())
        .ok()
        .and_then(|series| {
            let mut detection = detect::Detection::new();
            detector.run_into(&series, &mut detection).ok()?;
            Some(detection)
        });
    let band = |pick: fn(&detect::Point) -> Option<f64>| -> Vec<Option<f64>> {
        (start..n)
            .map(|i| detection.as_ref().and_then(|d| pick(&d.point(i))))
            .collect()
    };
    let title = match &payload.slice {
        Some(slice) => format!("{} · {} = {}", metric.title, slice.dimension, slice.value),
        None => metric.title.clone(),
    };
    Ok(ChartInput {
        title,
        start: range.from + start as i64 * BUCKET_SECONDS,
        step: BUCKET_SECONDS,
        values: values[start..].to_vec(),
        lower: band(|p| p.lower),
        upper: band(|p| p.upper),
        yesterday: (start..n)
            .map(|i| i.checked_sub(CHART_BUCKETS).and_then(|k| values[k]))
            .collect(),
        marked: (n - start).checked_sub(1),
        utc_offset_minutes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::ExperimentEffect;
    use crate::telegram::message::format_alert;

    #[test]
    fn a_payload_becomes_its_message() {
        let payload = NotificationPayload {
            alert_id: 1,
            notify: Notify::Opened,
            metric: "ctr".into(),
            slice: None,
            bucket: 1_763_900_100,
            started_at: 1_763_900_100,
            value: Some(0.031),
            lower: Some(0.038),
            upper: Some(0.046),
            expected: Some(0.042),
            deviation: Some(-0.26),
            detector: "iqr".into(),
            context: Default::default(),
            notice: None,
        };
        let links = Links {
            base_url: "http://v".into(),
        };
        let a = alert_message(
            &payload,
            None,
            &AlertingConfig::default(),
            &links,
            state_of(&payload),
        );
        assert_eq!(
            (a.value, a.lower, a.upper),
            (Some(0.031), Some(0.038), Some(0.046))
        );
        assert_eq!(a.page_url, "http://v/metric/ctr?at=1763900100");
        let html = format_alert(&a);
        assert!(html.contains("Value: <b>0.0310</b>"), "{html}");
        assert!(html.contains("Deviation: <b>−26.0 %</b>"));
        assert!(!html.contains("Slice:"));
    }

    #[test]
    fn a_dashboard_link_opens_at_the_alerts_slice_and_time() {
        let config = crate::config::Config::parse(
            "[[links]]\nmetric = \"*\"\ntitle = \"Grafana\"\n\
             url = \"https://grafana.example/d/abc/feed?from={from}&to={to}&var-{slice_key}={slice_value}\"\n",
            "vigil.toml",
            &crate::config::SecretEnv::default(),
        )
        .expect("valid config");
        let payload = NotificationPayload {
            alert_id: 7,
            notify: Notify::Repeat { firing_secs: 1800 },
            metric: "feed_views".into(),
            slice: Some(SliceKey {
                dimension: "country".into(),
                value: "Côte d'Ivoire".into(),
            }),
            bucket: 1_763_901_900,
            started_at: 1_763_900_100,
            value: Some(10.0),
            lower: Some(40.0),
            upper: Some(60.0),
            expected: Some(50.0),
            deviation: Some(-0.8),
            detector: "iqr".into(),
            context: Default::default(),
            notice: None,
        };
        let links = Links {
            base_url: "http://v".into(),
        };
        let message = alert_message(&payload, None, &config.alerting, &links, state_of(&payload));
        // From six hours before the start to the end of the repeated bucket, in ms.
        let from = (1_763_900_100_i64 - 6 * 3600) * 1000;
        let to = (1_763_901_900_i64 + 900) * 1000;
        let html = format_alert(&message);
        let expected = format!(
            "<a href=\"https://grafana.example/d/abc/feed?from={from}&amp;to={to}\
             &amp;var-country=C%C3%B4te%20d%27Ivoire\">Grafana</a>"
        );
        assert!(html.contains(&expected), "{expected} in {html}");
    }

    #[test]
    fn an_experiment_alert_says_the_effect_with_its_interval() {
        use crate::evaluation::ExperimentFinding;
        let effect = ExperimentEffect {
            metric_title: "CTR".into(),
            control: "group 1".into(),
            treatment: "group 2".into(),
            relative: -0.148,
            interval: (-0.181, -0.112),
            confidence: 0.95,
            p_value: 0.0004,
        };
        // 2026-12-01 14:15 UTC, shown at +03:00.
        let since = 1_796_134_500;
        assert_eq!(
            effect.sentence(since, 180),
            "CTR in group 2 is 14.8% below group 1 (95% CI 11.2 to 18.1%) since 2026-12-01 17:15 UTC+03:00"
        );
        let straddling = ExperimentEffect {
            relative: 0.02,
            interval: (-0.05, 0.09),
            ..effect.clone()
        };
        assert!(straddling
            .sentence(since, 0)
            .contains("is 2.0% above group 1 (95% CI -5.0 to +9.0%)"));
        let mut payload = NotificationPayload {
            alert_id: 3,
            notify: Notify::Opened,
            metric: "experiment:feed-ranking-v2:feed_ctr".into(),
            slice: None,
            bucket: since + 3600,
            started_at: since + 3600,
            value: None,
            lower: None,
            upper: None,
            expected: None,
            deviation: None,
            detector: "msprt".into(),
            context: Default::default(),
            notice: None,
        };
        payload.context.experiment = Some(ExperimentFinding {
            experiment: "feed-ranking-v2".into(),
            since,
            effect: Some(effect),
            users: vec![
                ("group 1".into(), 400, 401.0),
                ("group 2".into(), 402, 401.0),
            ],
            srm_p_value: 1.0,
        });
        assert!(is_experiment(&payload));
        let links = Links {
            base_url: "http://v".into(),
        };
        let text = experiment_text(&payload, 0, &links);
        assert!(
            text.starts_with("🧪 <b>Experiment feed-ranking-v2</b>: CTR diverges"),
            "{text}"
        );
        assert!(
            text.contains("14.8% below group 1 (95% CI 11.2 to 18.1%) since 2026-12-01 14:15"),
            "{text}"
        );
        assert!(
            text.contains("Users: group 1 400 (split: 401), group 2 402"),
            "{text}"
        );
        // p-values read as the pages write them (`format::p_value`).
        assert!(text.contains("Always-valid p = 4.0e-4 (mSPRT"), "{text}");
        assert!(
            text.ends_with("<a href=\"http://v/experiment/feed-ranking-v2\">Open in vigil</a>"),
            "{text}"
        );
        payload.notify = Notify::Resolved { lasted_secs: 7200 };
        let text = experiment_text(&payload, 0, &links);
        assert!(
            text.starts_with("✅")
                && text.contains("no longer diverges")
                && text.contains("Resolved after 2 h"),
            "{text}"
        );
        if let Some(finding) = payload.context.experiment.as_mut() {
            finding.effect = None;
            finding.srm_p_value = 1e-9;
        }
        payload.notify = Notify::Opened;
        let text = experiment_text(&payload, 0, &links);
        assert!(
            text.contains("sample ratio mismatch") && text.contains("comparison is invalid"),
            "{text}"
        );
        assert!(text.contains("(sequential p = 1.0e-9)"), "{text}");
    }

    /// A message rebuilt after another alert of its group changed reads each
    /// alert's state from its record: a withdrawn one keeps its note rather
    /// than reading as resolved.
    #[test]
    fn a_withdrawn_record_keeps_its_note_when_its_message_is_rebuilt() {
        let note = "the data for 15:30 UTC arrived late; with it the value (202) is in band";
        let record = AlertRecord {
            id: 7,
            metric: "feed_views".into(),
            slice: None,
            started_at: 1_763_900_100,
            resolved_at: Some(1_763_900_100),
            value: Some(202.0),
            lower: Some(150.0),
            upper: Some(250.0),
            expected: Some(200.0),
            deviation: Some(0.01),
            detector: "iqr".into(),
            status: AlertStatus::Resolved,
            muted: false,
            label: None,
            label_by: None,
            delivery: "sent".into(),
            withdrawn: Some(note.into()),
        };
        assert_eq!(
            state_of_record(&record),
            AlertState::Withdrawn { note: note.into() }
        );
        let resolved = AlertRecord {
            withdrawn: None,
            ..record
        };
        assert_eq!(
            state_of_record(&resolved),
            AlertState::Resolved { lasted_secs: 0 }
        );
    }
}
