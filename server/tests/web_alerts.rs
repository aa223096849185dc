//! The alert history and silences as the web UI reaches them: a real `vigil
//! serve` process, its server functions called over HTTP, and `/alerts`
//! rendered on the server.

#[path = "support/small_site.rs"]
mod small_site;
#[path = "support/serve.rs"]
mod support;

use std::path::Path;

use server::state::Label;
use server::state::{state_path, AlertLog, SqliteState};
use small_site::{json, post, serve};
use support::request;

const TOKEN: &str = "op-token-4f1c9e-alerts";

/// One resolved alert on a slice, labelled and with a button press, written
/// to the alert state before the server opens it.
fn seed_alert(dir: &Path) {
    let path = state_path(dir);
    drop(SqliteState::open(&path).expect("state opens"));
    let conn = rusqlite::Connection::open(&path).expect("state opens");
    conn.execute(
        "INSERT INTO alerts (id, metric, slice_dimension, slice_value, started_at, resolved_at,
             value, lower, upper, expected, deviation, detector, state, muted)
         VALUES (7, 'feed_views', 'os', 'Android', 1700000100, 1700003700,
             120.0, 300.0, 500.0, 400.0, -0.7, 'iqr', 'resolved', 0)",
        [],
    )
    .expect("alert inserted");
    drop(conn);
    let mut store = SqliteState::open(&path).expect("state opens");
    store
        .label(7, Label::FalseAlarm, "ann", 1_700_000_500)
        .expect("labelled");
    store
        .record_button(7, "acknowledged", "bob", 1_700_000_600)
        .expect("button recorded");
}

