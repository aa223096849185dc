//! The shared store tests ([`crate::state::store_tests`]) on a real
//! PostgreSQL server (one per test binary, a database per state), and what
//! is PostgreSQL's own: the schema version, an unreachable server, a broken
//! connection, two instances reading each other's writes.

#[path = "../../../tests/support/postgres.rs"]
mod support;

use super::{schema, PostgresState, PostgresTarget};
use crate::alerts::{AlertConfig, SilenceScope};
use crate::detector_choice::DetectorChoice;
use crate::state::prelude::*;
use crate::state::store_tests::alerts::{eval_of, now_after};
use crate::state::store_tests::{all_store_tests, Backend};
use crate::state::StateStore;
use crate::state::{HistoryFilter, Label, LabelKind, NewLabel, SentMessage, StateLocation};
use crate::telegram::keyboard::{AlertAction, CallbackData};
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

/// Two `vigil serve` instances on one database, each with its own
/// connection as two processes have (opened the way `serve` opens its
/// state): the leader, which checks and reads Telegram's button presses,
/// and a follower serving the web UI. What either writes, the other reads at
/// its very next call, both staying open: a silence, a label, button presses
/// (acknowledge, false alarm, mute) and an applied detector setting.
#[test]
fn what_one_instance_writes_the_other_reads_at_once() {
    let Some(db) = PostgresDatabase::new("two instances") else {
        return;
    };
    let location = StateLocation::Postgres(db.target.clone());
    let mut leader = crate::state::open(&location).expect("the leader's state");
    let mut follower = crate::state::open(&location).expect("the follower's state");
    let lifecycle = AlertConfig::default();

    // A silence set in the follower's web UI mutes the leader's next check.
    let now = now_after(0);
    let silence = follower
        .silence(
            SilenceScope::Metric {
                metric: "feed_likes".into(),
            },
            now + 3600,
            "web",
            now - 60,
        )
        .expect("silenced");
    assert_eq!(leader.active_silences(now).unwrap(), vec![silence.clone()]);
    let items = leader
        .apply(
            &[
                eval_of("feed_views", None, 0, Some(0.0)),
                eval_of("feed_likes", None, 0, Some(0.0)),
            ],
            now,
            &lifecycle,
        )
        .expect("checked");
    let sent: Vec<&str> = items.iter().map(|i| i.payload.metric.as_str()).collect();
    assert_eq!(
        sent,
        ["feed_views"],
        "feed_likes is muted by the follower's silence"
    );
    let muted = leader
        .history(
            &HistoryFilter {
                metric: Some("feed_likes".into()),
                ..HistoryFilter::default()
            },
            10,
        )
        .unwrap();
    assert!(muted.len() == 1 && muted[0].muted, "{muted:?}");
    // Ended by the leader: gone for the follower.
    leader.end_silence(silence.id, now + 1).unwrap();
    assert!(follower.active_silences(now + 2).unwrap().is_empty());

    // The leader delivers the alert; the follower's alert page sees it firing.
    let alert = items[0].alert_id;
    let message = SentMessage {
        chat_id: -100,
        message_id: 7,
    };
    leader.mark_sent(items[0].id, now + 5, message).unwrap();
    let seen = follower
        .alert(alert)
        .unwrap()
        .expect("the follower reads the alert");
    assert_eq!(seen.metric, "feed_views");

    // Button presses on that message, read and applied by the leader.
    let press = |action: AlertAction, username: &str| -> crate::telegram::client::CallbackQuery {
        let data = CallbackData {
            alert_id: alert,
            action,
        };
        serde_json::from_value(serde_json::json!({
            "id": format!("cb-{username}"),
            "from": {"id": 42, "first_name": "Ann", "username": username},
            "message": {"message_id": message.message_id, "chat": {"id": message.chat_id, "type": "supergroup"}},
            "data": data.encode(),
        }))
        .expect("a callback query")
    };
    let pressed = now + 60;
    for (action, who) in [
        (AlertAction::Acknowledge, "ann"),
        (AlertAction::FalseAlarm, "bob"),
        (AlertAction::MuteHour, "carol"),
    ] {
        crate::telegram::updates::apply_press(leader.as_mut(), &press(action, who), pressed, 180)
            .expect("press applied");
    }
    let record = follower.alert(alert).unwrap().expect("alert");
    assert_eq!(record.label, Some(Label::FalseAlarm));
    assert_eq!(record.label_by.as_deref(), Some("@bob"));
    let history: Vec<(String, String, Option<String>)> = follower
        .events(Some(alert))
        .unwrap()
        .into_iter()
        .filter(|e| e.bucket.is_none())
        .map(|e| (e.kind, e.details, e.actor))
        .collect();
    let by = |who: &str| Some(format!("@{who}"));
    assert!(
        history
            .iter()
            .any(|(_, details, actor)| details == "acknowledge" && *actor == by("ann")),
        "the acknowledgement: {history:?}"
    );
    assert!(
        history.iter().any(|(kind, details, actor)| kind == "label"
            && details == "false_alarm"
            && *actor == by("bob")),
        "the false alarm: {history:?}"
    );
    let mutes = follower.active_silences(pressed + 1).unwrap();
    assert_eq!(mutes.len(), 1, "the mute button's silence: {mutes:?}");
    assert_eq!(
        (mutes[0].created_by.as_str(), mutes[0].until),
        ("@carol", pressed + 3600)
    );
    assert!(mutes[0].scope.covers("feed_views", None));

    // A label marked in the follower's web UI; removed through the leader.
    let label = follower
        .add_label(
            &NewLabel {
                metric: "feed_views".into(),
                from: now - 900,
                to: now,
                kind: LabelKind::Incident,
                note: "feed API errors".into(),
            },
            "web",
            pressed,
        )
        .expect("labelled");
    assert_eq!(
        leader.list_labels(Some("feed_views"), 0, i64::MAX).unwrap(),
        vec![label.clone()]
    );
    leader.remove_label(label.id, pressed + 1).unwrap();
    assert_eq!(follower.get_label(label.id).unwrap(), None);

    // A detector applied in the follower's lab is the leader's at its next
    // check; reverted by the leader, the follower shows the config's again.
    let configured = DetectorChoice::default();
    let tuned = detect::Ensemble::single(detect::DetectorSpec::Iqr(detect::IqrParams {
        a: 2.5,
        ..detect::IqrParams::default()
    }));
    follower
        .apply_detector("feed_views", Some(&tuned), &configured, "web", pressed)
        .expect("applied");
    let effective = leader.effective_detectors(&configured).unwrap();
    assert_eq!(effective.for_metric("feed_views"), &tuned);
    leader
        .apply_detector("feed_views", None, &configured, "web", pressed + 1)
        .expect("reverted");
    assert_eq!(
        follower.effective_detectors(&configured).unwrap(),
        configured
    );
}
