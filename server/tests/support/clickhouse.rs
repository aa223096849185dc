//! A throwaway ClickHouse server for one test: started through
//! `scripts/clickhouse-test-server.sh` on free ports with its own temp dir, and
//! stopped (dir removed) when the handle drops, whether the test passed or not.
//!
//! Also included by the in-crate tests (`src/sources/clickhouse/tests.rs`), so it
//! only uses std.
//!
//! Skipping: when `clickhouse-server` is not installed AND `VIGIL_REQUIRE_CLICKHOUSE`
//! is unset, [`TestServer::start`] prints a loud message and returns `None`.
//! `make test` sets the variable, so in CI a missing server fails the test.

#![allow(dead_code)] // each test binary uses a different part of this helper

use std::path::{Path, PathBuf};
use std::process::Command;

/// The password the script gives to the `vigil` user (see the script).
pub const TEST_USER: &str = "vigil";
pub const TEST_PASSWORD: &str = "vigil-test-password";

pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `https://127.0.0.1:PORT`, for a server started by [`TestServer::start_with_tls`].
    pub https_url: Option<String>,
    dir: PathBuf,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("clickhouse-test-server.sh")
}

fn installed() -> bool {
    if std::env::var_os("CLICKHOUSE_SERVER_BIN").is_some() {
        return true;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    // Debian installs the server in /usr/sbin, which a non-root PATH may lack.
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .any(|dir| dir.join("clickhouse-server").is_file() || dir.join("clickhouse").is_file())
}

/// What a server started with TLS serves HTTPS with (PEM files).
pub struct ServerTls<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
    /// Checks client certificates against this CA (one that fails is refused).
    pub client_ca: Option<&'a Path>,
}

impl TestServer {
    /// Start a server, or `None` (after saying so loudly) when the test may be skipped.
    pub fn start(test: &str) -> Option<Self> {
        Self::start_with(test, None)
    }

    /// [`TestServer::start`], also serving HTTPS ([`TestServer::https_url`]).
    pub fn start_with_tls(test: &str, tls: &ServerTls<'_>) -> Option<Self> {
        Self::start_with(test, Some(tls))
    }

    fn start_with(test: &str, tls: Option<&ServerTls<'_>>) -> Option<Self> {
        let mut env: Vec<(&str, &Path)> = Vec::new();
        if let Some(tls) = tls {
            env.extend([
                ("CLICKHOUSE_TLS_CERT", tls.cert),
                ("CLICKHOUSE_TLS_KEY", tls.key),
            ]);
            if let Some(client_ca) = tls.client_ca {
                env.push(("CLICKHOUSE_TLS_CLIENT_CA", client_ca));
            }
        }
        let started = run_start(test, &script(), &env)?;
        Some(Self {
            url: started.value("CLICKHOUSE_URL="),
            https_url: tls.map(|_| started.value("CLICKHOUSE_HTTPS_URL=")),
            dir: PathBuf::from(started.value("CLICKHOUSE_DIR=")),
        })
    }

    /// The server's data, log and config directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        run_stop(&script(), &self.dir);
    }
}

/// Two servers started by `scripts/clickhouse-test-cluster.sh` as the two
/// shards of the cluster [`TestCluster::NAME`]; both stopped on drop.
pub struct TestCluster {
    /// `http://127.0.0.1:PORT` of shard 1 and shard 2.
    pub shard_urls: [String; 2],
    dir: PathBuf,
}

impl TestCluster {
    /// The cluster's name in both servers' `remote_servers`.
    pub const NAME: &'static str = "vigil_cluster";

    /// Start both shards, or `None` (after saying so loudly) when the test may be skipped.
    pub fn start(test: &str) -> Option<Self> {
        let started = run_start(test, &cluster_script(), &[])?;
        Some(Self {
            shard_urls: [
                started.value("CLICKHOUSE_SHARD1_URL="),
                started.value("CLICKHOUSE_SHARD2_URL="),
            ],
            dir: PathBuf::from(started.value("CLICKHOUSE_DIR=")),
        })
    }

    /// The directory holding `shard1/` and `shard2/` (each a server's dir).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        run_stop(&cluster_script(), &self.dir);
    }
}

fn cluster_script() -> PathBuf {
    script().with_file_name("clickhouse-test-cluster.sh")
}

/// What a start script printed: `KEY=value` lines.
struct Started {
    test: String,
    stdout: String,
}

impl Started {
    fn value(&self, key: &str) -> String {
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .map(str::to_string)
            .unwrap_or_else(|| {
                panic!(
                    "{}: the script printed no {key}: {}",
                    self.test, self.stdout
                )
            })
    }
}

/// `bash SCRIPT start` with `env`, or `None` when ClickHouse is missing and
/// not required.
fn run_start(test: &str, script: &Path, env: &[(&str, &Path)]) -> Option<Started> {
    let required = std::env::var_os("VIGIL_REQUIRE_CLICKHOUSE").is_some_and(|v| !v.is_empty());
    if !installed() && !required {
        eprintln!(
            "\n=== SKIPPED {test}: clickhouse-server is not installed ===\n\
             === install it (apt-get install -y clickhouse-server) or set       ===\n\
             === VIGIL_REQUIRE_CLICKHOUSE=1 to turn this skip into a failure.    ===\n"
        );
        return None;
    }
    let mut command = Command::new("bash");
    command.arg(script).arg("start");
    // Debian's server lives in /usr/sbin; make sure the script can find it.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.push(PathBuf::from("/usr/sbin"));
    if let Ok(joined) = std::env::join_paths(dirs) {
        command.env("PATH", joined);
    }
    command.env("CLICKHOUSE_TEST_PASSWORD", TEST_PASSWORD);
    command.envs(env.iter().copied());
    // Ports are picked free, but another server started at the same
    // moment (tests run in parallel) can bind one first: try again.
    let mut output = command
        .output()
        .unwrap_or_else(|error| panic!("running {}: {error}", script.display()));
    for _ in 0..2 {
        let text =
            String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
        if output.status.success() || !text.contains("Address already in use") {
            break;
        }
        output = command
            .output()
            .unwrap_or_else(|error| panic!("running {}: {error}", script.display()));
    }
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{test}: could not start ClickHouse: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    Some(Started {
        test: test.to_string(),
        stdout,
    })
}

/// `bash SCRIPT stop DIR`, warning (not failing: this runs in `drop`) when it fails.
fn run_stop(script: &Path, dir: &Path) {
    let status = Command::new("bash")
        .arg(script)
        .arg("stop")
        .arg(dir)
        .status();
    if !matches!(status, Ok(status) if status.success()) {
        eprintln!(
            "warning: could not stop the test ClickHouse in {}",
            dir.display()
        );
    }
}
