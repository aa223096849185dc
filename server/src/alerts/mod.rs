//! Alerts: the lifecycle of each (metric, slice) series ([`lifecycle`], pure)
//! and the scopes silences cover ([`silence_scope`]). Their durable state and
//! the notification outbox are kept by [`crate::state`].
//!
//! The scheduler feeds each check's evaluations to [`crate::state::AlertLog::apply`];
//! the Telegram sender drains [`crate::state::Outbox::due`] and reports back with
//! `mark_sent` / `mark_failed`; button presses become `label` / `silence`.

pub mod lifecycle;
pub mod significance;
pub mod silence_scope;

pub use lifecycle::{AlertConfig, AlertId, Notify, Silence, SilenceScope};
