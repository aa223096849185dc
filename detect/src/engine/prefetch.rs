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
//! Work travels in buffers through a bounded channel ([`pipelined`]), and
//! the emptied buffers come back to be refilled, so nothing is allocated
//! per item and the producer is at most [`DEPTH`] buffers ahead: batches
//! of [`BATCH`] items for an iterator ([`prefetched`]), or whatever the
//! stages exchange (the IQR pipeline: a block of raw bands).
//!
//! Only natively: on `wasm32` (the browser) there are no threads, and
//! [`worth_a_thread`] is always false.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Items per batch: a few µs of work, so the channel's cost per batch is
/// small per item, and a batch of rank triples (48 KB) stays in L2.
const BATCH: usize = 1024;

/// Buffers the producer may run ahead.
const DEPTH: usize = 4;

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

/// The core of this module: `produce` runs on a second thread and fills
/// buffers, one after another, until it returns false; `consume` gets the
/// filled buffers in the same order through its [`Filled`], each lent back
/// to the producer once read. At most `DEPTH + 1` buffers exist, made by
/// `empty`. A panic on either side reaches the caller (after the other
/// side has stopped: a closed channel ends either loop).
pub(crate) fn pipelined<B, T>(
    empty: impl Fn() -> B,
    mut produce: impl FnMut(&mut B) -> bool + Send,
    consume: impl FnOnce(Filled<B>) -> T,
) -> T
where
    B: Send,
{
    use std::sync::mpsc::{channel, sync_channel};
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = sync_channel::<B>(DEPTH);
        let (empty_tx, empty_rx) = channel::<B>();
        for _ in 0..=DEPTH {
            // Cannot fail: the receiver is alive.
            let _ = empty_tx.send(empty());
        }
        scope.spawn(move || {
            while let Ok(mut buffer) = empty_rx.recv() {
                if !produce(&mut buffer) || full_tx.send(buffer).is_err() {
                    return;
                }
            }
        });
        consume(Filled {
            full: full_rx,
            empty: empty_tx,
        })
    })
}

/// The consumer's end of [`pipelined`].
pub(crate) struct Filled<B> {
    full: std::sync::mpsc::Receiver<B>,
    empty: std::sync::mpsc::Sender<B>,
}

impl<B> Filled<B> {
    /// The next filled buffer; None once the producer has finished.
    pub(crate) fn take(&mut self) -> Option<B> {
        self.full.recv().ok()
    }

    /// Lends a buffer (read) back to the producer to refill.
    pub(crate) fn give_back(&mut self, buffer: B) {
        // A closed channel only means the producer has finished.
        let _ = self.empty.send(buffer);
    }

    /// `read` applied to the next filled buffer, which then goes back to
    /// the producer; None once the producer has finished.
    #[inline]
    pub(crate) fn next_with<R>(&mut self, read: impl FnOnce(&mut B) -> R) -> Option<R> {
        let mut buffer = self.take()?;
        let got = read(&mut buffer);
        self.give_back(buffer);
        Some(got)
    }
}

/// Runs `body` over the items of `iter`, which a second thread computes
/// ahead of it in batches of [`BATCH`] (see the module docs). `body` sees
/// exactly the items of `iter`, in order, and may stop early.
pub(crate) fn prefetched<I, T>(iter: I, body: impl FnOnce(Prefetched<I::Item>) -> T) -> T
where
    I: Iterator + Send,
    I::Item: Copy + Send,
{
    let mut iter = iter.fuse();
    let produce = move |batch: &mut Vec<I::Item>| {
        batch.clear();
        batch.extend(iter.by_ref().take(BATCH));
        !batch.is_empty()
    };
    let empty = || Vec::with_capacity(BATCH);
    pipelined(empty, produce, |filled| {
        body(Prefetched {
            filled,
            batch: Vec::with_capacity(BATCH),
            at: 0,
        })
    })
}

/// The consumer's end of [`prefetched`]: an iterator over the items.
pub(crate) struct Prefetched<T> {
    filled: Filled<Vec<T>>,
    /// The current batch (a copy of the last one received).
    batch: Vec<T>,
    /// Next item of `batch`.
    at: usize,
}

impl<T: Copy> Iterator for Prefetched<T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if let Some(&item) = self.batch.get(self.at) {
            self.at += 1;
            return Some(item);
        }
        self.refill()
    }
}

impl<T: Copy> Prefetched<T> {
    /// The first item of the next batch.
    #[cold]
    fn refill(&mut self) -> Option<T> {
        let batch = &mut self.batch;
        // Swapped, not copied: the spent batch goes back to be refilled.
        self.filled.next_with(|got| std::mem::swap(batch, got))?;
        self.at = 1;
        self.batch.first().copied()
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
