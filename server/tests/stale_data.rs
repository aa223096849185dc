//! A table whose ingestion stopped while the source still answers: `vigil
//! check` says so once ("data stale", to a fake Telegram Bot API over real
//! HTTP), does not read the table's silence as a drop of its metrics, keeps
//! judging the other table's metrics, and says "fresh again" once events
//! arrive again.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/fake_telegram.rs"]
mod fake_telegram;

use std::path::PathBuf;

use cli::{format_time, parse_time, stdout_of};
use fake_telegram::{FakeApi, CHAT, TOKEN};

const BUCKET: i64 = 900;
const GRACE: i64 = 120;
const END: &str = "2026-03-05 18:00:00";

struct Store {
    _dir: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
    held: PathBuf,
    fake: FakeApi,
}

impl Store {
    /// Four simulated days up to [`END`], then message_actions' rows from
    /// `stop` on moved aside (held back), as if its ingestion stopped then
    /// while feed_actions went on.
    fn with_messages_stopped_at(stop: i64) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        // The shared small store: its fixed "now" is END.
        cli::simulate_small_store(&data);
        let held = dir.path().join("held.sqlite");
        let events = rusqlite::Connection::open(data.join("vigil.sqlite")).expect("store");
        events
            .execute(
                "ATTACH DATABASE ?1 AS side",
                [held.to_str().expect("utf-8")],
            )
            .expect("attach");
        let moved = events
            .execute(
                "CREATE TABLE side.held AS SELECT * FROM message_actions WHERE time >= ?1",
                [stop],
            )
            .and_then(|_| events.execute("DELETE FROM message_actions WHERE time >= ?1", [stop]))
            .expect("held back");
        assert!(moved > 10, "messages held back: {moved}");
        let fake = FakeApi::spawn();
        let config = dir.path().join("vigil.toml");
        std::fs::write(
            &config,
            // The morning report is on by default; this test counts only alerts (report_telegram tests the report).
            format!(
                "[source]\nkind = \"sqlite\"\npath = \"{}\"\n\n\
                 [schedule]\nstale_after_minutes = 60\n\n\
                 [telegram]\nchat = {CHAT}\napi_url = \"{}\"\n\n\
                 [report]\nenabled = false\n",
                data.join("vigil.sqlite").display(),
                fake.base_url
            ),
        )
        .expect("config written");
        Self {
            _dir: dir,
            data,
            config,
            held,
            fake,
        }
    }

    /// `vigil check --at` the moment `bucket` becomes complete: its CSV
    /// rows and its log.
    fn check(&self, bucket: i64) -> (Vec<Vec<String>>, String) {
        let output = cli::vigil_with_env(
            &[
                "check",
                "--config",
                self.config.to_str().expect("utf-8"),
                "--at",
                &format_time(bucket + BUCKET + GRACE),
            ],
            &[("VIGIL_TELEGRAM_TOKEN", TOKEN), ("RUST_LOG", "info")],
        );
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let rows = stdout_of(&output)
            .lines()
            .skip(1)
            .map(|line| line.split(',').map(str::to_string).collect())
            .collect();
        (rows, stderr)
    }

    /// The held-back messages from `from` on arrive after all (the earlier
    /// ones are lost).
    fn release_held(&self, from: i64) {
        let events = rusqlite::Connection::open(self.data.join("vigil.sqlite")).expect("store");
        events
            .execute(
                "ATTACH DATABASE ?1 AS side",
                [self.held.to_str().expect("utf-8")],
            )
            .expect("attach");
        events
            .execute(
                "INSERT INTO message_actions SELECT * FROM side.held WHERE time >= ?1",
                [from],
            )
            .expect("released");
    }

    fn count(&self, query: &str) -> i64 {
        rusqlite::Connection::open(self.data.join("vigil-state.sqlite"))
            .expect("state")
            .query_row(query, [], |r| r.get(0))
            .expect(query)
    }

    /// Texts of the notices sent (stale, fresh again), in order.
    fn notices(&self) -> Vec<String> {
        self.fake
            .calls("sendMessage")
            .iter()
            .filter_map(|m| {
                m.fields
                    .get("text")
                    .cloned()
                    .or_else(|| m.json.as_ref()?.get("text")?.as_str().map(str::to_string))
            })
            .filter(|text| text.contains("Data stale") || text.contains("fresh again"))
            .collect()
    }
}

fn has_row(rows: &[Vec<String>], metric: &str) -> bool {
    rows.iter().any(|r| r[1] == metric)
}

