//! `/alerts` a page at a time, its URL's values checked in view, and slices
//! with no data refused: a real `vigil serve`, its server functions called
//! over HTTP and its pages rendered on the server.

#[path = "support/small_site.rs"]
mod small_site;
#[path = "support/serve.rs"]
mod support;

use std::path::Path;

use server::state::{state_path, SqliteState};
use small_site::{json, post, serve};
use support::request;

const TOKEN: &str = "op-token-7d2a10-pages";

fn get(server: &support::Server, path: &str) -> (u16, String) {
    request(&server.addr, "GET", path, "").expect("page answers")
}

/// First second of the seeded alerts (2023-11-14 22:13 UTC).
const SEEDED_FROM: i64 = 1_700_000_000;
const SEEDED: i64 = 120;
/// After the last seeded alert, before anything the server's own checks raise.
const SEEDED_UNTIL: i64 = SEEDED_FROM + (SEEDED + 1) * 900;

/// 120 resolved alerts of feed_views, ids 1 to 120, oldest first, a bucket apart.
fn seed_alerts(dir: &Path) {
    let path = state_path(dir);
    drop(SqliteState::open(&path).expect("state opens"));
    let conn = rusqlite::Connection::open(&path).expect("state opens");
    for id in 1..=SEEDED {
        let started = SEEDED_FROM + id * 900;
        conn.execute(
            "INSERT INTO alerts (id, metric, started_at, resolved_at, value, lower, upper,
                 expected, deviation, detector, state, muted)
             VALUES (?1, 'feed_views', ?2, ?3, 10.0, 300.0, 500.0, 400.0, -0.9, 'iqr',
                 'resolved', 0)",
            rusqlite::params![id, started, started + 900],
        )
        .expect("alert inserted");
    }
}

