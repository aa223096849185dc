//! Burst benchmark (ignored by `cargo test`; run by `make bench`): `vigil
//! serve` on the embedded default gets bursts of 500 requests at once (the
//! overview, metric pages with distinct `?slice=` values, and the server
//! functions those pages call), and its resident memory, threads and open
//! file descriptors are read from /proc before, at the peak of and 10 s after
//! the bursts (docs/benchmarks.md, "Bounded under load").
//!
//! ```sh
//! cargo test --release -p server --test burst_bench -- --ignored --nocapture
//! # VIGIL_BURST=500 requests per burst, VIGIL_BURST_ROUNDS=3 bursts;
//! # VIGIL_BIN=path/to/vigil measures another build (e.g. the one before)
//! ```

#[path = "support/bench_scale.rs"]
mod bench_scale;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench_scale::{env_or, percentile};
use serde_json::Value;

/// What /proc says about a process: RSS (MB), threads, open file descriptors.
#[derive(Clone, Copy, Debug, Default)]
struct Usage {
    rss_mb: f64,
    threads: u64,
    fds: u64,
}

impl Usage {
    fn of(pid: u32) -> Self {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|dir| dir.count() as u64)
            .unwrap_or(0);
        Self {
            rss_mb: field("VmRSS:") as f64 / 1024.0,
            threads: field("Threads:"),
            fds,
        }
    }

    fn max(self, other: Self) -> Self {
        Self {
            rss_mb: self.rss_mb.max(other.rss_mb),
            threads: self.threads.max(other.threads),
            fds: self.fds.max(other.fds),
        }
    }

    fn show(&self) -> String {
        format!(
            "rss_mb={:.0} threads={} fds={}",
            self.rss_mb, self.threads, self.fds
        )
    }
}

/// One request of the burst: a page (GET) or a server function (POST form).
#[derive(Clone, Debug)]
enum Call {
    Page(String),
    ServerFn(&'static str, Vec<(String, String)>),
}

/// The burst's mix, `size` requests: a quarter overview pages, half metric
/// pages cycling through every metric's slices (distinct `?slice=` values),
/// a quarter the server functions those pages call.
fn mix(size: usize, metrics: &[(String, Vec<String>)]) -> Vec<Call> {
    let slices: Vec<(String, String)> = (metrics.iter())
        .flat_map(|(name, values)| values.iter().map(move |v| (name.clone(), v.clone())))
        .collect();
    (0..size)
        .map(|i| {
            let (name, slice) = slices[i % slices.len()].clone();
            let encoded = slice.replace('=', "%3D");
            match i % 8 {
                0 | 1 => Call::Page("/".into()),
                2 => Call::ServerFn("fetch_overview", vec![]),
                3 => Call::ServerFn(
                    "fetch_metric_history",
                    vec![
                        ("name".into(), name),
                        ("days".into(), "31".into()),
                        ("slice".into(), slice),
                    ],
                ),
                _ => Call::Page(format!("/metric/{name}?slice={encoded}")),
            }
        })
        .collect()
}

#[test]
#[ignore = "benchmark: run with --ignored (make bench)"]
fn five_hundred_requests_at_once_stay_bounded() {
    let size: usize = env_or("VIGIL_BURST", 500);
    let rounds: usize = env_or("VIGIL_BURST_ROUNDS", 3);
    let vigil = std::env::var("VIGIL_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_vigil").into());
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_str().expect("utf-8").to_string();
    let (server, addr) = bench_scale::serve_on_free_port(&vigil, &data_dir);
    let pid = server.0.id();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let metrics = runtime.block_on(async {
        bench_scale::wait_for_first_check(&http, &base).await;
        slices_of_every_metric(&http, &base).await
    });
    std::thread::sleep(Duration::from_secs(2));
    let before = Usage::of(pid);
    println!("before: {}", before.show());

