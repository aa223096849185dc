//! The morning report end to end: `vigil check --at` is the clock (as cron
//! or the scheduler would run it), a simulated store the data, and a fake
//! Telegram Bot API (real HTTP) the recipient. The report of the day before
//! arrives once at 11:00 local time, through restarts, Telegram outages and
//! vigil's own downtime (then marked late); `vigil report --dry-run` prints
//! the same values. The config has no `[report]` section: the report is on
//! by default, at 11:00.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/fake_telegram.rs"]
mod fake_telegram;

use std::path::PathBuf;

use cli::format_time;
use fake_telegram::{FakeApi, Recorded, CHAT, TOKEN};

/// A day's count as the report writes it, thousands grouped: `12,345`
/// (the simulated days here have thousands of views, never a million).
fn grouped(n: i64) -> String {
    assert!((1000..1_000_000).contains(&n), "{n}");
    format!("{},{:03}", n / 1000, n % 1000)
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
/// The config's `alerts.utc_offset`, +03:00.
const OFFSET: i64 = 3 * HOUR;
/// 2026-03-04 00:00 at +03:00: the small store's last whole local day.
const MARCH_4: i64 = 1_772_582_400 - OFFSET;

struct Scenario {
    _dir: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
    fake: FakeApi,
}

impl Scenario {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        cli::simulate_small_store(&data);
        let fake = FakeApi::spawn();
        let config = dir.path().join("vigil.toml");
        std::fs::write(
            &config,
            format!(
                "[source]\nkind = \"sqlite\"\npath = \"{}\"\n\n\
                 [telegram]\nchat = {CHAT}\napi_url = \"{}\"\n\n\
                 [alerts]\nutc_offset = \"+03:00\"\n",
                data.join("vigil.sqlite").display(),
                fake.base_url
            ),
        )
        .expect("config written");
        Self {
            _dir: dir,
            data,
            config,
            fake,
        }
    }

    /// `vigil check --at` (UTC), as cron would run it at that moment.
    fn check_at(&self, at: i64) {
        let output = cli::vigil_with_env(
            &[
                "check",
                "--config",
                self.config.to_str().expect("utf-8"),
                "--at",
                &format_time(at),
            ],
            &[("VIGIL_TELEGRAM_TOKEN", TOKEN)],
        );
        assert!(
            output.status.success(),
            "check at {} failed: {}",
            format_time(at),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The reports Telegram accepted (alerts the checks send are left out).
    fn reports(&self) -> Vec<Recorded> {
        self.fake
            .calls("sendPhoto")
            .into_iter()
            .filter(|r| r.message_id.is_some() && caption(r).contains("Morning report"))
            .collect()
    }

    /// Feed views on the local day starting at `start`, counted by hand.
    fn views_on(&self, start: i64) -> i64 {
        rusqlite::Connection::open(self.data.join("vigil.sqlite"))
            .expect("store opens")
            .query_row(
                "SELECT COUNT(*) FROM feed_actions WHERE action = 'view' AND time >= ?1 AND time < ?2",
                [start, start + DAY],
                |r| r.get(0),
            )
            .expect("count")
    }
}

fn caption(r: &Recorded) -> String {
    r.fields.get("caption").cloned().unwrap_or_default()
}

/// Local 11:00 of the day starting at `midnight`, in UTC.
fn eleven(midnight: i64) -> i64 {
    midnight + 11 * HOUR
}

#[test]
fn the_report_arrives_once_a_day_through_restarts_outages_and_downtime() {
    let s = Scenario::new();
    let march_3 = MARCH_4 - DAY;

    // 10:50 on the 4th: nothing is due yet (the first report is not made up late).
    s.check_at(eleven(MARCH_4) - 10 * 60);
    assert!(s.reports().is_empty());

    // 11:02, Telegram down: queued, not lost.
    s.fake.set_down(true);
    s.check_at(eleven(MARCH_4) + 2 * 60);
    s.fake.set_down(false);
    assert!(s.reports().is_empty());

    // 11:17, Telegram back: the report of the 3rd, once.
    s.check_at(eleven(MARCH_4) + 17 * 60);
    let reports = s.reports();
    assert_eq!(reports.len(), 1);
    let text = caption(&reports[0]);
    assert!(
        text.starts_with("<b>Morning report · Tue 3 Mar 2026</b>\n"),
        "{text}"
    );
    assert!(!text.contains("late"), "{text}");
    let views = s.views_on(march_3);
    assert!(views > 1000, "{views}");
    assert!(
        text.contains(&format!("\nFeed views: <b>{}</b>  ", grouped(views))),
        "{text}"
    );
    for title in [
        "Feed active users",
        "Feed likes",
        "Feed CTR",
        "Messenger active users",
        "Messages sent",
    ] {
        assert!(text.contains(title), "{title}: {text}");
    }
    // No data a week before the store's first day.
    assert!(text.contains(" d/d · — w/w"), "{text}");
    assert_eq!(reports[0].fields["chat_id"], CHAT.to_string());
    assert!(reports[0].files["photo"].2.starts_with(PNG_MAGIC));

    // A restart at 11:00 and later runs that day send nothing more.
    s.check_at(eleven(MARCH_4) + 2 * 60);
    s.check_at(eleven(MARCH_4) + 4 * HOUR);
    // `vigil report` for the same day goes through the same queue: not twice.
    let again = cli::vigil_with_env(
        &[
            "report",
            "--config",
            s.config.to_str().expect("utf-8"),
            "--date",
            "2026-03-03",
        ],
        &[("VIGIL_TELEGRAM_TOKEN", TOKEN)],
    );
    cli::stdout_of(&again);
    assert_eq!(s.reports().len(), 1);

    // vigil is down through 11:00 on the 5th; back at 15:02 it sends the
    // report of the 4th, marked late, once.
    let march_5 = MARCH_4 + DAY;
    s.check_at(eleven(march_5) + 4 * HOUR + 2 * 60);
    s.check_at(eleven(march_5) + 4 * HOUR + 17 * 60);
    let reports = s.reports();
    assert_eq!(reports.len(), 2);
    let text = caption(&reports[1]);
    assert!(
        text.starts_with("<b>Morning report · Wed 4 Mar 2026</b> (late"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "\nFeed views: <b>{}</b>  ",
            grouped(s.views_on(MARCH_4))
        )),
        "{text}"
    );

    let state = rusqlite::Connection::open(s.data.join("vigil-state.sqlite")).expect("state");
    let rows: Vec<(String, bool, bool)> = state
        .prepare("SELECT date, late, sent_at IS NOT NULL FROM reports ORDER BY id")
        .expect("query")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        rows,
        vec![
            ("2026-03-03".to_string(), false, true),
            ("2026-03-04".to_string(), true, true)
        ]
    );
}

