//! Round trip: simulated events -> SQLite -> every built-in metric, compared
//! with a recomputation in Rust from the very same events.
use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::config::SimulatorConfig;
use crate::events::{FeedActionKind, MessageAction};
use crate::metrics::catalogue;
use crate::metrics::model::{Aggregate, BUCKET_SECONDS};
use crate::simulator::Simulator;
use crate::sources::Source;

const START: i64 = 1_704_067_200; // 2024-01-01 00:00 UTC
const END: i64 = START + 2 * 86_400;

/// Attribute of a row by dimension name (only the ones the test slices by).
fn attribute<'a>(country: &'a str, os: &'a str, source: &'a str, dimension: &str) -> &'a str {
    match dimension {
        "country" => country,
        "os" => os,
        "source" => source,
        other => panic!("test does not slice by {other}"),
    }
}

/// Expected values per bucket for a built-in metric, from the raw events.
fn expected(
    name: &str,
    batch: &EventBatch,
    range: TimeRange,
    keep: &dyn Fn(&str, &str, &str) -> bool,
) -> BTreeMap<i64, f64> {
    let bucket = |t: i64| t.div_euclid(BUCKET_SECONDS) * BUCKET_SECONDS;
    let in_range = |t: i64| t >= range.from && t < range.to;
    let mut views: BTreeMap<i64, f64> = BTreeMap::new();
    let mut likes: BTreeMap<i64, f64> = BTreeMap::new();
    let mut feed_users: BTreeMap<i64, BTreeSet<u32>> = BTreeMap::new();
    for row in batch
        .feed
        .iter()
        .filter(|r| in_range(r.time) && keep(&r.country, &r.os, &r.source))
    {
        let b = bucket(row.time);
        feed_users.entry(b).or_default().insert(row.user_id);
        let counter = match row.action {
            FeedActionKind::View => &mut views,
            FeedActionKind::Like => &mut likes,
        };
        *counter.entry(b).or_default() += 1.0;
    }
    let keep_message = |m: &&MessageAction| in_range(m.time) && keep(&m.country, &m.os, &m.source);
    let mut messages: BTreeMap<i64, f64> = BTreeMap::new();
    let mut message_users: BTreeMap<i64, BTreeSet<u32>> = BTreeMap::new();
    for row in batch.messages.iter().filter(keep_message) {
        *messages.entry(bucket(row.time)).or_default() += 1.0;
        message_users
            .entry(bucket(row.time))
            .or_default()
            .insert(row.user_id);
    }
    let sizes = |sets: BTreeMap<i64, BTreeSet<u32>>| {
        sets.into_iter()
            .map(|(b, users)| (b, users.len() as f64))
            .collect()
    };
    match name {
        "feed_views" => views,
        "feed_likes" => likes,
        "feed_active_users" => sizes(feed_users),
        "messenger_active_users" => sizes(message_users),
        "messages_sent" => messages,
        "feed_ctr" => views
            .iter()
            .map(|(b, v)| (*b, likes.get(b).copied().unwrap_or(0.0) / v))
            .collect(),
        other => panic!("no recomputation for {other}"),
    }
}

fn assert_matches(label: &str, aggregate: &Aggregate, got: &[Bucket], want: &BTreeMap<i64, f64>) {
    let got_map: BTreeMap<i64, f64> = got.iter().map(|b| (b.start, b.value)).collect();
    assert_eq!(got_map.len(), got.len(), "{label}: duplicate buckets");
    for (start, value) in &got_map {
        let expected = want.get(start).copied().unwrap_or(0.0);
        assert!(
            (value - expected).abs() < 1e-9,
            "{label} @ {start}: got {value}, want {expected}"
        );
    }
    for (start, value) in want {
        if *value != 0.0 || matches!(aggregate, Aggregate::Ratio { .. }) {
            assert!(
                got_map.contains_key(start),
                "{label}: bucket {start} missing"
            );
        }
    }
}

