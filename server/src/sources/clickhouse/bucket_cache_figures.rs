//! Figures for issue 18 on a real server (ignored: minutes in a debug
//! build): check-like capped reads of 2,000 cities cold and later on the
//! same source, and the memory of the streamed read against the
//! `fetch_all` it replaced.

use super::bucket_cache_server_tests::{now_bucket, source};
use super::real_server_tests::support::TestServer;
use super::*;
use crate::metrics::catalogue;
use crate::metrics::model::BUCKET_SECONDS as B;

/// `VmHWM` and `VmRSS` of this process, in MiB.
fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Figures for issue 18 (ignored: minutes in a debug build): one capped
/// read of 2,000 cities over 1,421 buckets cold, then 15 minutes later on
/// the same source, and the memory of the streamed read against the
/// `fetch_all` it replaced.
///
/// ```text
/// VIGIL_REQUIRE_CLICKHOUSE=1 cargo test -p server --lib bucket_cache_figures -- --ignored --nocapture
/// ```
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn figures_for_a_capped_read_of_2000_cities() {
    let Some(server) = TestServer::start("bucket_cache_figures") else {
        return;
    };
    let now = now_bucket();
    let writer = source(&server, "vigil_cache");
    writer.ensure_tables().await.expect("tables");
    let span = 1421 * B;
    let rows: u64 = std::env::var("VIGIL_BENCH_ROWS")
        .ok()
        .and_then(|rows| rows.parse().ok())
        .unwrap_or(8_000_000);
    let started = std::time::Instant::now();
    let insert = format!(
        "INSERT INTO vigil_cache.feed_actions \
         SELECT toUInt32(cityHash64(number, 1) % 200000), toUInt32(number % 100000), \
         if(cityHash64(number, 3) % 6 = 0, 'like', 'view'), \
         toDateTime({from} + cityHash64(number, 5) % {span}), 0, 30, 'k', \
         concat('city_', toString(cityHash64(number, 4) % 2000)), 'Android', 'ads', 1 \
         FROM numbers({rows})",
        from = now - span + B,
    );
    writer
        .execute("fill", &insert, Duration::from_secs(600))
        .await
        .expect("filled");
    println!("filled {rows} rows in {:?}", started.elapsed());

    let views = catalogue::builtin_metric("feed_views").expect("built-in");
    let range = TimeRange {
        from: now - span + B,
        to: now + B,
    };
    // What a check reads of four metrics: whole, 1,988 cities capped, and
    // the built-in slices capped to the default 50.
    let check = |source: &'static ClickHouseSource, range: TimeRange| async move {
        let mut series = 0;
        for name in ["feed_views", "feed_likes", "feed_active_users", "feed_ctr"] {
            let metric = catalogue::builtin_metric(name).expect("built-in");
            source.series(&metric, range, None).await.expect("whole");
            series += 1;
            for (dimension, top) in [("city", 1988), ("os", 50), ("country", 50)] {
                let by = (source
                    .top_series_by_slice(&metric, range, dimension, top)
                    .await)
                    .expect("capped");
                series += by.len();
            }
        }
        series
    };
    let cached: &'static ClickHouseSource = Box::leak(Box::new(source(&server, "vigil_cache")));
    let before = memory_mib();
    let started = std::time::Instant::now();
    let series = check(cached, range).await;
    let after = memory_mib();
    println!(
        "cold check-like reads: {:?}, {series} series; HWM {} -> {} MiB, RSS {} -> {} MiB (cache kept)",
        started.elapsed(),
        before.0,
        after.0,
        before.1,
        after.1
    );
    cached.take_fetched();
    for minutes in [15, 30] {
        let shifted = TimeRange {
            from: range.from + minutes * 60,
            to: range.to + minutes * 60,
        };
        let started = std::time::Instant::now();
        let series = check(cached, shifted).await;
        let fetched = cached.take_fetched();
        let buckets: i64 = fetched.iter().map(|part| (part.to - part.from) / B).sum();
        println!(
            "the same {minutes} min later: {:?}, {series} series, {} reads of {buckets} buckets in all; HWM {} MiB",
            started.elapsed(),
            fetched.len(),
            memory_mib().0
        );
    }
    let grouped = (cached
        .metric_query(&views, range, None, Some("city"), None)
        .await)
        .expect("query");
    let started = std::time::Instant::now();
    let ranked: Vec<String> =
        (cached.fetch(&sql::ranking(grouped, 1988), "rank").await).expect("ranking");
    println!(
        "one ranking of {} cities: {:?}",
        ranked.len(),
        started.elapsed()
    );

    // The read before this change: every row into a Vec, then the map.
    let kept: Vec<String> = (0..2000).map(|city| format!("city_{city}")).collect();
    let query = (cached
        .metric_query(&views, range, None, Some("city"), Some(&kept))
        .await)
        .expect("query");
    let before = memory_mib();
    let started = std::time::Instant::now();
    let all: Vec<(String, u32, f64)> = cached.fetch(&query, "old").await.expect("fetch_all");
    let mut by_value: BTreeMap<String, Vec<Bucket>> = BTreeMap::new();
    for (value, start, number) in all {
        by_value.entry(value).or_default().push(Bucket {
            start: i64::from(start),
            value: number,
        });
    }
    let after = memory_mib();
    println!(
        "fetch_all then map (before the change): {:?}, {} series; HWM {} -> {} MiB",
        started.elapsed(),
        by_value.len(),
        before.0,
        after.0
    );
}
