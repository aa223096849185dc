//! The overview page's cards. Everything here is read, never computed: the
//! value, band and status come from what the last check stored in the alert
//! state (one blocking call for all metrics), the sparklines from
//! [`SparkCache`]. No detector runs per request, so the page stays within its
//! server-time budget (50 ms) however many people watch it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::api::backend::{ApiError, ApiResult};
use app::api::{CardAlert, CardEvaluation, CardStatus, MetricCard, Overview, OVERVIEW_HOURS};

use crate::alerts::is_muted;
use crate::alerts::Silence;
use crate::evaluation::OpenSince;
use crate::metrics::model::{on_grid, MetricDef, TimeRange, BUCKET_SECONDS};
use crate::sources::Source;
use crate::state::{AlertError, AlertRecord, CheckRecord, LatestEvaluation};
use crate::state::{HistoryFilter, State, StateStore};

/// How long the sparklines count as fresh; then one background refresh runs.
const SPARK_TTL: Duration = Duration::from_secs(15);

/// Every metric's last 24 hours (`None`: the source could not be read).
#[derive(Clone, Debug)]
struct Sparks {
    at: Instant,
    range: TimeRange,
    by_metric: Arc<HashMap<String, Option<Vec<Option<f64>>>>>,
}

/// The overview's sparklines, shared by every viewer. Reading 24 hours of
/// six metrics takes around 100 ms on the embedded store, twice the page's
/// budget, so a stale set is served while one background task reads the new
/// one (stale by at most [`SPARK_TTL`] plus one read). Only the first request
/// after start waits for the source.
#[derive(Default)]
pub struct SparkCache {
    sparks: Arc<Mutex<Option<Sparks>>>,
    refreshing: Arc<AtomicBool>,
}

impl SparkCache {
    async fn get(
        &self,
        source: &Arc<Source>,
        metrics: &[MetricDef],
        now: i64,
    ) -> (TimeRange, Arc<HashMap<String, Option<Vec<Option<f64>>>>>) {
        let range = card_range(now);
        let cached = self
            .sparks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(cached) = cached else {
            let sparks = read_sparks(source, metrics, range).await;
            let result = (sparks.range, Arc::clone(&sparks.by_metric));
            *self.sparks.lock().unwrap_or_else(|p| p.into_inner()) = Some(sparks);
            return result;
        };
        let stale = cached.at.elapsed() >= SPARK_TTL || cached.range != range;
        if stale && !self.refreshing.swap(true, Ordering::AcqRel) {
            let (source, metrics) = (Arc::clone(source), metrics.to_vec());
            let (slot, refreshing) = (Arc::clone(&self.sparks), Arc::clone(&self.refreshing));
            tokio::spawn(async move {
                let sparks = read_sparks(&source, &metrics, range).await;
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(sparks);
                refreshing.store(false, Ordering::Release);
            });
        }
        (cached.range, cached.by_metric)
    }
}

