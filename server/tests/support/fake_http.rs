//! A tiny HTTP/1.1 server on a free loopback port for integration tests: it
//! records every request (head and body) and answers what `respond` says.
//! Stands in for a heartbeat monitor, or for a "ClickHouse" (or the proxy in
//! front of one) that echoes the request in its error body.
// Each test binary includes this file and uses a subset of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request: the request line and headers as sent, and the body.
#[derive(Clone, Debug)]
pub struct Seen {
    pub head: String,
    pub body: String,
}

impl Seen {
    /// "GET /path?query" from the request line.
    pub fn target(&self) -> String {
        let line = self.head.lines().next().unwrap_or_default();
        line.rsplit_once(' ')
            .map_or(line, |(target, _)| target)
            .to_string()
    }
}

pub struct FakeHttp {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeHttp {
    /// Serves until the test process ends; `respond` gives (status, body).
    pub fn start(respond: impl Fn(&Seen) -> (u16, String) + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().expect("addr").to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let Some(request) = read_request(&stream) else {
                    continue;
                };
                let (status, body) = respond(&request);
                record.lock().unwrap().push(request);
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { addr, seen }
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits up to `secs` for a request `matches` accepts.
    pub fn wait_for(&self, secs: u64, matches: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(found) = self.requests().into_iter().find(|seen| matches(seen)) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no such request within {secs} s; seen: {:?}",
                self.requests()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn read_request(stream: &std::net::TcpStream) -> Option<Seen> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            break;
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        head.push_str(&line);
    }
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        head,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
