//! The batch rank sources alone, timed against each other on the benchmark
//! series: `cargo run --release -p detect --example rank_sources [-- LEN ROUNDS N,N,... [OFFSET]]`.
//! Each is read as the IQR pipeline reads it: blocks of 512 windows through
//! `RankColumns::fill_columns`.
//! Rounds interleave the sources; per source and n, the best round's ns per
//! window. OFFSET is added to every value (0.1 makes every mantissa bit vary,
//! as in a ratio like CTR).

#[path = "../benches/common/mod.rs"]
mod common;

use std::time::Instant;

use detect::window::{RankColumns, SortedArray, SortedBlocks, TrackedRanks};

/// Every window's ranks, read in blocks as the pipeline reads them, summed.
fn checksum(mut src: impl RankColumns<3>) -> f64 {
    const BLOCK: usize = 512;
    let (mut lo, mut hi) = ([[0.0; BLOCK]; 3], [[0.0; BLOCK]; 3]);
    let mut sum = 0.0;
    loop {
        let filled = src.fill_columns(&mut lo, &mut hi, BLOCK);
        sum += (0..filled)
            .map(|i| lo[0][i] + hi[1][i] + lo[2][i])
            .sum::<f64>();
        if filled < BLOCK {
            return sum;
        }
    }
}

fn main() {
    let mut args = common::Args::new();
    let len: usize = args.next_or(1_000_000);
    let rounds: usize = args.next_or(7);
    let windows: Vec<usize> = args.list_or(vec![96, 672]);
    let offset: f64 = args.next_or(0.0);
    let shape: String = args.next_or("cycle".into());
    let xs: Vec<f64> = common::daily_cycle(len, 42)
        .into_iter()
        .enumerate()
        .map(|(i, x)| match shape.as_str() {
            // Growth of 1 % of the level per day.
            "trend" => x + i as f64,
            // A random walk: the noise summed.
            _ => x,
        } + offset)
        .collect();
    for n in windows {
        let ranks = [(n - 1) / 4, (n - 1) / 2, 3 * (n - 1) / 4];
        let names = ["blocks", "array", "tracked"];
        let mut best = [f64::INFINITY; 3];
        let mut sums = [0.0; 3];
        for _ in 0..rounds {
            let only: Option<usize> = std::env::var("ONLY").ok().and_then(|s| s.parse().ok());
            for (s, b) in best.iter_mut().enumerate() {
                if only.is_some_and(|o| o != s) {
                    continue;
                }
                let t0 = Instant::now();
                let sum = match s {
                    0 => checksum(SortedBlocks::new(&xs, n, ranks)),
                    1 => checksum(SortedArray::new(&xs, n, ranks)),
                    _ => checksum(TrackedRanks::new(&xs, n, ranks)),
                };
                let dt = t0.elapsed().as_secs_f64();
                sums[s] = sum;
                *b = b.min(dt);
            }
        }
        if std::env::var("ONLY").is_err() {
            assert!(
                sums.iter().all(|&s| s == sums[0]),
                "sources disagree: {sums:?}"
            );
        }
        let per = |dt: f64| dt * 1e9 / (len - n + 1) as f64;
        let line: Vec<String> = names
            .iter()
            .zip(best)
            .map(|(name, dt)| format!("{name}={:.1}ns", per(dt)))
            .collect();
        let mut t = TrackedRanks::new(&xs, n, ranks);
        for _ in t.by_ref() {}
        println!(
            "n={n} {} tracked_handed_over={}",
            line.join(" "),
            t.handed_over()
        );
    }
}
