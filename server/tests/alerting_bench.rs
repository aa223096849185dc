//! Figures for docs/benchmarks.md, "Alerting latency and memory" (ignored by default):
//!
//! ```text
//! cargo test --release -p server --test alerting_bench -- --ignored --nocapture --test-threads 1
//! VIGIL_BENCH_USERS=20000 VIGIL_BENCH_DAYS=14 ...   # the defaults, ~10 million events
//! ```
//!
//! 1. Tick to last alert: the simulator writes ~10 million events (with its
//!    labelled feed outage) to the embedded SQLite store, or to a real
//!    ClickHouse server. The pipeline is built in-process as `vigil serve`
//!    builds it, against a fake Telegram Bot API over real HTTP. After a
//!    steady-state tick on the bucket before the outage (untimed), the clock
//!    runs from the start of the tick at the outage's first bucket
//!    (`scheduler::tick`: every built-in metric, whole and per slice, alert
//!    lifecycle, outbox) to the return of `deliver_due`, i.e. the last Telegram
//!    call answered (one chart PNG rendered per photo). Each round uses a fresh
//!    alert state, a fresh fake and a freshly opened source, so the embedded
//!    store's bucket cache holds what the steady-state tick and the chart
//!    warm-up after it read, as in a running `vigil serve` (the outage bucket
//!    itself is computed from events); the median is printed. The untimed
//!    steady-state tick is printed as the first check of a fresh process, and
//!    the warm-up's duration too.
//! 2. Resident memory: `vigil serve` on the same data; VmRSS is sampled every
//!    10 ms from /proc while its startup check runs (peak), then once it has
//!    been idle for a while.

#[path = "support/bench_scale.rs"]
mod bench_scale;
#[path = "support/clickhouse.rs"]
mod clickhouse_support;
#[path = "support/fake_telegram.rs"]
mod fake_telegram;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_scale::simulate;
use clickhouse_support::TestServer;
use fake_telegram::{FakeApi, CHAT, TOKEN};
use server::config::{Config, SecretEnv};
use server::events::IncidentKind;
use server::metrics::model::{TimeRange, BUCKET_SECONDS};
use server::pipeline::Pipeline;
use server::sources::Source;

const ROUNDS: usize = 5;
const CLICKHOUSE_DATABASE: &str = "vigil_alerting_bench";
/// How long the RSS of `vigil serve` is sampled for its startup check.
const CHECK_WINDOW: Duration = Duration::from_secs(10);
/// Idle RSS is read this long after the startup check has finished.
const IDLE_AFTER: Duration = Duration::from_secs(10);

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// The config the benchmark runs with: `source` plus Telegram pointing at `api_url`.
fn config(source: &str, api_url: &str) -> Config {
    // The morning report is on by default; this test counts only alerts (report_telegram tests the report).
    let text = format!(
        "{source}\n[telegram]\nchat = {CHAT}\napi_url = \"{api_url}\"\n\n\
         [alerts]\npublic_url = \"http://vigil.test\"\n\n[report]\nenabled = false\n"
    );
    Config::parse(
        &text,
        "alerting_bench",
        &SecretEnv {
            clickhouse_password: None,
            telegram_token: Some(TOKEN.to_string()),
            ..SecretEnv::default()
        },
    )
    .expect("valid config")
}

