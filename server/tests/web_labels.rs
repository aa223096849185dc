//! The metric page's history carries the source's labelled incidents: the
//! simulator's outage of feed_views is scored (whole metric), its slice
//! incidents are shown but neutral, and the server renders the figures.

#[path = "support/serve.rs"]
mod support;

use support::{get, serve_with};

#[test]
fn the_metric_page_scores_against_the_simulators_incidents() {
    let server = serve_with(
        "[source]\nkind = \"sqlite\"\npath = \"{DIR}/vigil.sqlite\"\n[simulator]\nusers = 60\ndays = 2\nseed = 3\n",
        &[],
        |_| {},
    );
    let (status, page) = get(&server.addr, "/metric/feed_views").expect("metric page answers");
    assert_eq!(status, 200);
    // feed_views gets three of the five incidents: the outage (whole metric)
    // and the Android drop and bot spike (one slice each).
    assert!(page.contains("3 labelled incidents"), "{page}");
    let caught = page
        .split("data-testid=\"caught\">")
        .nth(1)
        .and_then(|rest| rest.split("</output>").next())
        .expect("the caught figure is rendered");
    assert!(
        caught.ends_with(" of 1"),
        "only the outage is scored: {caught}"
    );
    // The labels travel to the browser with the history.
    assert!(page.contains("outage") && page.contains("os=Android"));
}