async fn read_sparks(source: &Source, metrics: &[MetricDef], range: TimeRange) -> Sparks {
    let mut by_metric = HashMap::with_capacity(metrics.len());
    for metric in metrics {
        let values = match source.series(metric, range, None).await {
            Ok(buckets) => Some(on_grid(range, &buckets)),
            Err(error) => {
                tracing::warn!(metric = %metric.name, %error, "overview: history query failed");
                None
            }
        };
        by_metric.insert(metric.name.clone(), values);
    }
    Sparks {
        at: Instant::now(),
        range,
        by_metric: Arc::new(by_metric),
    }
}

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
    pub fn read(store: &dyn StateStore, metrics: &[String], now: i64) -> Result<Self, AlertError> {
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
    let slice_firing = snapshot
        .open
        .keys()
        .any(|(name, slice)| *name == metric.name && slice.is_some());
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
        measure: crate::alerts::significance::measure(&metric.aggregate),
        latest: latest.map(|l| CardEvaluation {
            bucket: l.bucket,
            value: l.value,
            expected: l.expected,
            lower: l.lower,
            upper: l.upper,
            is_anomaly: l.is_anomaly,
        }),
        status: CardStatus::derive(firing, slice_firing, muted, has_data),
        last_alert: snapshot.last_alerts.get(&metric.name).map(|a| CardAlert {
            id: a.id,
            started_at: a.started_at,
            slice: a
                .slice
                .as_ref()
                .map(|s| format!("{}={}", s.dimension, s.value)),
            deviation: a.deviation,
            state: super::rows::alert_state(a.status),
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
    source: &Arc<Source>,
    metrics: &[MetricDef],
    store: &State,
    sparks: &SparkCache,
    now: i64,
) -> ApiResult<Overview> {
    let names: Vec<String> = metrics.iter().map(|m| m.name.clone()).collect();
    let snapshot = store
        .call(move |store| StoreSnapshot::read(store, &names, now))
        .await
        .map_err(|error| {
            tracing::warn!(%error, "overview: alert state unreadable");
            ApiError::failed("could not read the alert state (overview); see the server log")
        })?;
    let (range, histories) = sparks.get(source, metrics, now).await;
    let cards = metrics
        .iter()
        .map(|metric| {
            let history = histories.get(&metric.name).cloned().flatten();
            card(metric, &snapshot, range, history, now)
        })
        .collect();
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
    fn an_open_whole_metric_alert_fires_and_a_slice_alone_says_so() {
        let mut sliced = healthy();
        let android = SliceKey {
            dimension: "os".into(),
            value: "Android".into(),
        };
        sliced
            .open
            .insert(("feed_views".into(), Some(android)), 900);
        assert_ne!(status(&sliced, some_history()), CardStatus::Firing);
        // Said as its own status: "ok" beside a firing last alert read as a contradiction.
        assert_eq!(status(&sliced, some_history()), CardStatus::SliceFiring);
        let mut other = healthy();
        other.open.insert(
            (
                "feed_likes".into(),
                Some(SliceKey {
                    dimension: "os".into(),
                    value: "iOS".into(),
                }),
            ),
            900,
        );
        assert_eq!(
            status(&other, some_history()),
            CardStatus::Ok,
            "another metric's slice"
        );

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

    #[tokio::test]
    async fn sparklines_are_read_once_then_served_from_the_cache() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = crate::sources::SqliteStore::open(&dir.path().join("vigil.sqlite")).unwrap();
        let source = Arc::new(Source::Sqlite(store));
        let cache = SparkCache::default();
        let (range, first) = cache.get(&source, &[metric()], NOW).await;
        assert_eq!(range, card_range(NOW));
        let values = first["feed_views"]
            .as_ref()
            .expect("an empty store is readable");
        assert_eq!(values.len(), 96);
        assert!(values.iter().all(Option::is_none), "no events, no values");
        let (_, second) = cache.get(&source, &[metric()], NOW + 1).await;
        assert!(Arc::ptr_eq(&first, &second), "fresh: not read again");
        // A new bucket serves the old set at once and refreshes behind it.
        let later = NOW + BUCKET_SECONDS;
        let (stale_range, stale) = cache.get(&source, &[metric()], later).await;
        assert!(Arc::ptr_eq(&first, &stale) && stale_range == range);
        for _ in 0..200 {
            if !cache.refreshing.load(Ordering::Acquire) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (new_range, _) = cache.get(&source, &[metric()], later).await;
        assert_eq!(new_range, card_range(later));
    }

    #[test]
    fn reads_a_real_store_after_a_check() {
        use crate::alerts::AlertConfig;
        use crate::evaluation::Evaluation;
        use crate::state::prelude::*;
        use detect::Point;

        let dir = tempfile::tempdir().expect("temp dir");
        let mut store =
            crate::state::SqliteState::open(&crate::state::state_path(dir.path())).unwrap();
        let names = vec!["feed_views".to_string()];
        let empty = StoreSnapshot::read(&store, &names, NOW).unwrap();
        assert!(empty.last_check.is_none() && empty.latest.is_empty());

        let bucket = card_range(NOW).to - BUCKET_SECONDS;
        let evaluation = Evaluation {
            metric: "feed_views".into(),
            slice: None,
            bucket,
            detector: "iqr".into(),
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
