//! Two `vigil serve` instances sharing one state: the leader is killed with
//! SIGKILL at random moments of its catch-up, and the survivor takes over.
//! Every alert an uninterrupted run opens is opened, every notification is
//! delivered, at most one message per kill arrives twice (the window between
//! Telegram's answer and the outbox mark), and the survivor's `/readyz` and
//! `/metrics` say who leads. `failover_bench.rs` runs more rounds.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/failover.rs"]
mod failover;
#[path = "support/fake_telegram.rs"]
mod fake_telegram;
#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/serve.rs"]
mod serve;

use failover::{assert_loses_nothing, Scenario};

#[test]
fn killing_the_leader_mid_check_loses_no_alert_sqlite_state() {
    // Two processes on one SQLite state file: the same lease and claims as
    // PostgreSQL, on one machine.
    assert_loses_nothing(&small(4, ""));
}

#[test]
fn killing_the_leader_mid_check_loses_no_alert_postgres_state() {
    let Some(server) =
        postgres::server("killing_the_leader_mid_check_loses_no_alert_postgres_state")
    else {
        return;
    };
    let url = server.database().replacen(
        "postgres://vigil@",
        &format!("postgres://vigil:{}@", postgres::TEST_PASSWORD),
        1,
    );
    assert_loses_nothing(&small(4, &format!("[state]\nurl = \"{url}\"\n")));
}

/// Four days of 1,000 users, 18 hours caught up, a 3-second lease. The
/// simulator puts its last incident in the last 16.8 hours of four days (one
/// day of warm-up, then five equal segments ending 3 hours before the end),
/// so the catch-up holds it whatever the time of day. The default detector
/// is trained on young stores too, so four days of history are enough for it
/// (`young_store_cli.rs`); the test's time is mostly the two catch-ups.
fn small(kills: u32, state_toml: &str) -> Scenario {
    Scenario {
        days: 4,
        catch_up_hours: 18,
        users: 1000,
        kills,
        lease_seconds: 3,
        state_toml: state_toml.to_string(),
        seed: 11,
    }
}
