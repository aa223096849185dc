//! A throwaway PostgreSQL server, one per test binary: started through
//! `scripts/postgres-test-server.sh` on the first call of [`server`], on a free
//! port with its own temp dir, and stopped (dir removed) by the script's
//! watcher once the test binary exits. Each test then takes a database of its
//! own ([`TestServer::database`]), so tests running in parallel never meet.
//!
//! Also included by the in-crate tests (`src/state/postgres/tests.rs`), so it
//! only uses std.
//!
//! Skipping: without `VIGIL_REQUIRE_POSTGRES` the tests that need the server
//! print a loud message and skip; with it (`make test` sets it) they run, and
//! a server that cannot start fails them.

#![allow(dead_code)] // each test binary uses a different part of this helper

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The password the script gives to the `vigil` user (see the script).
pub const TEST_PASSWORD: &str = "vigil-test-password";

pub struct TestServer {
    /// `postgres://vigil@127.0.0.1:PORT/vigil` (no password).
    pub url: String,
    /// `postgres://vigil@127.0.0.1:PORT`: where [`TestServer::database`] adds a name.
    base: String,
    /// Connects as the `postgres` superuser (Unix socket in this dir, no password).
    pub dir: PathBuf,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("postgres-test-server.sh")
}

fn required() -> bool {
    std::env::var_os("VIGIL_REQUIRE_POSTGRES").is_some_and(|v| !v.is_empty())
}

/// The binary's server, started on first use; `None` (after saying so
/// loudly) when the tests that need it may be skipped.
pub fn server(test: &str) -> Option<&'static TestServer> {
    static SERVER: OnceLock<Option<TestServer>> = OnceLock::new();
    if !required() {
        eprintln!(
            "\n=== SKIPPED {test}: needs PostgreSQL; set VIGIL_REQUIRE_POSTGRES=1 to run it ===\n\
             === (the test starts its own server: apt-get install -y postgresql)           ===\n"
        );
        return None;
    }
    let server = SERVER.get_or_init(|| Some(TestServer::start()));
    server.as_ref()
}

impl TestServer {
    fn start() -> Self {
        let output = Command::new("bash")
            .arg(script())
            .arg("start")
            .env("POSTGRES_TEST_PASSWORD", TEST_PASSWORD)
            .env("POSTGRES_TEST_OWNER_PID", std::process::id().to_string())
            .output()
            .expect("running scripts/postgres-test-server.sh");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "could not start PostgreSQL: {}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
        let value = |key: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(key))
                .map(str::to_string)
                .unwrap_or_else(|| panic!("the script printed no {key}: {stdout}"))
        };
        let url = value("POSTGRES_URL=");
        let base = url
            .rsplit_once('/')
            .map(|(base, _)| base.to_string())
            .expect("a URL with a database");
        Self {
            url,
            base,
            dir: PathBuf::from(value("POSTGRES_DIR=")),
        }
    }

    /// A new, empty database owned by the test user; returns its URL (no
    /// password: give [`TEST_PASSWORD`] through the config or the environment).
    pub fn database(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.psql(&format!("CREATE DATABASE {name} OWNER vigil"));
        format!("{}/{name}", self.base)
    }

    /// Runs one SQL command as the superuser, failing the test if it fails.
    pub fn psql(&self, sql: &str) {
        let port = self
            .base
            .rsplit_once(':')
            .map(|(_, port)| port.to_string())
            .expect("a URL with a port");
        let mut command = if running_as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "psql"]);
            c
        } else {
            Command::new("psql")
        };
        let output = command
            .arg("-h")
            .arg(&self.dir)
            .args([
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
            ])
            .arg(sql)
            .output()
            .expect("running psql");
        assert!(
            output.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
