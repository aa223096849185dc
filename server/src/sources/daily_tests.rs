//! What the daily-value tests of both stores share: the simulated days, and
//! each built-in metric over one day written out by hand in either dialect
//! (no builder, literals), to compare [`super::Source::daily`] with.

use crate::config::SimulatorConfig;
use crate::events::EventBatch;
use crate::metrics::catalogue;
use crate::metrics::model::{Bucket, TimeRange};
use crate::metrics::sql::{Dialect, DAY_SECONDS};
use crate::simulator::Simulator;
use crate::sources::Source;

/// 2024-03-04 00:00 UTC.
pub const START: i64 = 1_709_510_400;
/// Local midnight at UTC+03:00 after START: days that are not UTC days.
pub const FIRST_DAY: i64 = START + 21 * 3600;
/// Whole local days the simulated events cover from [`FIRST_DAY`].
pub const DAYS: i64 = 3;

/// Five UTC days of 300 simulated users from [`START`].
pub fn simulated(seed: u64) -> EventBatch {
    let config = SimulatorConfig {
        users: 300,
        days: 5,
        seed,
    };
    let end = START + 5 * DAY_SECONDS;
    Simulator::new(&config, end, None).generate(START, end)
}

/// One built-in metric over `[from, to)`, one row with one value.
pub fn hand_sql(dialect: Dialect, metric: &str, from: i64, to: i64) -> String {
    let sqlite = dialect == Dialect::Sqlite;
    let users = if sqlite {
        "1.0 * COUNT(DISTINCT user_id)"
    } else {
        "toFloat64(uniqExact(user_id))"
    };
    let rows = if sqlite {
        "1.0 * COUNT(*)"
    } else {
        "toFloat64(count())"
    };
    let ctr = if sqlite {
        "1.0 * SUM(action = 'like') / SUM(action = 'view')"
    } else {
        "countIf(action = 'like') / countIf(action = 'view')"
    };
    let (table, value, filter) = match metric {
        "feed_active_users" => ("feed_actions", users, "1"),
        "feed_views" => ("feed_actions", rows, "action = 'view'"),
        "feed_likes" => ("feed_actions", rows, "action = 'like'"),
        "feed_ctr" => ("feed_actions", ctr, "1"),
        "messenger_active_users" => ("message_actions", users, "1"),
        "messages_sent" => ("message_actions", rows, "1"),
        other => panic!("no hand-written SQL for {other}"),
    };
    let time = if sqlite { "time" } else { "toUInt32(time)" };
    format!("SELECT {value} FROM {table} WHERE {time} >= {from} AND {time} < {to} AND {filter}")
}

/// One day of one built-in metric as `source` computes it, and the query
/// that computes it by hand.
pub struct DayToCheck {
    pub metric: String,
    pub got: Bucket,
    pub sql: String,
}

/// Every built-in metric's daily values from `source` over the [`DAYS`]
/// local days from [`FIRST_DAY`] (asserting there is one per day), each
/// with its hand-written query in `dialect`.
pub async fn days_to_check(source: &Source, dialect: Dialect) -> Vec<DayToCheck> {
    let range = TimeRange {
        from: FIRST_DAY,
        to: FIRST_DAY + DAYS * DAY_SECONDS,
    };
    let want_starts: Vec<i64> = (0..DAYS).map(|d| FIRST_DAY + d * DAY_SECONDS).collect();
    let mut out = Vec::new();
    for metric in catalogue::builtin() {
        let got = source.daily(&metric, range).await.expect("daily values");
        let starts: Vec<i64> = got.iter().map(|b| b.start).collect();
        assert_eq!(
            starts, want_starts,
            "{}: one value per local day",
            metric.name
        );
        out.extend(got.into_iter().map(|got| DayToCheck {
            sql: hand_sql(dialect, &metric.name, got.start, got.start + DAY_SECONDS),
            metric: metric.name.clone(),
            got,
        }));
    }
    out
}
