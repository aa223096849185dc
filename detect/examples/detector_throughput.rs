//! Throughput of every detector with its default parameters on one series,
//! natively: one line per detector, `detector=seasonal points/s=...`.
//! Run by `scripts/bench_detectors.sh` (see docs/benchmarks.md).
//!
//! `cargo run --release -p detect --example detector_throughput [-- LEN [REPEATS [NAME,NAME,...]]]`
//!
//! The series is the daily cycle of `benches/common` (96 buckets a day),
//! `LEN` points (default 1e6). Per detector, best of `REPEATS` runs (default
//! 3) after one warm-up, each `DetectorSpec::run` into a fresh `Detection`
//! (what the CLI does). `forecast` fits a model every `refit` buckets and
//! costs far more than the others: it runs once, without warm-up, unless
//! REPEATS is given.

#[path = "../benches/common/mod.rs"]
mod common;

use std::time::Instant;

use detect::{DetectorSpec, Series, DETECTOR_NAMES};

fn main() {
    let mut args = common::Args::new();
    let len: usize = args.next_or(1_000_000);
    let repeats: Option<usize> = args.next_opt();
    let names: Vec<String> = args.list_or(DETECTOR_NAMES.iter().map(|s| s.to_string()).collect());
    let values = common::daily_cycle(len, 42);
    let series = Series::from_f64(1_700_000_000, 900, values).expect("valid series");
    for name in names {
        let spec = DetectorSpec::default_for(&name).expect("known detector");
        let (warmup, runs) = match repeats {
            Some(r) => (1, r.max(1)),
            None if spec.is_slow() => (0, 1),
            None => (1, 3),
        };
        let mut best = f64::INFINITY;
        let mut anomalies = 0;
        for r in 0..warmup + runs {
            let t0 = Instant::now();
            let detection = spec.run(&series).expect("valid params");
            let dt = t0.elapsed().as_secs_f64();
            anomalies = detection.anomaly_count();
            if r >= warmup {
                best = best.min(dt);
            }
        }
        println!(
            "detector={name} points/s={} len={len} seconds={best:.4} runs={runs} anomalies={anomalies}",
            (len as f64 / best).round()
        );
    }
}
