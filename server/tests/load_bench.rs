//! Load benchmark (ignored by `cargo test`; run by `make bench`):
//! `vigil serve` on the embedded default, 200 concurrent clients requesting
//! the overview and metric pages on loopback for 60 seconds while checks run
//! against the same store. Prints requests, errors and latency percentiles.
//!
//! ```sh
//! cargo test --release -p server --test load_bench -- --ignored --nocapture
//! # VIGIL_LOAD_CLIENTS=200 VIGIL_LOAD_SECONDS=60 by default
//! ```

#[path = "support/bench_scale.rs"]
mod bench_scale;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_scale::{env_or, percentile};

#[test]
#[ignore = "benchmark: run with --ignored (make bench)"]
fn two_hundred_clients_on_the_pages_while_checks_run() {
    let clients: usize = env_or("VIGIL_LOAD_CLIENTS", 200);
    let seconds: u64 = env_or("VIGIL_LOAD_SECONDS", 60);
    let dir = tempfile::tempdir().expect("temp dir");
    let vigil = env!("CARGO_BIN_EXE_vigil");
    let data_dir = dir.path().to_str().expect("utf-8").to_string();
    let (_server, addr) = bench_scale::serve_on_free_port(vigil, &data_dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    // Wait for the default history (14 days) and the first check.
    runtime.block_on(bench_scale::wait_for_first_check(&http, &base));

    // Checks against the same store, back to back, for the whole run.
    let stop = Arc::new(AtomicBool::new(false));
    let checks = {
        let stop = Arc::clone(&stop);
        let data_dir = data_dir.clone();
        std::thread::spawn(move || {
            let mut count = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let status = Command::new(vigil)
                    .args(["check", "--dry-run", "--data-dir", &data_dir])
                    .env_remove("VIGIL_CONFIG")
                    .env("RUST_LOG", "error")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .expect("vigil check runs");
                assert!(status.success(), "check failed during the load");
                count += 1;
            }
            count
        })
    };

    let paths = [
        "/",
        "/metric/feed_views",
        "/metric/feed_ctr",
        "/metric/messages_sent",
    ];
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let results = runtime.block_on(async {
        let mut tasks = Vec::new();
        for client in 0..clients {
            let http = http.clone();
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut i = client;
                while Instant::now() < until {
                    let path = paths[i % paths.len()];
                    i += 1;
                    let t = Instant::now();
                    match http.get(format!("{base}{path}")).send().await {
                        Ok(response) if response.status().is_success() => {
                            if response.bytes().await.is_err() {
                                errors += 1;
                            }
                        }
                        _ => errors += 1,
                    }
                    latencies.push(t.elapsed());
                }
                (latencies, errors)
            }));
        }
        let mut all = Vec::new();
        let mut errors = 0;
        for task in tasks {
            let (latencies, e) = task.await.expect("client task");
            all.extend(latencies);
            errors += e;
        }
        (all, errors)
    });
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let checks = checks.join().expect("checks thread");
    let (mut latencies, errors) = results;
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "clients={clients} seconds={elapsed:.0} requests={} errors={errors} rps={:.0} \
         p50_ms={:.1} p90_ms={:.1} p99_ms={:.1} max_ms={:.1} concurrent_checks_run={checks}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.90)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
    );
    assert_eq!(errors, 0, "no request may fail under load");
    assert!(checks > 0, "checks ran during the load");
}
