//! The experiment group sums against an independent computation over the
//! events themselves (here for SQLite; `clickhouse/experiments.rs` runs the
//! same comparison on a real ClickHouse server).

use std::collections::BTreeMap;

use detect::experiments::GroupSummary;

use crate::config::SimulatorConfig;
use crate::events::{EventBatch, FeedActionKind};
use crate::metrics::catalogue;
use crate::metrics::model::TimeRange;
use crate::simulator::Simulator;
use crate::sources::{Source, SqliteStore};

/// 2024-03-04 00:00 UTC.
pub(crate) const START: i64 = 1_709_510_400;
pub(crate) const END: i64 = START + 3 * 86_400;

/// Three days of 300 simulated users.
pub(crate) fn simulated() -> EventBatch {
    let config = SimulatorConfig {
        users: 300,
        days: 3,
        seed: 11,
    };
    Simulator::new(&config, END, Some((START, END))).generate(START, END)
}

/// The ranges and groups compared: a start inside a bucket, two pairs of groups.
pub(crate) const CASES: [(TimeRange, &[u8]); 3] = [
    (
        TimeRange {
            from: START + 86_400 + 123,
            to: END,
        },
        &[1, 2],
    ),
    (
        TimeRange {
            from: START,
            to: START + 7_200,
        },
        &[0, 4],
    ),
    (
        TimeRange {
            from: START + 3_600,
            to: END - 999,
        },
        &[0, 1, 2, 3, 4],
    ),
];

/// The metrics compared (a ratio, a filtered count, a count of the other table).
pub(crate) const METRICS: [&str; 3] = ["feed_ctr", "feed_views", "messages_sent"];

/// Written out by hand from the metric's meaning, not its definition: per
/// (user, group) exposed in either table in the range, x and y as the
/// metric counts them (y = 0 for counts), then the six sums per group.
pub(crate) fn expected(
    batch: &EventBatch,
    metric: &str,
    range: TimeRange,
    groups: &[u8],
) -> Vec<(u8, GroupSummary)> {
    let inside =
        |time: i64, group: u8| range.from <= time && time < range.to && groups.contains(&group);
    let mut per_user: BTreeMap<(u8, u32), (f64, f64)> = BTreeMap::new();
    for event in batch.feed.iter().filter(|e| inside(e.time, e.exp_group)) {
        let entry = per_user
            .entry((event.exp_group, event.user_id))
            .or_default();
        let (like, view) = (
            event.action == FeedActionKind::Like,
            event.action == FeedActionKind::View,
        );
        match metric {
            "feed_ctr" => {
                entry.0 += f64::from(u8::from(like));
                entry.1 += f64::from(u8::from(view));
            }
            "feed_views" => entry.0 += f64::from(u8::from(view)),
            _ => {}
        }
    }
    for message in batch
        .messages
        .iter()
        .filter(|m| inside(m.time, m.exp_group))
    {
        let entry = per_user
            .entry((message.exp_group, message.user_id))
            .or_default();
        if metric == "messages_sent" {
            entry.0 += 1.0;
        }
    }
    let mut sums: BTreeMap<u8, GroupSummary> = BTreeMap::new();
    for ((group, _), (x, y)) in per_user {
        sums.entry(group).or_default().add_user(x, y);
    }
    sums.into_iter().collect()
}

#[tokio::test]
async fn sqlite_group_sums_equal_the_events_counted_by_hand() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = Source::Sqlite(SqliteStore::open(&dir.path().join("v.sqlite")).expect("store"));
    let batch = simulated();
    source.write_events(batch.clone()).await.expect("written");
    for name in METRICS {
        let metric = catalogue::builtin_metric(name).expect("built-in");
        for (range, groups) in CASES {
            let sums = source
                .group_sums(&metric, range, groups)
                .await
                .expect("sums");
            let expected = expected(&batch, name, range, groups);
            assert_eq!(sums, expected, "{name} {range:?} {groups:?}");
            assert!(expected.len() == groups.len() && expected.iter().all(|(_, s)| s.users > 10));
        }
    }
    // Users who sent no message count with x = 0: fewer writers than users.
    let sent = catalogue::builtin_metric("messages_sent").expect("built-in");
    let (range, groups) = CASES[0];
    let sums = source.group_sums(&sent, range, groups).await.expect("sums");
    let writers = batch
        .messages
        .iter()
        .filter(|m| m.exp_group == 1 && range.from <= m.time && m.time < range.to)
        .map(|m| m.user_id)
        .collect::<std::collections::BTreeSet<_>>();
    assert!(
        sums[0].1.users > writers.len() as u64,
        "{} users, {} writers",
        sums[0].1.users,
        writers.len()
    );
}
