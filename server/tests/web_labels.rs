//! The metric page's history carries the source's labelled incidents: the
//! simulator's outage of feed_views is scored (whole metric), its slice
//! incidents are shown but neutral, and the server renders the figures.

#[path = "support/serve.rs"]
mod support;

use support::{get, serve_with, Server};

/// `vigil serve` on two small simulated days.
fn small_embedded() -> Server {
    serve_with(
        "[source]\nkind = \"sqlite\"\npath = \"{DIR}/vigil.sqlite\"\n[simulator]\nusers = 60\ndays = 2\nseed = 3\n",
        &[],
        |_| {},
    )
}

/// The server-rendered "caught" figure: `N of M` labelled incidents.
fn caught_figure(page: &str) -> &str {
    page.split("data-testid=\"caught\">")
        .nth(1)
        .and_then(|rest| rest.split("</output>").next())
        .expect("the caught figure is rendered")
}

#[test]
fn the_metric_page_scores_against_the_simulators_incidents() {
    let server = small_embedded();
    let (status, page) = get(&server.addr, "/metric/feed_views").expect("metric page answers");
    assert_eq!(status, 200);
    // feed_views gets three of the five incidents: the outage (whole metric)
    // and the Android drop and bot spike (one slice each).
    assert!(page.contains("3 labelled incidents"), "{page}");
    let caught = caught_figure(&page);
    assert!(
        caught.ends_with(" of 1"),
        "only the outage is scored: {caught}"
    );
    // The labels travel to the browser with the history.
    assert!(page.contains("outage") && page.contains("os=Android"));
}

/// One slice of a metric: its own history on the page (with its own incident
/// to find) and the small multiples of a dimension, biggest first.
#[test]
fn a_slice_has_its_own_page_and_the_dimension_its_small_multiples() {
    let server = small_embedded();
    let (status, page) =
        get(&server.addr, "/metric/feed_views?slice=os%3DAndroid").expect("slice page answers");
    assert_eq!(status, 200);
    assert!(page.contains("Feed views · os = Android"), "{page}");
    // The Android drop is confined to that slice: here it is an incident to find.
    let caught = caught_figure(&page);
    assert!(
        caught.ends_with(" of 2"),
        "the outage and the Android drop: {caught}"
    );

    let (status, body) =
        support::request(&server.addr, "POST", "/api/fetch_slices", "name=feed_views")
            .expect("server answers");
    assert_eq!(status, 200, "{body}");
    let slices: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(slices["dimension"], "os");
    let dimensions: Vec<&str> = slices["dimensions"]
        .as_array()
        .expect("dimensions")
        .iter()
        .map(|d| d.as_str().expect("text"))
        .collect();
    assert!(dimensions.contains(&"source") && dimensions.contains(&"country"));
    let totals: Vec<f64> = slices["slices"]
        .as_array()
        .expect("slices")
        .iter()
        .map(|s| {
            s["values"]
                .as_array()
                .expect("values")
                .iter()
                .filter_map(|v| v.as_f64())
                .sum()
        })
        .collect();
    assert!(totals.len() >= 2, "{body}");
    assert!(
        totals.windows(2).all(|w| w[0] >= w[1]),
        "biggest first: {totals:?}"
    );

    let (status, body) = support::request(
        &server.addr,
        "POST",
        "/api/fetch_slices",
        "name=feed_views&dimension=planet",
    )
    .expect("server answers");
    assert_ne!(status, 200);
    assert!(body.contains("not sliced by"), "{body}");
    let (status, page) =
        get(&server.addr, "/metric/feed_views?slice=planet%3DMars").expect("page answers");
    assert!(page.contains("not sliced by"), "{status}: {page}");
}
