//! `vigil detect` end to end: runs the built binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn vigil(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vigil");
    {
        let mut pipe = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            // The command may exit (e.g. on invalid parameters) before reading.
            let _ = pipe.write_all(text.as_bytes());
        }
    }
    child.wait_with_output().unwrap()
}

/// 30 quarter-hours of a steady metric with a spike at 05:00 and a gap row at 06:00.
fn sample_csv() -> String {
    let mut s = String::from("timestamp,value\n");
    for i in 0..30 {
        let (h, m) = (i / 4, (i % 4) * 15);
        let value = match i {
            20 => "950".to_string(),
            24 => String::new(),
            _ => (100 + (i * 7) % 5).to_string(),
        };
        s.push_str(&format!("2024-05-01 {h:02}:{m:02}:00,{value}\n"));
    }
    s
}

fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn round_trip_flags_the_spike_and_keeps_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let output = dir.path().join("out.csv");
    std::fs::write(&input, sample_csv()).unwrap();
    let out = vigil(
        &[
            "detect",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--detector",
            "iqr",
            "--a",
            "4",
            "--n",
            "5",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&output).unwrap();
    let rows = rows(&text);
    assert_eq!(
        rows[0].join(","),
        "timestamp,value,lower,upper,expected,is_anomaly,score"
    );
    assert_eq!(rows.len(), 31);
    // No band for the first n points.
    assert_eq!(rows[1][2], "");
    assert_eq!(rows[1][6], "");
    // The spike (row 21 = bucket 20) is the only anomaly.
    let flagged: Vec<&str> = rows[1..]
        .iter()
        .filter(|r| r[5] == "1")
        .map(|r| r[0].as_str())
        .collect();
    assert_eq!(flagged, vec!["2024-05-01 05:00:00"]);
    assert!(rows[21][6].parse::<f64>().unwrap() > 1.0);
    // The gap row keeps its timestamp, has no value, has a band, is not flagged.
    assert_eq!(rows[25][0], "2024-05-01 06:00:00");
    assert_eq!(rows[25][1], "");
    assert!(!rows[25][2].is_empty());
    assert_eq!(rows[25][5], "0");
}

#[test]
fn stdin_to_stdout_with_rfc3339_and_missing_rows() {
    let csv = "timestamp,value\n\
        2024-05-01T00:00:00Z,1\n2024-05-01T00:15:00Z,2\n2024-05-01T00:45:00Z,3\n2024-05-01T01:00:00Z,2\n";
    let out = vigil(
        &["detect", "--input", "-", "--n", "2", "--smooth", "none"],
        Some(csv),
    );
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows = rows(&text);
    assert_eq!(rows.len(), 6, "{text}");
    // The missing 00:30 row is written back as a gap.
    assert_eq!(rows[3][0], "2024-05-01T00:30:00Z");
    assert_eq!(rows[3][1], "");
    // Window [1, 2] for the gap and for 00:45: q25 1.25, q75 1.75, iqr 0.5, a 4.
    assert_eq!(rows[3][2], "-0.75");
    assert_eq!(rows[4][3], "3.75");
    assert_eq!(rows[4][4], "1.5");
}

#[test]
fn malformed_line_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        "timestamp,value\n2024-05-01 00:00:00,1\n2024-05-01 00:15:00,abc\n",
    )
    .unwrap();
    let out = vigil(&["detect", "--input", input.to_str().unwrap()], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in.csv:3: cannot parse value \"abc\" as a number"),
        "stderr: {err}"
    );
    assert!(!err.contains("panicked"));
}

/// Issue 19: three rows spanning 49 million one-second buckets drove the
/// process to 2.76 GB. They are refused up front, at once, with the figures.
#[test]
fn a_span_far_beyond_the_rows_is_refused_at_once() {
    let csv =
        "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:00:01,2\n2025-07-22 00:00:00,3\n";
    let started = std::time::Instant::now();
    let out = vigil(&["detect", "--input", "-"], Some(csv));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("span 49075201 buckets of 1 s, more than the limit of 1000000 for 3 rows"),
        "stderr: {err}"
    );
    assert!(err.contains("lines 2 and 3"), "stderr: {err}");
    assert!(
        err.contains("to read it as it is, pass --max-buckets 49075201"),
        "the figure to pass: {err}"
    );
}