/// Rounds of "tick at the outage's first bucket, then deliver", each on fresh state.
fn tick_to_last_alert(label: &str, source_toml: &str) -> i64 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let base = config(source_toml, "http://127.0.0.1:9");
        let source = Arc::new(Source::open(&base.source).expect("source opens"));
        let metrics = base.catalogue().expect("catalogue").metrics().to_vec();
        let outage = source
            .incidents(TimeRange {
                from: 0,
                to: i64::MAX / 2,
            })
            .await
            .expect("incidents")
            .into_iter()
            .find(|i| i.kind == IncidentKind::Outage && i.metric == "feed_views")
            .expect("the simulator injects a feed outage");
        let grace = base.alerting.schedule.grace_seconds;
        let bucket = outage.start;
        // The tick that evaluates `bucket`, and the one before it.
        let at = bucket + BUCKET_SECONDS + grace;
        println!(
            "\n== {label}: tick at {} (feed outage {}..{}), load average {} ==",
            server::times::format_time(at),
            server::times::format_time(outage.start),
            server::times::format_time(outage.end),
            load_average()
        );
        let mut millis = Vec::new();
        let mut cold_millis = Vec::new();
        let mut warm_millis = Vec::new();
        for round in 0..ROUNDS {
            let state = tempfile::tempdir().expect("temp dir");
            let fake = FakeApi::start().await;
            let config = config(source_toml, &fake.base_url);
            // A fresh source per round: the embedded store's bucket cache
            // starts cold, as in a newly started `vigil serve`.
            let round_source = Arc::new(Source::open(&base.source).expect("source opens"));
            let pipeline = Pipeline::build(
                &config,
                Arc::clone(&round_source),
                metrics.clone(),
                state.path(),
                "http://vigil.test",
                "alerting bench",
            )
            .expect("pipeline");
            // Steady state: the previous bucket was checked on the previous tick
            // (the first check of a process: every bucket read from events).
            let cold = Instant::now();
            assert!(!server::scheduler::tick(&pipeline.checker, at - BUCKET_SECONDS).await);
            cold_millis.push(cold.elapsed().as_secs_f64() * 1000.0);
            // What `vigil serve` does after each tick, off the timed path.
            let warming = Instant::now();
            pipeline.checker.warm_charts(at - BUCKET_SECONDS).await;
            warm_millis.push(warming.elapsed().as_secs_f64() * 1000.0);
            let before = pipeline
                .deliverer
                .deliver_due(server::times::unix_now(), false)
                .await
                .expect("outbox");
            let calls_before = fake.requests().len();
            let photos_before = fake.calls("sendPhoto").len();

            let started = Instant::now();
            let failed = server::scheduler::tick(&pipeline.checker, at).await;
            let tick_ms = started.elapsed().as_secs_f64() * 1000.0;
            let report = pipeline
                .deliverer
                .deliver_due(server::times::unix_now(), false)
                .await
                .expect("outbox");
            let elapsed = started.elapsed();

            assert!(!failed, "the check failed");
            assert!(report.blocked.is_none(), "{:?}", report.blocked);
            let check = pipeline
                .store
                .blocking(|store| store.last_check())
                .expect("checks readable")
                .expect("a check ran");
            assert_eq!(check.bucket, bucket);
            let calls = fake.requests().len() - calls_before;
            let photos = fake.calls("sendPhoto").len() - photos_before;
            assert!(report.delivered > 0 && photos > 0, "the outage alerts");
            let ms = elapsed.as_secs_f64() * 1000.0;
            millis.push(ms);
            println!(
                "round {round}: tick_to_last_alert_ms={ms:.0} alerts={} photos={photos} \
                 telegram_calls={calls} series_evaluated={} anomalies={} (tick_ms={tick_ms:.0} \
                 of which check_ms={}, deliver_ms={:.0}; previous tick delivered {})",
                report.delivered,
                check.evaluated,
                check.anomalies,
                check.duration_ms,
                ms - tick_ms,
                before.delivered
            );
        }
        // What a chart of the outage reads: two days plus twice the detector's lookback.
        for name in ["feed_views", "feed_active_users"] {
            let metric = metrics.iter().find(|m| m.name == name).expect("built-in");
            let lookback = base.alerting.detectors.for_metric(name).lookback().min(4 * 7 * 96) as i64;
            let to = bucket + BUCKET_SECONDS;
            let range = TimeRange {
                from: to - (2 * 96 + 2 * lookback) * BUCKET_SECONDS,
                to,
            };
            let started = Instant::now();
            let points = source.series(metric, range, None).await.expect("series").len();
            println!(
                "chart query {name}: {points} buckets in {:.0} ms",
                started.elapsed().as_secs_f64() * 1000.0
            );
        }
        println!(
            "{label}: first check of a fresh process (the previous bucket, no alert): median {:.0} ms; \
             then warming the next charts (in the background in `vigil serve`): median {:.0} ms",
            median(&mut cold_millis.clone()),
            median(&mut warm_millis.clone())
        );
        println!(
            "{label}: median tick_to_last_alert_ms={:.0} over {ROUNDS} rounds (min {:.0}, max {:.0}), load average {}",
            median(&mut millis.clone()),
            millis.iter().copied().fold(f64::INFINITY, f64::min),
            millis.iter().copied().fold(0.0, f64::max),
            load_average()
        );
        at
    })
}