#[tokio::test]
async fn every_builtin_metric_matches_a_recomputation_from_the_events() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("data/vigil.sqlite")).expect("opens");
    let config = SimulatorConfig {
        users: 300,
        days: 2,
        seed: 9,
    };
    let mut simulator = Simulator::new(&config, END, Some((START, END)));
    let batch = simulator.generate(START, END);
    let source = Source::Sqlite(store.clone());
    source.write_events(batch.clone()).await.expect("writes");
    source
        .write_incidents(&simulator.incidents())
        .await
        .expect("writes incidents");

    assert_eq!(
        store
            .count_rows(EventTable::FeedActions)
            .await
            .expect("count"),
        batch.feed.len() as u64
    );
    let newest = batch.feed.iter().map(|r| r.time).max();
    assert_eq!(
        source
            .newest_event_time(EventTable::FeedActions)
            .await
            .expect("newest"),
        newest
    );
    let stored = source
        .incidents(TimeRange {
            from: START,
            to: END,
        })
        .await
        .expect("incidents");
    assert_eq!(stored, simulator.incidents());
    assert_eq!(stored.len(), 5);

    // Whole history, one evening window and an unaligned window (aligned outward).
    let ranges = [
        TimeRange {
            from: START,
            to: END,
        },
        TimeRange {
            from: START + 86_400 + 15 * 3600,
            to: START + 86_400 + 22 * 3600,
        },
        TimeRange {
            from: START + 3600 + 7,
            to: START + 5 * 3600 - 5,
        },
    ];
    let slices: [(Option<(&str, &str)>, &str); 4] = [
        (None, "all"),
        (Some(("os", "Android")), "os=Android"),
        (Some(("country", "Russia")), "country=Russia"),
        (Some(("source", "ads")), "source=ads"),
    ];
    for metric in catalogue::builtin() {
        for range in ranges {
            let aligned = sql::align_range(range).expect("range");
            for (slice, label) in &slices {
                let key = slice.map(|(dimension, value)| SliceKey {
                    dimension: dimension.into(),
                    value: value.into(),
                });
                let got = source
                    .series(&metric, range, key.as_ref())
                    .await
                    .expect("series");
                assert!(!got.is_empty(), "{} {label}", metric.name);
                let want = expected(&metric.name, &batch, aligned, &|country, os, src| {
                    slice.is_none_or(|(dimension, value)| {
                        attribute(country, os, src, dimension) == value
                    })
                });
                assert_matches(
                    &format!("{} {label}", metric.name),
                    &metric.aggregate,
                    &got,
                    &want,
                );
            }
            let by_source = source
                .series_by_slice(&metric, range, "source")
                .await
                .expect("by slice");
            assert_eq!(
                by_source.keys().map(String::as_str).collect::<Vec<_>>(),
                vec!["ads", "organic"]
            );
            for (value, got) in &by_source {
                let want = expected(&metric.name, &batch, aligned, &|_, _, src| src == value);
                assert_matches(
                    &format!("{} by source={value}", metric.name),
                    &metric.aggregate,
                    got,
                    &want,
                );
            }
        }
    }
}

/// The bucket cache never serves a stale value: events written later by
/// another process (a second store on the same file), including late ones
/// for buckets already read, show up in the next read.
#[tokio::test]
async fn later_and_late_events_from_another_writer_are_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("vigil.sqlite");
    let reader = Source::Sqlite(SqliteStore::open(&path).expect("opens"));
    let writer = Source::Sqlite(SqliteStore::open(&path).expect("opens again"));
    let config = SimulatorConfig {
        users: 200,
        days: 1,
        seed: 4,
    };
    let mut simulator = Simulator::new(&config, END, None);
    let mut all = simulator.generate(START, START + 6 * 3600);
    writer.write_events(all.clone()).await.expect("writes");
    let range = TimeRange {
        from: START,
        to: START + 8 * 3600,
    };
    let aligned = sql::align_range(range).expect("range");
    let views = catalogue::builtin_metric("feed_views").expect("built-in");
    let users = catalogue::builtin_metric("feed_active_users").expect("built-in");
    for metric in [&views, &users] {
        reader.series(metric, range, None).await.expect("warms");
        reader
            .series_by_slice(metric, range, "os")
            .await
            .expect("warms");
    }

    // Two more hours, and a late batch for the first hour (already cached).
    let later = simulator.generate(START + 6 * 3600, START + 8 * 3600);
    let mut late = simulator.generate(START, START + 3600);
    late.feed.truncate(50);
    late.messages.clear();
    for batch in [later, late] {
        all.feed.extend(batch.feed.iter().cloned());
        all.messages.extend(batch.messages.iter().cloned());
        writer.write_events(batch).await.expect("writes more");
    }
    for metric in [&views, &users] {
        let got = reader.series(metric, range, None).await.expect("series");
        let want = expected(&metric.name, &all, aligned, &|_, _, _| true);
        assert_matches(&metric.name, &metric.aggregate, &got, &want);
        let by_os = reader
            .series_by_slice(metric, range, "os")
            .await
            .expect("by slice");
        for (os, got) in &by_os {
            let want = expected(&metric.name, &all, aligned, &|_, o, _| o == os);
            assert_matches(
                &format!("{} os={os}", metric.name),
                &metric.aggregate,
                got,
                &want,
            );
            // The same slice read alone, served from the grouped entry.
            let key = SliceKey {
                dimension: "os".into(),
                value: os.clone(),
            };
            let alone = reader
                .series(metric, range, Some(&key))
                .await
                .expect("one slice");
            assert_matches(
                &format!("{} os={os} alone", metric.name),
                &metric.aggregate,
                &alone,
                &want,
            );
        }
    }
}