/// The learned detector keeps its features for every bucket (640 MB a
/// million): 20,000 rows may span 2 million buckets for the others, 1
/// million for it.
#[test]
fn the_learned_detector_has_a_lower_cap() {
    // Minutes 0 and 1 set a one-minute step; 19,998 more rows 75 minutes
    // apart: 20,000 rows over 1,499,852 buckets.
    let minutes = [0, 1].into_iter().chain((1..=19_998).map(|k| 1 + k * 75));
    let mut csv = String::from("timestamp,value\n");
    for minute in minutes {
        let time =
            chrono::DateTime::from_timestamp(1_704_067_200 + minute * 60, 0).expect("in range");
        csv.push_str(&format!(
            "{},{}\n",
            time.format("%Y-%m-%d %H:%M:%S"),
            100 + minute % 7
        ));
    }
    let out = vigil(
        &["detect", "--input", "-", "--detector", "learned"],
        Some(&csv),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("span 1499852 buckets of 60 s, more than the limit of 1000000 for 20000 rows"),
        "stderr: {err}"
    );
    assert!(err.contains("pass --max-buckets 1499852"), "stderr: {err}");
}

/// `--max-buckets` replaces the limit from the rows both ways: a span within
/// it is read, one beyond it is refused with both figures, and a figure the
/// flag does not take is a usage error; none of it panics.
#[test]
fn max_buckets_sets_the_limit() {
    let ten_buckets =
        "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:00:01,2\n2024-01-01 00:00:09,3\n";
    let detect = |max: &str| {
        vigil(
            &["detect", "--input", "-", "--max-buckets", max],
            Some(ten_buckets),
        )
    };

    let out = detect("10");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = rows(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(written.len(), 1 + 10, "the header and a row per bucket");

    let out = detect("9");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("span 10 buckets of 1 s, more than the limit of 9 given"),
        "stderr: {err}"
    );
    assert!(err.contains("pass --max-buckets 10"), "stderr: {err}");

    for bad in ["0", "1000000001", "lots"] {
        let out = detect(bad);
        assert_eq!(out.status.code(), Some(2), "--max-buckets {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--max-buckets"), "{bad}: {err}");
        assert!(!err.contains("panicked"), "{bad}: {err}");
    }
}

/// Issue 19: a 10,000-digit number was silently a gap, and 1e308 turned the
/// bands after it into -inf..inf. Both are refused with their line.
#[test]
fn values_beyond_the_detectors_range_are_refused_with_their_line() {
    for (value, reason) in [
        (
            format!("1{}", "0".repeat(10_000)),
            "overflows a 64-bit float",
        ),
        ("1e308".to_string(), "is beyond ±1e100"),
    ] {
        let csv = format!("timestamp,value\n2024-05-01 00:00:00,1\n2024-05-01 00:15:00,{value}\n");
        let out = vigil(&["detect", "--input", "-"], Some(&csv));
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("<stdin>:3: value \""), "stderr: {err}");
        assert!(err.contains(reason), "stderr: {err}");
    }
}

/// NaN and inf are gaps, as the README says, but not silently.
#[test]
fn nan_and_inf_are_gaps_with_a_warning() {
    let csv = "timestamp,value\n2024-05-01 00:00:00,1\n2024-05-01 00:15:00,NaN\n2024-05-01 00:30:00,-inf\n";
    let out = vigil(&["detect", "--input", "-"], Some(csv));
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("<stdin>: 2 value(s) written as NaN or inf, the first on line 3 (column 2), read as gaps"),
        "stderr: {err}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().nth(2), Some("2024-05-01 00:15:00,,,,,0,"));
}

