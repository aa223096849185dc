//! The shared store tests ([`crate::state::store_tests`]) on a real
//! PostgreSQL server (one per test binary, a database per state), and what
//! is PostgreSQL's own: the schema version, an unreachable server, a broken
//! connection.

#[path = "../../../tests/support/postgres.rs"]
mod support;

use super::{schema, PostgresState, PostgresTarget};
use crate::state::prelude::*;
use crate::state::store_tests::{all_store_tests, Backend};
use crate::state::StateStore;
use support::{TestServer, TEST_PASSWORD};

/// A database of its own on the test server; every handle connects to it.
pub(super) struct PostgresDatabase {
    server: &'static TestServer,
    pub(super) target: PostgresTarget,
}

impl PostgresDatabase {
    fn on(server: &'static TestServer) -> Self {
        let url = server.database();
        let target = PostgresTarget::parse(&url, Some(TEST_PASSWORD)).expect("test URL");
        Self { server, target }
    }

    pub(super) fn new(test: &str) -> Option<Self> {
        support::server(test).map(Self::on)
    }

    pub(super) fn state(&self) -> PostgresState {
        PostgresState::open(&self.target).expect("open")
    }
}

impl Backend for PostgresDatabase {
    fn open(&self) -> Box<dyn StateStore> {
        Box::new(self.state())
    }

    fn fresh(&self) -> Box<dyn Backend> {
        Box::new(Self::on(self.server))
    }
}

// Fewer property cases than SQLite: each makes two databases.
all_store_tests!(PostgresDatabase::new("postgres store tests"), 8);

#[test]
fn a_database_from_a_newer_vigil_is_refused_with_both_versions() {
    let Some(db) = PostgresDatabase::new("newer schema") else {
        return;
    };
    drop(db.state());
    let future = schema::current_version() + 3;
    let mut client = db.target.config().connect(postgres::NoTls).unwrap();
    client
        .execute("UPDATE vigil_schema SET version = $1", &[&future])
        .unwrap();
    let message = PostgresState::open(&db.target).unwrap_err().to_string();
    assert!(message.contains(db.target.shown()), "{message}");
    assert!(message.contains(&format!("version {future}")), "{message}");
    assert!(
        message.contains(&format!("version {}", schema::current_version())),
        "{message}"
    );
    assert!(!message.contains(TEST_PASSWORD), "{message}");
    assert_eq!(
        schema::version_of(&mut client).unwrap(),
        future,
        "left as it was"
    );
}

#[test]
fn a_later_step_runs_once_on_a_database_at_an_older_version() {
    let Some(db) = PostgresDatabase::new("later step") else {
        return;
    };
    let mut client = db.target.config().connect(postgres::NoTls).unwrap();
    schema::migrate_with(&mut client, &schema::MIGRATIONS[..1]).expect("to version 1");
    client
        .execute(
            "INSERT INTO labels (metric, \"from\", \"to\", kind, note, created_by, created_at)
             VALUES ('feed_views', 0, 10, 'incident', '', 'web', 1)",
            &[],
        )
        .unwrap();
    let next = [
        schema::MIGRATIONS[0],
        "ALTER TABLE labels ADD COLUMN extra TEXT; UPDATE labels SET extra = 'kept';",
    ];
    schema::migrate_with(&mut client, &next).expect("to version 2");
    schema::migrate_with(&mut client, &next).expect("a second open changes nothing");
    assert_eq!(schema::version_of(&mut client).unwrap(), 2);
    let extra: Vec<String> = client
        .query("SELECT extra FROM labels", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(extra, ["kept"], "the row went through the step once");
}

#[test]
fn an_unreachable_server_is_named_by_host_and_port_without_the_password() {
    // Needs no server: nothing listens on port 1.
    let target =
        PostgresTarget::parse("postgres://vigil:hunter2-secret@127.0.0.1:1/state", None).unwrap();
    let message = PostgresState::open(&target).unwrap_err().to_string();
    assert!(message.contains("127.0.0.1:1/state"), "{message}");
    assert!(message.contains("cannot connect"), "{message}");
    assert!(!message.contains("hunter2-secret"), "{message}");
}

#[test]
fn a_broken_connection_is_made_again_by_the_next_call() {
    let Some(db) = PostgresDatabase::new("reconnect") else {
        return;
    };
    let mut store = db.state();
    store.record_check(&check(900)).unwrap();
    // The server ends every session of this database (a restart, a failover).
    let name = db.target.config().get_dbname().unwrap().to_string();
    db.server.psql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ));
    // The call that meets the break may fail; the store does not stay broken.
    let first = store.last_checked_bucket();
    let second = store.last_checked_bucket().expect("reconnected");
    assert_eq!(second, Some(900), "first call: {first:?}");
    store.record_check(&check(1800)).unwrap();
    assert_eq!(store.last_checked_bucket().unwrap(), Some(1800));
}

fn check(bucket: i64) -> crate::state::CheckRecord {
    crate::state::CheckRecord {
        bucket,
        started_at: bucket + 60,
        duration_ms: 5,
        ok: true,
        late: false,
        evaluated: 3,
        anomalies: 0,
        error: None,
    }
}