    // Sampled every 20 ms while the bursts run.
    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(Mutex::new(before));
    let sampler = {
        let (sampling, peak) = (Arc::clone(&sampling), Arc::clone(&peak));
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                let now = Usage::of(pid);
                let mut peak = peak.lock().expect("peak");
                *peak = peak.max(now);
                drop(peak);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let calls = mix(size, &metrics);
    let mut latencies = Vec::new();
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    let started = Instant::now();
    for _ in 0..rounds {
        let results = runtime.block_on(burst(&http, &base, &calls));
        for (latency, status) in results {
            latencies.push(latency);
            *statuses.entry(status).or_default() += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    sampling.store(false, Ordering::Relaxed);
    sampler.join().expect("sampler");
    let peak = *peak.lock().expect("peak");
    std::thread::sleep(Duration::from_secs(10));
    let after = Usage::of(pid);
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("peak: {}", peak.show());
    println!("after 10 s: {}", after.show());
    println!(
        "burst={size} rounds={rounds} seconds={elapsed:.1} p50_ms={:.0} p99_ms={:.0} max_ms={:.0} \
         statuses={statuses:?}",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
    let failed: usize = (statuses.iter())
        .filter(|(status, _)| !matches!(status.as_str(), "200" | "404" | "503"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(failed, 0, "every request answered: {statuses:?}");
}

/// Every metric with its slices as `dimension=value`, from the server
/// functions the metric page calls.
async fn slices_of_every_metric(http: &reqwest::Client, base: &str) -> Vec<(String, Vec<String>)> {
    let post = |name: &str, form: Vec<(String, String)>| {
        let request = post_form(http, &format!("{base}/api/{name}"), &form);
        async move {
            let response = request.send().await.expect("server function answers");
            assert!(response.status().is_success(), "{}", response.status());
            response.json::<Value>().await.expect("json")
        }
    };
    let metrics = post("fetch_metrics", vec![]).await;
    let mut all = Vec::new();
    for metric in metrics.as_array().expect("a list") {
        let name = metric["name"].as_str().expect("name").to_string();
        let mut values = Vec::new();
        for dimension in metric["slices"].as_array().into_iter().flatten() {
            let dimension = dimension.as_str().expect("dimension");
            let form = vec![
                ("name".to_string(), name.clone()),
                ("dimension".to_string(), dimension.to_string()),
            ];
            let slices = post("fetch_slices", form).await;
            for slice in slices["slices"].as_array().into_iter().flatten() {
                let value = slice["value"].as_str().expect("value");
                values.push(format!("{dimension}={value}"));
            }
        }
        if !values.is_empty() {
            all.push((name, values));
        }
    }
    assert!(!all.is_empty(), "the default catalogue has sliced metrics");
    all
}

/// All of `calls` at once; each one's latency and status (or "error").
async fn burst(http: &reqwest::Client, base: &str, calls: &[Call]) -> Vec<(Duration, String)> {
    let tasks: Vec<_> = (calls.iter())
        .map(|call| {
            let request = match call {
                Call::Page(path) => http.get(format!("{base}{path}")),
                Call::ServerFn(name, form) => post_form(http, &format!("{base}/api/{name}"), form),
            };
            tokio::spawn(async move {
                let started = Instant::now();
                let status = match request.send().await {
                    Ok(response) => {
                        let status = response.status().as_u16().to_string();
                        match response.bytes().await {
                            Ok(_) => status,
                            Err(_) => "error".to_string(),
                        }
                    }
                    Err(_) => "error".to_string(),
                };
                (started.elapsed(), status)
            })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.expect("request task"));
    }
    results
}

/// A server-function call: a POST of `form`, URL-encoded.
fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(String, String)],
) -> reqwest::RequestBuilder {
    let body: Vec<String> = (form.iter())
        .map(|(key, value)| {
            format!(
                "{}={}",
                app::routes::encode(key),
                app::routes::encode(value)
            )
        })
        .collect();
    http.post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
}
