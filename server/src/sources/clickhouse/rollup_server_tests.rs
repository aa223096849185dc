//! Rollups against a real server (Debian's 18.16 in CI): after
//! [`ClickHouseSource::build_rollups`] (what `vigil clickhouse rollup` runs),
//! every built-in metric, whole and by every slice, read through the rollup
//! equals the raw-event query bit for bit; so it does after a rerun and after
//! new events reach the rollup through the materialized view, including into
//! a bucket that was half backfilled. The DDL itself runs here, which is the
//! proof 18.16 accepts it.

use super::real_server_tests::support::{TestServer, TEST_PASSWORD, TEST_USER};
use super::*;
use crate::config::{Secret, SimulatorConfig};
use crate::metrics::catalogue;
use crate::metrics::model::{Aggregate, Filter};
use crate::simulator::Simulator;

/// 2024-03-04 00:00 UTC (the test server runs in UTC).
const START: i64 = 1_709_510_400;
/// Two days and 7 minutes in: the first write stops inside a bucket, and
/// the rest of that bucket arrives through the view after the backfill.
const SPLIT: i64 = START + 2 * 86_400 + 7 * 60;
const END: i64 = START + 3 * 86_400;
const RANGE: TimeRange = TimeRange {
    from: START,
    to: END,
};

type Snapshot = BTreeMap<String, Vec<(i64, u64)>>;

fn source(server: &TestServer) -> ClickHouseSource {
    let source = ClickHouseSource::new(&ClickHouseConfig {
        url: server.url.clone(),
        database: "vigil_rollup".into(),
        user: TEST_USER.into(),
        password: Some(Secret::new(TEST_PASSWORD)),
        tables: TableNames::default(),
        tls: Default::default(),
    })
    .expect("client");
    // These tests add events to 2024's buckets between reads: for the bucket
    // cache they are late rows, so nothing may count as settled.
    source.settle_rows_after(i64::MAX / 2);
    source
}

/// A source on a fresh database with the event tables created.
async fn writer(server: &TestServer) -> ClickHouseSource {
    let writer = source(server);
    writer.ensure_tables().await.expect("tables");
    writer
}

/// The simulator's history of `days` days ending at `end`.
fn simulator(users: u32, days: u32, seed: u64, end: i64) -> Simulator {
    let config = SimulatorConfig { users, days, seed };
    Simulator::new(&config, end, Some((end - i64::from(days) * 86_400, end)))
}

fn bits(series: &[Bucket]) -> Vec<(i64, u64)> {
    series
        .iter()
        .map(|b| (b.start, b.value.to_bits()))
        .collect()
}

/// The raw-event query, whatever rollups exist.
async fn raw(
    source: &ClickHouseSource,
    metric: &MetricDef,
    slice: Option<&SliceKey>,
    by: Option<&str>,
) -> Vec<(String, u32, f64)> {
    let query = sql::build(
        Dialect::ClickHouse,
        metric,
        &source.tables,
        RANGE,
        slice,
        by,
    )
    .expect("raw query");
    if by.is_some() {
        source.fetch(&query, "raw").await.expect("raw read")
    } else {
        let rows: Vec<(u32, f64)> = source.fetch(&query, "raw").await.expect("raw read");
        rows.into_iter()
            .map(|(start, value)| (String::new(), start, value))
            .collect()
    }
}

fn snapshot_of(rows: Vec<(String, u32, f64)>) -> BTreeMap<String, Vec<(i64, u64)>> {
    let mut by_value: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for (value, start, number) in rows {
        by_value
            .entry(value)
            .or_default()
            .push((i64::from(start), number.to_bits()));
    }
    by_value
}

