//! Bad input on the command line ends as one clear error, never a panic (exit
//! code 101) or a silently absurd run.

#[path = "support/cli.rs"]
mod cli;

use std::process::Output;

use cli::{stdout_of, vigil, vigil_with_env};

const I64_MAX: &str = "9223372036854775807";

/// Stderr of a run that must fail cleanly (exit code 1 or clap's 2, not a panic).
fn error_of(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "unexpected success: {stderr}");
    assert!(
        matches!(output.status.code(), Some(1 | 2)),
        "exit {:?}, not a clean error: {stderr}",
        output.status.code()
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn times_past_9999_are_refused_by_every_time_flag() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    let runs: [&[&str]; 5] = [
        &[
            "series",
            "--metric",
            "feed_views",
            "--from",
            "now-1h",
            "--to",
            I64_MAX,
        ],
        &[
            "simulate",
            "--data-dir",
            data,
            "--days",
            "1",
            "--now",
            I64_MAX,
        ],
        &["check", "--dry-run", "--data-dir", data, "--at", I64_MAX],
        &[
            "tune",
            "--metric",
            "feed_views",
            "--data-dir",
            data,
            "--to",
            I64_MAX,
        ],
        &[
            "eval",
            "--metric",
            "feed_views",
            "--data-dir",
            data,
            "--to",
            I64_MAX,
        ],
    ];
    for args in runs {
        let error = error_of(&vigil(args));
        assert!(
            error.contains("outside the supported range") && error.contains("9999-12-31"),
            "{args:?}: {error}"
        );
    }
}

#[test]
fn a_time_in_milliseconds_gets_a_hint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let error = error_of(&vigil(&[
        "check",
        "--data-dir",
        data.to_str().expect("utf-8 path"),
        "--at",
        "1796000000000",
    ]));
    assert!(error.contains("looks like milliseconds"), "{error}");
    assert!(
        !data.join("vigil-state.sqlite").exists(),
        "nothing stored for year 58882"
    );
}

#[test]
fn grace_seconds_is_limited_like_the_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    for grace in [I64_MAX, "3601", "-1"] {
        let flag = format!("--grace-seconds={grace}");
        let error = error_of(&vigil(&[
            "check",
            "--dry-run",
            "--data-dir",
            data.to_str().expect("utf-8 path"),
            &flag,
        ]));
        assert!(error.contains("--grace-seconds"), "{grace}: {error}");
    }
}

#[test]
fn config_check_refuses_credentials_in_the_clickhouse_url_without_echoing_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("ch.toml");
    std::fs::write(
        &file,
        "[source]\nkind = \"clickhouse\"\nurl = \"http://u:p4ssw0rd@ch.example.com:8443\"\ndatabase = \"db\"\n",
    )
    .expect("config written");
    let output = vigil(&["config", "check", "--config", file.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let error = error_of(&output);
    assert!(
        error.contains("ch.toml: `source.url`: put the user and password in the config"),
        "{error}"
    );
    for text in [&stdout, &error] {
        assert!(
            !text.contains("p4ssw0rd") && !text.contains("u:p"),
            "{text}"
        );
    }
}

#[test]
fn logs_redirected_to_a_file_or_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("good.csv");
    let mut csv = String::from("timestamp,value\n");
    for i in 0..20 {
        csv.push_str(&format!(
            "2024-05-01 {:02}:{:02}:00,{}\n",
            i / 4,
            (i % 4) * 15,
            10 + i % 3
        ));
    }
    std::fs::write(&input, csv).expect("csv written");
    let output = vigil_with_env(
        &["detect", "-i", input.to_str().expect("utf-8"), "-o", "-"],
        &[("RUST_LOG", "info")],
    );
    stdout_of(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("INFO"), "some log to look at: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "ANSI codes in {stderr:?}");
}

#[test]
fn alerts_take_data_dir_after_the_subcommand_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    // `alerts` reads an existing data directory (it never creates one).
    std::fs::create_dir(&data).expect("data dir");
    let data = data.to_str().expect("utf-8 path");
    let after = stdout_of(&vigil(&["alerts", "list", "--data-dir", data]));
    let before = stdout_of(&vigil(&["alerts", "--data-dir", data, "list"]));
    assert_eq!(after, before);
}

#[test]
fn an_unset_password_variable_is_an_error_not_an_empty_password() {
    let error = error_of(&vigil(&[
        "simulate",
        "--clickhouse-url",
        "http://127.0.0.1:9",
        "--password-env",
        "VIGIL_TEST_SURELY_UNSET_VARIABLE",
    ]));
    assert!(
        error.contains("--password-env VIGIL_TEST_SURELY_UNSET_VARIABLE")
            && error.contains("is not set"),
        "{error}"
    );
}

#[test]
fn a_bad_database_name_is_reported_once() {
    let error = error_of(&vigil(&[
        "simulate",
        "--clickhouse-url",
        "http://127.0.0.1:9",
        "--database",
        "db; drop",
    ]));
    assert_eq!(error.matches("db; drop").count(), 1, "{error}");
}

#[test]
fn a_missing_config_file_names_the_os_error_once() {
    let error = error_of(&vigil(&["check", "--config", "/nonexistent/vigil.toml"]));
    assert_eq!(error.matches("(os error 2)").count(), 1, "{error}");
}
