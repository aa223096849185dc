//! vigil's own state: alerts and their history, the notification outbox,
//! silences, check runs, labels and detector settings. One owner, one file
//! (`<data dir>/vigil-state.sqlite`, see [`state_path`]), separate from the
//! event store so it exists with a ClickHouse source too.
//!
//! The shape is an interface with SQLite as its first implementation:
//! - one trait per concern, in a file of its own with the types it speaks:
//!   [`AlertLog`] (alerts, events, series state), [`Outbox`] (notifications,
//!   message groups), [`Silences`], [`Checks`] (check runs, latest
//!   evaluations, source availability), [`Labels`], [`DetectorSettings`],
//!   [`Leases`] (a role such as the leader, held by one instance at a time);
//!   [`Reports`] (the morning report's deliveries); [`LateRows`] (what each
//!   checked bucket read, for its one re-check when late rows change it);
//! - [`StateStore`], every concern together, implemented by
//!   [`sqlite::SqliteState`] (the schema, its migrations and the connection
//!   policy are in [`sqlite`]);
//! - [`State`], the handle the server shares: [`State::call`] runs a closure
//!   on the store on tokio's blocking pool (the traits are synchronous: the
//!   database calls block).
//!
//! The rest of the server depends on the traits and the handle, never on
//! rusqlite or postgres. The second implementation, [`postgres::PostgresState`]
//! (so several vigil instances share state), is a sibling of [`sqlite`] with
//! its own schema and migrations; what both write alike (the lifecycle, the
//! notices) is worked out once in `records`, and both run the same tests
//! (`store_tests`). [`open`], the one place that picks an implementation,
//! chooses it by [`StateLocation`] (from the config's `[state]`), and every
//! caller (the server's [`State`], the one-off commands) gets it from there.
//! Every state change and the outbox row it causes commit together, and the
//! outbox order is creation order, on both.

pub mod alerts;
pub mod checks;
pub mod labels;
pub mod late_rows;
pub mod leases;
pub mod outbox;
pub mod postgres;
pub(crate) mod records;
pub mod reports;
pub mod settings;
pub mod silences;
pub mod sqlite;
#[cfg(test)]
pub(crate) mod store_tests;
pub(crate) mod stored_row;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use alerts::{
    AlertError, AlertEvent, AlertLog, AlertRecord, AlertStatus, HistoryFilter, Label,
    SOURCE_METRIC, STALE_DIMENSION, STALE_METRIC,
};
pub use checks::{CheckRecord, Checks, LatestEvaluation};
pub use labels::{LabelError, LabelKind, LabelRecord, Labels, NewLabel};
pub use late_rows::{CheckedInput, LateRows};
pub use leases::{LeaseHolder, Leases};
pub use outbox::{
    backoff_secs, NotificationPayload, Outbox, OutboxItem, SentMessage, CLAIM_SECONDS,
};
pub use postgres::{PostgresState, PostgresTarget};
pub use reports::{ReportItem, Reports, LOG_CHAT};
pub use settings::{DetectorSettings, SettingChange, SettingsError};
pub use silences::Silences;
pub use sqlite::SqliteState;

/// The concern traits, for calling them on a concrete store (`SqliteState` in
/// tests): `use crate::state::prelude::*;`. A `dyn StateStore` needs no import.
pub mod prelude {
    pub use super::{
        AlertLog, Checks, DetectorSettings, Labels, LateRows, Leases, Outbox, Reports, Silences,
        StateStore,
    };
}

/// File name of the state database inside the data directory.
pub const STATE_FILE: &str = "vigil-state.sqlite";

/// `<data dir>/vigil-state.sqlite`.
pub fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join(STATE_FILE)
}

/// Where the state lives: what [`open`] chooses the implementation by.
#[derive(Clone, Debug, PartialEq)]
pub enum StateLocation {
    /// The embedded default: a SQLite file (`<data dir>/vigil-state.sqlite`).
    Sqlite(PathBuf),
    /// A PostgreSQL database several vigil instances share (`[state] url`).
    Postgres(PostgresTarget),
}

