//! The capped slices of a check against SQL written independently of the
//! metric builder and against the cap as it was applied in memory to every
//! value's series, and the alert comparisons read grouped against each
//! series read alone, on simulated events spread over synthetic cities.

use std::collections::BTreeMap;

use crate::config::SimulatorConfig;
use crate::metrics::catalogue;
use crate::metrics::dimensions::OTHER;
use crate::metrics::model::{Aggregate, Bucket, TimeRange, BUCKET_SECONDS};
use crate::simulator::Simulator;
use crate::sources::{Source, SqliteStore};

const START: i64 = 1_704_067_200; // 2024-01-01 00:00 UTC
const END: i64 = START + 86_400;

/// The cap as checks applied it before the sources ranked in SQL: every
/// value's series read, the `top` by volume (the sum of their buckets,
/// ties by value) kept, the rest summed per bucket for a count. The
/// sources must give the same series.
pub(crate) fn cap(
    aggregate: &Aggregate,
    by_value: BTreeMap<String, Vec<Bucket>>,
    top: usize,
) -> BTreeMap<String, Vec<Bucket>> {
    if by_value.len() <= top {
        return by_value;
    }
    let volume = |buckets: &[Bucket]| buckets.iter().map(|b| b.value).sum::<f64>();
    let mut ranked: Vec<(String, Vec<Bucket>)> = by_value.into_iter().collect();
    ranked.sort_by(|a, b| volume(&b.1).total_cmp(&volume(&a.1)));
    let rest = ranked.split_off(top);
    let mut capped: BTreeMap<String, Vec<Bucket>> = ranked.into_iter().collect();
    if matches!(aggregate, Aggregate::Count) {
        let mut sums: BTreeMap<i64, f64> = BTreeMap::new();
        for bucket in rest.iter().flat_map(|(_, buckets)| buckets) {
            *sums.entry(bucket.start).or_default() += bucket.value;
        }
        let other = (sums.into_iter())
            .map(|(start, value)| Bucket { start, value })
            .collect();
        capped.insert(OTHER.to_string(), other);
    }
    capped
}

/// `series` without its zero buckets: the gap rule fills interior zeros per
/// series, so an `(other)` summed from filled series has zeros where none
/// of the rest had rows, and one summed in SQL is filled over its own span.
/// A check judges both alike (a count's missing bucket is a zero there).
pub(crate) fn nonzero(series: &BTreeMap<String, Vec<Bucket>>) -> BTreeMap<String, Vec<Bucket>> {
    (series.iter())
        .map(|(value, buckets)| {
            let kept = buckets.iter().filter(|b| b.value != 0.0).cloned();
            (value.clone(), kept.collect())
        })
        .collect()
}

/// Asserts what `source` reads of `metric` by `dimension` capped to `top`:
/// at most `top` + 1 series, equal to [`cap`] of every value's series, and
/// for a count an `(other)` whose buckets sum the values left out.
pub(crate) async fn assert_capped(
    source: &Source,
    metric: &crate::metrics::model::MetricDef,
    range: TimeRange,
    dimension: &str,
    top: usize,
) {
    let what = format!("{} by {dimension} top {top}", metric.name);
    let every = (source.series_by_slice(metric, range, dimension).await).expect("reads");
    let got = (source
        .top_series_by_slice(metric, range, dimension, top)
        .await)
        .expect("capped");
    assert!(got.len() <= top + 1, "{what}: {:?}", got.keys());
    let expected = cap(&metric.aggregate, every.clone(), top);
    assert_eq!(nonzero(&got), nonzero(&expected), "{what}");
    let count = matches!(metric.aggregate, Aggregate::Count);
    assert_eq!(
        got.contains_key(OTHER),
        count && every.len() > top,
        "{what}"
    );
    if got.contains_key(OTHER) {
        let mut left_out: BTreeMap<i64, f64> = BTreeMap::new();
        for (_, buckets) in every.iter().filter(|(value, _)| !got.contains_key(*value)) {
            for bucket in buckets {
                *left_out.entry(bucket.start).or_default() += bucket.value;
            }
        }
        left_out.retain(|_, value| *value != 0.0);
        let other: BTreeMap<i64, f64> = (got[OTHER].iter())
            .filter(|bucket| bucket.value != 0.0)
            .map(|bucket| (bucket.start, bucket.value))
            .collect();
        assert!(!other.is_empty(), "{what}");
        assert_eq!(other, left_out, "{what}: (other) sums the rest");
    }
}

