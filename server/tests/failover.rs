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
#[path = "support/serve.rs"]
mod serve;

use std::time::Duration;

use failover::{up_to, Scenario, Store};

fn scenario(kills: u32, state_toml: &str) -> Scenario {
    Scenario {
        days: 3,
        catch_up_hours: 30,
        users: 300,
        kills,
        lease_seconds: 3,
        state_toml: state_toml.to_string(),
        seed: 11,
    }
}

/// Runs the uninterrupted reference and the killed run on copies of one
/// store and compares them.
pub fn assert_failover_loses_nothing(state_toml: &str, kills: u32) {
    let events = Store::simulate(&scenario(0, ""));
    let seed_at = events.seed_bucket(&scenario(0, ""));
    let deadline = Duration::from_secs(600);
    let reference = failover::run(
        &events.copy_for(&scenario(0, ""), seed_at),
        &scenario(0, ""),
        deadline,
    );
    let killed_scenario = scenario(kills, state_toml);
    let killed = failover::run(
        &events.copy_for(&killed_scenario, seed_at),
        &killed_scenario,
        deadline,
    );
    eprintln!(
        "reference: {}\nkilled: {}",
        reference.summary(),
        killed.summary()
    );

    let cutoff = events.simulated_to;
    let expected = up_to(&reference.alerts, cutoff);
    assert!(!expected.is_empty(), "the catch-up opens alerts");
    assert_eq!(
        up_to(&killed.alerts, cutoff),
        expected,
        "the same alerts, none lost, none twice"
    );
    assert!(
        killed.kills_during_check >= kills.min(3),
        "the kills landed while the leader was checking: {}",
        killed.kills_during_check
    );
    assert_eq!(
        (killed.pending, killed.failed),
        (0.0, 0.0),
        "every notification delivered"
    );
    assert_eq!(reference.duplicates(), 0, "{:?}", reference.sent);
    assert!(
        killed.duplicates() <= killed.kills_during_check,
        "at most one message per kill twice: {} for {} kills",
        killed.duplicates(),
        killed.kills_during_check
    );
    assert!(killed.readyz_leader.is_some(), "/readyz names the leader");
    assert_eq!(
        killed
            .metrics_leader_flags
            .iter()
            .filter(|flag| **flag == 1.0)
            .count(),
        1,
        "exactly one instance says vigil_leader 1: {:?}",
        killed.metrics_leader_flags
    );
}

#[test]
fn killing_the_leader_mid_check_loses_no_alert_sqlite_state() {
    // Two processes on one SQLite state file: the same lease and claims as
    // PostgreSQL, on one machine.
    assert_failover_loses_nothing("", 4);
}