impl StateLocation {
    /// True for a SQLite file not created yet: a one-off command that only
    /// reads finds nothing there, and must not create it.
    pub fn holds_nothing_yet(&self) -> bool {
        match self {
            StateLocation::Sqlite(path) => !path.exists(),
            StateLocation::Postgres(_) => false,
        }
    }
}

impl std::fmt::Display for StateLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateLocation::Sqlite(path) => write!(f, "{}", path.display()),
            StateLocation::Postgres(target) => write!(f, "{target}"),
        }
    }
}

/// Opens the state at `location`: the one place that picks the
/// implementation ([`SqliteState::open`], [`PostgresState::open`]). One-off
/// commands call the store directly; the server shares it as a [`State`].
pub fn open(location: &StateLocation) -> Result<Box<dyn StateStore>, AlertError> {
    Ok(match location {
        StateLocation::Sqlite(path) => Box::new(SqliteState::open(path)?),
        StateLocation::Postgres(target) => Box::new(PostgresState::open(target)?),
    })
}

/// Every concern of the state, in one store.
pub trait StateStore:
    AlertLog
    + Outbox
    + Silences
    + Checks
    + Labels
    + DetectorSettings
    + Leases
    + Reports
    + LateRows
    + Send
{
}

impl<T> StateStore for T where
    T: AlertLog
        + Outbox
        + Silences
        + Checks
        + Labels
        + DetectorSettings
        + Leases
        + Reports
        + LateRows
        + Send
{
}

/// The database's own error, whichever implementation raised it: the
/// concerns' errors carry it without naming a database library.
#[derive(Debug)]
pub struct DatabaseError(Box<dyn std::error::Error + Send + Sync>);

impl DatabaseError {
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }
}

impl std::fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The shared handle to the state: cheap to clone, one store behind it.
#[derive(Clone)]
pub struct State {
    store: Arc<Mutex<Box<dyn StateStore>>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").finish_non_exhaustive()
    }
}

/// [`State::call`]'s task could not run the closure to its end (it panicked).
#[derive(Debug, thiserror::Error)]
#[error("store task failed: {0}")]
pub struct CallFailed(String);

impl From<CallFailed> for AlertError {
    fn from(failed: CallFailed) -> Self {
        AlertError::Open {
            path: "alert state".into(),
            reason: failed.to_string(),
        }
    }
}

impl From<CallFailed> for LabelError {
    fn from(failed: CallFailed) -> Self {
        LabelError::Unavailable(failed.to_string())
    }
}

impl From<CallFailed> for SettingsError {
    fn from(failed: CallFailed) -> Self {
        SettingsError::Unavailable(failed.to_string())
    }
}

impl State {
    /// Opens the state at `location` (see [`open`]) to share it.
    pub fn open(location: &StateLocation) -> Result<Self, AlertError> {
        open(location).map(Self::new)
    }

    /// Shares `store`.
    pub fn new(store: Box<dyn StateStore>) -> Self {
        Self {
            store: Arc::new(Mutex::new(store)),
        }
    }

    /// Runs `f` on the store on tokio's blocking pool (the store's calls block).
    pub async fn call<T, E>(
        &self,
        f: impl FnOnce(&mut dyn StateStore) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<CallFailed> + Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || state.blocking(f))
            .await
            .map_err(|e| E::from(CallFailed(e.to_string())))?
    }

    /// Runs `f` on the store on this thread: for synchronous code (startup,
    /// one-off commands, tests), never on an async worker.
    pub fn blocking<T>(&self, f: impl FnOnce(&mut dyn StateStore) -> T) -> T {
        // A panic in an earlier call leaves no half-done transaction (it
        // rolls back on drop), so the store stays usable.
        let mut guard = self
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(guard.as_mut())
    }
}
