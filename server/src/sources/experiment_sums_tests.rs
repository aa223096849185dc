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

/// `batch`'s events with `keep(time, index)`; the index counts each table's rows.
pub(crate) fn part(batch: &EventBatch, keep: impl Fn(i64, usize) -> bool) -> EventBatch {
    EventBatch {
        feed: (batch.feed.iter().enumerate())
            .filter(|(i, e)| keep(e.time, *i))
            .map(|(_, e)| e.clone())
            .collect(),
        messages: (batch.messages.iter().enumerate())
            .filter(|(i, m)| keep(m.time, *i))
            .map(|(_, m)| m.clone())
            .collect(),
    }
}

/// The running sums over successive checks, events arriving between them
/// (some into a bucket the previous check read as unsettled tail), equal
/// the full query's and the hand count at each check, and each later check
/// reads only the newly settled span and the tail. `write` adds events to
/// the store under test.
pub(crate) async fn incremental_sums_follow_the_checks<W, F>(source: &Source, write: W)
where
    W: Fn(EventBatch) -> F,
    F: std::future::Future<Output = ()>,
{
    use crate::metrics::model::BUCKET_SECONDS;
    use crate::sources::experiment_cache::SumsCache;
    use crate::sources::experiment_sums::{read, Reads};
    use crate::sources::settle::settled_before;

    const SETTLE: i64 = 3_600;
    let batch = simulated();
    let cache = std::sync::Mutex::new(SumsCache::default());
    let groups: &[u8] = &[1, 2];
    let from = START + 86_400 + 123;
    // The clock at each check: 2 minutes into a bucket, a bucket apart,
    // then three hours later.
    let first = START + 2 * 86_400 + 18 * 3_600 + 120;
    let checks = [
        first,
        first + BUCKET_SECONDS,
        first + 2 * BUCKET_SECONDS,
        first + 3 * 3_600,
    ];
    // Held back from the first write: every third event of the unsettled
    // hour before the first check (what the first check read as its tail).
    let held = |time: i64, index: usize| {
        settled_before(first, SETTLE) <= time && time < first && index.is_multiple_of(3)
    };
    let mut written_to = first;
    let mut first_rows = Vec::new();
    write(part(&batch, |t, i| t < first && !held(t, i))).await;
    let mut written = part(&batch, |t, i| t < first && !held(t, i));
    for (n, now) in checks.into_iter().enumerate() {
        if n > 0 {
            write(part(&batch, |t, i| {
                (written_to <= t && t < now) || (n == 1 && held(t, i))
            }))
            .await;
            written = part(&batch, |t, _| t < now);
            written_to = now;
        }
        // What a check at `now` reads: totals to the end of its bucket.
        let range = TimeRange {
            from,
            to: now.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS,
        };
        let mut user_rows = Vec::new();
        for name in METRICS {
            let metric = catalogue::builtin_metric(name).expect("built-in");
            let (sums, reads) = read(source, &cache, &metric, range, groups, now, SETTLE)
                .await
                .expect("incremental sums");
            let full = source
                .full_group_sums(&metric, range, groups)
                .await
                .expect("full sums");
            assert_eq!(sums, full, "{name} at check {n}");
            assert_eq!(
                sums,
                expected(&written, name, range, groups),
                "{name} at check {n}"
            );
            assert!(sums.iter().all(|(_, s)| s.users > 10), "{name}: {sums:?}");
            let settled = settled_before(now, SETTLE);
            let previous = match n {
                0 => from,
                _ => settled_before(checks[n - 1], SETTLE),
            };
            assert_eq!(
                reads,
                Reads {
                    full: false,
                    settled: Some(TimeRange {
                        from: previous,
                        to: settled
                    }),
                    tail: Some(TimeRange {
                        from: settled,
                        to: range.to
                    }),
                    user_rows: reads.user_rows,
                },
                "{name} at check {n}"
            );
            user_rows.push(reads.user_rows);
        }
        // The event rows the reads select, against the range's.
        let rows_in = |from: i64, to: i64| {
            let inside = |time: i64| from <= time && time < to;
            let feed = written.feed.iter().filter(|e| inside(e.time)).count();
            feed + written.messages.iter().filter(|m| inside(m.time)).count()
        };
        let read_from = match n {
            0 => from,
            _ => settled_before(checks[n - 1], SETTLE),
        };
        let (selected, whole) = (rows_in(read_from, range.to), rows_in(from, range.to));
        eprintln!(
            "check {n}: {selected} of the range's {whole} event rows read, \
             per-user rows returned {user_rows:?}"
        );
        if n > 0 {
            assert!(selected * 5 < whole, "{selected} of {whole}");
        }
        if n == 1 {
            // Only the bucket settled since and the hour of tail: fewer
            // users than since the start.
            assert!(
                (user_rows.iter().zip(&first_rows)).all(|(now, first)| now < first),
                "{user_rows:?} then {first_rows:?}"
            );
        }
        if n == 0 {
            first_rows = user_rows;
        }
    }
    // The report of an earlier day: past the cached boundary, read whole.
    let metric = catalogue::builtin_metric("feed_ctr").expect("built-in");
    let earlier = TimeRange {
        from,
        to: START + 2 * 86_400,
    };
    let (sums, reads) = read(source, &cache, &metric, earlier, groups, checks[3], SETTLE)
        .await
        .expect("earlier sums");
    assert!(reads.full && reads.user_rows == 0, "{reads:?}");
    assert_eq!(sums, expected(&batch, "feed_ctr", earlier, groups));
}

#[tokio::test]
async fn sqlite_incremental_sums_equal_the_full_query_at_each_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = Source::Sqlite(SqliteStore::open(&dir.path().join("v.sqlite")).expect("store"));
    let store = &source;
    incremental_sums_follow_the_checks(store, move |batch| async move {
        store.write_events(batch).await.expect("written");
    })
    .await;
}
