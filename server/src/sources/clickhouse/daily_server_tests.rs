//! Daily values on a real ClickHouse (Debian's 18.16 in CI): the same
//! simulated events as the SQLite store, per local day (UTC+03:00, so days
//! are not UTC days); each built-in metric must equal a hand-written
//! ClickHouse query over the whole day, and the SQLite store's value bit
//! for bit.

use clickhouse::Client;

use super::super::real_server_tests::support::{TestServer, TEST_PASSWORD, TEST_USER};
use super::*;
use crate::config::{ClickHouseConfig, Secret, SimulatorConfig};
use crate::metrics::catalogue;
use crate::metrics::model::TableNames;
use crate::metrics::sql::DAY_SECONDS;
use crate::simulator::Simulator;
use crate::sources::{Source, SqliteStore};

/// 2024-03-04 00:00 UTC.
const START: i64 = 1_709_510_400;
/// Local midnight at UTC+03:00 after START.
const FIRST_DAY: i64 = START + 21 * 3600;
const DAYS: i64 = 3;

/// One built-in metric over `[from, to)`, written by hand: no builder, literals.
fn hand_sql(metric: &str, from: i64, to: i64) -> String {
    let (table, value, filter) = match metric {
        "feed_active_users" => ("feed_actions", "toFloat64(uniqExact(user_id))", "1"),
        "feed_views" => ("feed_actions", "toFloat64(count())", "action = 'view'"),
        "feed_likes" => ("feed_actions", "toFloat64(count())", "action = 'like'"),
        "feed_ctr" => (
            "feed_actions",
            "countIf(action = 'like') / countIf(action = 'view')",
            "1",
        ),
        "messenger_active_users" => ("message_actions", "toFloat64(uniqExact(user_id))", "1"),
        "messages_sent" => ("message_actions", "toFloat64(count())", "1"),
        other => panic!("no hand-written SQL for {other}"),
    };
    format!(
        "SELECT {value} FROM {table} \
         WHERE toUInt32(time) >= {from} AND toUInt32(time) < {to} AND {filter}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_values_equal_hand_written_sql_and_sqlite_bit_for_bit() {
    let Some(server) = TestServer::start("daily_values_equal_hand_written_sql_and_sqlite") else {
        return;
    };
    let database = "vigil_daily";
    let config = ClickHouseConfig {
        url: server.url.clone(),
        database: database.into(),
        user: TEST_USER.into(),
        password: Some(Secret::new(TEST_PASSWORD)),
        tables: TableNames::default(),
        tls: Default::default(),
    };
    let clickhouse = ClickHouseSource::new(&config).expect("client");
    clickhouse.ensure_tables().await.expect("tables created");
    let simulator = SimulatorConfig {
        users: 300,
        days: 5,
        seed: 13,
    };
    let end = START + 5 * DAY_SECONDS;
    let batch = Simulator::new(&simulator, end, None).generate(START, end);
    clickhouse
        .write_events(&batch)
        .await
        .expect("written to clickhouse");
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = Source::Sqlite(SqliteStore::open(&dir.path().join("v.sqlite")).expect("sqlite"));
    sqlite.write_events(batch).await.expect("written to sqlite");
    let clickhouse = Source::ClickHouse(clickhouse);
    let hand = Client::default()
        .with_url(&server.url)
        .with_validation(false)
        .with_compression(clickhouse::Compression::None)
        .with_user(TEST_USER)
        .with_password(TEST_PASSWORD)
        .with_database(database);

    let range = TimeRange {
        from: FIRST_DAY,
        to: FIRST_DAY + DAYS * DAY_SECONDS,
    };
    for metric in catalogue::builtin() {
        let got = clickhouse.daily(&metric, range).await.expect("daily");
        let starts: Vec<i64> = got.iter().map(|b| b.start).collect();
        let want_starts: Vec<i64> = (0..DAYS).map(|d| FIRST_DAY + d * DAY_SECONDS).collect();
        assert_eq!(
            starts, want_starts,
            "{}: one value per local day",
            metric.name
        );
        for bucket in &got {
            let sql = hand_sql(&metric.name, bucket.start, bucket.start + DAY_SECONDS);
            let want: Vec<f64> = hand
                .query(&sql)
                .fetch_all()
                .await
                .unwrap_or_else(|error| panic!("{sql}: {error}"));
            assert!(want[0] > 0.0, "{sql}");
            assert_eq!(
                bucket.value.to_bits(),
                want[0].to_bits(),
                "{} on {}",
                metric.name,
                bucket.start
            );
        }
        let same = sqlite.daily(&metric, range).await.expect("sqlite daily");
        let bits = |series: &[Bucket]| -> Vec<(i64, u64)> {
            series
                .iter()
                .map(|b| (b.start, b.value.to_bits()))
                .collect()
        };
        assert_eq!(
            bits(&got),
            bits(&same),
            "{}: ClickHouse and SQLite agree",
            metric.name
        );
    }
}