/// A store of `users` simulated over the day before [`END`], in `cities`.
async fn spread_store(dir: &std::path::Path, users: u32, seed: u64, cities: u32) -> Source {
    let store = SqliteStore::open(&dir.join("vigil.sqlite")).expect("opens");
    let config = SimulatorConfig {
        users,
        days: 1,
        seed,
    };
    let mut simulator = Simulator::new(&config, END, Some((START, END)));
    simulator.spread_cities(cities);
    let source = Source::Sqlite(store);
    (source.write_events(simulator.generate(START, END)).await).expect("writes");
    source
}

#[tokio::test]
async fn the_source_caps_a_count_a_distinct_count_and_a_ratio_as_the_check_did() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = spread_store(dir.path(), 300, 7, 30).await;
    let range = TimeRange {
        from: END - 10 * 3600,
        to: END,
    };
    let top = 4;
    for name in ["feed_views", "feed_active_users", "feed_ctr"] {
        let metric = catalogue::builtin_metric(name).expect("built in");
        let every = (source.series_by_slice(&metric, range, "city").await).expect("reads");
        assert!(every.len() > top + 5, "{name}: {} cities", every.len());
        // The first read fills the file's rollup, the second is the memory
        // cache's.
        for _ in 0..2 {
            assert_capped(&source, &metric, range, "city", top).await;
        }
        let got = (source
            .top_series_by_slice(&metric, range, "city", top)
            .await)
            .expect("capped");
        let count = matches!(metric.aggregate, Aggregate::Count);
        assert_eq!(got.len(), top + usize::from(count), "{name}");
        // A kept value's chart reads what the check read.
        let largest = got.keys().find(|value| *value != OTHER).expect("a city");
        let slice = crate::metrics::model::SliceKey {
            dimension: "city".into(),
            value: largest.clone(),
        };
        let alone = (source.series(&metric, range, Some(&slice)).await).expect("reads");
        assert_eq!(alone, got[largest], "{name} {largest}");
        // Fewer values than the cap: every one, no `(other)`.
        let all = (source
            .top_series_by_slice(&metric, range, "city", 1000)
            .await)
            .expect("all");
        assert_eq!(all, every, "{name}");
    }
}

