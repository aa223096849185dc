//! The overview page's cards. Everything here is read, never computed: the
//! value, band and status come from what the last check stored in the alert
//! state (one blocking call for all metrics), the sparkline from the shared
//! history cache. No detector runs per request, so the page stays within its
//! server-time budget however many people watch it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::api::{CardAlert, CardEvaluation, CardStatus, MetricCard, Overview, OVERVIEW_HOURS};

use crate::alerts::lifecycle::is_muted;
use crate::alerts::store::HistoryFilter;
use crate::alerts::{
    AlertError, AlertRecord, AlertStatus, AlertStore, CheckRecord, LatestEvaluation, Silence,
};
use crate::check::OpenSince;
use crate::delivery::with_store;
use crate::metrics::model::{on_grid, MetricDef, TimeRange, BUCKET_SECONDS};
use crate::sources::Source;

use super::history_cache::HistoryCache;

/// What the alert state says about every metric, read in one go.
#[derive(Debug, Default)]
pub struct StoreSnapshot {
    pub last_check: Option<CheckRecord>,
    /// The newest bucket a check evaluated successfully.
    pub last_ok_bucket: Option<i64>,
    pub open: OpenSince,
    pub silences: Vec<Silence>,
    pub latest: HashMap<String, LatestEvaluation>,
    /// Each metric's newest alert, whole or sliced.
    pub last_alerts: HashMap<String, AlertRecord>,
}

impl StoreSnapshot {
    pub fn read(store: &AlertStore, metrics: &[String], now: i64) -> Result<Self, AlertError> {
        let mut last_alerts = HashMap::new();
        for metric in metrics {
            let filter = HistoryFilter {
                metric: Some(metric.clone()),
                ..HistoryFilter::default()
            };
            if let Some(alert) = store.history(&filter, 1)?.into_iter().next() {
                last_alerts.insert(metric.clone(), alert);
            }
        }
        Ok(Self {
            last_check: store.last_check()?,
            last_ok_bucket: store.last_checked_bucket()?,
            open: store.open_since()?,
            silences: store.active_silences(now)?,
            latest: store.latest_whole()?,
            last_alerts,
        })
    }
}

/// The card of one metric from the stored state and its 24-hour history
/// (`None` when the source could not be read).
pub fn card(
    metric: &MetricDef,
    snapshot: &StoreSnapshot,
    range: TimeRange,
    history: Option<Vec<Option<f64>>>,
    now: i64,
) -> MetricCard {
    let latest = snapshot.latest.get(&metric.name);
    let firing = snapshot.open.contains_key(&(metric.name.clone(), None));
    let muted = is_muted(&snapshot.silences, &metric.name, None, now);
    let source_ok = snapshot.last_check.as_ref().is_none_or(|check| check.ok);
    // Stale: the last successful check did not evaluate this metric (it was
    // added to the config since, say), so its stored value is not current.
    let current = latest.filter(|l| snapshot.last_ok_bucket.is_none_or(|b| l.bucket >= b));
    let has_data = source_ok
        && history.is_some()
        && current.is_some_and(|l| l.value.is_some_and(f64::is_finite));
    MetricCard {
        name: metric.name.clone(),
        title: metric.title.clone(),
        start: range.from,
        step: BUCKET_SECONDS,
        values: history.unwrap_or_default(),
        latest: latest.map(|l| CardEvaluation {
            bucket: l.bucket,
            value: l.value,
            expected: l.expected,
            lower: l.lower,
            upper: l.upper,
            is_anomaly: l.is_anomaly,
        }),
        status: CardStatus::derive(firing, muted, has_data),
        last_alert: snapshot.last_alerts.get(&metric.name).map(|a| CardAlert {
            id: a.id,
            started_at: a.started_at,
            slice: a
                .slice
                .as_ref()
                .map(|s| format!("{}={}", s.dimension, s.value)),
            deviation: a.deviation,
            state: match a.status {
                AlertStatus::Firing => "firing",
                AlertStatus::Resolved => "resolved",
            }
            .to_string(),
        }),
    }
}

