//! Daily values on a real ClickHouse (Debian's 18.16 in CI): the same
//! simulated events as the SQLite store, per local day (UTC+03:00, so days
//! are not UTC days); each built-in metric must equal a hand-written
//! ClickHouse query over the whole day, and the SQLite store's value bit
//! for bit.

use clickhouse::Client;

use super::super::real_server_tests::support::{TestServer, TEST_PASSWORD, TEST_USER};
use super::*;
use crate::config::{ClickHouseConfig, Secret};
use crate::metrics::catalogue;
use crate::metrics::model::TableNames;
use crate::metrics::sql::DAY_SECONDS;
use crate::sources::daily_tests::{days_to_check, simulated, DAYS, FIRST_DAY};
use crate::sources::{Source, SqliteStore};

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
    let batch = simulated(13);
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

    for day in days_to_check(&clickhouse, Dialect::ClickHouse).await {
        let want: Vec<f64> = hand
            .query(&day.sql)
            .fetch_all()
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", day.sql));
        assert!(want[0] > 0.0, "{}", day.sql);
        let what = format!("{} on {}", day.metric, day.got.start);
        assert_eq!(day.got.value.to_bits(), want[0].to_bits(), "{what}");
    }
    let range = TimeRange {
        from: FIRST_DAY,
        to: FIRST_DAY + DAYS * DAY_SECONDS,
    };
    for metric in catalogue::builtin() {
        let got = clickhouse.daily(&metric, range).await.expect("daily");
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
