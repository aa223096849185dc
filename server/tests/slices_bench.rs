//! Figures for docs/benchmarks.md, "Thousands of series per check (issue 18)"
//! (ignored by default):
//!
//! ```text
//! cargo test --release -p server --test slices_bench -- --ignored --nocapture --test-threads 1
//! VIGIL_BENCH_USERS=20000 VIGIL_BENCH_DAYS=14 VIGIL_BENCH_ROUNDS=3 ...   # the defaults
//! ```
//!
//! Three embedded stores of the same simulated product (~10 million events),
//! whose users live in the 15 real cities, in 188 or in 1,988 synthetic ones
//! (`vigil simulate --cities`). The check watches the six built-in metrics
//! (by os, source and country: 60 series) and, on the larger two, five more
//! sliced by city (views, likes, CTR, active users, messages): about 1,000
//! and 10,000 series with every city watched (`[[dimensions]]` city with
//! `top` above the cities), and fewer with the default cap (50 cities and
//! `(other)` per metric). A first check fills the store's rollup (printed as
//! "cold"); then each round times one whole `vigil check --at` (a fresh
//! process, a fresh alert state: every query, detector, alert decision and
//! the log delivery a user waits for) and samples its peak resident memory
//! (VmHWM) from /proc; the series evaluated and the queries issued are read
//! from its "check done" line. The median round is printed.

#[path = "support/bench_scale.rs"]
mod bench_scale;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use bench_scale::{check_done_field, env_or, run_sampling_peak, vigil_bin, CITY_METRICS};

/// Every city watched one by one: the cap raised above the cities.
const UNCAPPED: &str = "\n[[dimensions]]\nname = \"city\"\ntop = 1000000\n";

/// One size: the cities simulated and whether the city metrics are watched.
struct Size {
    label: &'static str,
    cities: u32,
    city_metrics: bool,
}

const SIZES: [Size; 3] = [
    Size {
        label: "60",
        cities: 0,
        city_metrics: false,
    },
    Size {
        label: "1,000",
        cities: 188,
        city_metrics: true,
    },
    Size {
        label: "10,000",
        cities: 1_988,
        city_metrics: true,
    },
];

/// What one `vigil check` took.
struct Round {
    wall: Duration,
    peak_rss_kib: u64,
    evaluated: u64,
    queries: u64,
}

/// One `vigil check --at at` over `dir` with `config`, on a fresh alert state.
fn check_once(dir: &Path, config: &Path, at: &str) -> Round {
    let _ = std::fs::remove_file(dir.join("vigil-state.sqlite"));
    let log = dir.join("check.log");
    let (status, wall, peak) = run_sampling_peak(
        Command::new(vigil_bin())
            .args(["check", "--at", at])
            .arg("--data-dir")
            .arg(dir)
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file")),
    );
    let log = std::fs::read_to_string(&log).expect("log");
    assert!(status.success(), "vigil check failed:\n{log}");
    Round {
        wall,
        peak_rss_kib: peak,
        evaluated: check_done_field(&log, "evaluated"),
        queries: check_done_field(&log, "queries"),
    }
}

#[test]
#[ignore = "benchmark: minutes; run with --ignored (make bench)"]
fn thousands_of_series_per_check() {
    let rounds: usize = env_or("VIGIL_BENCH_ROUNDS", 3);
    // A fixed end of history: the same events on every run and machine.
    let now = "2026-11-30 12:07:00";
    let at = "2026-11-30 12:00:00";
    println!(
        "\n| series (target) | cities | cap | series evaluated | cold check | check (median of {rounds}) \
         | queries | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for size in SIZES {
        let dir = tempfile::tempdir().expect("temp dir");
        simulate(dir.path(), size.cities, now);
        let caps: &[(&str, &str)] = if size.city_metrics {
            &[("none", UNCAPPED), ("50 (default)", "")]
        } else {
            &[("-", "")]
        };
        for (cap, dimensions) in caps {
            let config = dir.path().join("vigil.toml");
            let metrics = if size.city_metrics { CITY_METRICS } else { "" };
            std::fs::write(&config, format!("{metrics}{dimensions}")).expect("config");
            let cold = check_once(dir.path(), &config, at);
            let mut runs: Vec<Round> = (0..rounds)
                .map(|_| check_once(dir.path(), &config, at))
                .collect();
            runs.sort_by_key(|round| round.wall);
            let median = &runs[runs.len() / 2];
            println!(
                "| {} | {} | {cap} | {} | {:.1} s | {:.2} s | {} | {:.0} MiB |",
                size.label,
                size.cities,
                median.evaluated,
                cold.wall.as_secs_f64(),
                median.wall.as_secs_f64(),
                median.queries,
                median.peak_rss_kib as f64 / 1024.0
            );
        }
    }
}

/// `vigil simulate` of [`scale`] users and days up to `now`, its users in
/// `cities` synthetic cities (0: the real ones), into `dir`.
fn simulate(dir: &Path, cities: u32, now: &str) {
    let dir = dir.to_str().expect("a UTF-8 temp dir");
    let cities = cities.to_string();
    bench_scale::simulate(&["--now", now, "--cities", &cities, "--data-dir", dir]);
}
