//! Alerts: the lifecycle of each (metric, slice) series and the alerting
//! floor, both pure and shared with the browser's replay, so they live in
//! [`detect::alerting`] and are re-exported here; the server's adapters to
//! them ([`significance`], [`crate::evaluation::Evaluation::judgment`]); and
//! the scopes silences cover ([`silence_scope`]). Their durable state and
//! the notification outbox are kept by [`crate::state`].
//!
//! The scheduler feeds each check's evaluations to [`crate::state::AlertLog::apply`];
//! the Telegram sender drains [`crate::state::Outbox::due`] and reports back with
//! `mark_sent` / `mark_failed`; button presses become `label` / `silence`.

pub mod significance;
pub mod silence_scope;

pub use detect::alerting::{
    is_muted, step, AlertConfig, AlertId, Notify, OpenAlert, ResolvedAlert, SeriesState, Silence,
    SilenceScope, Step,
};

#[cfg(test)]
mod tests {
    use super::*;
    use detect::SliceKey;

    /// The state file stores notify kinds and silence scopes as JSON: the
    /// move into `detect` must not change how they read.
    #[test]
    fn stored_json_keeps_its_shape() {
        assert_eq!(
            serde_json::to_string(&Notify::Repeat { firing_secs: 3600 }).unwrap(),
            r#"{"kind":"repeat","firing_secs":3600}"#
        );
        assert_eq!(
            serde_json::to_string(&Notify::Opened).unwrap(),
            r#"{"kind":"opened"}"#
        );
        let scope = SilenceScope::Slice {
            metric: "feed_views".into(),
            slice: Some(SliceKey {
                dimension: "os".into(),
                value: "iOS".into(),
            }),
        };
        let text =
            r#"{"scope":"slice","metric":"feed_views","slice":{"dimension":"os","value":"iOS"}}"#;
        assert_eq!(serde_json::to_string(&scope).unwrap(), text);
        assert_eq!(serde_json::from_str::<SilenceScope>(text).unwrap(), scope);
        assert_eq!(
            serde_json::to_string(&AlertConfig::default()).unwrap(),
            r#"{"repeat_after_secs":3600,"resolve_after":2,"reopen_within_secs":3600}"#
        );
        // Written before flap damping: resolves after the default two.
        assert_eq!(
            serde_json::from_str::<AlertConfig>(r#"{"repeat_after_secs":3600}"#).unwrap(),
            AlertConfig::default()
        );
    }
}
