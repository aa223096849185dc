//! `make bench`: the fail-over test at full size. Two `vigil serve`
//! instances share a state; the leader is SIGKILLed 20 times at random
//! moments of a 10-day catch-up, once sharing a SQLite state file and once
//! a PostgreSQL database. Prints the figures docs/benchmarks.md quotes
//! ("Fail-over").

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

#[test]
#[ignore = "benchmark: make bench"]
fn twenty_kills_of_the_leader_sqlite_state() {
    twenty_kills("sqlite", String::new());
}

#[test]
#[ignore = "benchmark: make bench"]
fn twenty_kills_of_the_leader_postgres_state() {
    let Some(server) = postgres::server("twenty_kills_of_the_leader_postgres_state") else {
        return;
    };
    let url = server.database().replacen(
        "postgres://vigil@",
        &format!("postgres://vigil:{}@", postgres::TEST_PASSWORD),
        1,
    );
    twenty_kills("postgres", format!("[state]\nurl = \"{url}\"\n"));
}

fn twenty_kills(state: &str, state_toml: String) {
    let (uninterrupted, killed) = failover::assert_loses_nothing(&failover::Scenario {
        days: 12,
        catch_up_hours: 240,
        users: 300,
        kills: 20,
        lease_seconds: 3,
        state_toml,
        seed: 2026,
    });
    let takeovers = &killed.takeover_secs;
    let mean = takeovers.iter().sum::<f64>() / takeovers.len().max(1) as f64;
    let max = takeovers.iter().copied().fold(0.0, f64::max);
    println!(
        "fail-over ({state} state): {} kills during a check; alerts {} (uninterrupted {}); \
         messages {} (uninterrupted {}), {} arrived twice; takeover mean {mean:.1} s, max {max:.1} s; \
         {:.0} s (uninterrupted {:.0} s)",
        killed.kills_during_check,
        killed.alerts.len(),
        uninterrupted.alerts.len(),
        killed.sent.values().sum::<u32>(),
        uninterrupted.sent.values().sum::<u32>(),
        killed.duplicates(),
        killed.wall_secs,
        uninterrupted.wall_secs,
    );
}
