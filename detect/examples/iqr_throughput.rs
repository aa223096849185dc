//! Quick throughput table for `make bench`: one line per window length,
//! `n=5 points/s=...`, comparable with `scripts/bench_pandas_iqr.py`.
//!
//! `cargo run --release -p detect --example iqr_throughput [-- LEN [REPEATS [N,N,...]]]`

#[path = "../benches/common/mod.rs"]
mod common;

use std::time::Instant;

use detect::{iqr, iqr_into, Detection, IqrParams, Series, Smoothing};

fn main() {
    let mut args = std::env::args().skip(1);
    let len: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let repeats: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let windows: Vec<usize> = args
        .next()
        .map(|s| s.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![5, 96, 672]);
    let series =
        Series::from_f64(1_700_000_000, 900, common::daily_cycle(len, 42)).expect("valid series");
    for n in windows {
        let params = IqrParams {
            n,
            a: 4.0,
            smooth: Smoothing::AsOf,
        };
        // Best of `repeats` runs (after one warm-up) filters out noise from a
        // shared machine. `points/s` is `iqr()` returning a fresh Vec (what
        // the CLI does); `reused/s` is `iqr_into()` refilling one buffer (no
        // page faults for the 41 MB of output).
        let (mut best, mut best_reused) = (f64::INFINITY, f64::INFINITY);
        let mut anomalies = 0;
        let mut buf = Detection::new();
        for r in 0..=repeats {
            let t0 = Instant::now();
            let points = iqr(&series, &params).expect("valid params");
            let dt = t0.elapsed().as_secs_f64();
            anomalies = points.anomaly_count();
            drop(points);
            let t0 = Instant::now();
            iqr_into(&series, &params, &mut buf).expect("valid params");
            let dt_reused = t0.elapsed().as_secs_f64();
            if r > 0 {
                best = best.min(dt);
                best_reused = best_reused.min(dt_reused);
            }
        }
        println!(
            "n={n} points/s={:.0} reused/s={:.0} len={len} seconds={best:.4} anomalies={anomalies}",
            len as f64 / best,
            len as f64 / best_reused
        );
    }
}
