//! Late rows end to end: `vigil check` alerts on a feed outage whose rows
//! had not arrived; the rows then arrive (inserted into the store after the
//! check, as late ingestion would), and the next check, within
//! `[schedule] late_rows_minutes`, re-checks those buckets once and edits the
//! alert's Telegram message (a fake Bot API over real HTTP) to say the data
//! arrived late and is in band.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/fake_telegram.rs"]
mod fake_telegram;

use std::path::Path;

use cli::{format_time, vigil_with_env};
use fake_telegram::{FakeApi, Recorded, CHAT, TOKEN};

const BUCKET: i64 = 900;
const GRACE: i64 = 120;

/// `vigil check --at` the moment `bucket` becomes complete.
fn check(config: &Path, bucket: i64) {
    let at = format_time(bucket + BUCKET + GRACE);
    let output = vigil_with_env(
        &[
            "check",
            "--config",
            config.to_str().expect("utf-8"),
            "--at",
            &at,
        ],
        &[("VIGIL_TELEGRAM_TOKEN", TOKEN), ("RUST_LOG", "info")],
    );
    assert!(
        output.status.success(),
        "check at {at} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The photo announcing the outage (feed views, alone or with its group).
fn views_photo(fake: &FakeApi) -> Option<Recorded> {
    fake.calls("sendPhoto").into_iter().find(|p| {
        p.fields
            .get("caption")
            .is_some_and(|c| c.contains("feed_views") || c.contains("Feed views"))
    })
}

fn edits(fake: &FakeApi) -> Vec<String> {
    fake.calls("editMessageCaption")
        .iter()
        .filter_map(|e| {
            e.json
                .as_ref()?
                .get("caption")?
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn an_alert_on_rows_that_arrive_late_is_edited_to_say_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    cli::simulate_small_store(&data);
    let db = data.join("vigil.sqlite");
    let (start, end) = cli::outage(&db, "feed_views");
    let fake = FakeApi::spawn();
    let config = dir.path().join("vigil.toml");
    std::fs::write(
        &config,
        // The morning report is on by default; this test counts only alerts (report_telegram tests the report).
        format!(
            "[source]\nkind = \"sqlite\"\npath = \"{}\"\n\n\
             [schedule]\nlate_rows_minutes = 60\n\n\
             [telegram]\nchat = {CHAT}\napi_url = \"{}\"\n\n\
             [report]\nenabled = false\n",
            db.display(),
            fake.base_url
        ),
    )
    .expect("config written");

    // Checked up to the outage's third bucket (its alert opens at the first,
    // when that bucket is sure, to the third).
    let alerting = start + 2 * BUCKET;
    let mut bucket = start - 4 * BUCKET;
    while bucket <= alerting {
        check(&config, bucket);
        bucket += BUCKET;
    }
    let photo = views_photo(&fake).expect("the outage is announced");
    // A message may have been edited already (the table's other metrics
    // joining the feed views alert a bucket later), but nothing withdrawn.
    assert!(
        !edits(&fake).iter().any(|c| c.contains("arrived late")),
        "nothing withdrawn yet"
    );
    assert!(photo
        .fields
        .get("caption")
        .is_some_and(|c| c.contains("Firing for")));

    // The outage's rows arrive late: the feed's events of the same hour a
    // day earlier, moved to the outage.
    let store = rusqlite::Connection::open(&db).expect("store opens");
    let arrived = store
        .execute(
            "INSERT INTO feed_actions (user_id, post_id, action, time, gender, age, country,
                                       city, os, source, exp_group)
             SELECT user_id, post_id, action, time + 86400, gender, age, country, city, os,
                    source, exp_group
             FROM feed_actions WHERE time >= ?1 - 86400 AND time < ?2 - 86400",
            [start, end],
        )
        .expect("late rows inserted");
    assert!(arrived > 100, "{arrived} rows");
    drop(store);

    // The next check re-checks the buckets whose rows changed: the alert's
    // message is edited to say its data arrived late and is in band.
    check(&config, alerting + BUCKET);
    let edited = edits(&fake);
    // Each message that announced the outage is withdrawn once (the
    // default detector announces it in one check, so one message, whose
    // caption lists feed views with its table's other metrics).
    let late: Vec<&String> = edited
        .iter()
        .filter(|c| c.contains("arrived late"))
        .collect();
    assert_eq!(
        late.len(),
        fake.calls("sendPhoto").len(),
        "one withdrawal per message: {edited:#?}"
    );
    let caption = late
        .iter()
        .find(|c| c.contains("feed_views") || c.contains("Feed views"))
        .unwrap_or_else(|| panic!("feed views' message edited: {late:#?}"));
    assert!(
        caption.contains("UTC arrived late; with it the value"),
        "{caption}"
    );
    assert!(caption.contains("is in band"), "{caption}");
    assert!(
        !caption.contains("🔴"),
        "nothing of it fires any more: {caption}"
    );
    let state = rusqlite::Connection::open(data.join("vigil-state.sqlite")).expect("state");
    let firing: i64 = state
        .query_row(
            "SELECT COUNT(*) FROM alerts WHERE metric = 'feed_views' AND state = 'firing'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(firing, 0, "the withdrawn alert is over");

    // Once: the next checks neither re-check it again nor announce anything.
    let sent = fake.calls("sendPhoto").len() + fake.calls("sendMessage").len();
    check(&config, alerting + 2 * BUCKET);
    check(&config, alerting + 3 * BUCKET);
    assert_eq!(
        edits(&fake).len(),
        edited.len(),
        "no further edit: {:#?}",
        edits(&fake)
    );
    assert_eq!(
        fake.calls("sendPhoto").len() + fake.calls("sendMessage").len(),
        sent,
        "nothing new announced"
    );
}
