//! Running an iterator ahead of its consumer on a second thread.
//!
//! A batch detector run over a long history is two stages of similar
//! cost: the rolling order statistics (a rank source, inherently
//! sequential) and everything after them (quantiles, smoothing, assessment,
//! writing the output). With two cores the first stage can run on one
//! while the second consumes its output on the other: the same items in
//! the same order, so the results are the same bits, in about the time of
//! the slower stage instead of the sum of both.
//!
//! Items travel in batches of [`BATCH`] through a bounded channel, and the
//! emptied batches come back to be refilled, so nothing is allocated per
//! item and the producer is at most [`DEPTH`] batches ahead.
//!
//! Only natively: on `wasm32` (the browser) there are no threads, and
//! [`worth_a_thread`] is always false.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Items per batch: a few µs of work, so the channel's cost per batch is
/// small per item, and a batch of rank triples (48 KB) stays in L2.
const BATCH: usize = 1024;

/// Batches the producer may run ahead.
const DEPTH: usize = 3;

/// Fewest items worth a thread: spawning and joining one costs tens of
/// µs, the time of a few thousand items.
pub(crate) const MIN_ITEMS: usize = 32_768;

/// The most threads a batch run may use (0: as many as the machine has).
static MAX_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Caps the threads a batch detector run uses: 1 runs everything on the
/// caller's thread, 0 (the default) lets runs over long histories use a
/// second core when the machine has one. Results are the same bits either
/// way; this only changes speed (and lets a benchmark measure one core).
pub fn set_batch_threads(threads: usize) {
    MAX_THREADS.store(threads, Ordering::Relaxed);
}

/// True when a run over `items` items should compute its order statistics
/// on a second thread.
pub(crate) fn worth_a_thread(items: usize) -> bool {
    if cfg!(target_arch = "wasm32") || items < MIN_ITEMS {
        return false;
    }
    let cap = MAX_THREADS.load(Ordering::Relaxed);
    (cap == 0 || cap >= 2) && machine_threads() >= 2
}

/// The machine's threads, asked once (the standard library reads cgroup
/// limits from files on every call).
fn machine_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Runs `body` over the items of `iter`, which a second thread computes
/// ahead of it (see the module docs). `body` sees exactly the items of
/// `iter`, in order, and may stop early. A panic on either side reaches
/// the caller (after the other side has stopped).
pub(crate) fn prefetched<I, T>(iter: I, body: impl FnOnce(Prefetched<I::Item>) -> T) -> T
where
    I: Iterator + Send,
    I::Item: Copy + Send,
{
    use std::sync::mpsc::{channel, sync_channel};
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = sync_channel::<Vec<I::Item>>(DEPTH);
        let (empty_tx, empty_rx) = channel::<Vec<I::Item>>();
        for _ in 0..=DEPTH {
            // Cannot fail: the receiver is alive.
            let _ = empty_tx.send(Vec::with_capacity(BATCH));
        }
        scope.spawn(move || {
            let mut iter = iter;
            // Ends when the iterator does or the consumer is gone (either
            // channel closed).
            while let Ok(mut batch) = empty_rx.recv() {
                batch.clear();
                batch.extend(iter.by_ref().take(BATCH));
                let last = batch.len() < BATCH;
                if full_tx.send(batch).is_err() || last {
                    return;
                }
            }
        });
        body(Prefetched {
            full: full_rx,
            empty: empty_tx,
            batch: Vec::new(),
            at: 0,
            done: false,
        })
    })
}

/// The consumer's end of [`prefetched`]: an iterator over the items.
pub(crate) struct Prefetched<T> {
    full: std::sync::mpsc::Receiver<Vec<T>>,
    empty: std::sync::mpsc::Sender<Vec<T>>,
    batch: Vec<T>,
    /// Next item of `batch`.
    at: usize,
    /// The last (short) batch has been received.
    done: bool,
}

impl<T: Copy> Prefetched<T> {
    /// Gets the next batch; false at the end.
    #[cold]
    fn refill(&mut self) -> bool {
        if self.done {
            return false;
        }
        let Ok(batch) = self.full.recv() else {
            self.done = true;
            return false;
        };
        self.done = batch.len() < BATCH;
        // Hand the spent batch's allocation back; a closed channel just
        // means the producer has finished.
        let spent = std::mem::replace(&mut self.batch, batch);
        let _ = self.empty.send(spent);
        self.at = 0;
        true
    }
}

impl<T: Copy> Iterator for Prefetched<T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        loop {
            if let Some(&item) = self.batch.get(self.at) {
                self.at += 1;
                return Some(item);
            }
            if !self.refill() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_every_item_in_order() {
        for len in [0usize, 1, BATCH - 1, BATCH, BATCH + 1, 5 * BATCH + 17] {
            let got: Vec<usize> = prefetched(0..len, |items| items.collect());
            assert_eq!(got, (0..len).collect::<Vec<_>>(), "len={len}");
        }
    }

    #[test]
    fn the_consumer_may_stop_early() {
        // The producer must not block forever on a full channel.
        let first: Vec<u64> = prefetched(0..u64::MAX, |items| items.take(3 * BATCH + 5).collect());
        assert_eq!(first.len(), 3 * BATCH + 5);
        assert_eq!(first[3 * BATCH + 4], (3 * BATCH + 4) as u64);
    }

    #[test]
    fn short_histories_and_one_thread_stay_on_the_caller() {
        assert!(!worth_a_thread(MIN_ITEMS - 1));
        set_batch_threads(1);
        assert!(!worth_a_thread(10 * MIN_ITEMS));
        set_batch_threads(0);
    }
}
