//! Silences: a scope (everything, a metric, a series) muted until a time,
//! from the config, a Telegram button or the web UI ([`Silences`]).

use crate::alerts::{AlertId, Silence, SilenceScope};

use super::AlertError;

/// Muting alerts.
pub trait Silences {
    /// Mutes `scope` from `now` until `until`. Returns the silence.
    fn silence(
        &mut self,
        scope: SilenceScope,
        until: i64,
        actor: &str,
        now: i64,
    ) -> Result<Silence, AlertError>;

    /// Mutes the series of an alert (its metric and slice) until `until`: what
    /// the "mute" buttons do. Recorded in the alert's history.
    fn silence_alert(
        &mut self,
        alert_id: AlertId,
        until: i64,
        actor: &str,
        now: i64,
    ) -> Result<Silence, AlertError>;

    /// Makes the config's planned silences exist (once each: a silence with
    /// the same scope, start and end by "config" is not added again).
    /// Returns how many were added.
    fn sync_configured_silences(
        &mut self,
        silences: &[(SilenceScope, i64, i64)],
        now: i64,
    ) -> Result<usize, AlertError>;

    /// Ends a silence early (idempotent).
    fn end_silence(&mut self, id: i64, now: i64) -> Result<(), AlertError>;

    /// Silences in force at `now`.
    fn active_silences(&self, now: i64) -> Result<Vec<Silence>, AlertError>;

    /// Silences in force at some moment of `[from, to)`, ended ones included:
    /// what a replay of that span must apply to mute what the check muted.
    fn silences_overlapping(&self, from: i64, to: i64) -> Result<Vec<Silence>, AlertError>;
}