#[test]
fn off_grid_line_is_an_error() {
    let csv =
        "timestamp,value\n2024-05-01 00:00:00,1\n2024-05-01 00:10:00,2\n2024-05-01 00:25:00,2\n";
    let out = vigil(&["detect", "--input", "-"], Some(csv));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("<stdin>:4: timestamp 2024-05-01 00:25:00 is off the 600-second grid"),
        "stderr: {err}"
    );
}

#[test]
fn invalid_params_fail_cleanly() {
    let out = vigil(
        &["detect", "--input", "-", "--n", "1"],
        Some("timestamp,value\n"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("n must be at least 2 (got 1)"),
        "stderr: {err}"
    );
    assert!(!err.contains("panicked"));

    let out = vigil(
        &["detect", "--input", "-", "--a", "-1"],
        Some("timestamp,value\n"),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a must be a finite number >= 0 (got -1)")
    );

    let out = vigil(&["detect", "--input", "-", "--smooth", "weekly"], Some(""));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));
}

/// `days` days of a 15-minute daily cycle (the same every day), with the
/// bucket at `zero` set to 0.
fn daily_csv(days: usize, zero: usize) -> String {
    let mut s = String::from("timestamp,value\n");
    for i in 0..days * 96 {
        let (d, h, m) = (1 + i / 96, (i % 96) / 4, (i % 4) * 15);
        let slot = (i % 96) as f64;
        let value = if i == zero {
            0.0
        } else {
            (100.0 + 80.0 * (slot / 96.0 * std::f64::consts::TAU).sin()).round()
        };
        s.push_str(&format!("2024-05-{d:02}T{h:02}:{m:02}:00Z,{value}\n"));
    }
    s
}

#[test]
fn seasonal_detector_flags_the_outage_with_a_duration_period() {
    // 02:30 on day 3, a quiet hour of the cycle (value ~ 100 - 80 sin).
    let zero = 2 * 96 + 10;
    let out = vigil(
        &[
            "detect",
            "--input",
            "-",
            "--detector",
            "seasonal",
            "--period",
            "1d",
            "--seasons",
            "2",
            "--min-seasons",
            "2",
            "--z",
            "4",
        ],
        Some(&daily_csv(3, zero)),
    );
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows = rows(&text);
    assert_eq!(rows.len(), 1 + 3 * 96);
    // No band before two days of history.
    assert_eq!(rows[1 + 96 + 10][2], "");
    let flagged: Vec<&str> = rows[1..]
        .iter()
        .filter(|r| r[5] == "1")
        .map(|r| r[0].as_str())
        .collect();
    assert_eq!(flagged, vec!["2024-05-03T02:30:00Z"]);
    assert!(rows[1 + zero][6].parse::<f64>().unwrap() > 0.0);
}