/// Peak VmRSS of a one-shot `vigil check --at` the outage tick: the same check
/// and delivery, with the chart rendered, in a process of its own.
fn oneshot_check_rss(label: &str, source_toml: &str, data_dir: Option<&Path>, at: i64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = FakeApi::spawn();
    let config_path = dir.path().join("vigil.toml");
    std::fs::write(
        &config_path,
        // The morning report is on by default; this test counts only alerts (report_telegram tests the report).
        format!(
            "{source_toml}\n[telegram]\nchat = {CHAT}\napi_url = \"{}\"\npoll_updates = false\n\n[report]\nenabled = false\n",
            fake.base_url
        ),
    )
    .expect("config written");
    let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
    command
        .args(["check", "--config"])
        .arg(&config_path)
        .args(["--at", &server::times::format_time(at)]);
    if let Some(data_dir) = data_dir {
        command.arg("--data-dir").arg(data_dir);
    }
    let started = Instant::now();
    let mut child = command
        .env_remove("VIGIL_CONFIG")
        .env("VIGIL_TELEGRAM_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("vigil check starts");
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("status") {
            break status;
        }
        if let Some(kib) = status_kib(pid, "VmRSS") {
            peak = peak.max(kib);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "vigil check failed");
    println!(
        "{label}: one-shot `vigil check --at {}` with the outage alerts: \
         rss_oneshot_check_peak_mib={:.1} in {:.2}s, photos={}",
        server::times::format_time(at),
        mib(peak),
        started.elapsed().as_secs_f64(),
        fake.calls("sendPhoto").len()
    );
}

/// A `/proc/<pid>/status` field in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        line.strip_prefix(field)?
            .trim_start_matches(':')
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `vigil serve` with `config_toml` (and `--data-dir`), sampling its VmRSS.
fn serve_rss(label: &str, config_toml: &str, data_dir: &Path) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = FakeApi::spawn();
    let config_path = dir.path().join("vigil.toml");
    std::fs::write(
        &config_path,
        // The morning report is on by default; this test counts only alerts (report_telegram tests the report).
        format!(
            "{config_toml}\n[telegram]\nchat = {CHAT}\napi_url = \"{}\"\npoll_updates = false\n\n[report]\nenabled = false\n",
            fake.base_url
        ),
    )
    .expect("config written");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
    command
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&config_path)
        .arg("--site-root")
        .arg(dir.path().join("site"));
    command.arg("--data-dir").arg(data_dir);
    let mut child = command
        .env_remove("VIGIL_CONFIG")
        .env("VIGIL_TELEGRAM_TOKEN", TOKEN)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigil serve starts");
    let pid = child.id();
    let started = Instant::now();

    // The log says when the startup check is done (and how long it took).
    let check_done = Arc::new(AtomicBool::new(false));
    let check_ms = Arc::new(AtomicU64::new(u64::MAX));
    let stderr = child.stderr.take().expect("stderr");
    let reader = {
        let (done, ms) = (Arc::clone(&check_done), Arc::clone(&check_ms));
        std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let line = strip_ansi(&line);
                if line.contains("check done") && !done.load(Ordering::SeqCst) {
                    if let Some(value) = line
                        .split_whitespace()
                        .find_map(|word| word.strip_prefix("duration_ms="))
                    {
                        ms.store(value.parse().unwrap_or(u64::MAX), Ordering::SeqCst);
                    }
                    done.store(true, Ordering::SeqCst);
                }
                lines.push(line);
            }
            lines
        })
    };

    let mut peak = 0;
    let mut done_at = None;
    while started.elapsed() < CHECK_WINDOW || done_at.is_none() {
        assert!(
            child.try_wait().expect("status").is_none(),
            "vigil serve exited early"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no check within 120 s"
        );
        if let Some(kib) = status_kib(pid, "VmRSS") {
            peak = peak.max(kib);
        }
        if done_at.is_none() && check_done.load(Ordering::SeqCst) {
            done_at = Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let done_at = done_at.expect("check done");
    let idle_from = done_at + IDLE_AFTER;
    while started.elapsed() < idle_from {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut idle = Vec::new();
    for _ in 0..20 {
        if let Some(kib) = status_kib(pid, "VmRSS") {
            idle.push(mib(kib));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let hwm = status_kib(pid, "VmHWM").unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    let log = reader.join().expect("log reader");
    println!(
        "\n== {label}: vigil serve, load average {} ==\n\
         rss_idle_mib={:.1} rss_check_peak_mib={:.1} (VmHWM {:.1} MiB since start; startup check done \
         {:.1}s after start, check duration_ms={}; idle read {}s after it; telegram calls {})",
        load_average(),
        median(&mut idle),
        mib(peak),
        mib(hwm),
        done_at.as_secs_f64(),
        check_ms.load(Ordering::SeqCst),
        IDLE_AFTER.as_secs(),
        fake.requests().len(),
    );
    for line in log.iter().filter(|l| {
        l.contains("check done") || l.contains("embedded history") || l.contains("ERROR")
    }) {
        println!("  log: {line}");
    }
}

#[test]
#[ignore = "benchmark: generates ~10 million events, takes a minute or more"]
fn embedded_sqlite_tick_to_last_alert_and_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    simulate(&["--data-dir", data.to_str().expect("utf-8")]);
    let source_toml = format!(
        "[source]\nkind = \"sqlite\"\npath = \"{}\"\n",
        data.join("vigil.sqlite").display()
    );
    let at = tick_to_last_alert("embedded SQLite", &source_toml);
    oneshot_check_rss("embedded SQLite", &source_toml, None, at);
    // That check kept its state next to the store; serve starts afresh.
    for file in [
        "vigil-state.sqlite",
        "vigil-state.sqlite-wal",
        "vigil-state.sqlite-shm",
    ] {
        let _ = std::fs::remove_file(data.join(file));
    }
    serve_rss("embedded SQLite", "", &data);
}

#[test]
#[ignore = "benchmark: needs minutes and a real ClickHouse server"]
fn clickhouse_tick_to_last_alert_and_memory() {
    let Some(server) = TestServer::start("clickhouse_tick_to_last_alert") else {
        return;
    };
    simulate(&[
        "--clickhouse-url",
        &server.url,
        "--database",
        CLICKHOUSE_DATABASE,
    ]);
    // Let background merges settle, as they would have on a long-running server.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let client = clickhouse::Client::default()
        .with_url(&server.url)
        .with_database(CLICKHOUSE_DATABASE);
    runtime.block_on(async {
        for table in ["feed_actions", "message_actions"] {
            client
                .query(&format!("OPTIMIZE TABLE {table} FINAL"))
                .execute()
                .await
                .expect("optimize");
        }
    });
    drop(runtime);
    let source_toml = format!(
        "[source]\nkind = \"clickhouse\"\nurl = \"{}\"\ndatabase = \"{CLICKHOUSE_DATABASE}\"\n",
        server.url
    );
    let at = tick_to_last_alert("ClickHouse", &source_toml);
    let state = tempfile::tempdir().expect("temp dir");
    oneshot_check_rss("ClickHouse", &source_toml, Some(state.path()), at);
    let data = tempfile::tempdir().expect("temp dir");
    serve_rss("ClickHouse", &source_toml, data.path());
}
