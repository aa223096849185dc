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

pub mod floor;
pub mod lifecycle;
pub mod silence;

pub use floor::{AlertFloor, Measure};
pub use lifecycle::{step, AlertConfig, AlertId, Judgment, Notify, OpenAlert, SeriesState, Step};
pub use silence::{is_muted, Silence, SilenceScope};
