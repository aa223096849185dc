//! Quick throughput table for `make bench`: one line per window length,
//! `n=5 points/s=...`, comparable with `scripts/bench_pandas_iqr.py` (same
//! series, value for value: compare the `checksum=` lines);
//! `scripts/bench_iqr_vs_pandas.sh` runs both and prints the ratios.
//!
//! `cargo run --release -p detect --example iqr_throughput [-- LEN [REPEATS [N,N,... [OFFSET]]]]`
//!
//! Per n, best of REPEATS runs after one warm-up (filters out noise from a
//! shared machine):
//!
//! * `points/s`: `iqr()` with the default `asof` smoothing, returning a fresh
//!   [`Detection`] (what the CLI does: allocating its 41 MB, through the
//!   `vigil` binary's allocator, mimalloc).
//! * `reused/s`: `iqr_into()` refilling one [`Detection`] (what the web page
//!   does on every slider move; no page faults).
//! * `centered/s`: fresh output with `centered` smoothing, the seed rule
//!   exactly (`centered_anomalies` matches the pandas script's `anomalies`).
//! * `single/s`: `points/s` on one thread (`set_batch_threads(1)`). The
//!   other figures let long runs compute their order statistics on a
//!   second core when there is one (`detect::prefetch`).

#[path = "../benches/common/mod.rs"]
mod common;

use std::time::Instant;

use detect::{iqr, iqr_into, set_batch_threads, Detection, IqrParams, Series, Smoothing};

/// The allocator the `vigil` binary ships with (server/src/main.rs): it keeps
/// freed pages mapped, so a fresh `Detection` is not page-faulted in on every
/// call (with glibc's malloc that cost ~14 ns per point here).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = common::Args::new();
    let len: usize = args.next_or(1_000_000);
    let repeats: usize = args.next_or(5);
    let windows: Vec<usize> = args.list_or(vec![5, 96, 672]);
    // An offset (e.g. 0.1) makes every mantissa bit vary, as in a ratio
    // like CTR (the pandas script takes the same offset, and the checksums
    // still match).
    let offset: f64 = args.next_or(0.0);
    let values: Vec<f64> = common::daily_cycle(len, 42)
        .into_iter()
        .map(|x| x + offset)
        .collect();
    println!(
        "checksum={:.0} first={:?}",
        values.iter().sum::<f64>(),
        &values[..3.min(len)]
    );
    let series = Series::from_f64(1_700_000_000, 900, values).expect("valid series");
    for n in windows {
        let params = |smooth| IqrParams { n, a: 4.0, smooth };
        let (asof, centered) = (params(Smoothing::AsOf), params(Smoothing::Centered));
        let (mut best, mut best_reused, mut best_centered, mut best_single) =
            (f64::INFINITY, f64::INFINITY, f64::INFINITY, f64::INFINITY);
        let (mut anomalies, mut centered_anomalies) = (0, 0);
        let mut buf = Detection::new();
        for r in 0..=repeats {
            let t0 = Instant::now();
            let detection = iqr(&series, &asof).expect("valid params");
            let dt = t0.elapsed().as_secs_f64();
            anomalies = detection.anomaly_count();
            drop(detection);
            let t0 = Instant::now();
            iqr_into(&series, &asof, &mut buf).expect("valid params");
            let dt_reused = t0.elapsed().as_secs_f64();
            let t0 = Instant::now();
            let detection = iqr(&series, &centered).expect("valid params");
            let dt_centered = t0.elapsed().as_secs_f64();
            centered_anomalies = detection.anomaly_count();
            drop(detection);
            set_batch_threads(1);
            let t0 = Instant::now();
            let detection = iqr(&series, &asof).expect("valid params");
            let dt_single = t0.elapsed().as_secs_f64();
            set_batch_threads(0);
            assert_eq!(
                detection.anomaly_count(),
                anomalies,
                "same run on one thread"
            );
            drop(detection);
            if r > 0 {
                best_single = best_single.min(dt_single);
                best = best.min(dt);
                best_reused = best_reused.min(dt_reused);
                best_centered = best_centered.min(dt_centered);
            }
        }
        let rate = |dt: f64| (len as f64 / dt).round();
        println!(
            "n={n} points/s={} reused/s={} centered/s={} single/s={} len={len} seconds={best:.4} \
             anomalies={anomalies} centered_anomalies={centered_anomalies}",
            rate(best),
            rate(best_reused),
            rate(best_centered),
            rate(best_single),
        );
    }
}
