//! `performance.mark`/`measure` around the lab's work, so the browser tests
//! and `make bench` can read how long a recompute and redraw took. No-ops on
//! the server.

#[cfg(feature = "hydrate")]
mod imp {
    use std::cell::Cell;

    thread_local! {
        /// Whether a change was marked and its redraw not yet measured.
        static PENDING: Cell<bool> = const { Cell::new(false) };
    }

    fn performance() -> Option<web_sys::Performance> {
        web_sys::window().and_then(|w| w.performance())
    }

    pub fn mark(name: &str) {
        if let Some(p) = performance() {
            let _ = p.mark(name);
        }
    }

    pub fn measure(name: &str, start_mark: &str) {
        if let Some(p) = performance() {
            let _ = p.measure_with_start_mark(name, start_mark);
        }
    }

    /// Marks `start_mark` and remembers that [`finish`] should measure.
    pub fn start(start_mark: &str) {
        mark(start_mark);
        PENDING.with(|p| p.set(true));
    }

    /// Measures `name` from `start_mark` if [`start`] marked one since the last call.
    pub fn finish(name: &str, start_mark: &str) {
        if PENDING.with(|p| p.replace(false)) {
            measure(name, start_mark);
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    pub fn mark(_: &str) {}
    pub fn measure(_: &str, _: &str) {}
    pub fn start(_: &str) {}
    pub fn finish(_: &str, _: &str) {}
}

pub use imp::{finish, mark, measure, start};

/// The mark set when a control changes the detector.
pub const CHANGE_MARK: &str = "lab-change";
/// The measure from [`CHANGE_MARK`] to the end of the redraw.
pub const UPDATE_MEASURE: &str = "lab-update";
/// The mark at the start of a heatmap run, and its measure.
pub const HEATMAP_MARK: &str = "heatmap-start";
pub const HEATMAP_MEASURE: &str = "heatmap";