#[test]
fn refused_requests_are_answered_with_their_http_status() {
    let server = serve(&[("VIGIL_OPERATOR_TOKEN", TOKEN)], |_| {});
    let cases = [
        ("fetch_metric_history", "name=nope&days=1".to_string(), 404),
        // Requests that do not decode: the request is at fault, not the server.
        (
            "fetch_metric_history",
            "name=feed_views&days=abc".into(),
            400,
        ),
        ("fetch_metric_history", "days=1".into(), 400),
        // More than the month a page asks for: refused, not cut short.
        (
            "fetch_metric_history",
            "name=feed_views&days=400".into(),
            400,
        ),
        ("fetch_alerts", "limit=many".into(), 400),
        (
            "fetch_metric_history",
            "name=feed_views&days=1&slice=garbage".into(),
            400,
        ),
        (
            "fetch_metric_history",
            "name=feed_views&days=1&slice=planet%3DMars".into(),
            400,
        ),
        ("fetch_slices", "name=nope".into(), 404),
        (
            "fetch_slices",
            "name=feed_views&dimension=planet".into(),
            400,
        ),
        ("fetch_alerts", "metric=nope&limit=5".into(), 404),
        ("fetch_alerts", "state=burning&limit=5".into(), 400),
        ("fetch_alerts", "since_hours=0&limit=5".into(), 400),
        ("fetch_detector", "metric=nope".into(), 404),
        (
            "create_silence",
            "metric=feed_views&minutes=30&token=".into(),
            401,
        ),
        (
            "create_silence",
            "metric=feed_views&minutes=30&token=wrong".into(),
            403,
        ),
        (
            "create_silence",
            format!("metric=feed_views&minutes=0&token={TOKEN}"),
            400,
        ),
        ("end_silence", format!("id=99999&token={TOKEN}"), 404),
        (
            "label_alert",
            format!("id=1&label=great&token={TOKEN}"),
            400,
        ),
        (
            "create_label",
            format!(
                "metric=feed_views&from=-9223372036854775808&to=9223372036854775807\
                 &kind=incident&note=x&token={TOKEN}"
            ),
            400,
        ),
    ];
    for (endpoint, form, want) in cases {
        let (status, body) = post(&server, endpoint, &form);
        assert_eq!(status, want, "{endpoint} {form}: {body}");
    }
    let (status, body) = post(&server, "fetch_alerts", "limit=5");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn silences_need_the_operator_token_and_round_trip() {
    let server = serve(&[("VIGIL_OPERATOR_TOKEN", TOKEN)], |_| {});

    // A wrong or missing token is refused, and nothing is created.
    let (status, body) = post(
        &server,
        "create_silence",
        "metric=feed_views&minutes=30&token=not-the-token",
    );
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("wrong operator token"), "{body}");
    let (status, body) = post(
        &server,
        "create_silence",
        "metric=feed_views&minutes=30&token=",
    );
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("operator token required"), "{body}");
    let (status, body) = post(&server, "fetch_silences", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body), serde_json::json!([]));

    // Every field is validated with a message that says what is wrong.
    for (form, expected) in [
        ("metric=no_such_metric&minutes=30", "unknown metric"),
        (
            "metric=feed_views&slice=Android&minutes=30",
            "dimension=value",
        ),
        ("metric=feed_views&minutes=0", "expected 1 to 525600"),
        ("metric=feed_views&minutes=525601", "expected 1 to 525600"),
        ("slice=os%3DAndroid&minutes=30", "a slice needs a metric"),
        (
            "metric=feed_views&slice=planet%3DMars&minutes=30",
            "not sliced by",
        ),
    ] {
        let (status, body) = post(&server, "create_silence", &format!("{form}&token={TOKEN}"));
        assert_ne!(status, 200, "{form}: {body}");
        assert!(body.contains(expected), "{form}: {body}");
    }

    // The right token creates it; it is listed back.
    let (status, body) = post(
        &server,
        "create_silence",
        &format!("metric=feed_views&slice=os%3DAndroid&minutes=90&token={TOKEN}"),
    );
    assert_eq!(status, 200, "{body}");
    let created = json(&body);
    let id = created["id"].as_i64().expect("an id");
    assert_eq!(created["metric"], "feed_views");
    assert_eq!(created["slice"], "os=Android");
    let span = created["until"].as_i64().unwrap() - created["created_at"].as_i64().unwrap();
    assert_eq!(span, 90 * 60);

    let (status, body) = post(
        &server,
        "create_silence",
        &format!("minutes=5&token={TOKEN}"),
    );
    assert_eq!(status, 200, "{body}");
    let all = json(&body);
    assert_eq!(
        all["metric"],
        serde_json::Value::Null,
        "no metric: mute all"
    );

    let (status, body) = post(&server, "fetch_silences", "");
    assert_eq!(status, 200, "{body}");
    let listed = json(&body);
    let ids: Vec<i64> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&id), "{body}");
    assert_eq!(ids.len(), 2, "{body}");

    // Ending needs the token too.
    let (status, body) = post(&server, "end_silence", &format!("id={id}&token=nope"));
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("wrong operator token"), "{body}");
    let (status, body) = post(&server, "end_silence", &format!("id={id}&token={TOKEN}"));
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&server, "end_silence", &format!("id=99999&token={TOKEN}"));
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("no silence with id 99999"), "{body}");

    let (_, body) = post(&server, "fetch_silences", "");
    let ids: Vec<i64> = json(&body)
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert!(!ids.contains(&id), "ended silence no longer listed: {body}");
    assert_eq!(ids.len(), 1, "{body}");
}

