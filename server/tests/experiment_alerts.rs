//! Experiment alerts end to end: `vigil check` on the simulated store
//! (2000 users, 14 days, whose four experiments have known effects)
//! delivering to the fake Telegram Bot API. Without `[[experiments]]` the
//! check compares the simulator's experiments: the harmful one alerts with
//! its effect and interval, the A/A pair stays quiet, the broken assignment
//! raises a sample ratio mismatch. Declared with an end, an experiment's
//! alert resolves after it and its message is rewritten in place.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/fake_telegram.rs"]
mod fake_telegram;

use std::path::PathBuf;

use fake_telegram::{FakeApi, Recorded, CHAT, TOKEN};

const BUCKET: i64 = 900;
const GRACE: i64 = 120;

struct Store {
    _dir: tempfile::TempDir,
    db: PathBuf,
    config: PathBuf,
    fake: FakeApi,
}

impl Store {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        cli::stdout_of(&cli::vigil(&[
            "simulate",
            "--days",
            "14",
            "--users",
            "2000",
            "--seed",
            "42",
            "--now",
            "2026-03-05 18:00:00",
            "--data-dir",
            data.to_str().expect("utf-8"),
        ]));
        let store = Self {
            db: data.join("vigil.sqlite"),
            config: dir.path().join("vigil.toml"),
            fake: FakeApi::spawn(),
            _dir: dir,
        };
        store.write_config("");
        store
    }

    fn write_config(&self, experiments: &str) {
        // The morning report is on by default; this test counts only alerts (report_telegram tests the report).
        let text = format!(
            "[source]\nkind = \"sqlite\"\npath = \"{}\"\n\n\
             [telegram]\nchat = {CHAT}\napi_url = \"{}\"\n\n\
             [report]\nenabled = false\n\n{experiments}",
            self.db.display(),
            self.fake.base_url
        );
        std::fs::write(&self.config, text).expect("config written");
    }

    /// (start, end) of a simulated experiment's label.
    fn label(&self, name: &str) -> (i64, i64) {
        rusqlite::Connection::open(&self.db)
            .expect("store")
            .query_row(
                "SELECT \"start\", \"end\" FROM incidents WHERE description LIKE ?1",
                [format!("Experiment {name}:%")],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .expect("the simulator labels its experiments")
    }

    /// `vigil check` of `bucket`; its printed evaluations.
    fn check(&self, bucket: i64) -> String {
        cli::stdout_of(&cli::vigil_with_env(
            &[
                "check",
                "--config",
                self.config.to_str().expect("utf-8"),
                "--at",
                &cli::format_time(bucket + BUCKET + GRACE),
            ],
            &[("VIGIL_TELEGRAM_TOKEN", TOKEN)],
        ))
    }

    /// Text messages sent or edited whose text contains `needle`.
    fn texts(&self, needle: &str) -> Vec<Recorded> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.method == "sendMessage" || r.method == "editMessageText")
            .filter(|r| text(r).contains(needle))
            .collect()
    }
}

/// The new messages among `sent` (not replies, not edits).
fn opened(sent: Vec<Recorded>) -> Vec<Recorded> {
    sent.into_iter()
        .filter(|r| r.method == "sendMessage")
        .filter(|r| {
            r.json
                .as_ref()
                .is_some_and(|j| j.get("reply_to_message_id").is_none())
        })
        .collect()
}

