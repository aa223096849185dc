//! Labels: what people say about a metric's history, so detectors can be
//! scored and tuned against it.
//!
//! Three sources of labels meet here:
//! - incidents recorded in the source (the simulator writes the ones it
//!   injects; on ClickHouse, the `incidents` table you fill);
//! - alerts labelled from a Telegram button ('false alarm', 'expected');
//! - spans marked in the web UI ([`crate::state::Labels`]): an incident, a false alarm or an
//!   expected change.
//!
//! [`collect`] merges them into what the evaluation needs: spans a detector
//! should find, and neutral spans where alerting is neither right nor wrong.
//! A false-alarm span needs no special scoring (an alert there is a false
//! alert anyway), but it overrides an incident recorded in the source: the
//! person looking at the data has the last word.

use serde::{Deserialize, Serialize};

use crate::events::Incident;
use crate::metrics::model::BUCKET_SECONDS;
use crate::state::{AlertRecord, Label};

pub use crate::state::{LabelError, LabelKind, LabelRecord, NewLabel};
use crate::state::{State, StateStore};

/// Every label of `metric` overlapping `range`: the source's incidents and
/// what the state file holds (labelled alerts, labels from the web UI).
pub async fn load(
    source: &crate::sources::Source,
    stored: Stored,
    metric: &str,
    range: crate::metrics::model::TimeRange,
) -> anyhow::Result<Vec<Span>> {
    let incidents = source.incidents(range).await?;
    Ok(collect(metric, &incidents, &stored.alerts, &stored.labels))
}

/// What the state file says about one metric's history: its alerts (with
/// their Telegram labels) and the labels marked in the web UI.
#[derive(Debug, Default)]
pub struct Stored {
    alerts: Vec<AlertRecord>,
    labels: Vec<LabelRecord>,
}

impl Stored {
    /// Reads `metric`'s alerts and labels overlapping `range` from the store.
    pub fn read(
        store: &dyn StateStore,
        metric: &str,
        range: crate::metrics::model::TimeRange,
    ) -> anyhow::Result<Self> {
        use anyhow::Context;
        let alerts = store.history(
            &crate::state::HistoryFilter {
                metric: Some(metric.to_string()),
                // An alert that started before the range may still cover it.
                from: Some(range.from - 7 * 86_400),
                to: Some(range.to),
                ..Default::default()
            },
            10_000,
        )?;
        let labels = store
            .list_labels(Some(metric), range.from, range.to)
            .context("reading labels")?;
        Ok(Self { alerts, labels })
    }

    /// For a one-off command: opens the state at `location` (nothing stored
    /// when it is a file not created yet).
    pub fn from_state(
        location: &crate::state::StateLocation,
        metric: &str,
        range: crate::metrics::model::TimeRange,
    ) -> anyhow::Result<Self> {
        if location.holds_nothing_yet() {
            return Ok(Self::default());
        }
        Self::read(crate::state::open(location)?.as_ref(), metric, range)
    }

    /// For the server: reads through the state it holds, on the blocking
    /// pool (SQLite calls must not stall the async workers).
    pub async fn from_held(
        state: &State,
        metric: &str,
        range: crate::metrics::model::TimeRange,
    ) -> anyhow::Result<Self> {
        let metric = metric.to_string();
        state
            .call(move |store| Self::read(store, &metric, range))
            .await
    }
}

/// Where a span came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The source's `incidents` table.
    Source,
    /// A Telegram button on an alert.
    Alert,
    /// Marked in the web UI.
    User,
}

/// One labelled span of a metric's history, `[from, to)` in unix seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub from: i64,
    pub to: i64,
    pub kind: LabelKind,
    pub origin: Origin,
    /// What happened in words fit for a legend: the source's incident kind
    /// (`outage`, `slow_decline`), else the label's kind.
    pub what: String,
    /// `dimension=value` for an incident confined to one slice.
    pub slice: Option<String>,
    /// Set for labels stored in the state ([`crate::state::Labels`]): they can be removed.
    pub id: Option<i64>,
    pub note: String,
}

impl Span {
    fn overlaps(&self, other: &Span) -> bool {
        self.from < other.to && other.from < self.to
    }
}

