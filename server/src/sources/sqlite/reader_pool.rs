//! The embedded store's read-only connections: at most [`MAX_READERS`] open at
//! once. A read beyond that waits (asynchronously, before it takes a thread of
//! tokio's blocking pool) for one to come back instead of opening another, and
//! connections idle for [`IDLE_CLOSE`] are closed.
//!
//! Unbounded, 500 concurrent page requests opened 467 connections (960 file
//! descriptors, each with its own page cache) that were never closed: 1.48 GB
//! of RSS (docs/benchmarks.md, "Bounded under load").

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Reader connections open at most. SQLite reads are CPU-bound here (the
/// file is in the OS page cache), so more connections than cores only queue
/// inside SQLite; a few more than the 2-4 cores of a typical host keep a slow
/// query (a month of one slice, computed from raw events) from holding up
/// every cached one. With 8, a burst of 500 requests kept at most 8 open
/// (34 descriptors in all 10 s later, 452 before; docs/benchmarks.md).
pub const MAX_READERS: usize = 8;

/// A connection unused this long is closed (its file descriptors and page
/// cache released); the next read opens one again, which takes well under a
/// millisecond.
pub const IDLE_CLOSE: Duration = Duration::from_secs(30);

/// The pool. Cheap to share behind an `Arc`.
pub struct ReaderPool {
    path: PathBuf,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<(Connection, Instant)>>,
}

/// A connection lent out; give it back with [`ReaderPool::put_back`].
pub struct Lent {
    pub connection: Connection,
    _permit: OwnedSemaphorePermit,
}

impl ReaderPool {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            permits: Arc::new(Semaphore::new(MAX_READERS)),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Waits for a free slot (the only wait: it is async, so waiting reads
    /// hold no thread).
    pub async fn permit(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the reader semaphore is never closed")
    }

    /// An idle connection, or a new one (blocking: call on the blocking pool
    /// with a `permit`).
    pub fn take(&self, permit: OwnedSemaphorePermit) -> rusqlite::Result<Lent> {
        let pooled = self
            .idle
            .lock()
            .ok()
            .and_then(|mut idle| idle.pop())
            .map(|(connection, _)| connection);
        let connection = match pooled {
            Some(connection) => connection,
            None => {
                let connection = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                connection.busy_timeout(Duration::from_secs(5))?;
                connection
            }
        };
        Ok(Lent {
            connection,
            _permit: permit,
        })
    }

    /// Returns `lent` to the idle list (its slot is free once it is dropped
    /// here) and closes the connections idle longer than [`IDLE_CLOSE`].
    pub fn put_back(&self, lent: Lent) {
        let Lent {
            connection,
            _permit,
        } = lent;
        let now = Instant::now();
        let closed = match self.idle.lock() {
            Ok(mut idle) => {
                // Most recently used last: `take` reuses the warmest one and
                // the coldest ones age out.
                idle.push((connection, now));
                let keep = idle
                    .iter()
                    .position(|(_, used)| now.duration_since(*used) < IDLE_CLOSE)
                    .unwrap_or(idle.len());
                idle.drain(..keep).count()
            }
            Err(_) => 0,
        };
        if closed > 0 {
            tracing::debug!(closed, "idle sqlite readers closed");
        }
    }

    /// Connections open now, lent or idle (for tests and the benchmark).
    #[cfg(test)]
    pub fn idle_len(&self) -> usize {
        self.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_than_the_maximum_open_and_idle_ones_are_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("store.sqlite");
        Connection::open(&path)
            .and_then(|c| c.execute_batch("CREATE TABLE t (x INTEGER);"))
            .expect("store");
        let pool = Arc::new(ReaderPool::new(&path));
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let (pool, open, peak) = (Arc::clone(&pool), Arc::clone(&open), Arc::clone(&peak));
            tasks.push(tokio::spawn(async move {
                let permit = pool.permit().await;
                let pool2 = Arc::clone(&pool);
                tokio::task::spawn_blocking(move || {
                    use std::sync::atomic::Ordering::SeqCst;
                    let lent = pool2.take(permit).expect("reader opens");
                    let now = open.fetch_add(1, SeqCst) + 1;
                    peak.fetch_max(now, SeqCst);
                    let n: i64 = lent
                        .connection
                        .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                        .expect("query");
                    std::thread::sleep(Duration::from_millis(5));
                    open.fetch_sub(1, SeqCst);
                    pool2.put_back(lent);
                    n
                })
                .await
                .expect("reader task")
            }));
        }
        for task in tasks {
            assert_eq!(task.await.expect("task"), 0);
        }
        let peak = peak.load(std::sync::atomic::Ordering::SeqCst);
        assert!(peak <= MAX_READERS, "{peak} readers at once");
        assert!(
            pool.idle_len() <= MAX_READERS,
            "{} idle connections kept",
            pool.idle_len()
        );
        assert!(pool.idle_len() >= 1, "connections are kept for reuse");
    }
}