fn text(r: &Recorded) -> String {
    let json = r.json.as_ref();
    json.and_then(|j| j["text"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The evaluation line of `metric` (and slice) in a check's output.
fn evaluation<'a>(output: &'a str, metric: &str, slice: &str) -> &'a str {
    output
        .lines()
        .find(|line| {
            line.split(',').nth(1) == Some(metric) && line.split(',').nth(2) == Some(slice)
        })
        .unwrap_or_else(|| panic!("no evaluation of {metric} {slice} in\n{output}"))
}

/// The last column before the detector: 1 for an anomaly.
fn is_anomaly(line: &str) -> bool {
    line.rsplit(',').nth(1) == Some("1")
}

fn bucket_of(t: i64) -> i64 {
    t.div_euclid(BUCKET) * BUCKET
}

#[test]
fn experiments_alert_in_telegram_and_resolve_when_they_end() {
    let store = Store::new();
    let (aa_start, aa_end) = store.label("aa-check");
    let (harmful_start, _) = store.label("feed-ranking-v2");
    let (srm_break, history_end) = store.label("onboarding-v3");

    // While the A/A pair runs (its last bucket): compared, and quiet.
    let output = store.check(bucket_of(aa_end) - BUCKET);
    let aa = evaluation(&output, "experiment:aa-check:feed_ctr", "exp_group=1");
    assert!(!is_anomaly(aa), "{aa}");
    let aa_ratio = evaluation(&output, "experiment:aa-check:sample-ratio", "");
    assert!(!is_anomaly(aa_ratio), "{aa_ratio}");
    assert!(aa_end - aa_start > 86_400 && store.texts("aa-check").is_empty());

    // Near the end of the history: the harmful experiment and the broken
    // assignment alert, each in one message with the buttons.
    let late = bucket_of(history_end) - 6 * BUCKET;
    assert!(late > srm_break + 86_400);
    let output = store.check(late);
    assert!(is_anomaly(evaluation(
        &output,
        "experiment:feed-ranking-v2:feed_ctr",
        "exp_group=2"
    )));
    assert!(!is_anomaly(evaluation(
        &output,
        "experiment:messenger-suggestions:sample-ratio",
        ""
    )));
    // Opened once (it diverged before the A/A pair ended already); later
    // checks reply to that message while it fires.
    let harmful = opened(store.texts("Experiment feed-ranking-v2"));
    assert_eq!(harmful.len(), 1, "{harmful:#?}");
    let repeats = store.texts("Experiment feed-ranking-v2");
    assert!(repeats[1..].iter().all(|r| r
        .json
        .as_ref()
        .is_some_and(|j| j["reply_to_message_id"].as_i64() == harmful[0].message_id)));
    let message = text(&harmful[0]);
    assert_eq!(harmful[0].method, "sendMessage");
    assert!(
        message.contains("Feed CTR (likes / views) diverges"),
        "{message}"
    );
    assert!(
        message.contains("/experiment/feed-ranking-v2\">Open in vigil</a>"),
        "links to the experiment's page: {message}"
    );
    // "Feed CTR in group 2 is 15.8% below group 1 (95% CI 6.9 to 24.4%) since ..."
    let sentence = message
        .split('\n')
        .nth(1)
        .expect("the effect")
        .trim_end_matches('.');
    assert!(sentence.contains("in group 2 is "), "{sentence}");
    let percent = |text: &str| {
        text.trim_end_matches('%')
            .parse::<f64>()
            .expect("a percentage")
    };
    let effect = sentence
        .split(" is ")
        .nth(1)
        .and_then(|r| r.split("% below group 1").next());
    let effect = percent(effect.expect("below group 1"));
    let interval = sentence
        .split("CI ")
        .nth(1)
        .and_then(|r| r.split(") since").next());
    let (low, high) = interval
        .and_then(|i| i.split_once(" to "))
        .expect("an interval");
    let (low, high) = (percent(low), percent(high));
    assert!(low < effect && effect < high && low > 0.0, "{sentence}");
    assert!((10.0..=22.0).contains(&effect), "a true -15%: {sentence}");
    assert!(
        sentence.ends_with(&format!(
            "since {} UTC",
            &cli::format_time(harmful_start)[..16]
        )),
        "{sentence}"
    );
    let buttons = harmful[0]
        .json
        .as_ref()
        .map(|j| j["reply_markup"].to_string());
    assert!(
        buttons.is_some_and(|b| b.contains("callback_data")),
        "buttons"
    );

    let mismatch = opened(store.texts("Experiment onboarding-v3: sample ratio mismatch"));
    assert_eq!(mismatch.len(), 1);
    let message = text(&mismatch[0]);
    assert!(
        message.contains("comparison is invalid") && message.contains("group 4"),
        "{message}"
    );
    // Nothing else about experiments: the A/A pair and the inconclusive one are quiet.
    assert_eq!(opened(store.texts("Experiment ")).len(), 2);

    // Declared with an end: after it, the alert resolves (two calm checks)
    // and its message is rewritten, buttons gone. The group watch is off:
    // with only this experiment declared it would (rightly) report group 4's
    // broken assignment as its own; it has its own tests (check::group_watch).
    store.write_config(&format!(
        "[group_watch]\nenabled = false\n\n\
         [[experiments]]\nname = \"feed-ranking-v2\"\nmetrics = [\"feed_ctr\"]\ncontrol = [1]\n\
         treatments = [[2]]\nstart = \"{}\"\nend = \"{}\"\n",
        cli::format_time(harmful_start),
        cli::format_time(late + 2 * BUCKET),
    ));
    store.check(late + BUCKET);
    assert_eq!(
        opened(store.texts("Experiment ")).len(),
        2,
        "still firing: no new message"
    );
    store.check(late + 2 * BUCKET);
    store.check(late + 3 * BUCKET);
    let edits: Vec<Recorded> = (store.texts("Experiment feed-ranking-v2").into_iter())
        .filter(|r| r.method == "editMessageText")
        .collect();
    assert_eq!(edits.len(), 1, "{edits:#?}");
    let edit = edits[0].json.as_ref().expect("json");
    assert_eq!(edit["message_id"].as_i64(), harmful[0].message_id);
    assert!(
        text(&edits[0]).contains("no longer diverges"),
        "{}",
        text(&edits[0])
    );
    assert!(edit.get("reply_markup").is_none(), "buttons removed");
}
