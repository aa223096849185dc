//! The state on PostgreSQL, so several vigil instances share it: every
//! concern's trait implemented by [`PostgresState`], each concern in its own
//! file, the schema and its migrations in [`schema`], the connection target
//! in [`target`]. The semantics are SQLite's ([`super::sqlite`]); the shared
//! store tests ([`super::store_tests`]) hold both to them.
//!
//! Connection policy: one connection per store, made at open and again by the
//! next call after it broke (a restarted database, a network cut), so a store
//! never fails forever; the call that met the break fails and its caller
//! retries as for any store error. A state change and the outbox row it
//! causes commit in one transaction; outbox ids come from an identity column,
//! so the outbox order is the creation order. Leases and claims expire by the
//! database's clock (`now()`), which every instance shares.
//!
//! The client is the synchronous `postgres` crate: it runs its own small
//! runtime, so it is only called off tokio's workers (the server goes through
//! [`super::State::call`], one-off commands are synchronous).

mod alerts;
mod checks;
pub mod copy;
#[cfg(test)]
mod copy_tests;
mod labels;
mod late_rows;
mod leases;
mod outbox;
mod reports;
mod rows;
pub mod schema;
mod settings;
mod silences;
pub mod target;
#[cfg(test)]
mod tests;

use std::cell::RefCell;

use postgres::{Client, NoTls};

pub use target::PostgresTarget;

use crate::state::{AlertError, LabelError, SettingsError};

/// The database's clock as unix seconds: what lease and claim expiry are judged by.
const DB_NOW: &str = "FLOOR(EXTRACT(EPOCH FROM now()))::BIGINT";

/// The state in a PostgreSQL database, connected.
pub struct PostgresState {
    target: PostgresTarget,
    /// `None` after a break until the next call reconnects. A cell because
    /// the traits read through `&self` and the client needs `&mut` for every
    /// query (the store is used by one thread at a time: [`super::State`]
    /// holds it behind a mutex).
    client: RefCell<Connection>,
}

impl std::fmt::Debug for PostgresState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresState")
            .field("target", &self.target)
            .finish()
    }
}

/// The database could not be reached: why, naming `host:port/db`.
#[derive(Debug)]
pub struct Unreachable {
    target: String,
    reason: String,
}

impl From<Unreachable> for AlertError {
    fn from(e: Unreachable) -> Self {
        AlertError::Open {
            path: e.target,
            reason: e.reason,
        }
    }
}

impl From<Unreachable> for LabelError {
    fn from(e: Unreachable) -> Self {
        LabelError::Unavailable(format!("{}: {}", e.target, e.reason))
    }
}

impl From<Unreachable> for SettingsError {
    fn from(e: Unreachable) -> Self {
        SettingsError::Unavailable(format!("{}: {}", e.target, e.reason))
    }
}

impl PostgresState {
    /// Connects to `target` and brings its schema to this vigil's version
    /// (refusing a database from a newer vigil).
    pub fn open(target: &PostgresTarget) -> Result<Self, AlertError> {
        let store = Self {
            target: target.clone(),
            client: RefCell::new(Connection(None)),
        };
        store.with_client(|client| {
            schema::migrate(client).map_err(|reason| AlertError::Open {
                path: target.shown().to_string(),
                reason,
            })
        })?;
        tracing::debug!(target = %target, "state opened");
        Ok(store)
    }

    pub fn target(&self) -> &PostgresTarget {
        &self.target
    }

    /// Runs `f` on the connection, connecting first if there is none or it broke.
    fn with_client<T, E: From<Unreachable>>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut slot = self.client.borrow_mut();
        if slot.0.as_ref().is_none_or(Client::is_closed) {
            slot.0 = None;
            let client = self
                .target
                .config()
                .connect(NoTls)
                .map_err(|e| Unreachable {
                    target: self.target.shown().to_string(),
                    reason: crate::redact::scrub(&format!("cannot connect: {e}")),
                })?;
            slot.0 = Some(client);
        }
        f(slot.0.as_mut().expect("connected above"))
    }

    /// One row of counts (BIGINT columns, negative read as 0).
    fn counts<const N: usize>(
        &self,
        query: &str,
        context: &'static str,
    ) -> Result<[u64; N], AlertError> {
        self.with_client(|client| {
            let row = client.query_one(query, &[]).map_err(sql(context))?;
            let mut out = [0u64; N];
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = row.try_get::<_, i64>(i).map_err(sql(context))?.max(0) as u64;
            }
            Ok(out)
        })
    }
}

/// The client, closed on a plain thread when dropped: closing blocks on the
/// client's own runtime, which tokio forbids on one of its workers (where the
/// last [`super::State`] may be dropped).
struct Connection(Option<Client>);

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::spawn(move || drop(client));
            }
        }
    }
}

crate::state::stored_row::stored_row!(postgres::Row, postgres::Error, try_get);

impl From<postgres::Error> for crate::state::DatabaseError {
    fn from(error: postgres::Error) -> Self {
        Self::new(error)
    }
}

/// [`crate::state::records::sql`] for this database's errors.
fn sql(context: &'static str) -> impl FnOnce(postgres::Error) -> AlertError {
    crate::state::records::sql(context)
}