#[test]
fn without_a_token_the_ui_is_read_only() {
    let server = serve(&[], |_| {});
    for (endpoint, form) in [
        (
            "create_silence",
            "metric=feed_views&minutes=30&token=anything",
        ),
        ("create_silence", "minutes=30&token="),
        ("end_silence", "id=1&token=anything"),
        ("label_alert", "id=1&label=expected&token=anything"),
        (
            "create_label",
            "metric=feed_views&from=0&to=900&kind=incident&note=&token=anything",
        ),
        ("remove_label", "id=1&token=anything"),
        (
            "apply_detector",
            "metric=feed_views&detector=&token=anything",
        ),
    ] {
        let (status, body) = post(&server, endpoint, form);
        assert_ne!(status, 200, "{endpoint}: {body}");
        assert!(
            body.contains("read-only: no operator token configured"),
            "{endpoint}: {body}"
        );
    }
    let (status, body) = post(&server, "fetch_silences", "");
    assert_eq!(status, 200, "reading stays open: {body}");
    let (status, body) = post(&server, "fetch_writes_enabled", "");
    assert_eq!((status, body.trim()), (200, "false"));
    // The pages with forms say so before anyone fills one in.
    for path in ["/alerts", "/metric/feed_views"] {
        let (status, page) = request(&server.addr, "GET", path, "").expect("page answers");
        assert_eq!(status, 200);
        assert!(page.contains("data-testid=\"read-only\""), "{path}: {page}");
    }
}

#[test]
fn with_a_token_the_pages_do_not_say_read_only() {
    let server = serve(&[("VIGIL_OPERATOR_TOKEN", TOKEN)], |_| {});
    let (status, body) = post(&server, "fetch_writes_enabled", "");
    assert_eq!((status, body.trim()), (200, "true"));
    let (_, page) = request(&server.addr, "GET", "/alerts", "").expect("page answers");
    assert!(!page.contains("data-testid=\"read-only\""), "{page}");
}

#[test]
fn alerts_are_served_and_rendered() {
    let server = serve(&[], seed_alert);

    let (status, body) = post(&server, "fetch_alerts", "metric=feed_views&limit=50");
    assert_eq!(status, 200, "{body}");
    let alerts = json(&body);
    let alert = alerts
        .as_array()
        .expect("a list")
        .iter()
        .find(|a| a["id"] == 7)
        .unwrap_or_else(|| panic!("the seeded alert: {body}"));
    assert_eq!(alert["slice"], "os=Android");
    assert_eq!(alert["state"], "resolved");
    assert_eq!(alert["label"], "false_alarm");
    assert_eq!(alert["label_by"], "ann");
    assert_eq!(alert["delivery"], "none", "nothing was queued for it");
    let kinds: Vec<&str> = alert["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["label", "button"], "{body}");

    let (status, body) = post(&server, "fetch_alerts", "state=firing&limit=50");
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains("\"id\":7,"),
        "the resolved alert is filtered out: {body}"
    );
    // The time filter: the seeded alert started in 2023, not in the last day
    // (the server's own startup check may have raised recent ones).
    let (status, body) = post(&server, "fetch_alerts", "limit=50&since_hours=24");
    assert_eq!(status, 200, "{body}");
    let recent = json(&body);
    let recent = recent.as_array().expect("a list");
    assert!(!recent.iter().any(|a| a["id"] == 7), "{body}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    assert!(
        recent
            .iter()
            .all(|a| a["started_at"].as_i64().expect("a time") >= now - 24 * 3600 - 60),
        "{body}"
    );
    let (status, body) = post(&server, "fetch_alerts", "limit=50&since_hours=0");
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("expected 1 to"), "{body}");
    let (status, body) = post(&server, "fetch_alerts", "state=sleeping&limit=5");
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("expected firing or resolved"), "{body}");
    let (status, body) = post(&server, "fetch_alerts", "metric=nope&limit=5");
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("unknown metric"), "{body}");

    let (status, page) = request(&server.addr, "GET", "/alerts", "").expect("page answers");
    assert_eq!(status, 200);
    assert!(page.contains("data-testid=\"alerts-table\""), "{page}");
    assert!(
        page.contains("href=\"/metric/feed_views?slice=os%3DAndroid&amp;at=1700000100\""),
        "rows link the alert's slice of the metric at the alert's moment: {page}"
    );
    assert!(page.contains("os=Android"), "the slice is shown");
    assert!(
        page.contains("2023-11-14 22:15 UTC"),
        "UTC start time: {page}"
    );
    assert!(page.contains("-70.0%"), "deviation in percent");
    assert!(page.contains("false_alarm"), "the label");
    assert!(page.contains("acknowledged"), "the button press");
    assert!(
        page.contains("data-testid=\"silences\""),
        "the silences section"
    );
}

