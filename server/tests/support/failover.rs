//! Two `vigil serve` instances sharing one state, the leader killed with
//! SIGKILL at random moments of its catch-up, again and again, against the
//! fake Telegram Bot API; and the same catch-up run once without a kill.
//! Used by `tests/failover.rs` (a few rounds, in `make test`) and by
//! `tests/failover_bench.rs` (20 rounds and more, in `make bench`).
// Each test binary includes this file and uses a subset of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{stdout_of, vigil_with_env};
use crate::fake_telegram::{FakeApi, CHAT, TOKEN};
use crate::serve::{free_port, get, metric_sample};

const BUCKET: i64 = 900;
const GRACE: i64 = 120;

/// What one run is made of.
#[derive(Clone)]
pub struct Scenario {
    /// Simulated days in the store, and hours of them the instances catch up.
    pub days: u32,
    pub catch_up_hours: u32,
    pub users: u32,
    /// Kills of the leader while it catches up (0: the uninterrupted run).
    pub kills: u32,
    /// The leader lease's lifetime, seconds.
    pub lease_seconds: u32,
    /// Extra config text: a `[state]` section to share a PostgreSQL state.
    pub state_toml: String,
    /// Seeds the kill moments.
    pub seed: u64,
}

/// What a run left behind.
#[derive(Debug)]
pub struct Outcome {
    /// (metric, slice, started_at) of every alert opened, by any instance.
    pub alerts: BTreeSet<(String, String, i64)>,
    /// Kills that landed while the leader still had buckets to check.
    pub kills_during_check: u32,
    /// Texts Telegram received (sent messages and photo captions), with how
    /// often each arrived.
    pub sent: BTreeMap<String, u32>,
    /// Outbox items left pending or given up after the run.
    pub pending: f64,
    pub failed: f64,
    /// The newest bucket checked when the run ended.
    pub last_checked: i64,
    /// Seconds from each kill until another instance led (its /readyz).
    pub takeover_secs: Vec<f64>,
    /// Who led at the end, as the survivor's /readyz and /metrics said.
    pub readyz_leader: Option<String>,
    pub metrics_leader_flags: Vec<f64>,
    pub wall_secs: f64,
}

impl Outcome {
    /// The figures, without the texts.
    pub fn summary(&self) -> String {
        format!(
            "{} alerts, {} messages ({} arrived twice), {} kills during a check, takeovers {:?} s, \
             pending {} failed {}, leader {:?}, {:.1} s",
            self.alerts.len(),
            self.sent.values().sum::<u32>(),
            self.duplicates(),
            self.kills_during_check,
            self.takeover_secs.iter().map(|s| (s * 10.0).round() / 10.0).collect::<Vec<_>>(),
            self.pending,
            self.failed,
            self.readyz_leader,
            self.wall_secs
        )
    }

    /// Texts that arrived more than once, and how many extra copies.
    pub fn duplicates(&self) -> u32 {
        self.sent.values().map(|n| n.saturating_sub(1)).sum()
    }
}

/// A store of `days` simulated days up to now, with its own fake Bot API.
pub struct Store {
    pub dir: tempfile::TempDir,
    config: PathBuf,
    fake: FakeApi,
    /// The newest bucket that was complete when the events were simulated:
    /// every copy of the store holds the same events up to it.
    pub simulated_to: i64,
}

impl Store {
    /// Simulates the events (the first instance to lead appends live ones).
    pub fn simulate(scenario: &Scenario) -> Self {
        let store = Self::empty(scenario);
        stdout_of(&store.vigil(&["simulate", "--days", &scenario.days.to_string()]));
        Self {
            simulated_to: newest_complete_bucket(),
            ..store
        }
    }