#[test]
fn a_stopped_table_is_one_stale_alert_not_a_drop_and_fresh_again_when_events_arrive() {
    let store = Store::with_messages_stopped_at(parse_time(END) - 2 * 3600);
    let bucket = parse_time(END) - 2 * BUCKET; // 17:30, checked at 17:47
    let (rows, log) = store.check(bucket);

    // The feed is judged as always, with values.
    let views = rows
        .iter()
        .find(|r| r[1] == "feed_views" && r[2].is_empty())
        .expect("feed_views is evaluated");
    assert_eq!(views[0], format_time(bucket));
    assert!(views[3].parse::<f64>().expect("a value") > 0.0, "{views:?}");
    // The messenger's metrics are not judged at a bucket their table has
    // not reached, and the log says so.
    for metric in ["messages_sent", "messenger_active_users"] {
        assert!(!has_row(&rows, metric), "{metric} skipped: {rows:?}");
    }
    assert!(log.contains("waiting_for=message_actions"), "{log}");

    // One "data stale" notice, for the table.
    let notices = store.notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("message_actions"), "{}", notices[0]);
    assert!(notices[0].contains("2026-03-05 15:59"), "{}", notices[0]);
    assert!(!notices[0].contains("feed_actions"), "{}", notices[0]);
    let drops = "SELECT COUNT(*) FROM alerts \
                 WHERE metric IN ('messages_sent', 'messenger_active_users')";
    assert_eq!(store.count(drops), 0, "no drop alert for the messenger");
    let stale = "SELECT COUNT(*) FROM alerts WHERE metric = '(stale)' \
                 AND slice_value = 'message_actions' AND state = 'firing'";
    assert_eq!(store.count(stale), 1);

    // Still stale a bucket later: no second notice, no second alert.
    store.check(bucket + BUCKET);
    assert_eq!(store.notices().len(), 1);
    assert_eq!(
        store.count("SELECT COUNT(*) FROM alerts WHERE metric = '(stale)'"),
        1
    );

    // The messages arrive: the table is fresh again, its metrics judged.
    store.release_held(i64::MIN);
    let (rows, log) = store.check(bucket);
    let notices = store.notices();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices[1].contains("fresh again"), "{}", notices[1]);
    assert!(notices[1].contains("message_actions"), "{}", notices[1]);
    assert_eq!(store.count(stale), 0, "resolved");
    let sent = rows
        .iter()
        .find(|r| r[1] == "messages_sent" && r[2].is_empty())
        .unwrap_or_else(|| panic!("messages_sent judged again: {log}"));
    assert!(sent[3].parse::<f64>().expect("a value") > 0.0, "{sent:?}");
    assert_eq!(store.count(drops), 0, "its data was never a drop");
}

#[test]
fn buckets_skipped_while_a_table_lagged_are_checked_once_it_catches_up() {
    // Messages lag from 17:20: behind, not stale (within the hour).
    let store = Store::with_messages_stopped_at(parse_time("2026-03-05 17:20:00"));
    let at = |time: &str| parse_time(time);
    let (rows, _) = store.check(at("2026-03-05 17:00:00"));
    assert!(
        has_row(&rows, "messages_sent"),
        "17:00 is complete for messages"
    );
    let (rows, log) = store.check(at("2026-03-05 17:15:00"));
    assert!(!has_row(&rows, "messages_sent"), "17:15 is not: {rows:?}");
    assert!(has_row(&rows, "feed_views"));
    assert!(log.contains("waiting_for=message_actions"), "{log}");

    store.release_held(i64::MIN);
    let (rows, log) = store.check(at("2026-03-05 17:30:00"));
    let sent_at: Vec<&str> = rows
        .iter()
        .filter(|r| r[1] == "messages_sent" && r[2].is_empty())
        .map(|r| r[0].as_str())
        .collect();
    assert_eq!(
        sent_at,
        ["2026-03-05 17:15:00", "2026-03-05 17:30:00"],
        "the skipped bucket late, then this one: {log}"
    );
    assert!(log.contains("catching up on a bucket"), "{log}");
    let feed_at: Vec<&str> = rows
        .iter()
        .filter(|r| r[1] == "feed_views" && r[2].is_empty())
        .map(|r| r[0].as_str())
        .collect();
    assert_eq!(feed_at, ["2026-03-05 17:30:00"], "the feed was not behind");
    assert!(store.notices().is_empty(), "never stale");
}

#[test]
fn buckets_a_stale_table_lost_are_not_caught_up_as_zeros() {
    let at = |time: &str| parse_time(time);
    let buckets_of = |rows: &[Vec<String>]| -> Vec<String> {
        rows.iter()
            .filter(|r| r[1] == "messages_sent" && r[2].is_empty())
            .map(|r| r[0].clone())
            .collect()
    };
    let store = Store::with_messages_stopped_at(at("2026-03-05 15:00:00"));
    let (rows, _) = store.check(at("2026-03-05 14:30:00"));
    assert_eq!(buckets_of(&rows), ["2026-03-05 14:30:00"]);
    store.check(at("2026-03-05 16:15:00"));
    assert_eq!(store.notices().len(), 1, "stale");
    // Ingestion resumes at 16:40; what it missed before is lost.
    store.release_held(at("2026-03-05 16:40:00"));
    let (rows, log) = store.check(at("2026-03-05 16:45:00"));
    assert_eq!(store.notices().len(), 2, "fresh again");
    assert_eq!(
        buckets_of(&rows),
        ["2026-03-05 16:45:00"],
        "the stale span is not caught up: {log}"
    );
    let (rows, _) = store.check(at("2026-03-05 17:00:00"));
    assert_eq!(buckets_of(&rows), ["2026-03-05 17:00:00"]);
}

#[test]
fn stale_after_minutes_is_validated_with_its_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("vigil.toml");
    std::fs::write(&config, "[schedule]\nstale_after_minutes = 5\n").expect("config");
    let output = cli::vigil(&[
        "config",
        "check",
        "--config",
        config.to_str().expect("utf-8"),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("schedule.stale_after_minutes"), "{stderr}");
    assert!(stderr.contains("15..=10080"), "{stderr}");
}