/// Every built-in metric whole, by every key dimension, and for one value of
/// each, through the source (must read the rollup) and raw: asserted equal.
async fn compare_all(source: &ClickHouseSource) -> Snapshot {
    let mut snapshot = Snapshot::new();
    for metric in catalogue::builtin() {
        let name = &metric.name;
        let whole_query = source
            .metric_query(&metric, RANGE, None, None, None)
            .await
            .expect("query");
        assert!(
            whole_query.sql.contains("_rollup_15m"),
            "{}",
            whole_query.sql
        );
        let whole = bits(&source.series(&metric, RANGE, None).await.expect("series"));
        assert!(whole.len() > 150, "{name}: {} buckets", whole.len());
        assert_eq!(
            Some(&whole),
            snapshot_of(raw(source, &metric, None, None).await).get(""),
            "{name} whole"
        );
        snapshot.insert(name.clone(), whole);
        for &dimension in rollup::key_columns(metric.table) {
            let by = source
                .series_by_slice(&metric, RANGE, dimension)
                .await
                .expect("by slice");
            let by: BTreeMap<String, Vec<(i64, u64)>> = by
                .into_iter()
                .map(|(value, series)| (value, bits(&series)))
                .collect();
            // By action, views and likes have one value each (their filter's).
            let least = if dimension == "action" && name != "feed_active_users" {
                1
            } else {
                2
            };
            assert!(by.len() >= least, "{name} by {dimension}: {:?}", by.keys());
            assert_eq!(
                by,
                snapshot_of(raw(source, &metric, None, Some(dimension)).await),
                "{name} by {dimension}"
            );
            let (value, series) = by.iter().next().expect("a slice value");
            let slice = SliceKey {
                dimension: dimension.into(),
                value: value.clone(),
            };
            let one = bits(
                &source
                    .series(&metric, RANGE, Some(&slice))
                    .await
                    .expect("slice"),
            );
            assert_eq!(&one, series, "{name} {dimension}={value}");
            assert_eq!(
                Some(&one),
                snapshot_of(raw(source, &metric, Some(&slice), None).await).get(""),
                "{name} {dimension}={value} raw"
            );
            for (value, series) in by {
                snapshot.insert(format!("{name} {dimension}={value}"), series);
            }
        }
    }
    snapshot
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollup_reads_equal_raw_sql_after_backfill_rerun_and_new_inserts() {
    let Some(server) = TestServer::start("rollup_reads_equal_raw_sql") else {
        return;
    };
    let writer = writer(&server).await;
    let mut simulator = simulator(300, 3, 5, END);
    let first = simulator.generate(START, SPLIT);
    writer.write_events(&first).await.expect("first events");
    let before = source(&server);
    assert_eq!(
        before.ready_rollups().await.expect("detected"),
        rollup_access::ReadyRollups::default(),
        "no rollup yet"
    );

    let mut days = Vec::new();
    writer
        .build_rollups(&mut |day: &BackfilledDay| days.push(day.clone()))
        .await
        .expect("rollups built");
    // One chunk per day and table; every event counted in exactly one.
    let feed_days: Vec<&BackfilledDay> =
        days.iter().filter(|d| d.table == "feed_actions").collect();
    assert_eq!(
        feed_days.iter().map(|d| d.day).collect::<Vec<_>>(),
        [20240304, 20240305, 20240306]
    );
    assert_eq!(feed_days.last().map(|d| (d.index, d.of)), Some((3, 3)));
    let rolled = |table: &str| -> u64 {
        days.iter()
            .filter(|d| d.table == table)
            .map(|d| d.events)
            .sum()
    };
    assert_eq!(rolled("feed_actions"), first.feed.len() as u64);
    assert_eq!(rolled("message_actions"), first.messages.len() as u64);

    // A source opened before keeps reading raw events; a new one finds the rollups.
    let sql = before
        .metric_query(&catalogue::builtin()[0], RANGE, None, None, None)
        .await
        .expect("query");
    assert!(sql.sql.contains("FROM `feed_actions`"), "{}", sql.sql);
    let reader = source(&server);
    let built = compare_all(&reader).await;

    // Capped in SQL through the rollup: ranked and summed there, equal to
    // the cap of every value's series.
    let views = catalogue::builtin_metric("feed_views").expect("built-in");
    let kept = ["Russia".to_string()];
    let capped = (reader
        .metric_query(&views, RANGE, None, Some("country"), Some(&kept))
        .await)
        .expect("query");
    assert!(capped.sql.contains("_rollup_15m"), "{}", capped.sql);
    let capped_reader = crate::sources::Source::ClickHouse(source(&server));
    for metric in catalogue::builtin() {
        for dimension in &metric.slices {
            crate::check::top_tests::assert_capped(&capped_reader, &metric, RANGE, dimension, 2)
                .await;
        }
    }

    // Distinct users do not add up across slices (a user who viewed and liked
    // in a bucket is one user): the rollup merges user sets, never sums.
    let users = catalogue::builtin_metric("feed_active_users").expect("built-in");
    let by_action = reader
        .series_by_slice(&users, RANGE, "action")
        .await
        .expect("by action");
    let whole = reader.series(&users, RANGE, None).await.expect("whole");
    let overlapping = whole
        .iter()
        .filter(|bucket| {
            let summed: f64 = by_action
                .values()
                .flat_map(|series| series.iter().filter(|b| b.start == bucket.start))
                .map(|b| b.value)
                .sum();
            summed > bucket.value
        })
        .count();
    assert!(
        overlapping > 10,
        "{overlapping} buckets with users in both actions"
    );

    // Rerun: every day rebuilt, nothing counted twice.
    writer
        .build_rollups(&mut |_: &BackfilledDay| {})
        .await
        .expect("rerun");
    assert_eq!(compare_all(&reader).await, built, "values after a rerun");

    // New events flow through the view, also into the bucket split at SPLIT.
    let second = simulator.generate(SPLIT, END);
    writer.write_events(&second).await.expect("second events");
    let after = compare_all(&reader).await;
    let split_bucket = SPLIT / 900 * 900;
    let at_split = |snapshot: &Snapshot| {
        snapshot["feed_active_users"]
            .iter()
            .find(|(start, _)| *start == split_bucket)
            .map(|&(_, value)| f64::from_bits(value))
    };
    assert!(
        at_split(&after) > at_split(&built),
        "the split bucket grew: {:?} -> {:?}",
        at_split(&built),
        at_split(&after)
    );
    assert!(after["messages_sent"].len() > built["messages_sent"].len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_the_rollup_cannot_answer_read_raw_events() {
    let Some(server) = TestServer::start("metrics_the_rollup_cannot_answer") else {
        return;
    };
    let writer = writer(&server).await;
    let batch = simulator(50, 1, 3, START + 86_400).generate(START, START + 86_400);
    writer.write_events(&batch).await.expect("events");
    writer
        .build_rollups(&mut |_: &BackfilledDay| {})
        .await
        .expect("rollups built");

    let reader = source(&server);
    let range = TimeRange {
        from: START,
        to: START + 86_400,
    };
    let mut group_views = catalogue::builtin_metric("feed_views").expect("built-in");
    group_views.name = "exp_group_1_views".into();
    group_views.filters.push(Filter {
        column: "exp_group".into(),
        value: "1".into(),
    });
    let views = catalogue::builtin_metric("feed_views").expect("built-in");
    let posts = MetricDef {
        name: "posts_seen".into(),
        aggregate: Aggregate::Distinct {
            column: "post_id".into(),
        },
        ..views.clone()
    };
    for (metric, by) in [(&group_views, None), (&views, Some("city")), (&posts, None)] {
        let query = reader
            .metric_query(metric, range, None, by, None)
            .await
            .expect("query");
        assert!(query.sql.contains("FROM `feed_actions`"), "{}", query.sql);
    }
    // Read raw, they still give values (the filter narrows the views).
    let all = reader.series(&views, range, None).await.expect("views");
    let narrowed = reader
        .series(&group_views, range, None)
        .await
        .expect("group");
    let total = |series: &[Bucket]| series.iter().map(|b| b.value).sum::<f64>();
    assert!(total(&narrowed) > 0.0 && total(&narrowed) < total(&all));

    // Without the view that keeps it current, a rollup is not read.
    writer
        .client
        .query("DROP TABLE `feed_actions_rollup_15m_mv`")
        .execute()
        .await
        .expect("view dropped");
    assert_eq!(
        source(&server).ready_rollups().await.expect("detected"),
        rollup_access::ReadyRollups {
            feed_actions: false,
            message_actions: true
        }
    );
}
