//! The capped slices of a check against SQL written independently of the
//! metric builder, on simulated events spread over 40 synthetic cities.

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
