//! The bucket cache against a real server (Debian's 18.16 in CI): a cached
//! read over a shifted range equals a fresh source's read (count, distinct
//! and ratio; whole, grouped and capped with `(other)`; raw and rollup);
//! events in a bucket not yet settled are seen by the next read while the
//! settled span is not asked for again; a re-rank whose kept values changed
//! equals a fresh read.

use super::real_server_tests::support::{TestServer, TEST_PASSWORD, TEST_USER};
use super::*;
use crate::config::Secret;
use crate::events::{FeedAction, FeedActionKind};
use crate::metrics::catalogue;
use crate::metrics::model::BUCKET_SECONDS as B;

type Grouped = BTreeMap<String, Vec<Bucket>>;

pub(super) fn source(server: &TestServer, database: &str) -> ClickHouseSource {
    ClickHouseSource::new(&ClickHouseConfig {
        url: server.url.clone(),
        database: database.into(),
        user: TEST_USER.into(),
        password: Some(Secret::new(TEST_PASSWORD)),
        tables: TableNames::default(),
        tls: Default::default(),
    })
    .expect("client")
}

/// The bucket holding "now", so that tests see settled and unsettled buckets.
pub(super) fn now_bucket() -> i64 {
    crate::times::unix_now().div_euclid(B) * B
}

/// Views (and every third one liked) in each bucket of `[from, to)`:
/// `volume(bucket index, city index)` per city `c0`..`c5`, in country
/// `k0`..`k2` (city index mod 3). Users repeat, so distinct counts differ
/// from counts.
fn events(from: i64, to: i64, volume: impl Fn(i64, usize) -> u32) -> EventBatch {
    let mut feed = Vec::new();
    for bucket in (from..to).step_by(B as usize) {
        for city in 0..6 {
            for n in 0..volume(bucket / B, city) {
                let action = if n % 3 == 2 {
                    FeedActionKind::Like
                } else {
                    FeedActionKind::View
                };
                feed.push(FeedAction {
                    user_id: (city as u32) * 100 + n % 13,
                    post_id: n,
                    action,
                    time: bucket + i64::from(n * 37 % 900),
                    gender: 0,
                    age: 30,
                    country: format!("k{}", city % 3),
                    city: format!("c{city}"),
                    os: "Android".into(),
                    source: "ads".into(),
                    exp_group: 1,
                });
            }
        }
    }
    EventBatch {
        feed,
        messages: Vec::new(),
    }
}

/// Count, distinct and ratio metrics of the catalogue.
fn metrics() -> Vec<MetricDef> {
    ["feed_views", "feed_active_users", "feed_ctr"]
        .into_iter()
        .map(|name| catalogue::builtin_metric(name).expect("built-in"))
        .collect()
}

/// Every read a check makes of `metric`: whole, by `dimension`, capped to 2.
async fn reads(
    source: &ClickHouseSource,
    metric: &MetricDef,
    range: TimeRange,
    dimension: &str,
) -> (Vec<Bucket>, Grouped, Grouped) {
    let whole = source.series(metric, range, None).await.expect("whole");
    let by = (source.series_by_slice(metric, range, dimension).await).expect("grouped");
    let top = (source
        .top_series_by_slice(metric, range, dimension, 2)
        .await)
        .expect("capped");
    (whole, by, top)
}