    fn empty(scenario: &Scenario) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = FakeApi::spawn();
        let config = dir.path().join("vigil.toml");
        std::fs::write(
            &config,
            // The morning report is on by default; this test counts only alerts (report_telegram tests the report).
            format!(
                "[source]\nkind = \"sqlite\"\npath = \"{data}/vigil.sqlite\"\n\
                 [simulator]\nusers = {users}\ndays = {days}\nseed = 7\n\
                 [schedule]\ncatch_up_hours = {hours}\nleader_lease_seconds = {lease}\n\
                 [alerts]\npublic_url = \"http://vigil.test\"\n\
                 [telegram]\nchat = {CHAT}\napi_url = \"{api}\"\n\
                 [report]\nenabled = false\n{state}\n",
                data = dir.path().display(),
                users = scenario.users,
                days = scenario.days,
                hours = scenario.catch_up_hours,
                lease = scenario.lease_seconds,
                api = fake.base_url,
                state = scenario.state_toml,
            ),
        )
        .expect("config written");
        Self {
            dir,
            config,
            fake,
            simulated_to: 0,
        }
    }

    /// A copy of this store's events (not its state) for `scenario`, whose
    /// state is then checked once at `seed_at`, so `vigil serve` catches up
    /// from there.
    pub fn copy_for(&self, scenario: &Scenario, seed_at: i64) -> Self {
        let copy = Self {
            simulated_to: self.simulated_to,
            ..Self::empty(scenario)
        };
        for entry in std::fs::read_dir(self.dir.path()).expect("store dir") {
            let name = entry.expect("entry").file_name();
            if name.to_string_lossy().starts_with("vigil.sqlite") {
                std::fs::copy(self.dir.path().join(&name), copy.dir.path().join(&name))
                    .expect("store copied");
            }
        }
        stdout_of(&copy.vigil(&["check", "--at", &crate::cli::format_time(seed_at)]));
        copy
    }

    /// The bucket to seed a state at so that `catch_up_hours` are caught up.
    pub fn seed_bucket(&self, scenario: &Scenario) -> i64 {
        self.simulated_to - i64::from(scenario.catch_up_hours) * 3600 + 4 * BUCKET
    }

    fn vigil(&self, args: &[&str]) -> std::process::Output {
        let mut all = args.to_vec();
        all.extend(["--config", self.config.to_str().expect("utf-8")]);
        vigil_with_env(&all, &[("VIGIL_TELEGRAM_TOKEN", TOKEN)])
    }

    fn spawn(&self, port: u16, log: &Path) -> Child {
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--config"])
            .arg(&self.config)
            .arg("--site-root")
            .arg(self.dir.path().join("site"))
            .env_remove("VIGIL_CONFIG")
            .env_remove("VIGIL_OPERATOR_TOKEN")
            .env("VIGIL_TELEGRAM_TOKEN", TOKEN)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                    .expect("log file"),
            )
            .spawn()
            .expect("vigil serve starts")
    }

    /// Alerts opened so far, from `vigil alerts list`.
    fn alerts(&self) -> BTreeSet<(String, String, i64)> {
        let csv = stdout_of(&self.vigil(&["alerts", "list", "--limit", "100000"]));
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let column = |name: &str| {
            header
                .iter()
                .position(|c| *c == name)
                .unwrap_or_else(|| panic!("no {name} column in {header:?}"))
        };
        let (metric, slice, started) = (column("metric"), column("slice"), column("started"));
        lines
            .map(|line| {
                let fields: Vec<&str> = line.split(',').collect();
                (
                    fields[metric].to_string(),
                    fields[slice].to_string(),
                    crate::cli::parse_time(fields[started]),
                )
            })
            .collect()
    }
}

/// An instance: its process and port.
struct Instance {
    child: Child,
    port: u16,
}

impl Instance {
    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// The newest bucket a check at this moment evaluates.
fn newest_complete_bucket() -> i64 {
    (unix_now() - GRACE) / BUCKET * BUCKET - BUCKET
}

/// `/readyz`'s JSON, when the instance answers.
fn readiness(addr: &str) -> Option<serde_json::Value> {
    let (_, body) = get(addr, "/readyz")?;
    serde_json::from_str(&body).ok()
}

fn leads(addr: &str) -> bool {
    readiness(addr).is_some_and(|r| r["leading"] == serde_json::Value::Bool(true))
}

/// One sample of `/metrics` (`name` without labels, or with them).
fn sample(addr: &str, name: &str) -> Option<f64> {
    let (_, body) = get(addr, "/metrics")?;
    metric_sample(&body, name)
}

/// A small deterministic generator for the kill moments.
struct Moments(u64);

impl Moments {
    /// Milliseconds in `low..high`.
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        low + (self.0 >> 33) % (high - low)
    }
}

/// Runs `scenario` on `store`: two instances, `kills` SIGKILLs of the leader
/// while it catches up (each killed instance restarts on a new port, so it
/// comes back as another instance and the survivor takes over), then waits
/// until the newest bucket is checked and the outbox is empty.
pub fn run(store: &Store, scenario: &Scenario, deadline: Duration) -> Outcome {
    let started = Instant::now();
    let log = store.dir.path().join("serve.log");
    let mut instances: Vec<Instance> = (0..2)
        .map(|_| {
            let port = free_port();
            Instance {
                child: store.spawn(port, &log),
                port,
            }
        })
        .collect();
    let mut moments = Moments(scenario.seed);
    let mut kills_during_check = 0;
    let mut takeover_secs = Vec::new();
    // The bucket that is complete when the run starts: a run that ends after
    // the next one completes must not wait up to 15 minutes for the
    // scheduler's next tick to check it.
    let target = newest_complete_bucket();
    let caught_up = |addr: &str| {
        sample(addr, "vigil_last_checked_bucket_timestamp_seconds")
            .is_some_and(|bucket| bucket as i64 >= target)
    };
    for _ in 0..scenario.kills {
        let leader = wait_for(deadline, started, || {
            instances.iter().position(|i| leads(&i.addr()))
        });
        // Within a second of a leader: an 18-hour catch-up takes 3-4 s of
        // checks here, and moments of up to 2.5 s let it finish before the
        // third kill on some runs (the kills must land mid-check).
        std::thread::sleep(Duration::from_millis(moments.next_ms(150, 1_000)));
        if caught_up(&instances[leader].addr()) {
            break; // nothing left to interrupt
        }
        kills_during_check += 1;
        instances[leader].kill();
        let killed_at = Instant::now();
        let port = free_port();
        instances[leader] = Instance {
            child: store.spawn(port, &log),
            port,
        };
        wait_for(deadline, started, || {
            instances.iter().any(|i| leads(&i.addr())).then_some(())
        });
        takeover_secs.push(killed_at.elapsed().as_secs_f64());
    }
    let leader = wait_for(deadline, started, || {
        instances.iter().position(|i| {
            let addr = i.addr();
            leads(&addr)
                && caught_up(&addr)
                && sample(&addr, "vigil_notifications{status=\"pending\"}") == Some(0.0)
        })
    });
    let addr = instances[leader].addr();
    let outcome = Outcome {
        alerts: store.alerts(),
        kills_during_check,
        sent: sent_texts(&store.fake),
        pending: sample(&addr, "vigil_notifications{status=\"pending\"}").unwrap_or(f64::NAN),
        failed: sample(&addr, "vigil_notifications{status=\"failed\"}").unwrap_or(f64::NAN),
        last_checked: sample(&addr, "vigil_last_checked_bucket_timestamp_seconds")
            .map_or(0, |b| b as i64),
        takeover_secs,
        readyz_leader: readiness(&addr).and_then(|r| r["leader"].as_str().map(str::to_string)),
        metrics_leader_flags: instances
            .iter()
            .filter_map(|i| sample(&i.addr(), "vigil_leader"))
            .collect(),
        wall_secs: started.elapsed().as_secs_f64(),
    };
    drop(instances);
    outcome
}