#[test]
fn bad_seasonal_parameters_fail_cleanly() {
    // A 7-minute step does not divide a day.
    let csv =
        "timestamp,value\n2024-05-01 00:00:00,1\n2024-05-01 00:07:00,2\n2024-05-01 00:14:00,3\n";
    let out = vigil(
        &[
            "detect",
            "--input",
            "-",
            "--detector",
            "seasonal",
            "--period",
            "1d",
        ],
        Some(csv),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--period 1d (86400 s) is not a whole number of the series' 420-second steps"),
        "stderr: {err}"
    );

    // A period longer than the history names both.
    let out = vigil(
        &[
            "detect",
            "--input",
            "-",
            "--detector",
            "changepoint",
            "--period",
            "1w",
        ],
        Some(&daily_csv(3, usize::MAX)),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--period of 672 points (1w at 900 s per point) is longer than the history of <stdin>: 288 points"),
        "stderr: {err}"
    );

    // Out-of-range values and flags of another detector.
    let out = vigil(
        &[
            "detect",
            "--input",
            "-",
            "--detector",
            "drop",
            "--drop-fraction",
            "1.5",
        ],
        Some("timestamp,value\n"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("drop_fraction must be a finite number in (0, 1] (got 1.5)"),
        "stderr: {err}"
    );
    let out = vigil(
        &[
            "detect",
            "--input",
            "-",
            "--detector",
            "seasonal",
            "--drift",
            "1",
            "--n",
            "3",
        ],
        Some("timestamp,value\n"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--n, --drift not used by --detector seasonal"),
        "stderr: {err}"
    );
    assert!(!err.contains("panicked"));
}

/// `days` days of a 5-minute daily cycle with a little noise, the bucket at
/// `zero` set to 0.
fn five_minute_csv(days: usize, zero: usize) -> String {
    let mut s = String::from("timestamp,value\n");
    for i in 0..days * 288 {
        let (d, h, m) = (1 + i / 288, (i % 288) / 12, (i % 12) * 5);
        let slot = (i % 288) as f64;
        let noise = ((i * 7919) % 13) as f64;
        let value = if i == zero {
            0.0
        } else {
            (300.0 + 200.0 * (slot / 288.0 * std::f64::consts::TAU).sin() + noise).round()
        };
        s.push_str(&format!("2024-05-{d:02}T{h:02}:{m:02}:00Z,{value}\n"));
    }
    s
}

#[test]
fn period_auto_finds_the_day_of_a_five_minute_series() {
    let zero = 3 * 288 + 100;
    let csv = five_minute_csv(4, zero);
    let run = |period: &str| {
        let out = vigil(
            &[
                "detect",
                "--input",
                "-",
                "--detector",
                "seasonal",
                "--period",
                period,
                "--seasons",
                "3",
                "--min-seasons",
                "2",
            ],
            Some(&csv),
        );
        assert!(
            out.status.success(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let auto = run("auto");
    // auto = 1d = 288 points at 5 minutes.
    assert!(auto == run("1d"), "--period auto is not 1d");
    assert!(auto == run("288"), "--period auto is not 288 points");
    assert_eq!(rows(&auto)[1 + zero][5], "1");

    // No period in a short constant series.
    let flat = "timestamp,value\n".to_string()
        + &(0..40)
            .map(|i| format!("2024-05-01 00:{i:02}:00,5\n"))
            .collect::<String>();
    let out = vigil(
        &[
            "detect",
            "--input",
            "-",
            "--detector",
            "seasonal",
            "--period",
            "auto",
        ],
        Some(&flat),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "--period auto: no seasonal period found in <stdin> (40 points); pass --period"
        ),
        "stderr: {err}"
    );
}

#[test]
fn forecast_detector_flags_the_outage() {
    let zero = 7 * 96 + 40;
    let out = vigil(
        &[
            "detect",
            "--input",
            "-",
            "--detector",
            "forecast",
            "--period",
            "1d",
            "--window",
            "384",
            "--refit",
            "24",
            "--level",
            "0.999",
        ],
        Some(&daily_csv(8, zero)),
    );
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows = rows(&text);
    assert_eq!(rows[1 + zero][5], "1", "{:?}", rows[1 + zero]);
    assert_eq!(rows[1 + 100][2], "", "no band before the window is full");

    let bad = |args: &[&str], expected: &str| {
        let mut all = vec!["detect", "--input", "-", "--detector", "forecast"];
        all.extend_from_slice(args);
        let out = vigil(&all, Some(&daily_csv(3, usize::MAX)));
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "stderr: {err}");
    };
    bad(
        &["--level", "1.5"],
        "level must be a finite number in (0, 1) (got 1.5)",
    );
    bad(
        &["--window", "100"],
        "period must be between 2 and 50 (got 96)",
    );
    bad(&["--z", "3"], "--z not used by --detector forecast");
}

#[test]
fn the_default_period_on_a_daily_series_is_explained() {
    let mut csv = String::from("timestamp,value\n");
    for day in 1..=28 {
        csv.push_str(&format!("2024-05-{day:02} 00:00:00,{}\n", 100 + day % 7));
    }
    let out = vigil(
        &["detect", "--input", "-", "--detector", "seasonal"],
        Some(&csv),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the default period 1d is 1 point at this series' 1-day step")
            && err.contains("--period 1w or auto"),
        "{err}"
    );
    assert!(!err.contains("got 1"), "{err}");
}