/// Reads `range`, then `range` shifted by four buckets, through one source,
/// and compares the second with a fresh source's; returns the parts the
/// cached source asked the server for in its second reads.
async fn shifted_equals_fresh(server: &TestServer, database: &str, dimension: &str, rollup: bool) {
    let now = now_bucket();
    let range = TimeRange {
        from: now - 2 * 86_400,
        to: now - 4 * B,
    };
    let shifted = TimeRange {
        from: range.from + 4 * B,
        to: range.to + 5 * B,
    };
    let cached = source(server, database);
    for metric in metrics() {
        let query = cached
            .metric_query(&metric, range, None, Some(dimension), None)
            .await
            .expect("query");
        assert_eq!(query.sql.contains("_rollup_15m"), rollup, "{}", query.sql);
        let first = reads(&cached, &metric, range, dimension).await;
        assert!(
            first.0.len() > 150,
            "{}: {} buckets",
            metric.name,
            first.0.len()
        );
        cached.take_fetched();
        let again = reads(&cached, &metric, shifted, dimension).await;
        let fresh = reads(&source(server, database), &metric, shifted, dimension).await;
        let name = &metric.name;
        assert_eq!(again.0, fresh.0, "{name} whole");
        assert_eq!(again.1, fresh.1, "{name} by {dimension}");
        assert_eq!(again.2, fresh.2, "{name} top 2 by {dimension}");
        assert_eq!(
            fresh.2.contains_key(crate::metrics::dimensions::OTHER),
            name == "feed_views",
            "{name}: (other) for counts only"
        );
        // Settled history came from memory: only the buckets from the
        // first unsettled one on were asked for (three reads, one part each).
        let settled = bucket_cache::settled_before(crate::times::unix_now(), cached.settle_secs());
        let fetched = cached.take_fetched();
        assert_eq!(fetched.len(), 3, "{name}: {fetched:?}");
        assert!(
            fetched
                .iter()
                .all(|part| part.from >= settled - 2 * B && part.to == shifted.to),
            "{name}: {fetched:?}, settled before {settled}"
        );
        // A kept value's chart comes from the capped read, but for the tail.
        let other = crate::metrics::dimensions::OTHER;
        let value = (again.2.keys().find(|value| *value != other)).expect("a kept value");
        let slice = SliceKey {
            dimension: dimension.into(),
            value: value.clone(),
        };
        let chart = (cached.series(&metric, shifted, Some(&slice)).await).expect("slice");
        let fresh_chart = (source(server, database)
            .series(&metric, shifted, Some(&slice))
            .await)
            .expect("slice");
        assert_eq!(chart, fresh_chart, "{name} {dimension}={value}");
        assert_eq!(
            Some(&chart),
            fresh.2.get(value),
            "{name} {dimension}={value}"
        );
        let fetched = cached.take_fetched();
        assert!(
            fetched.len() == 1 && fetched[0].from >= settled - 2 * B,
            "{name} {dimension}={value}: {fetched:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_reads_over_a_shifted_range_equal_a_fresh_source_raw_and_rollup() {
    let Some(server) = TestServer::start("bucket_cache_shifted") else {
        return;
    };
    let now = now_bucket();
    let writer = source(&server, "vigil_cache");
    writer.ensure_tables().await.expect("tables");
    // Multiples of three: every city's CTR is a half, so rankings by any
    // metric are ties broken by name, the same over any range.
    let batch = events(now - 3 * 86_400, now + B, |bucket, city| {
        (6 - city as u32) * 3 + 3 * (bucket % 2) as u32
    });
    writer.write_events(&batch).await.expect("events");
    // City has no rollup; country does, once built.
    shifted_equals_fresh(&server, "vigil_cache", "city", false).await;
    writer
        .build_rollups(&mut |_: &BackfilledDay| {})
        .await
        .expect("rollups");
    shifted_equals_fresh(&server, "vigil_cache", "country", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_in_an_unsettled_bucket_are_seen_and_settled_ones_not_read_again() {
    let Some(server) = TestServer::start("bucket_cache_unsettled") else {
        return;
    };
    let now = now_bucket();
    let writer = source(&server, "vigil_cache");
    writer.ensure_tables().await.expect("tables");
    let start = now - 6 * 3600;
    let batch = events(start, now + B, |_, city| 6 - city as u32);
    writer.write_events(&batch).await.expect("events");
    let views = catalogue::builtin_metric("feed_views").expect("built-in");
    let range = TimeRange {
        from: start,
        to: now + B,
    };
    let cached = source(&server, "vigil_cache");
    let whole = cached.series(&views, range, None).await.expect("whole");
    let top = (cached.top_series_by_slice(&views, range, "city", 2).await).expect("capped");
    cached.take_fetched();

    // A new event in the current bucket (not settled), and a late one three
    // hours back (settled: the cache's rule is that it no longer changes).
    let mut late = events(now, now + B, |_, city| u32::from(city == 0));
    late.feed.extend(
        events(now - 3 * 3600, now - 3 * 3600 + B, |_, city| {
            u32::from(city == 0)
        })
        .feed,
    );
    writer.write_events(&late).await.expect("more events");

    let whole_after = cached.series(&views, range, None).await.expect("whole");
    let top_after = (cached.top_series_by_slice(&views, range, "city", 2).await).expect("capped");
    let value = |series: &[Bucket], at: i64| series.iter().find(|b| b.start == at).map(|b| b.value);
    let city_views = |top: &Grouped, at: i64| value(&top["c0"], at);
    assert_eq!(
        value(&whole_after, now),
        value(&whole, now).map(|v| v + 1.0)
    );
    assert_eq!(
        city_views(&top_after, now),
        city_views(&top, now).map(|v| v + 1.0)
    );
    let late_bucket = now - 3 * 3600;
    assert_eq!(
        value(&whole_after, late_bucket),
        value(&whole, late_bucket),
        "settled: cached"
    );
    // The late row is there: a fresh source sees it.
    let fresh = source(&server, "vigil_cache");
    let fresh_whole = fresh.series(&views, range, None).await.expect("whole");
    assert_eq!(
        value(&fresh_whole, late_bucket),
        value(&whole, late_bucket).map(|v| v + 1.0)
    );

    let settled = bucket_cache::settled_before(crate::times::unix_now(), cached.settle_secs());
    let fetched = cached.take_fetched();
    assert_eq!(fetched.len(), 2, "{fetched:?}");
    for part in fetched {
        assert!(
            part.from >= settled - 2 * B,
            "{part:?} settled before {settled}"
        );
        assert!(
            (part.to - part.from) / B <= 8,
            "a few buckets only: {part:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerank_with_changed_kept_values_equals_a_fresh_read() {
    let Some(server) = TestServer::start("bucket_cache_rerank") else {
        return;
    };
    let now = now_bucket();
    let writer = source(&server, "vigil_cache");
    writer.ensure_tables().await.expect("tables");
    // Day one belongs to c4; from day two on, c1, c0 and c2 lead.
    let day_two = now - 3 * 86_400;
    let batch = events(now - 4 * 86_400, now, |bucket, city| {
        match (bucket * B < day_two, city) {
            (true, 4) => 30,
            (false, 4) => 1,
            (_, city) => [9, 10, 6, 5, 1, 1][city],
        }
    });
    writer.write_events(&batch).await.expect("events");
    let first = TimeRange {
        from: now - 4 * 86_400,
        to: now - 2 * 86_400,
    };
    let later = TimeRange {
        from: day_two + 4 * B,
        to: now,
    };
    let cached = source(&server, "vigil_cache");
    let kept = |series: &Grouped| -> Vec<String> {
        let other = crate::metrics::dimensions::OTHER;
        series.keys().filter(|key| *key != other).cloned().collect()
    };
    for name in ["feed_views", "feed_active_users"] {
        let metric = catalogue::builtin_metric(name).expect("built-in");
        let before = (cached.top_series_by_slice(&metric, first, "city", 3).await).expect("capped");
        assert_eq!(kept(&before), ["c0", "c1", "c4"], "{name}");
        cached.take_fetched();
        let after = (cached.top_series_by_slice(&metric, later, "city", 3).await).expect("capped");
        let fresh = source(&server, "vigil_cache");
        let expected =
            (fresh.top_series_by_slice(&metric, later, "city", 3).await).expect("capped");
        assert_eq!(kept(&expected), ["c0", "c1", "c2"], "{name}");
        assert_eq!(after, expected, "{name}");
        // c2 in, c4 out: applied to the cached span, which is not read again.
        let fetched = cached.take_fetched();
        assert_eq!(
            fetched,
            [TimeRange {
                from: first.to,
                to: later.to
            }],
            "{name}"
        );
    }
}