/// Every label of the whole metric `metric` (not of single slices), sorted by
/// start. Incidents confined to a slice become neutral for the whole metric:
/// a slice can break without the total moving. Alerts of the whole metric
/// labelled 'expected' are neutral for their duration; 'false alarm' alerts
/// are kept as false-alarm spans.
pub fn collect(
    metric: &str,
    incidents: &[Incident],
    alerts: &[AlertRecord],
    stored: &[LabelRecord],
) -> Vec<Span> {
    let mut spans = Vec::new();
    // Experiment labels span days and concern one group's difference from
    // another, not the metric's own history: experiment checks score them.
    for incident in incidents
        .iter()
        .filter(|i| i.metric == metric && !i.kind.is_experiment())
    {
        spans.push(Span {
            from: incident.start,
            to: incident.end.max(incident.start + 1),
            kind: if incident.slice_dimension.is_some() {
                LabelKind::Expected
            } else {
                LabelKind::Incident
            },
            origin: Origin::Source,
            what: incident.kind.as_str().to_string(),
            slice: incident
                .slice_dimension
                .as_ref()
                .zip(incident.slice_value.as_ref())
                .map(|(dimension, value)| format!("{dimension}={value}")),
            id: None,
            note: incident.description.clone(),
        });
    }
    for alert in alerts
        .iter()
        .filter(|a| a.metric == metric && a.slice.is_none())
    {
        let kind = match alert.label {
            Some(Label::Expected) => LabelKind::Expected,
            Some(Label::FalseAlarm) => LabelKind::FalseAlarm,
            None => continue,
        };
        let end = alert
            .resolved_at
            .unwrap_or(alert.started_at + BUCKET_SECONDS);
        spans.push(Span {
            from: alert.started_at,
            to: end.max(alert.started_at + BUCKET_SECONDS),
            kind,
            origin: Origin::Alert,
            what: kind.as_str().to_string(),
            slice: None,
            id: None,
            note: format!(
                "alert #{} labelled by {}",
                alert.id,
                alert.label_by.as_deref().unwrap_or("someone")
            ),
        });
    }
    for label in stored.iter().filter(|l| l.metric == metric) {
        spans.push(Span {
            from: label.from,
            to: label.to,
            kind: label.kind,
            origin: Origin::User,
            what: label.kind.as_str().to_string(),
            slice: None,
            id: Some(label.id),
            note: label.note.clone(),
        });
    }
    // A person's 'false alarm' overrides an incident the source recorded.
    let overrides: Vec<Span> = spans
        .iter()
        .filter(|s| s.kind == LabelKind::FalseAlarm && s.origin != Origin::Source)
        .cloned()
        .collect();
    spans.retain(|span| {
        !(span.kind == LabelKind::Incident
            && span.origin == Origin::Source
            && overrides.iter().any(|o| o.overlaps(span)))
    });
    spans.sort_by_key(|s| (s.from, s.to));
    spans
}

