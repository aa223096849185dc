//! The alert decision: what a live check would send for a series, given the
//! detector's point at each bucket. It lives here, below both the server and
//! the browser, because the server's check and the lab's replay must decide
//! the same way: a replay that skips a rule shows alerts that would never be
//! sent, or misses ones that would.
//!
//! Pure like the rest of `detect`: no I/O and no clock (the caller passes
//! `now`), so it builds for wasm32.
//!
//! * [`floor`] — [`AlertFloor`]: anomalies too small to alert on
//!   (`min_volume`, `min_abs_change`, `ratio_slices`).
//! * [`lifecycle`] — [`step`]: ok -> firing -> resolved per series, with
//!   repeats, in bucket time.
//! * [`silence`] — [`Silence`], [`SilenceScope`]: what mutes a notification.
//! * [`inhibition`] — slices that move with their firing metric are part of
//!   its alert, not alerts of their own.
//! * [`judge`] — the newest-point judgment of a live check: the history it
//!   reads, an open alert's span kept out of the baseline.
//! * [`replay`] — all of the above over a metric's history, bucket by bucket:
//!   what the live check would have sent.

pub mod floor;
pub mod inhibition;
pub mod judge;
pub mod lifecycle;
pub mod replay;
pub mod silence;

pub use floor::{AlertFloor, Measure};
pub use inhibition::{inhibition, Parent};
pub use judge::{history_start, newest_judgment, Masked};
pub use lifecycle::{
    step, AlertConfig, AlertId, Judgment, Notify, OpenAlert, ResolvedAlert, SeriesState, Step,
    DEFAULT_REOPEN_WITHIN_SECS, DEFAULT_RESOLVE_AFTER,
};
pub use replay::{replay, History, Rules, Sent};
pub use silence::{is_muted, Silence, SilenceScope};
