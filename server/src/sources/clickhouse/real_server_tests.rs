//! The ClickHouse source against a real server (Debian's 18.16 in CI), no mocks.
//!
//! Inside the crate rather than in `server/tests/` because they need the
//! simulator, both stores and the source methods themselves; the CLI path
//! (`vigil simulate --clickhouse-url`, `vigil series`) is covered by
//! `server/tests/clickhouse_cli.rs`.
//!
//! The same simulated events (fixed seed and anchor) go into ClickHouse (through
//! [`ClickHouseSource::write_events`]) and into the SQLite store; then every
//! built-in metric, whole and by slice, must
//! 1. equal an independent, hand-written ClickHouse query (not the builder's), and
//! 2. equal the SQLite store's value bit for bit.

#[path = "../../../tests/support/clickhouse.rs"]
pub(super) mod support; // also used by tls_server_tests

use clickhouse::Client;

use super::*;
use crate::config::{Secret, SimulatorConfig};
use crate::events::IncidentKind;
use crate::metrics::catalogue;
use crate::metrics::model::{Aggregate, Filter};
use crate::simulator::Simulator;
use crate::sources::{Source, SqliteStore};
use support::{TestServer, TEST_PASSWORD, TEST_USER};

/// 2024-03-04 00:00 UTC (a Monday).
const START: i64 = 1_709_510_400;
const DAYS: i64 = 3;
const END: i64 = START + DAYS * 86_400;

fn config(server: &TestServer, database: &str) -> ClickHouseConfig {
    ClickHouseConfig {
        url: server.url.clone(),
        database: database.into(),
        user: TEST_USER.into(),
        password: Some(Secret::new(TEST_PASSWORD)),
        tables: TableNames::default(),
        tls: Default::default(),
    }
}

/// A client for the hand-written queries: plain, no vigil code in between.
fn raw_client(server: &TestServer, database: &str) -> Client {
    Client::default()
        .with_url(&server.url)
        .with_validation(false)
        .with_compression(clickhouse::Compression::None)
        .with_database(database)
}

fn simulated() -> (Vec<Incident>, EventBatch) {
    let config = SimulatorConfig {
        users: 300,
        days: DAYS as u32,
        seed: 11,
    };
    let mut simulator = Simulator::new(&config, END, Some((START, END)));
    (simulator.incidents(), simulator.generate(START, END))
}

/// The metric written out by hand, per bucket: `intDiv` arithmetic instead of
/// `toStartOfFifteenMinutes`, literals instead of placeholders.
fn hand_sql(metric: &str, slice: Option<(&str, &str)>, range: TimeRange) -> String {
    let (table, value, filter, having) = match metric {
        "feed_active_users" => ("feed_actions", "toFloat64(uniqExact(user_id))", "1", "1"),
        "feed_views" => ("feed_actions", "toFloat64(count())", "action = 'view'", "1"),
        "feed_likes" => ("feed_actions", "toFloat64(count())", "action = 'like'", "1"),
        "feed_ctr" => (
            "feed_actions",
            "countIf(action = 'like') / countIf(action = 'view')",
            "1",
            "countIf(action = 'view') > 0",
        ),
        "messenger_active_users" => ("message_actions", "toFloat64(uniqExact(user_id))", "1", "1"),
        "messages_sent" => ("message_actions", "toFloat64(count())", "1", "1"),
        "exp_group_2_views" => (
            "feed_actions",
            "toFloat64(count())",
            "action = 'view' AND exp_group = 2",
            "1",
        ),
        other => panic!("no hand-written SQL for {other}"),
    };
    let slice = slice.map_or(String::new(), |(dimension, value)| {
        if ["gender", "age", "exp_group"].contains(&dimension) {
            let number: u8 = value.parse().expect("numeric slice value");
            format!(" AND {dimension} = {number}")
        } else {
            let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
            format!(" AND {dimension} = '{escaped}'")
        }
    });
    format!(
        "SELECT toUInt32(intDiv(toUInt32(time), 900) * 900) AS b, {value} AS v \
         FROM {table} \
         WHERE toUInt32(time) >= {from} AND toUInt32(time) < {to} AND {filter}{slice} \
         GROUP BY b HAVING {having} ORDER BY b",
        from = range.from,
        to = range.to,
    )
}