fn ids(page: &serde_json::Value) -> Vec<i64> {
    page["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["id"].as_i64().expect("an id"))
        .collect()
}

#[test]
fn the_history_comes_a_page_at_a_time_with_its_count() {
    let server = serve(&[], seed_alerts);
    let page = |n: u32| {
        let (status, body) = post(
            &server,
            "fetch_alert_page",
            &format!("until={SEEDED_UNTIL}&page={n}"),
        );
        assert_eq!(status, 200, "{body}");
        json(&body)
    };

    let first = page(1);
    assert_eq!(first["total"], SEEDED);
    assert_eq!(
        (first["page"].as_i64(), first["per_page"].as_i64()),
        (Some(1), Some(50))
    );
    assert_eq!(
        ids(&first),
        (71..=120).rev().collect::<Vec<_>>(),
        "newest first"
    );
    assert_eq!(ids(&page(2)), (21..=70).rev().collect::<Vec<_>>());
    // Past the end: the last page, saying so.
    let past = page(9);
    assert_eq!(past["page"], 3);
    assert_eq!(ids(&past), (1..=20).rev().collect::<Vec<_>>());
    // The filters count too: the moment bounds the list, inclusive.
    let (_, body) = post(
        &server,
        "fetch_alert_page",
        &format!("until={}&page=1", SEEDED_FROM + 10 * 900),
    );
    let early = json(&body);
    assert_eq!(early["total"], 10, "{body}");
    let (status, body) = post(&server, "fetch_alert_page", "metric=nope&page=1");
    assert_eq!(status, 404, "{body}");

    // The page renders the second page with its count and both links.
    let (status, html) = get(&server, &format!("/alerts?at={SEEDED_UNTIL}&page=2"));
    assert_eq!(status, 200);
    assert!(html.contains("51–100 of 120"), "{html}");
    assert!(
        html.contains("rel=\"prev\""),
        "a link to the newer page: {html}"
    );
    assert!(
        html.contains("rel=\"next\""),
        "a link to the older page: {html}"
    );
    assert!(html.contains("data-alert-id=\"70\""), "{html}");
    assert!(
        !html.contains("data-alert-id=\"71\""),
        "page 1's rows stay there: {html}"
    );
    // Metrics by title, the ID kept small beside it; no presses, no column.
    assert!(html.contains(">Feed views</a>"), "{html}");
    assert!(!html.contains("Button presses"), "{html}");
    assert!(
        html.contains("href=\"#new-silence\""),
        "a skip link: {html}"
    );
}

#[test]
fn values_the_alerts_page_cannot_use_are_ignored_in_view() {
    let server = serve(&[], |_| {});
    let (status, html) = get(&server, "/alerts?at=abc&state=%27%3BDROP&page=-1");
    assert_eq!(status, 400, "the rule of every page: {html}");
    for notice in [
        "ignored: at must be a time like 2026-12-01T14:15",
        "ignored: state must be firing or resolved",
        "ignored: page must be a whole number from 1",
    ] {
        assert!(html.contains(notice), "{notice}: {html}");
    }
    assert!(
        !html.contains("DROP"),
        "the raw value is not echoed: {html}"
    );
    let (status, html) = get(&server, "/alerts?state=firing");
    assert_eq!(status, 200);
    assert!(!html.contains("data-testid=\"query-notices\""), "{html}");
}

/// Every page that reads its URL follows one rule for a value it cannot
/// use: 400, the page rendered with its defaults, a notice per value.
#[test]
fn every_page_answers_a_bad_url_value_with_400_and_a_notice_each() {
    let server = serve(&[], |_| {});
    let pages = [
        (
            "/alerts?page=0&colour=red",
            vec![
                "ignored: page must be a whole number from 1",
                "ignored: unknown parameter \"colour\" (this page reads metric, state, since, at, page)",
            ],
            "data-testid=\"alerts-table\"",
        ),
        (
            "/metric/feed_views?at=abc&detector=iqr&a=-5",
            vec![
                "ignored: at must be a time like 2026-12-01T14:15",
                "ignored: a (band width in IQRs): from 0 to 100, not -5",
            ],
            "class=\"metric-page\"",
        ),
        (
            "/report?date=05%2F12%2F2026&colour=red",
            vec![
                "ignored: date \"05/12/2026\" is not a day: use YYYY-MM-DD, e.g. 2026-12-05",
                "ignored: unknown parameter \"colour\" (this page reads date)",
            ],
            "data-testid=\"report-day\"",
        ),
    ];
    for (path, notices, defaults) in pages {
        let (status, html) = get(&server, path);
        assert_eq!(status, 400, "{path}: {html}");
        let list = html
            .split("data-testid=\"query-notices\"")
            .nth(1)
            .unwrap_or_else(|| panic!("{path}: no notices: {html}"));
        for notice in notices {
            assert!(list.contains(notice), "{path}: {notice}: {html}");
        }
        assert!(
            html.contains(defaults),
            "{path}: the page still renders with its defaults: {html}"
        );
    }
    for path in [
        "/alerts?page=1",
        "/metric/feed_views?detector=iqr&a=5",
        "/report?date=2023-11-14",
    ] {
        let (status, html) = get(&server, path);
        assert_eq!(status, 200, "{path}: {html}");
        assert!(!html.contains("data-testid=\"query-notices\""), "{path}");
    }
}

/// A CTR of exactly 0 or 1 alerted on: `/alerts` and the lab's stored alert
/// write it as the share it is, as the overview does, not as a count.
#[test]
fn whole_ratio_values_are_written_as_shares_not_counts() {
    let started = SEEDED_FROM + 900;
    let server = serve(&[], |dir| {
        let path = state_path(dir);
        drop(SqliteState::open(&path).expect("state opens"));
        let conn = rusqlite::Connection::open(&path).expect("state opens");
        for (id, at, value, lower, upper) in [
            (1, started, 0.0, 0.0, 1.0),
            (2, started + 900, 1.0, -0.02, 0.5),
        ] {
            conn.execute(
                "INSERT INTO alerts (id, metric, started_at, resolved_at, value, lower, upper,
                     expected, deviation, detector, state, muted)
                 VALUES (?1, 'feed_ctr', ?2, ?3, ?4, ?5, ?6, 0.05, -1.0, 'iqr', 'resolved', 0)",
                rusqlite::params![id, at, at + 900, value, lower, upper],
            )
            .expect("alert inserted");
        }
    });
    let (status, html) = get(&server, "/alerts?metric=feed_ctr");
    assert_eq!(status, 200, "{html}");
    let row = |id: u32| {
        let start = html
            .find(&format!("data-alert-id=\"{id}\""))
            .unwrap_or_else(|| panic!("row {id}: {html}"));
        let end = html[start..].find("</tr>").expect("the row ends") + start;
        html[start..end].to_string()
    };
    let (zero, one) = (row(1), row(2));
    assert!(zero.contains(">0.00%<"), "{zero}");
    assert!(zero.contains(">0.00% – 100.00%<"), "{zero}");
    assert!(one.contains(">100.00%<"), "{one}");
    assert!(one.contains(">0.00% – 50.00%<"), "never below zero: {one}");

    let (status, lab) = get(&server, &format!("/metric/feed_ctr?at={started}"));
    assert_eq!(status, 200);
    let stored = lab
        .split("data-testid=\"stored-check\"")
        .nth(1)
        .unwrap_or_else(|| panic!("the stored alert: {lab}"));
    assert!(stored.contains(">0.00%<"), "{stored}");
    assert!(stored.contains(">0.00% – 100.00%<"), "{stored}");
}

