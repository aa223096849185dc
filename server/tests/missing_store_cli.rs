//! The commands that only read (check, series, eval, tune, alerts) pointed at
//! a data directory that does not exist: each fails naming the path and how
//! to get data, and creates nothing (a mistyped `--data-dir` in a cron job
//! must not look like a healthy run over empty metrics).

#[path = "support/cli.rs"]
mod cli;

use cli::vigil;

/// Runs `args` (which name `typo` as the data directory): non-zero exit, an
/// error naming `typo` and saying how to fill it, and `typo` still absent.
fn fails_without_creating(args: &[&str], typo: &std::path::Path) {
    let output = vigil(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{args:?} succeeded: {stderr}");
    assert!(
        stderr.contains(&typo.display().to_string()),
        "{args:?} does not name the directory: {stderr}"
    );
    assert!(
        stderr.contains("vigil simulate --data-dir"),
        "{args:?} does not say how to get data: {stderr}"
    );
    assert!(!typo.exists(), "{args:?} created {}", typo.display());
}

#[test]
fn readers_fail_on_a_missing_data_dir_and_create_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let typo = dir.path().join("typo_dir");
    let data = typo.to_str().expect("utf-8 path");
    let commands: [&[&str]; 7] = [
        &["check", "--dry-run", "--data-dir", data],
        &["check", "--data-dir", data],
        &[
            "eval",
            "--metric",
            "feed_views",
            "--from",
            "now-2d",
            "--data-dir",
            data,
        ],
        &[
            "tune",
            "--metric",
            "feed_views",
            "--from",
            "now-2d",
            "--data-dir",
            data,
        ],
        &["alerts", "--data-dir", data, "list"],
        &["alerts", "--data-dir", data, "silences"],
        &[
            "alerts",
            "--data-dir",
            data,
            "silence",
            "--all",
            "--for",
            "1h",
        ],
    ];
    for args in commands {
        fails_without_creating(args, &typo);
    }
}

#[test]
fn a_config_naming_a_missing_store_fails_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let typo = dir.path().join("typo_store");
    let config = dir.path().join("vigil.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nkind = \"sqlite\"\npath = {:?}\n",
            typo.join("vigil.sqlite").to_str().expect("utf-8 path")
        ),
    )
    .expect("config written");
    let config = config.to_str().expect("utf-8 path");
    fails_without_creating(&["check", "--dry-run", "--config", config], &typo);
}
