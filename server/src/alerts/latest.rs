//! The newest evaluation of every series (value, expected, band), as the last
//! check computed it. The alert state keeps only what the lifecycle needs
//! (open alert, last bucket); the overview page wants the check's numbers too,
//! and must not rerun detectors per request to get them. One row per series,
//! replaced by each check, never moved back by a re-check of an older bucket.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use super::store::{AlertError, AlertStore};
use crate::check::Evaluation;

/// Created idempotently when the store opens.
pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS latest_evaluations (
    metric          TEXT    NOT NULL,
    sliced          INTEGER NOT NULL,
    slice_dimension TEXT    NOT NULL,
    slice_value     TEXT    NOT NULL,
    bucket          INTEGER NOT NULL,
    value           REAL,
    expected        REAL,
    lower           REAL,
    upper           REAL,
    is_anomaly      INTEGER NOT NULL,
    detector        TEXT    NOT NULL,
    PRIMARY KEY (metric, sliced, slice_dimension, slice_value)
);
"#;

/// What the last check computed for one series at its bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct LatestEvaluation {
    /// Start of the evaluated bucket (unix seconds).
    pub bucket: i64,
    pub value: Option<f64>,
    pub expected: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub is_anomaly: bool,
    pub detector: String,
}

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> AlertError {
    move |error| AlertError::Sql { context, error }
}

pub(super) fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

impl AlertStore {
    /// Keeps each evaluation as its series' newest, in one transaction. An
    /// evaluation of a bucket older than the stored one is ignored, so a
    /// re-check of the past (`vigil check --at`) does not hide the present.
    pub fn record_latest(&mut self, evaluations: &[Evaluation]) -> Result<(), AlertError> {
        let tx = self.conn_mut().transaction().map_err(sql("begin latest"))?;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO latest_evaluations
                       (metric, sliced, slice_dimension, slice_value, bucket, value, expected,
                        lower, upper, is_anomaly, detector)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (metric, sliced, slice_dimension, slice_value) DO UPDATE SET
                       bucket = excluded.bucket, value = excluded.value,
                       expected = excluded.expected, lower = excluded.lower,
                       upper = excluded.upper, is_anomaly = excluded.is_anomaly,
                       detector = excluded.detector
                     WHERE excluded.bucket >= latest_evaluations.bucket",
                )
                .map_err(sql("latest upsert"))?;
            for evaluation in evaluations {
                let (sliced, dimension, value) = match &evaluation.slice {
                    Some(s) => (true, s.dimension.as_str(), s.value.as_str()),
                    None => (false, "", ""),
                };
                let point = &evaluation.point;
                upsert
                    .execute(params![
                        evaluation.metric,
                        sliced,
                        dimension,
                        value,
                        evaluation.bucket,
                        point.value,
                        point.expected,
                        point.lower,
                        point.upper,
                        point.is_anomaly,
                        evaluation.detector,
                    ])
                    .map_err(sql("latest upsert"))?;
            }
        }
        tx.commit().map_err(sql("commit latest"))
    }

    /// The newest evaluation of each whole metric (no slice), by metric name.
    pub fn latest_whole(&self) -> Result<HashMap<String, LatestEvaluation>, AlertError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT metric, bucket, value, expected, lower, upper, is_anomaly, detector
                 FROM latest_evaluations WHERE sliced = 0",
            )
            .map_err(sql("latest"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    LatestEvaluation {
                        bucket: r.get(1)?,
                        value: r.get(2)?,
                        expected: r.get(3)?,
                        lower: r.get(4)?,
                        upper: r.get(5)?,
                        is_anomaly: r.get(6)?,
                        detector: r.get(7)?,
                    },
                ))
            })
            .map_err(sql("latest"))?;
        rows.collect::<Result<_, _>>().map_err(sql("latest row"))
    }
}

#[cfg(test)]
mod tests {
    use detect::Point;

    use super::*;
    use crate::alerts::store::state_path;
    use crate::metrics::model::SliceKey;

    fn evaluation(
        metric: &str,
        slice: Option<&str>,
        bucket: i64,
        value: Option<f64>,
    ) -> Evaluation {
        Evaluation {
            metric: metric.into(),
            slice: slice.map(|v| SliceKey {
                dimension: "os".into(),
                value: v.into(),
            }),
            bucket,
            detector: "iqr".into(),
            point: Point {
                value,
                lower: Some(90.0),
                upper: Some(110.0),
                expected: Some(100.0),
                is_anomaly: value.is_some_and(|v| !(90.0..=110.0).contains(&v)),
                score: 0.0,
                deviation: None,
            },
            context: Default::default(),
        }
    }

    fn temp_store() -> (tempfile::TempDir, AlertStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = AlertStore::open(&state_path(dir.path())).expect("open");
        (dir, store)
    }

    #[test]
    fn an_empty_store_has_no_latest_evaluation() {
        let (_dir, store) = temp_store();
        assert!(store.latest_whole().unwrap().is_empty());
    }

    #[test]
    fn keeps_the_newest_whole_metric_evaluation_across_a_restart() {
        let (dir, mut store) = temp_store();
        store
            .record_latest(&[
                evaluation("feed_views", None, 900, Some(100.0)),
                evaluation("feed_views", Some("iOS"), 900, Some(40.0)),
                evaluation("likes", None, 900, None),
            ])
            .unwrap();
        store
            .record_latest(&[evaluation("feed_views", None, 1800, Some(150.0))])
            .unwrap();
        drop(store);
        let store = AlertStore::open(&state_path(dir.path())).expect("reopen");
        let latest = store.latest_whole().unwrap();
        assert_eq!(latest.len(), 2, "slices are not whole metrics: {latest:?}");
        let views = &latest["feed_views"];
        assert_eq!(views.bucket, 1800);
        assert_eq!(views.value, Some(150.0));
        assert_eq!(
            (views.expected, views.lower, views.upper),
            (Some(100.0), Some(90.0), Some(110.0))
        );
        assert!(views.is_anomaly);
        assert_eq!(views.detector, "iqr");
        assert_eq!(latest["likes"].value, None, "a gap is kept as no value");
    }

    #[test]
    fn a_recheck_of_an_older_bucket_does_not_replace_the_newest() {
        let (_dir, mut store) = temp_store();
        store
            .record_latest(&[evaluation("feed_views", None, 1800, Some(150.0))])
            .unwrap();
        store
            .record_latest(&[evaluation("feed_views", None, 900, Some(100.0))])
            .unwrap();
        assert_eq!(store.latest_whole().unwrap()["feed_views"].bucket, 1800);
        // The same bucket re-evaluated (late data) does replace it.
        store
            .record_latest(&[evaluation("feed_views", None, 1800, Some(105.0))])
            .unwrap();
        assert_eq!(
            store.latest_whole().unwrap()["feed_views"].value,
            Some(105.0)
        );
    }
}
