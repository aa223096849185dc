//! `vigil state migrate` end to end: an embedded state made by the CLI is
//! copied into a real PostgreSQL database, the CLI then reads it there through
//! `VIGIL_STATE_URL`, a second copy is refused, and the password is never
//! printed. Needs PostgreSQL (`VIGIL_REQUIRE_POSTGRES`, see support/postgres.rs).

#[path = "support/cli.rs"]
mod cli;
#[path = "support/postgres.rs"]
mod postgres;

use cli::{stdout_of, vigil, vigil_with_env};
use postgres::TEST_PASSWORD;

#[test]
fn an_embedded_state_moves_to_postgres_and_is_read_there() {
    let Some(server) = postgres::server("state migrate cli") else {
        return;
    };
    let url = server.database();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    let silenced = stdout_of(&vigil(&[
        "alerts",
        "--data-dir",
        data,
        "silence",
        "--metric",
        "feed_views",
        "--for",
        "2h",
        "--by",
        "ann",
    ]));
    assert!(silenced.starts_with("silence 1 "), "{silenced}");

    let password = [("VIGIL_STATE_PASSWORD", TEST_PASSWORD)];
    let migrate = ["state", "--data-dir", data, "migrate", "--to", url.as_str()];
    let copied = stdout_of(&vigil_with_env(&migrate, &password));
    assert!(copied.contains("silences 1"), "{copied}");
    assert!(copied.contains("127.0.0.1:"), "{copied}");
    assert!(!copied.contains(TEST_PASSWORD), "{copied}");

    // The embedded file is gone: what is listed comes from PostgreSQL.
    std::fs::remove_file(dir.path().join("vigil-state.sqlite")).expect("state file");
    let shared = [("VIGIL_STATE_URL", url.as_str()), password[0]];
    let silences = stdout_of(&vigil_with_env(
        &["alerts", "--data-dir", data, "silences"],
        &shared,
    ));
    assert!(silences.contains("metric,feed_views"), "{silences}");
    assert!(silences.contains("ann"), "{silences}");
    // Opening an existing schema runs its idempotent steps again; the
    // server's "already exists, skipping" notices are debug, not info.
    for (level, shown) in [("info", false), ("debug", true)] {
        let env = [shared[0], shared[1], ("RUST_LOG", level)];
        let listed = vigil_with_env(&["alerts", "--data-dir", data, "silences"], &env);
        let stderr = String::from_utf8_lossy(&listed.stderr);
        assert!(listed.status.success(), "{stderr}");
        assert_eq!(
            stderr.contains("already exists"),
            shown,
            "{level}: {stderr}"
        );
    }

    // A second copy (a new embedded state) must not mix into the shared one.
    stdout_of(&vigil(&[
        "alerts",
        "--data-dir",
        data,
        "silence",
        "--all",
        "--for",
        "1h",
    ]));
    let again = vigil_with_env(&migrate, &password);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success(), "{stderr}");
    assert!(stderr.contains("not empty"), "{stderr}");
    assert!(!stderr.contains(TEST_PASSWORD), "{stderr}");
}

#[test]
fn a_bad_target_url_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    let output = vigil(&[
        "state",
        "--data-dir",
        data,
        "migrate",
        "--to",
        "postgres://vigil:pw-x@db:port/vigil",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("--to: not a PostgreSQL URL"), "{stderr}");
    assert!(!stderr.contains("pw-x"), "{stderr}");
}
