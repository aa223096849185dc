//! The capped slices of a check against SQL written independently of the
//! metric builder, and the alert comparisons read grouped against each
//! series read alone, on simulated events spread over synthetic cities.

use std::collections::BTreeMap;

use super::top::cap;
use crate::config::SimulatorConfig;
use crate::metrics::catalogue;
use crate::metrics::dimensions::OTHER;
use crate::metrics::model::{TimeRange, BUCKET_SECONDS};
use crate::simulator::Simulator;
use crate::sources::{Source, SqliteStore};

const START: i64 = 1_704_067_200; // 2024-01-01 00:00 UTC
const END: i64 = START + 86_400;

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
    let capped = cap(&views.aggregate, by_city, 5);
    assert_eq!(capped.len(), 6, "five cities and the other");

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