#[test]
fn report_dry_run_prints_the_report_and_writes_its_chart() {
    let s = Scenario::new();
    let chart = s._dir.path().join("chart.png");
    let output = cli::vigil(&[
        "report",
        "--config",
        s.config.to_str().expect("utf-8"),
        "--date",
        "2026-03-03",
        "--dry-run",
        "--chart",
        chart.to_str().expect("utf-8"),
    ]);
    let text = cli::stdout_of(&output);
    assert!(
        text.starts_with("Morning report · Tue 3 Mar 2026\n"),
        "{text}"
    );
    let views = s.views_on(MARCH_4 - DAY);
    assert!(
        text.contains(&format!("\nFeed views: {}  ", grouped(views))),
        "{text}"
    );
    // No state yet: no alerts to list. Then the experiments the check
    // compares, here the simulator's (none is declared), that ran that day.
    let (alerts, experiments) = text
        .split_once("No alerts that day.\n\nExperiments\n")
        .unwrap_or_else(|| panic!("no alerts, then the experiments: {text}"));
    assert!(alerts.contains("\nFeed views: "), "{text}");
    let lines: Vec<&str> = experiments.trim_end().lines().collect();
    for name in ["aa-check", "feed-ranking-v2"] {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("{name}: "))
                && (l.contains(" is ") || l.contains("nothing to compare yet"))),
            "{name}: {text}"
        );
    }
    // The A/A pair's line says what the check said of it: no divergence.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("aa-check: ") && l.contains("; inconclusive (p = ")),
        "{text}"
    );
    let png = std::fs::read(&chart).expect("chart written");
    assert!(png.starts_with(PNG_MAGIC));
    assert!(s.fake.requests().is_empty(), "a dry run sends nothing");
    assert!(
        !s.data.join("vigil-state.sqlite").exists(),
        "a dry run writes no state"
    );

    let bad = cli::vigil(&[
        "report",
        "--config",
        s.config.to_str().expect("utf-8"),
        "--date",
        "3/3/2026",
        "--dry-run",
    ]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("--date \"3/3/2026\"") && stderr.contains("YYYY-MM-DD"),
        "{stderr}"
    );
}