/// A new process (a second store on the file) reads the buckets the first
/// one computed from the file's rollup instead of raw events, and still sees
/// events written after them.
#[tokio::test]
async fn a_fresh_process_reads_the_persisted_rollup_until_events_change_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("vigil.sqlite");
    let first = Source::Sqlite(SqliteStore::open(&path).expect("opens"));
    let config = SimulatorConfig {
        users: 200,
        days: 1,
        seed: 5,
    };
    let mut simulator = Simulator::new(&config, END, None);
    let mut all = simulator.generate(START, START + 6 * 3600);
    first.write_events(all.clone()).await.expect("writes");
    let range = TimeRange {
        from: START,
        to: START + 6 * 3600,
    };
    let views = catalogue::builtin_metric("feed_views").expect("built-in");
    let computed = first.series(&views, range, None).await.expect("series");
    let want = expected("feed_views", &all, range, &|_, _, _| true);
    assert_matches("first process", &views.aggregate, &computed, &want);

    // Mark one persisted bucket (after the late events below): only a read
    // served from the rollup returns it.
    let marked = computed.last().expect("buckets").start;
    let raw = Connection::open(&path).expect("raw connection");
    let changed = raw
        .execute(
            "UPDATE vigil_rollup_buckets SET value = -1 WHERE bucket = ?1",
            [marked],
        )
        .expect("mark");
    assert!(changed >= 1, "the first read persisted its buckets");
    let second = Source::Sqlite(SqliteStore::open(&path).expect("opens again"));
    let read = second.series(&views, range, None).await.expect("series");
    assert_eq!(
        read.iter()
            .find(|bucket| bucket.start == marked)
            .map(|b| b.value),
        Some(-1.0),
        "served from the rollup, not recomputed"
    );

    // A late event for an earlier bucket drops the persisted buckets from its
    // bucket on, in every later process.
    let mut late = simulator.generate(START + 3600, START + 2 * 3600);
    late.feed.truncate(40);
    late.messages.clear();
    all.feed.extend(late.feed.iter().cloned());
    first.write_events(late).await.expect("writes late");
    let third = Source::Sqlite(SqliteStore::open(&path).expect("opens a third time"));
    let want = expected("feed_views", &all, range, &|_, _, _| true);
    for (label, source) in [("second process", &second), ("third process", &third)] {
        let read = source.series(&views, range, None).await.expect("series");
        assert_matches(label, &views.aggregate, &read, &want);
    }
}

#[tokio::test]
async fn injection_in_slice_value_is_just_a_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("vigil.sqlite")).expect("opens");
    let source = Source::Sqlite(store.clone());
    let mut simulator = Simulator::new(
        &SimulatorConfig {
            users: 20,
            days: 1,
            seed: 1,
        },
        END,
        None,
    );
    source
        .write_events(simulator.generate(END - 3600, END))
        .await
        .expect("writes");
    let metric = catalogue::builtin_metric("feed_views").expect("built-in");
    let evil = SliceKey {
        dimension: "os".into(),
        value: "x' OR '1'='1".into(),
    };
    let range = TimeRange {
        from: END - 3600,
        to: END,
    };
    assert!(source
        .series(&metric, range, Some(&evil))
        .await
        .expect("runs")
        .is_empty());
    let before = store
        .count_rows(EventTable::FeedActions)
        .await
        .expect("count");
    assert!(before > 0);
}

#[test]
fn reading_a_missing_store_creates_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let typo = dir.path().join("typo_dir");
    let path = typo.join("vigil.sqlite");
    let error = SqliteStore::open_existing(&path)
        .err()
        .expect("missing store");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("vigil simulate --data-dir"), "{message}");
    assert!(!typo.exists(), "the directory was created");

    SqliteStore::open(&path).expect("the writer creates it");
    SqliteStore::open_existing(&path).expect("now it exists");
}
