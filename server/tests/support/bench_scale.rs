//! The scale and the data fill the benchmark tests share (all ignored by
//! default; `make bench` runs them).
// Each benchmark includes this file and uses a subset of it.
#![allow(dead_code)]

use std::process::Command;
use std::str::FromStr;
use std::time::Instant;

/// `name` from the environment, else `default` (also when unparsable).
pub fn env_or<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Simulated users and days of history: `VIGIL_BENCH_USERS` (20 000) and
/// `VIGIL_BENCH_DAYS` (14), about 10 million events.
pub fn scale() -> (u32, u32) {
    (
        env_or("VIGIL_BENCH_USERS", 20_000),
        env_or("VIGIL_BENCH_DAYS", 14),
    )
}

/// `vigil simulate ARGS` at [`scale`] with seed 42, up to now; prints its
/// summary (which carries events/s) and the wall time.
pub fn simulate(args: &[&str]) {
    let (users, days) = scale();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("simulate")
        .args(args)
        .args([
            "--days",
            &days.to_string(),
            "--users",
            &users.to_string(),
            "--seed",
            "42",
        ])
        .env_remove("VIGIL_CONFIG")
        .output()
        .expect("vigil simulate runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!(
        "\n== simulate ({users} users, {days} days) in {:.1}s ==\n{}",
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&output.stdout).trim()
    );
}
