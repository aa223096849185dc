//! `vigil alerts` checks what it is given like the web form does: an unknown
//! metric or a slice the metric is not split by is an error, not a silence
//! that never matches or an empty list.

#[path = "support/cli.rs"]
mod cli;

use cli::{stdout_of, vigil};

fn stderr_of_failure(args: &[&str]) -> String {
    let output = vigil(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{args:?} succeeded: {stderr}");
    stderr
}

#[test]
fn silences_and_lists_name_metrics_and_slices_that_exist() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");

    let stderr = stderr_of_failure(&[
        "alerts",
        "--data-dir",
        data,
        "silence",
        "--metric",
        "feed_views",
        "--slice",
        "platform=x",
        "--for",
        "1h",
    ]);
    assert!(
        stderr.contains("feed_views is not sliced by \"platform\""),
        "{stderr}"
    );
    let stderr = stderr_of_failure(&["alerts", "--data-dir", data, "list", "--metric", "nope"]);
    assert!(stderr.contains("unknown metric"), "{stderr}");

    // Nothing recorded yet in an existing directory: an empty list, no file.
    let list = stdout_of(&vigil(&["alerts", "--data-dir", data, "list"]));
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(!dir.path().join("vigil-state.sqlite").exists());

    let silenced = stdout_of(&vigil(&[
        "alerts",
        "--data-dir",
        data,
        "silence",
        "--metric",
        "feed_views",
        "--slice",
        "os=Android",
        "--for",
        "1h",
    ]));
    assert!(silenced.starts_with("silence "), "{silenced}");
    let silences = stdout_of(&vigil(&["alerts", "--data-dir", data, "silences"]));
    assert!(
        silences.contains("slice,feed_views,os=Android"),
        "{silences}"
    );
}
