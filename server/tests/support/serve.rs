//! Running `vigil serve` from integration tests: a real process on a free
//! loopback port with its own temporary directory, plain HTTP/1.0 requests to
//! it, and its log kept in a file.
// Each test binary includes this file and uses a subset of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub addr: String,
    /// Everything the server logged (stderr).
    pub log: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `vigil serve` with `config` (TOML, where `{DIR}` stands for a fresh
/// temporary directory, also its data directory) and extra environment
/// variables, after `prepare` has had the directory; waits until `/healthz`
/// answers. The caller's `VIGIL_CONFIG` and `VIGIL_OPERATOR_TOKEN` are not
/// inherited.
pub fn serve_with(config: &str, env: &[(&str, &str)], prepare: impl FnOnce(&Path)) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("vigil.log");
    let config_path = dir.path().join("vigil.toml");
    let config = config.replace("{DIR}", dir.path().to_str().expect("utf-8 path"));
    std::fs::write(&config_path, config).expect("config written");
    prepare(dir.path());
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["serve", "--addr", &addr, "--config"])
        .arg(&config_path)
        .arg("--site-root")
        .arg(dir.path().join("site"))
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("VIGIL_CONFIG")
        .env_remove("VIGIL_OPERATOR_TOKEN")
        .env("RUST_LOG", "debug")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("vigil starts");
    let mut server = Server {
        child,
        addr,
        log,
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(&server.addr, "/healthz").is_none() {
        assert!(
            server.child.try_wait().expect("status").is_none(),
            "vigil serve exited early"
        );
        assert!(Instant::now() < deadline, "vigil serve did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The value of the sample `name` (with its labels, if any) on a `/metrics` page.
pub fn metric_sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

/// A plain HTTP/1.0 GET: (status code, body), or None when nothing listens.
pub fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    exchange(
        addr,
        &format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n"),
    )
}

/// A plain HTTP/1.0 request with a form-encoded body (for server functions,
/// which answer JSON): (status, body).
pub fn request(addr: &str, method: &str, path: &str, form: &str) -> Option<(u16, String)> {
    exchange(
        addr,
        &format!(
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    )
}

/// Sends `raw` and reads the whole response: (status, body).
fn exchange(addr: &str, raw: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    stream.write_all(raw.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())?;
    Some((status, body))
}