#[tokio::test]
async fn the_top_cities_and_the_other_equal_their_own_sql() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("vigil.sqlite");
    let store = SqliteStore::open(&path).expect("opens");
    let config = SimulatorConfig {
        users: 400,
        days: 1,
        seed: 3,
    };
    let mut simulator = Simulator::new(&config, END, Some((START, END)));
    simulator.spread_cities(40);
    let source = Source::Sqlite(store);
    (source.write_events(simulator.generate(START, END)).await).expect("writes");

    let views = catalogue::builtin_metric("feed_views").expect("built in");
    let range = TimeRange {
        from: END - 8 * 3600,
        to: END,
    };
    let by_city = (source.series_by_slice(&views, range, "city").await).expect("reads");
    assert!(by_city.len() > 10, "{} cities", by_city.len());
    let capped = (source.top_series_by_slice(&views, range, "city", 5).await).expect("reads");
    assert_eq!(capped.len(), 6, "five cities and the other");
    assert_eq!(
        nonzero(&capped),
        nonzero(&cap(&views.aggregate, by_city, 5))
    );

    // Independently: views per city over the range, the five largest, and
    // per bucket the views of every other city.
    let connection = rusqlite::Connection::open(&path).expect("opens");
    let (from, to) = (range.from, range.to);
    let mut statement = connection
        .prepare(
            "SELECT city, COUNT(*) AS n FROM feed_actions WHERE action = 'view' \
             AND time >= ?1 AND time < ?2 GROUP BY city ORDER BY n DESC, city LIMIT 5",
        )
        .expect("prepares");
    let top: Vec<String> = (statement.query_map([from, to], |row| row.get(0)))
        .expect("runs")
        .map(|row| row.expect("row"))
        .collect();
    let mut kept: Vec<&String> = capped.keys().filter(|k| *k != OTHER).collect();
    let mut expected_top: Vec<&String> = top.iter().collect();
    kept.sort();
    expected_top.sort();
    assert_eq!(kept, expected_top);

    let placeholders = vec!["?"; top.len()].join(", ");
    let sql = format!(
        "SELECT (time / {BUCKET_SECONDS}) * {BUCKET_SECONDS} AS bucket, COUNT(*) FROM feed_actions \
         WHERE action = 'view' AND time >= {from} AND time < {to} AND city NOT IN ({placeholders}) \
         GROUP BY bucket ORDER BY bucket"
    );
    let mut statement = connection.prepare(&sql).expect("prepares");
    let other: BTreeMap<i64, f64> = statement
        .query_map(rusqlite::params_from_iter(top.iter()), |row| {
            Ok((row.get(0)?, row.get::<_, i64>(1)? as f64))
        })
        .expect("runs")
        .map(|row| row.expect("row"))
        .collect();
    let capped_other: BTreeMap<i64, f64> = (capped[OTHER].iter())
        .filter(|bucket| bucket.value > 0.0)
        .map(|bucket| (bucket.start, bucket.value))
        .collect();
    assert!(!other.is_empty());
    assert_eq!(capped_other, other);
}

#[tokio::test]
async fn grouped_comparisons_equal_each_series_read_alone() {
    use crate::evaluation::{AlertContext, Evaluation};
    use crate::metrics::model::SliceKey;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("vigil.sqlite")).expect("opens");
    let config = SimulatorConfig {
        users: 300,
        days: 8,
        seed: 5,
    };
    let start = END - 8 * 86_400;
    let mut simulator = Simulator::new(&config, END, Some((start, END)));
    simulator.spread_cities(20);
    let source = Source::Sqlite(store);
    (source.write_events(simulator.generate(start, END)).await).expect("writes");
    let views = catalogue::builtin_metric("feed_views").expect("built in");
    let bucket = END - 6 * BUCKET_SECONDS;
    let firing = |slice: Option<(&str, &str)>| Evaluation {
        metric: views.name.clone(),
        slice: slice.map(|(d, v)| SliceKey {
            dimension: d.into(),
            value: v.into(),
        }),
        bucket,
        detector: "iqr".into(),
        point: detect::Point {
            value: Some(1.0),
            is_anomaly: true,
            ..detect::Point::default()
        },
        context: AlertContext::default(),
    };
    let mut evaluations = vec![
        firing(None),
        firing(Some(("city", "City 00001"))),
        firing(Some(("city", "City 00002"))),
        firing(Some(("os", "iOS"))),
    ];
    let metrics = [views.clone()];
    super::context::attach_comparisons(&source, &mut evaluations, &metrics)
        .await
        .expect("compares");
    for evaluation in &evaluations {
        let alone = |back: i64| {
            let from = bucket - back;
            let range = TimeRange {
                from,
                to: from + BUCKET_SECONDS,
            };
            let source = &source;
            let slice = evaluation.slice.clone();
            let views = views.clone();
            async move {
                let then = (source.series(&views, range, slice.as_ref()).await).expect("reads");
                (then.first().map(|b| b.value))
                    .filter(|t| *t != 0.0)
                    .map(|t| (1.0 - t) / t.abs())
            }
        };
        assert_eq!(evaluation.context.vs_yesterday, alone(86_400).await);
        assert_eq!(evaluation.context.vs_week_ago, alone(7 * 86_400).await);
        assert!(evaluation.context.vs_week_ago.is_some(), "{evaluation:?}");
    }
}
