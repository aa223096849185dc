//! The scale and the data fill the benchmark tests share (all ignored by
//! default; `make bench` runs them).
// Each benchmark includes this file and uses a subset of it.
#![allow(dead_code)]

use std::process::{Command, ExitStatus};
use std::str::FromStr;
use std::time::{Duration, Instant};

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

/// A child process killed (and reaped) when dropped: a server under benchmark.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `p` quantile (0..=1) of `sorted`, nearest rank; zero when empty.
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    if sorted.is_empty() {
        return std::time::Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Waits (up to 5 minutes) until the `vigil serve` at `base` has its history
/// and has finished its first check.
pub async fn wait_for_first_check(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + std::time::Duration::from_secs(300);
    loop {
        if let Ok(r) = http.get(format!("{base}/metrics")).send().await {
            if r.text()
                .await
                .is_ok_and(|t| t.contains("vigil_checks_total{result=\"ok\"} 1"))
            {
                return;
            }
        }
        assert!(Instant::now() < deadline, "vigil serve did not come up");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// `vigil serve` (the binary `vigil`) on a free loopback port over the
/// embedded default in `data_dir`; the server and its address.
pub fn serve_on_free_port(vigil: &str, data_dir: &str) -> (Killed, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = Command::new(vigil)
        .args(["serve", "--addr", &addr, "--data-dir", data_dir])
        .args([
            "--site-root",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site"),
        ])
        .env_remove("VIGIL_CONFIG")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("vigil serve starts");
    (Killed(server), addr)
}

/// Metrics sliced by city, on top of the built-ins (by os, source, country).
pub const CITY_METRICS: &str = r#"
[[metrics]]
name = "city_views"
table = "feed_actions"
aggregate = "count"
filters = { action = "view" }
slices = ["city"]

[[metrics]]
name = "city_likes"
table = "feed_actions"
aggregate = "count"
filters = { action = "like" }
slices = ["city"]

[[metrics]]
name = "city_ctr"
table = "feed_actions"
aggregate = "ratio"
numerator = { action = "like" }
denominator = { action = "view" }
slices = ["city"]

[[metrics]]
name = "city_users"
table = "feed_actions"
aggregate = "distinct"
column = "user_id"
slices = ["city"]

[[metrics]]
name = "city_messages"
table = "message_actions"
aggregate = "count"
slices = ["city"]
"#;

/// The `vigil` binary: `VIGIL_BIN` (a copy out of a shared target
/// directory), else the one built with this test.
pub fn vigil_bin() -> String {
    std::env::var("VIGIL_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_vigil").to_string())
}

/// ` key=value` of the newest "check done" log line in `log`.
pub fn check_done_field(log: &str, key: &str) -> u64 {
    *check_done_fields(log, key)
        .last()
        .unwrap_or_else(|| panic!("no `check done` line in:\n{log}"))
}

/// ` key=value` of every "check done" log line in `log`, oldest first.
pub fn check_done_fields(log: &str, key: &str) -> Vec<u64> {
    let needle = format!(" {key}=");
    check_done_lines(log)
        .map(|line| {
            let at = line
                .find(&needle)
                .unwrap_or_else(|| panic!("no {key} in {line}"));
            line[at + needle.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap_or_else(|_| panic!("{key} is not a number in {line}"))
        })
        .collect()
}

/// When each "check done" line was logged (its RFC 3339 timestamp, the
/// default log format's first field), unix seconds, oldest first.
pub fn check_done_times(log: &str) -> Vec<i64> {
    check_done_lines(log)
        .map(|line| {
            let stamp = line.split_whitespace().next().unwrap_or_default();
            chrono::DateTime::parse_from_rfc3339(stamp)
                .unwrap_or_else(|error| panic!("no timestamp in {line}: {error}"))
                .timestamp()
        })
        .collect()
}

fn check_done_lines(log: &str) -> impl Iterator<Item = &str> {
    log.lines().filter(|line| line.contains("check done"))
}

/// What [`run_sampling_phases`] saw of a run of several checks.
pub struct Sampled {
    pub status: ExitStatus,
    pub wall: Duration,
    /// Peak resident set of the whole run (VmHWM), KiB.
    pub peak_kib: u64,
    /// Largest resident set (VmRSS) once the first check was done: what a
    /// running server holds between and during its later checks, KiB.
    pub after_first_kib: u64,
}

/// Runs `command` (whose stderr goes to `log`) to its end, sampling its
/// memory every 5 ms, and from when `log` first has a "check done" line
/// its resident set apart.
pub fn run_sampling_phases(command: &mut Command, log: &std::path::Path) -> Sampled {
    sample(command, Some(log))
}

/// The sampling loop of both: VmHWM every 5 ms, and VmRSS once `log` (when
/// given) has a "check done" line.
fn sample(command: &mut Command, log: Option<&std::path::Path>) -> Sampled {
    let started = Instant::now();
    let mut child = command.spawn().expect("the command starts");
    let (mut peak_kib, mut after_first_kib) = (0, 0);
    let mut first_done = false;
    let mut samples = 0u64;
    let status = loop {
        let pid = child.id();
        peak_kib = peak_kib.max(status_kib(pid, "VmHWM:"));
        // The log is a few lines a check: reading it every 100 ms is cheap.
        if let Some(log) = log.filter(|_| !first_done && samples.is_multiple_of(20)) {
            first_done = std::fs::read_to_string(log).is_ok_and(|l| l.contains("check done"));
        }
        if first_done {
            after_first_kib = after_first_kib.max(status_kib(pid, "VmRSS:"));
        }
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        samples += 1;
        std::thread::sleep(Duration::from_millis(5));
    };
    Sampled {
        status,
        wall: started.elapsed(),
        peak_kib,
        after_first_kib,
    }
}

/// Runs `command` to its end, sampling its peak resident set (VmHWM) every
/// 5 ms: its exit status, wall time and peak in KiB.
pub fn run_sampling_peak(command: &mut Command) -> (ExitStatus, Duration, u64) {
    let sampled = sample(command, None);
    (sampled.status, sampled.wall, sampled.peak_kib)
}

/// A `/proc/PID/status` figure in KiB (`VmHWM:`, `VmRSS:`; 0 once gone).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with(field))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}