/// The last [`OVERVIEW_HOURS`] of complete buckets before `now`.
pub fn card_range(now: i64) -> TimeRange {
    let to = now.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
    TimeRange {
        from: to - OVERVIEW_HOURS * 3600,
        to,
    }
}

/// Every metric's card and the last check.
pub async fn load(
    source: &Source,
    metrics: &[MetricDef],
    store: &Arc<Mutex<AlertStore>>,
    cache: &HistoryCache,
    now: i64,
) -> Result<Overview, String> {
    let names: Vec<String> = metrics.iter().map(|m| m.name.clone()).collect();
    let snapshot = with_store(store, move |store| StoreSnapshot::read(store, &names, now))
        .await
        .map_err(|error| {
            tracing::warn!(%error, "overview: alert state unreadable");
            "could not read the alert state (overview); see the server log".to_string()
        })?;
    let range = card_range(now);
    let mut cards = Vec::with_capacity(metrics.len());
    for metric in metrics {
        let history = match cache.series(source, metric, range, None).await {
            Ok(buckets) => Some(on_grid(range, &buckets)),
            Err(error) => {
                tracing::warn!(metric = %metric.name, %error, "overview: history query failed");
                None
            }
        };
        cards.push(card(metric, &snapshot, range, history, now));
    }
    Ok(Overview {
        cards,
        last_check_at: snapshot
            .last_check
            .as_ref()
            .map(|c| c.started_at + c.duration_ms.div_euclid(1000)),
        last_check_ok: snapshot.last_check.as_ref().map(|c| c.ok),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::SilenceScope;
    use crate::metrics::model::SliceKey;

    const NOW: i64 = 1_763_900_000;

    fn metric() -> MetricDef {
        crate::metrics::catalogue::builtin()
            .into_iter()
            .find(|m| m.name == "feed_views")
            .expect("feed_views is built in")
    }

    fn latest(bucket: i64, value: Option<f64>) -> LatestEvaluation {
        LatestEvaluation {
            bucket,
            value,
            expected: Some(100.0),
            lower: Some(90.0),
            upper: Some(110.0),
            is_anomaly: false,
            detector: "iqr".into(),
        }
    }

    fn check(bucket: i64, ok: bool) -> CheckRecord {
        CheckRecord {
            bucket,
            started_at: NOW,
            duration_ms: 40,
            ok,
            late: false,
            evaluated: 1,
            anomalies: 0,
            error: (!ok).then(|| "source down".into()),
        }
    }

    fn healthy() -> StoreSnapshot {
        let mut snapshot = StoreSnapshot {
            last_check: Some(check(900, true)),
            last_ok_bucket: Some(900),
            ..StoreSnapshot::default()
        };
        snapshot
            .latest
            .insert("feed_views".into(), latest(900, Some(104.0)));
        snapshot
    }

    fn status(snapshot: &StoreSnapshot, history: Option<Vec<Option<f64>>>) -> CardStatus {
        card(&metric(), snapshot, card_range(NOW), history, NOW).status
    }

    fn some_history() -> Option<Vec<Option<f64>>> {
        Some(vec![Some(1.0); 96])
    }

    #[test]
    fn the_range_is_96_complete_buckets() {
        let range = card_range(NOW);
        assert_eq!((range.to - range.from) / BUCKET_SECONDS, 96);
        assert!(range.to <= NOW && NOW - range.to < BUCKET_SECONDS);
    }

    #[test]
    fn a_checked_value_is_ok_and_carries_the_band() {
        let snapshot = healthy();
        let card = card(&metric(), &snapshot, card_range(NOW), some_history(), NOW);
        assert_eq!(card.status, CardStatus::Ok);
        let latest = card.latest.expect("latest evaluation");
        assert_eq!(
            (latest.value, latest.expected, latest.lower, latest.upper),
            (Some(104.0), Some(100.0), Some(90.0), Some(110.0))
        );
        assert_eq!(card.values.len(), 96);
        assert_eq!(card.last_alert, None);
    }

    #[test]
    fn an_empty_store_means_no_data() {
        let snapshot = StoreSnapshot::default();
        assert_eq!(status(&snapshot, some_history()), CardStatus::NoData);
    }

    #[test]
    fn no_data_when_the_bucket_is_empty_stale_or_the_source_is_down() {
        let mut gap = healthy();
        gap.latest.insert("feed_views".into(), latest(900, None));
        assert_eq!(status(&gap, some_history()), CardStatus::NoData);

        let mut stale = healthy();
        stale.last_ok_bucket = Some(1800);
        assert_eq!(status(&stale, some_history()), CardStatus::NoData);

        let mut down = healthy();
        down.last_check = Some(check(1800, false));
        assert_eq!(status(&down, some_history()), CardStatus::NoData);

        assert_eq!(status(&healthy(), None), CardStatus::NoData);
    }

    #[test]
    fn an_open_whole_metric_alert_fires_but_a_slice_alone_does_not() {
        let mut sliced = healthy();
        let android = SliceKey {
            dimension: "os".into(),
            value: "Android".into(),
        };
        sliced
            .open
            .insert(("feed_views".into(), Some(android)), 900);
        assert_eq!(status(&sliced, some_history()), CardStatus::Ok);

        let mut whole = healthy();
        whole.open.insert(("feed_views".into(), None), 900);
        assert_eq!(status(&whole, some_history()), CardStatus::Firing);
    }

    #[test]
    fn a_silence_in_force_mutes_the_metric() {
        let silence = |scope, until| Silence {
            id: 1,
            scope,
            until,
            created_by: "web".into(),
            created_at: NOW - 60,
            ended_at: None,
        };
        let mut muted = healthy();
        muted.silences = vec![silence(
            SilenceScope::Metric {
                metric: "feed_views".into(),
            },
            NOW + 600,
        )];
        assert_eq!(status(&muted, some_history()), CardStatus::Muted);

        let mut other = healthy();
        other.silences = vec![silence(
            SilenceScope::Metric {
                metric: "likes".into(),
            },
            NOW + 600,
        )];
        assert_eq!(status(&other, some_history()), CardStatus::Ok);

        let mut expired = healthy();
        expired.silences = vec![silence(SilenceScope::All, NOW - 1)];
        assert_eq!(status(&expired, some_history()), CardStatus::Ok);
    }

    #[test]
    fn reads_a_real_store_after_a_check() {
        use crate::alerts::AlertConfig;
        use crate::check::Evaluation;
        use detect::Point;

        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = AlertStore::open(&crate::alerts::store::state_path(dir.path())).unwrap();
        let names = vec!["feed_views".to_string()];
        let empty = StoreSnapshot::read(&store, &names, NOW).unwrap();
        assert!(empty.last_check.is_none() && empty.latest.is_empty());

        let bucket = card_range(NOW).to - BUCKET_SECONDS;
        let evaluation = Evaluation {
            metric: "feed_views".into(),
            slice: None,
            bucket,
            detector: "iqr",
            point: Point {
                value: Some(10.0),
                lower: Some(90.0),
                upper: Some(110.0),
                expected: Some(100.0),
                is_anomaly: true,
                score: 4.0,
                deviation: Some(-0.9),
            },
            context: Default::default(),
        };
        let evaluations = [evaluation];
        store
            .apply(&evaluations, NOW, &AlertConfig::default())
            .unwrap();
        store.record_latest(&evaluations).unwrap();
        store.record_check(&check(bucket, true)).unwrap();

        let snapshot = StoreSnapshot::read(&store, &names, NOW).unwrap();
        let card = card(&metric(), &snapshot, card_range(NOW), some_history(), NOW);
        assert_eq!(card.status, CardStatus::Firing);
        assert_eq!(card.latest.as_ref().and_then(|l| l.value), Some(10.0));
        let alert = card.last_alert.expect("the alert just opened");
        assert_eq!(
            (alert.state.as_str(), alert.deviation),
            ("firing", Some(-0.9))
        );
        assert_eq!(alert.started_at, bucket);
    }
}