/// The spans as bucket indexes of a series starting at `start` with `len`
/// buckets: incidents to find and neutral spans, for `detect::eval`.
pub fn to_eval_spans(
    spans: &[Span],
    start: i64,
    len: usize,
) -> (
    Vec<detect::eval::IncidentSpan>,
    Vec<detect::eval::IncidentSpan>,
) {
    let end = start + len as i64 * BUCKET_SECONDS;
    let slot = |t: i64| ((t.clamp(start, end) - start) / BUCKET_SECONDS) as usize;
    let mut events = Vec::new();
    let mut neutral = Vec::new();
    for span in spans {
        if span.to <= start || span.from >= end {
            continue;
        }
        let from = slot(span.from);
        // The bucket holding `to - 1` is the last one touched.
        let to = (slot(span.to - 1) + 1).clamp(from + 1, len);
        let indexes = detect::eval::IncidentSpan::new(from, to);
        match span.kind {
            LabelKind::Incident => events.push(indexes),
            LabelKind::Expected => neutral.push(indexes),
            LabelKind::FalseAlarm => {}
        }
    }
    (events, neutral)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::IncidentKind;
    use crate::metrics::model::SliceKey;
    use crate::state::AlertStatus;

    const B: i64 = BUCKET_SECONDS;

    fn incident(id: u32, start: i64, end: i64, slice: Option<(&str, &str)>) -> Incident {
        Incident {
            id,
            start,
            end,
            kind: IncidentKind::Outage,
            metric: "feed_views".into(),
            slice_dimension: slice.map(|(d, _)| d.into()),
            slice_value: slice.map(|(_, v)| v.into()),
            description: format!("incident {id}"),
        }
    }

    fn alert(id: u64, started_at: i64, label: Option<Label>, slice: bool) -> AlertRecord {
        AlertRecord {
            id,
            metric: "feed_views".into(),
            slice: slice.then(|| SliceKey {
                dimension: "os".into(),
                value: "iOS".into(),
            }),
            started_at,
            resolved_at: Some(started_at + 3 * B),
            value: None,
            lower: None,
            upper: None,
            expected: None,
            deviation: None,
            detector: "iqr".into(),
            status: AlertStatus::Resolved,
            muted: false,
            label,
            label_by: Some("ana".into()),
            delivery: "sent".into(),
            withdrawn: None,
        }
    }

    fn stored(id: i64, from: i64, to: i64, kind: LabelKind) -> LabelRecord {
        LabelRecord {
            id,
            metric: "feed_views".into(),
            from,
            to,
            kind,
            note: String::new(),
            created_by: "web".into(),
            created_at: 0,
        }
    }

    #[test]
    fn experiment_labels_are_left_to_experiment_checks() {
        let mut experiment = incident(101, 0, 300 * B, Some(("exp_group", "2")));
        experiment.kind = IncidentKind::ExperimentEffect;
        let outage = incident(1, 10 * B, 12 * B, None);
        let spans = collect("feed_views", &[experiment, outage], &[], &[]);
        assert_eq!(spans.len(), 1, "{spans:?}");
        assert_eq!((spans[0].what.as_str(), spans[0].from), ("outage", 10 * B));
    }

    #[test]
    fn every_origin_becomes_a_span_of_the_right_kind() {
        let spans = collect(
            "feed_views",
            &[
                incident(1, 10 * B, 14 * B, None),
                incident(2, 30 * B, 32 * B, Some(("os", "iOS"))),
            ],
            &[
                alert(7, 50 * B, Some(Label::Expected), false),
                alert(8, 60 * B, None, false),
                alert(9, 70 * B, Some(Label::Expected), true),
            ],
            &[stored(3, 80 * B, 82 * B, LabelKind::Incident)],
        );
        let summary: Vec<_> = spans
            .iter()
            .map(|s| (s.from / B, s.to / B, s.kind, s.origin))
            .collect();
        assert_eq!(
            summary,
            vec![
                (10, 14, LabelKind::Incident, Origin::Source),
                (30, 32, LabelKind::Expected, Origin::Source),
                (50, 53, LabelKind::Expected, Origin::Alert),
                (80, 82, LabelKind::Incident, Origin::User),
            ],
            "unlabelled alerts and slice alerts are not labels of the metric"
        );
        assert_eq!(spans[3].id, Some(3));
        assert_eq!(spans[1].slice.as_deref(), Some("os=iOS"));
        assert_eq!(spans[0].what, "outage");
        assert_eq!(spans[2].what, "expected");
    }

    #[test]
    fn a_false_alarm_overrides_a_recorded_incident() {
        let spans = collect(
            "feed_views",
            &[
                incident(1, 10 * B, 14 * B, None),
                incident(2, 40 * B, 41 * B, None),
            ],
            &[],
            &[stored(5, 11 * B, 12 * B, LabelKind::FalseAlarm)],
        );
        let kinds: Vec<_> = spans.iter().map(|s| (s.from / B, s.kind)).collect();
        assert_eq!(
            kinds,
            vec![(11, LabelKind::FalseAlarm), (40, LabelKind::Incident)]
        );
    }

    #[test]
    fn other_metrics_labels_are_ignored() {
        let mut other = incident(1, 0, B, None);
        other.metric = "feed_likes".into();
        assert!(collect("feed_views", &[other], &[], &[]).is_empty());
    }

    #[test]
    fn spans_map_to_bucket_indexes_clipped_to_the_series() {
        let spans = collect(
            "feed_views",
            &[
                incident(1, 2 * B + 60, 4 * B, None),
                incident(2, 8 * B, 20 * B, None),
                incident(3, 0, 100 * B, Some(("os", "iOS"))),
            ],
            &[],
            &[stored(1, 5 * B, 6 * B, LabelKind::FalseAlarm)],
        );
        let (events, neutral) = to_eval_spans(&spans, B, 10);
        assert_eq!(
            events,
            vec![
                detect::eval::IncidentSpan::new(1, 3),
                detect::eval::IncidentSpan::new(7, 10)
            ]
        );
        assert_eq!(neutral, vec![detect::eval::IncidentSpan::new(0, 10)]);
    }

    #[test]
    fn kinds_round_trip_through_text() {
        for kind in LabelKind::ALL {
            assert_eq!(LabelKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(LabelKind::parse("bogus"), None);
    }
}
