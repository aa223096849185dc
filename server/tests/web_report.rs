//! `/report` as the web UI reaches it: a real `vigil serve` on the small
//! embedded default, its `fetch_report` server function called over HTTP,
//! and the page rendered on the server.

#[path = "support/small_site.rs"]
mod small_site;
#[path = "support/serve.rs"]
mod support;

use small_site::{json, post, serve};
use support::get;

#[test]
fn the_report_of_yesterday_matches_the_store_and_renders() {
    let server = serve(&[], |_| {});
    let (status, body) = post(&server, "fetch_report", "");
    assert_eq!(status, 200, "{body}");
    let report = json(&body);
    let date = report["date"].as_str().expect("a date").to_string();
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(
        date, yesterday,
        "default: yesterday (UTC without an offset)"
    );
    let metrics = report["metrics"].as_array().expect("metrics");
    let titles: Vec<&str> = metrics
        .iter()
        .map(|m| m["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 6, "{titles:?}");
    // Feed views of the day, counted by hand in the store.
    let start = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    let views: i64 = rusqlite::Connection::open(server.dir.path().join("vigil.sqlite"))
        .expect("store")
        .query_row(
            "SELECT COUNT(*) FROM feed_actions WHERE action = 'view' AND time >= ?1 AND time < ?2",
            [start, start + 86_400],
            |r| r.get(0),
        )
        .expect("count");
    let feed_views = metrics
        .iter()
        .find(|m| m["name"] == "feed_views")
        .expect("feed_views");
    assert!(views > 0);
    assert_eq!(feed_views["value"].as_f64(), Some(views as f64));

    let (status, body) = post(&server, "fetch_report", "date=05%2F12%2F2026");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("YYYY-MM-DD"), "{body}");

    let (status, page) = get(&server.addr, &format!("/report?date={date}")).expect("page");
    assert_eq!(status, 200);
    let long = report["long_date"].as_str().expect("long date");
    assert!(
        page.contains("Morning report") && page.contains(long),
        "{page}"
    );
    assert!(page.contains("Feed views"), "{page}");
}