#[test]
fn read_only_controls_are_disabled_with_their_reason() {
    let server = serve(&[], |_| {});
    let (_, html) = get(&server, "/alerts");
    assert!(
        html.contains("read-only: start vigil with an operator token to change silences"),
        "{html}"
    );
    let server = serve(&[("VIGIL_OPERATOR_TOKEN", TOKEN)], |_| {});
    let (_, html) = get(&server, "/alerts");
    assert!(!html.contains("read-only: start vigil"), "{html}");
    assert!(!html.contains(TOKEN), "the token is never rendered");
}

#[test]
fn a_slice_with_no_data_is_refused_naming_the_values_there_are() {
    let server = serve(&[("VIGIL_OPERATOR_TOKEN", TOKEN)], |_| {});
    let named = "feed_views has no data for os=Windows in the last 31 days: \
                 its os values are Android, iOS";

    let (status, body) = post(
        &server,
        "create_silence",
        &format!("metric=feed_views&slice=os%3DWindows&minutes=30&token={TOKEN}"),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains(named), "{body}");
    let (_, body) = post(&server, "fetch_silences", "");
    assert_eq!(json(&body), serde_json::json!([]), "nothing was muted");
    let (status, body) = post(
        &server,
        "create_silence",
        &format!("metric=feed_views&slice=os%3DiOS&minutes=30&token={TOKEN}"),
    );
    assert_eq!(status, 200, "a slice with data is muted: {body}");

    let (status, body) = post(
        &server,
        "fetch_metric_history",
        "name=feed_views&days=1&slice=os%3DWindows",
    );
    assert_eq!(status, 404, "{body}");
    assert!(body.contains(named), "{body}");

    let (status, html) = get(&server, "/metric/feed_views?slice=os%3DWindows");
    assert_eq!(status, 404, "{html}");
    assert!(
        html.contains(named),
        "the page names the slices there are: {html}"
    );
    assert!(
        html.contains("data-testid=\"metric-links\""),
        "and links the metrics: {html}"
    );
    let (status, _) = get(&server, "/metric/feed_views?slice=os%3DAndroid");
    assert_eq!(status, 200);
    let (status, _) = get(&server, "/metric/feed_views?slice=planet%3DMars");
    assert_eq!(
        status, 400,
        "a dimension the metric lacks stays a bad request"
    );
}

#[test]
fn the_labs_replay_gets_the_silences_the_check_applied() {
    let server = serve(&[("VIGIL_OPERATOR_TOKEN", TOKEN)], |_| {});
    let (status, body) = post(
        &server,
        "create_silence",
        &format!("metric=feed_views&slice=os%3DiOS&minutes=30&token={TOKEN}"),
    );
    assert_eq!(status, 200, "{body}");

    let silences_of = |query: &str| {
        let (status, body) = post(&server, "fetch_metric_history", query);
        assert_eq!(status, 200, "{body}");
        json(&body)["check"]["silences"].clone()
    };
    let muted = silences_of("name=feed_views&days=1&slice=os%3DiOS");
    let muted = muted.as_array().expect("a list of silences");
    assert_eq!(muted.len(), 1, "{muted:?}");
    assert_eq!(muted[0]["scope"]["metric"], "feed_views");
    assert_eq!(muted[0]["scope"]["slice"]["value"], "iOS");
    assert_eq!(
        silences_of("name=feed_likes&days=1"),
        serde_json::json!([]),
        "another metric's replay is not muted by it"
    );
}