/// Polls `probe` every 100 ms until it answers; fails the test past `deadline`.
fn wait_for<T>(deadline: Duration, started: Instant, mut probe: impl FnMut() -> Option<T>) -> T {
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            started.elapsed() < deadline,
            "the run did not finish within {deadline:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every text Telegram received (messages and photo captions) with its count.
fn sent_texts(fake: &FakeApi) -> BTreeMap<String, u32> {
    let mut sent = BTreeMap::new();
    for request in fake.requests() {
        let text = match request.method.as_str() {
            "sendMessage" => request
                .json
                .as_ref()
                .and_then(|json| json["text"].as_str().map(str::to_string))
                .or_else(|| request.fields.get("text").cloned()),
            "sendPhoto" => request.fields.get("caption").cloned(),
            _ => None,
        };
        if let Some(text) = text {
            *sent.entry(text).or_insert(0) += 1;
        }
    }
    sent
}

/// Alerts that started at or before `cutoff`.
pub fn up_to(
    alerts: &BTreeSet<(String, String, i64)>,
    cutoff: i64,
) -> BTreeSet<(String, String, i64)> {
    alerts.iter().filter(|a| a.2 <= cutoff).cloned().collect()
}

/// Runs `scenario` and, on a copy of the same events, the same catch-up
/// without a kill by one instance on its own SQLite state, and asserts that
/// the killed run lost nothing: the same alerts, every notification
/// delivered, at most one message twice per kill, one leader at the end.
/// Returns (uninterrupted, killed).
pub fn assert_loses_nothing(scenario: &Scenario) -> (Outcome, Outcome) {
    let uninterrupted = Scenario {
        kills: 0,
        state_toml: String::new(),
        ..scenario.clone()
    };
    let events = Store::simulate(&uninterrupted);
    let seed_at = events.seed_bucket(scenario);
    let deadline = Duration::from_secs(900);
    let reference = run(
        &events.copy_for(&uninterrupted, seed_at),
        &uninterrupted,
        deadline,
    );
    let killed = run(&events.copy_for(scenario, seed_at), scenario, deadline);
    eprintln!(
        "uninterrupted: {}\nkilled: {}",
        reference.summary(),
        killed.summary()
    );

    // Later buckets hold events each run's leader appended live.
    let cutoff = events.simulated_to;
    let expected = up_to(&reference.alerts, cutoff);
    assert!(!expected.is_empty(), "the catch-up opens alerts");
    assert_eq!(
        up_to(&killed.alerts, cutoff),
        expected,
        "the same alerts, none lost, none twice"
    );
    assert!(
        killed.kills_during_check >= scenario.kills.min(3),
        "the kills landed while the leader was checking: {}",
        killed.kills_during_check
    );
    assert_eq!(
        (killed.pending, killed.failed),
        (0.0, 0.0),
        "every notification delivered"
    );
    assert_eq!(reference.duplicates(), 0, "{:?}", reference.sent);
    assert!(
        killed.duplicates() <= killed.kills_during_check,
        "at most one message per kill twice: {} for {} kills",
        killed.duplicates(),
        killed.kills_during_check
    );
    assert!(killed.readyz_leader.is_some(), "/readyz names the leader");
    assert_eq!(
        killed
            .metrics_leader_flags
            .iter()
            .filter(|flag| **flag == 1.0)
            .count(),
        1,
        "exactly one instance says vigil_leader 1: {:?}",
        killed.metrics_leader_flags
    );
    (reference, killed)
}
