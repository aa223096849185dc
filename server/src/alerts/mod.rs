//! Alerts: the lifecycle of each (metric, slice) series ([`lifecycle`], pure)
//! and its durable state with the notification outbox ([`store`]).
//!
//! The scheduler feeds each check's evaluations to [`store::AlertStore::apply`];
//! the Telegram sender drains [`store::AlertStore::due`] and reports back with
//! `mark_sent` / `mark_failed`; button presses become `label` / `silence`.

pub mod latest;
pub mod lifecycle;
pub mod silence_scope;
pub mod store;
#[cfg(test)]
mod store_tests;

pub use latest::LatestEvaluation;
pub use lifecycle::{AlertConfig, AlertId, Notify, Silence, SilenceScope};
pub use store::{
    AlertError, AlertRecord, AlertStatus, AlertStore, CheckRecord, Label, NotificationPayload,
    OutboxItem, SentMessage, SOURCE_METRIC,
};