async fn hand(
    client: &Client,
    metric: &str,
    slice: Option<(&str, &str)>,
    range: TimeRange,
) -> Vec<Bucket> {
    let sql = hand_sql(metric, slice, range);
    let rows: Vec<(u32, f64)> = client
        .query(&sql)
        .fetch_all()
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    rows.into_iter()
        .map(|(start, value)| Bucket {
            start: i64::from(start),
            value,
        })
        .collect()
}

/// Equal values bit for bit (f64 `==` would also accept 0.0 == -0.0).
fn assert_same(what: &str, left: &[Bucket], right: &[Bucket]) {
    let bits = |series: &[Bucket]| -> Vec<(i64, u64)> {
        series
            .iter()
            .map(|b| (b.start, b.value.to_bits()))
            .collect()
    };
    assert_eq!(bits(left), bits(right), "{what}");
}

/// A user-style metric with a filter on a numeric column (compared as text).
fn exp_group_2_views() -> MetricDef {
    MetricDef {
        name: "exp_group_2_views".into(),
        title: "Views in experiment group 2".into(),
        table: EventTable::FeedActions,
        aggregate: Aggregate::Count,
        filters: vec![
            Filter {
                column: "action".into(),
                value: "view".into(),
            },
            Filter {
                column: "exp_group".into(),
                value: "2".into(),
            },
        ],
        slices: vec!["os".into(), "gender".into(), "age".into()],
        depends_on: vec![],
        dimensions: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_matches_hand_written_sql_and_sqlite_bit_for_bit() {
    let Some(server) = TestServer::start("every_metric_matches_hand_written_sql_and_sqlite") else {
        return;
    };
    // A product's own database has no incidents table (vigil's simulator
    // creates it): no incidents, no error.
    let product = ClickHouseSource::new(&config(&server, "default")).expect("client");
    assert_eq!(
        (product.incidents(TimeRange { from: 0, to: END }).await)
            .expect("no incidents table is no incidents"),
        vec![]
    );
    let database = "vigil_same_events";
    let clickhouse = ClickHouseSource::new(&config(&server, database)).expect("client");
    clickhouse.ensure_tables().await.expect("tables created");
    clickhouse
        .ensure_tables()
        .await
        .expect("creating twice is a no-op");
    assert_eq!(
        clickhouse
            .newest_event_time(EventTable::FeedActions)
            .await
            .expect("newest"),
        None
    );
    assert_eq!(
        clickhouse
            .incidents(TimeRange { from: 0, to: END })
            .await
            .expect("none"),
        vec![]
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite =
        Source::Sqlite(SqliteStore::open(&dir.path().join("vigil.sqlite")).expect("sqlite"));
    let (incidents, batch) = simulated();
    assert!(
        batch.feed.len() > 20_000 && batch.messages.len() > 1_000,
        "{}",
        batch.len()
    );
    clickhouse
        .write_events(&batch)
        .await
        .expect("written to clickhouse");
    clickhouse
        .write_incidents(&incidents)
        .await
        .expect("incidents to clickhouse");
    sqlite
        .write_events(batch.clone())
        .await
        .expect("written to sqlite");
    sqlite
        .write_incidents(&incidents)
        .await
        .expect("incidents to sqlite");
    let clickhouse = Source::ClickHouse(clickhouse);
    let Source::ClickHouse(raw) = &clickhouse else {
        unreachable!()
    };

    // Newest event and incidents agree.
    for table in [EventTable::FeedActions, EventTable::MessageActions] {
        let newest = clickhouse.newest_event_time(table).await.expect("newest");
        assert!(
            newest.is_some_and(|t| (END - 900..END).contains(&t)),
            "{newest:?}"
        );
        assert_eq!(
            newest,
            sqlite.newest_event_time(table).await.expect("newest")
        );
    }
    let everything = TimeRange {
        from: 0,
        to: END * 2,
    };
    let stored = clickhouse.incidents(everything).await.expect("incidents");
    assert_eq!(stored.len(), incidents.len());
    assert_eq!(
        stored,
        sqlite.incidents(everything).await.expect("incidents")
    );
    // Rewriting an id replaces it (ReplacingMergeTree + FINAL), never duplicates.
    let mut changed = stored[0].clone();
    changed.description = "rewritten: O'Brien \\ \"quoted\"".into();
    changed.kind = IncidentKind::Spike;
    clickhouse
        .write_incidents(std::slice::from_ref(&changed))
        .await
        .expect("rewritten");
    let again = clickhouse.incidents(everything).await.expect("incidents");
    assert_eq!(again.len(), incidents.len());
    assert!(again.contains(&changed));
    let first = TimeRange {
        from: stored[0].start,
        to: stored[0].start + 1,
    };
    assert!(clickhouse
        .incidents(first)
        .await
        .expect("window")
        .iter()
        .any(|i| i.id == changed.id));

    // A read-only user (readonly=1, as dashboards get) can run every read.
    let mut reader_config = config(&server, database);
    reader_config.user = "vigil_reader".into();
    let reader = ClickHouseSource::new(&reader_config).expect("client");
    let views = catalogue::builtin_metric("feed_views").expect("built in");
    let day = TimeRange {
        from: END - 86_400,
        to: END,
    };
    assert_same(
        "read-only user",
        &reader
            .series(&views, day, None)
            .await
            .expect("reader reads"),
        &raw.series(&views, day, None).await.expect("reads"),
    );
    let error = reader.ensure_tables().await.unwrap_err();
    assert!(matches!(error, SourceError::Write { .. }), "{error}");
    assert!(error.to_string().contains("readonly"), "{error}");

    let client = raw_client(&server, database);
    let windows = [
        TimeRange {
            from: END - 86_400,
            to: END,
        },
        // Unaligned on purpose: the builder aligns outward.
        TimeRange {
            from: START + 123,
            to: START + 7 * 3600 - 5,
        },
    ];
    let mut metrics = catalogue::builtin();
    metrics.push(exp_group_2_views());
    let mut compared = 0usize;
    for metric in &metrics {
        for range in windows {
            let aligned = sql::align_range(range).expect("aligned");
            let what = format!("{} {aligned:?}", metric.name);

            // 1. vigil's ClickHouse query == the hand-written one.
            let got = raw.series(metric, range, None).await.expect("series");
            let want = hand(&client, &metric.name, None, aligned).await;
            assert!(!want.is_empty(), "{what}: no data");
            assert_same(&what, &got, &want);

            // 2. ClickHouse == SQLite, after the shared gap rule.
            let from_sqlite = sqlite.series(metric, range, None).await.expect("sqlite");
            let from_clickhouse = clickhouse.series(metric, range, None).await.expect("ch");
            assert_same(&format!("{what} sqlite"), &from_clickhouse, &from_sqlite);

            for dimension in &metric.slices {
                let by_value = clickhouse
                    .series_by_slice(metric, range, dimension)
                    .await
                    .expect("by slice");
                let by_value_sqlite = sqlite
                    .series_by_slice(metric, range, dimension)
                    .await
                    .expect("by slice sqlite");
                assert!(by_value.len() > 1, "{what} by {dimension}: {by_value:?}");
                assert_eq!(
                    by_value.keys().collect::<Vec<_>>(),
                    by_value_sqlite.keys().collect::<Vec<_>>(),
                    "{what} by {dimension}"
                );
                for (value, series) in &by_value {
                    assert_same(
                        &format!("{what} {dimension}={value} sqlite"),
                        series,
                        &by_value_sqlite[value],
                    );
                }
                // A few single slices: the smallest and largest value, both ways.
                let keys: Vec<&String> = by_value.keys().collect();
                for value in [keys[0], keys[keys.len() - 1]] {
                    let slice = SliceKey {
                        dimension: dimension.clone(),
                        value: value.clone(),
                    };
                    let what = format!("{what} {dimension}={value}");
                    let got = raw
                        .series(metric, range, Some(&slice))
                        .await
                        .expect("slice");
                    let want = hand(&client, &metric.name, Some((dimension, value)), aligned).await;
                    assert_same(&what, &got, &want);
                    let filled = clickhouse
                        .series(metric, range, Some(&slice))
                        .await
                        .expect("slice");
                    assert_same(&format!("{what} vs by_slice"), &filled, &by_value[value]);
                    let from_sqlite = sqlite
                        .series(metric, range, Some(&slice))
                        .await
                        .expect("sqlite");
                    assert_same(&format!("{what} sqlite"), &filled, &from_sqlite);
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, metrics.len() * windows.len() * 3 * 2);

    // Capped in SQL (raw events: this source has no rollup), every metric
    // by every slice and views by city, equal on both stores.
    use crate::check::top_tests::assert_capped;
    for source in [&clickhouse, &sqlite] {
        for metric in &metrics {
            for dimension in &metric.slices {
                assert_capped(source, metric, windows[0], dimension, 2).await;
            }
        }
        let views = catalogue::builtin_metric("feed_views").expect("built in");
        assert_capped(source, &views, windows[0], "city", 5).await;
        let capped = (source
            .top_series_by_slice(&views, windows[0], "city", 5)
            .await)
            .expect("capped");
        assert_eq!(capped.len(), 6, "five cities and (other)");

        // A dimension's values without their buckets: the same values as
        // the grouped read, and the largest by volume are the capped ones.
        let mut all: Vec<String> = (source.dimension_values(&views, windows[0], "city", 100_000))
            .await
            .expect("values");
        let grouped = (source.series_by_slice(&views, windows[0], "city").await).expect("grouped");
        let five: Vec<String> = all.iter().take(5).cloned().collect();
        let kept: Vec<String> = (capped.keys())
            .filter(|value| *value != crate::metrics::dimensions::OTHER)
            .cloned()
            .collect();
        all.sort();
        assert_eq!(all, grouped.keys().cloned().collect::<Vec<_>>());
        let mut five_sorted = five.clone();
        five_sorted.sort();
        assert_eq!(five_sorted, kept, "the top five are the capped read's");
        assert_eq!(
            (source.dimension_values(&views, windows[0], "city", 5).await).expect("five"),
            five
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_error_or_a_correct_binding() {
    let Some(server) = TestServer::start("bad_input_is_a_clear_error_or_a_correct_binding") else {
        return;
    };
    let source = ClickHouseSource::new(&config(&server, "vigil_bad_input")).expect("client");
    source.ensure_tables().await.expect("tables");
    let tricky = [
        "O'Brien",
        "back\\slash",
        "tab\there",
        "new\nline",
        "it's \\' both",
        "Москва",
    ];
    let batch = EventBatch {
        feed: tricky
            .iter()
            .enumerate()
            .map(|(i, city)| crate::events::FeedAction {
                user_id: i as u32 + 1,
                post_id: 7,
                action: crate::events::FeedActionKind::View,
                time: START + 60 * i as i64,
                gender: 1,
                age: 30,
                country: "Russia".into(),
                city: (*city).into(),
                os: "iOS".into(),
                source: "ads".into(),
                exp_group: 3,
            })
            .collect(),
        messages: vec![],
    };
    source.write_events(&batch).await.expect("written");
    let views = catalogue::builtin_metric("feed_views").expect("built in");
    let range = TimeRange {
        from: START,
        to: START + 3600,
    };

    // Quotes, backslashes and control characters in a slice value are bound, not spliced.
    for city in tricky {
        let slice = SliceKey {
            dimension: "city".into(),
            value: city.into(),
        };
        let series = source
            .series(&views, range, Some(&slice))
            .await
            .expect("bound");
        assert_eq!(
            series,
            vec![Bucket {
                start: START,
                value: 1.0
            }],
            "{city:?}"
        );
    }
    let injection = SliceKey {
        dimension: "os".into(),
        value: "iOS' OR '1'='1".into(),
    };
    assert_eq!(
        source
            .series(&views, range, Some(&injection))
            .await
            .expect("bound"),
        vec![]
    );
    let by_city = source
        .series_by_slice(&views, range, "city")
        .await
        .expect("by city");
    assert_eq!(
        by_city.keys().map(String::as_str).collect::<Vec<_>>().len(),
        tricky.len()
    );
    assert!(by_city.contains_key("it's \\' both"));

    // Unknown columns and non-slice dimensions never reach the server.
    let mut bad = views.clone();
    bad.filters.push(Filter {
        column: "nope".into(),
        value: "1".into(),
    });
    let error = source.series(&bad, range, None).await.unwrap_err();
    assert!(
        matches!(error, SourceError::InvalidDefinition(_)),
        "{error}"
    );
    assert!(error.to_string().contains("no column `nope`"), "{error}");
    let error = source
        .series_by_slice(&views, range, "os\"; DROP")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("quote"), "{error}");
    let slice = SliceKey {
        dimension: "user_id".into(),
        value: "1".into(),
    };
    let error = source
        .series(&views, range, Some(&slice))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("cannot be a slice"), "{error}");

    // Times ClickHouse cannot store are a write error naming the table.
    let mut early = batch.clone();
    early.feed[0].time = -5;
    let error = source.write_events(&early).await.unwrap_err();
    assert!(matches!(error, SourceError::Write { .. }), "{error}");
    assert!(error.to_string().contains("feed_actions"), "{error}");

    // A missing database is a query error carrying the server's message.
    let missing = ClickHouseSource::new(&config(&server, "no_such_db")).expect("client");
    let error = missing.series(&views, range, None).await.unwrap_err();
    assert!(matches!(error, SourceError::Query { .. }), "{error}");
    assert!(error.to_string().contains("no_such_db"), "{error}");

    // A wrong password: unreachable (retriable), and the password is not echoed.
    let mut wrong = config(&server, "vigil_bad_input");
    wrong.password = Some(Secret::new("hunter2-wrong"));
    let error = ClickHouseSource::new(&wrong)
        .expect("client")
        .newest_event_time(EventTable::FeedActions)
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::Unreachable { .. }), "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
    assert!(!format!("{:?}", ClickHouseSource::new(&wrong).expect("client")).contains("hunter2"));

    // Nobody listening: unreachable, naming the URL.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let mut nowhere = config(&server, "vigil_bad_input");
    nowhere.url = format!("http://127.0.0.1:{port}");
    let error = ClickHouseSource::new(&nowhere)
        .expect("client")
        .series(&views, range, None)
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::Unreachable { .. }), "{error}");
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    assert!(!error.to_string().contains(TEST_PASSWORD), "{error}");
}

/// The newest event comes from the last day's parts when the table has
/// some (what a live table has), else from the whole column (an idle or
/// historical table), equal either way to the newest event written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_event_is_read_from_the_recent_parts_or_else_the_whole_table() {
    let Some(server) = TestServer::start("the_newest_event") else {
        return;
    };
    let now = crate::times::unix_now();
    let view_at = |time: i64| crate::events::FeedAction {
        user_id: 1,
        post_id: 7,
        action: crate::events::FeedActionKind::View,
        time,
        gender: 1,
        age: 30,
        country: "Russia".into(),
        city: "Moscow".into(),
        os: "iOS".into(),
        source: "ads".into(),
        exp_group: 3,
    };
    let batch = |times: &[i64]| EventBatch {
        feed: times.iter().map(|&t| view_at(t)).collect(),
        messages: vec![],
    };
    let live = ClickHouseSource::new(&config(&server, "vigil_newest_live")).expect("client");
    live.ensure_tables().await.expect("tables");
    let recent = now - 600;
    live.write_events(&batch(&[now - 5 * 86_400, recent, now - 3 * 3600]))
        .await
        .expect("written");
    assert_eq!(
        live.newest_event_time(EventTable::FeedActions)
            .await
            .expect("newest"),
        Some(recent)
    );
    let idle = ClickHouseSource::new(&config(&server, "vigil_newest_idle")).expect("client");
    idle.ensure_tables().await.expect("tables");
    let old = now - 5 * 86_400;
    idle.write_events(&batch(&[old - 3600, old]))
        .await
        .expect("written");
    assert_eq!(
        idle.newest_event_time(EventTable::FeedActions)
            .await
            .expect("newest"),
        Some(old),
        "nothing in the last day: the whole table"
    );
    assert_eq!(
        idle.newest_event_time(EventTable::MessageActions)
            .await
            .expect("newest"),
        None,
        "an empty table"
    );
}