/// One unlabelled, resolved alert of the whole metric (id 8).
fn seed_unlabelled_alert(dir: &Path) {
    let path = state_path(dir);
    drop(SqliteState::open(&path).expect("state opens"));
    let conn = rusqlite::Connection::open(&path).expect("state opens");
    conn.execute(
        "INSERT INTO alerts (id, metric, started_at, resolved_at, value, lower, upper, expected,
             deviation, detector, state, muted)
         VALUES (8, 'feed_views', 1700000100, 1700003700, 0.0, 300.0, 500.0, 400.0, -1.0,
             'iqr', 'resolved', 0)",
        [],
    )
    .expect("alert inserted");
}

#[test]
fn alerts_and_spans_are_labelled_with_the_token() {
    use server::labels::LabelKind;
    use server::state::Labels;

    let server = serve(&[("VIGIL_OPERATOR_TOKEN", TOKEN)], seed_unlabelled_alert);

    // An alert: refused without the right token or with an unknown label.
    let (status, body) = post(&server, "label_alert", "id=8&label=false_alarm&token=nope");
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("wrong operator token"), "{body}");
    let (status, body) = post(
        &server,
        "label_alert",
        &format!("id=8&label=boring&token={TOKEN}"),
    );
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("expected false_alarm or expected"), "{body}");
    let (status, body) = post(
        &server,
        "label_alert",
        &format!("id=99&label=expected&token={TOKEN}"),
    );
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("no alert with id 99"), "{body}");
    let (status, body) = post(
        &server,
        "label_alert",
        &format!("id=8&label=false_alarm&token={TOKEN}"),
    );
    assert_eq!(status, 200, "{body}");
    let (_, body) = post(&server, "fetch_alerts", "metric=feed_views&limit=50");
    let alerts = json(&body);
    let alert = alerts
        .as_array()
        .expect("a list")
        .iter()
        .find(|a| a["id"] == 8)
        .unwrap_or_else(|| panic!("the seeded alert: {body}"));
    assert_eq!(alert["label"], "false_alarm");
    assert_eq!(alert["label_by"], "web");

    // A span: validated, stored in the state file, removable.
    let (status, body) = post(
        &server,
        "create_label",
        &format!(
            "metric=feed_views&from=1700000100&to=1700000000&kind=incident&note=&token={TOKEN}"
        ),
    );
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("end after it starts"), "{body}");
    let (status, body) = post(
        &server,
        "create_label",
        "metric=feed_views&from=1700000100&to=1700003700&kind=incident&note=x&token=",
    );
    assert_ne!(status, 200, "{body}");
    assert!(body.contains("operator token required"), "{body}");
    let (status, body) = post(
        &server,
        "create_label",
        &format!(
            "metric=feed_views&from=1700000100&to=1700003700&kind=incident&note=CDN+outage&token={TOKEN}"
        ),
    );
    assert_eq!(status, 200, "{body}");
    let id: i64 = json(&body).as_i64().expect("the new label's id");
    let stored = SqliteState::open(&state_path(server.dir.path()))
        .expect("state opens")
        .list_labels(Some("feed_views"), 0, i64::MAX)
        .expect("labels");
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (
            stored[0].id,
            stored[0].kind,
            stored[0].note.as_str(),
            stored[0].created_by.as_str()
        ),
        (id, LabelKind::Incident, "CDN outage", "web")
    );
    let (status, body) = post(&server, "remove_label", &format!("id={id}&token={TOKEN}"));
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&server, "remove_label", &format!("id={id}&token={TOKEN}"));
    assert_ne!(status, 200, "{body}");
    assert!(body.contains(&format!("no label with id {id}")), "{body}");
}
