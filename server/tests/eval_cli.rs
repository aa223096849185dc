//! `vigil eval` end to end: runs the built binary.

use std::process::{Command, Output};

fn vigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run vigil")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "vigil failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn in_unit(v: &serde_json::Value, what: &str) {
    if v.is_null() {
        return;
    }
    let x = v
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"));
    assert!((0.0..=1.0).contains(&x), "{what} = {x}");
}

fn check_class(c: &serde_json::Value) {
    let name = c["class"].as_str().unwrap();
    for key in ["precision", "recall", "f1"] {
        in_unit(&c[key], &format!("{name}.{key}"));
    }
    let (found, incidents) = (
        c["found"].as_u64().unwrap(),
        c["incidents"].as_u64().unwrap(),
    );
    assert!(found <= incidents);
    for key in ["delay_median", "delay_p90", "false_per_week"] {
        let v = &c[key];
        assert!(
            v.is_null() || v.as_f64().unwrap() >= 0.0,
            "{name}.{key} = {v}"
        );
    }
}

#[test]
fn synthetic_json_has_every_detector_and_class() {
    // One case per class and scale: forecast fits a model every 12 hours of
    // every case, slow in this debug build.
    let out = stdout(&vigil(&["eval", "--cases", "1", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["benchmark"], "synthetic");
    assert_eq!(json["cases_per_class"], 1);
    assert_eq!(json["cases"], 8 * 4);
    let detectors = json["detectors"].as_array().unwrap();
    let names: Vec<&str> = detectors
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "iqr",
            "seasonal_iqr",
            "seasonal",
            "drop",
            "changepoint",
            "forecast",
            "learned"
        ]
    );
    for d in detectors {
        assert_eq!(d["spec"]["detector"], d["name"]);
        let classes = d["classes"].as_array().unwrap();
        let class_names: Vec<&str> = classes
            .iter()
            .map(|c| c["class"].as_str().unwrap())
            .collect();
        assert_eq!(
            class_names,
            [
                "to_zero",
                "fold_drop",
                "multi_drop",
                "drop_during_spike",
                "shifted_down",
                "spike_up",
                "slow_decline",
                "clean"
            ]
        );
        for c in classes {
            assert_eq!(c["cases"], 4);
            check_class(c);
        }
        let clean = &classes[7];
        assert_eq!(clean["incidents"], 0);
        assert!(clean["recall"].is_null());
        assert_eq!(d["overall"]["class"], "overall");
        assert_eq!(d["overall"]["incidents"], 7 * 4);
        check_class(&d["overall"]);
        let scales = d["scales"].as_array().unwrap();
        assert_eq!(scales.len(), 4);
        for c in scales {
            assert_eq!(c["cases"], 8);
            check_class(c);
        }
    }
    // Deterministic per seed (a smaller run: this one is a debug build).
    let small = [
        "eval",
        "--cases",
        "1",
        "--detector",
        "drop",
        "--format",
        "json",
    ];
    assert_eq!(stdout(&vigil(&small)), stdout(&vigil(&small)));
}

#[test]
fn table_has_a_row_per_class_and_an_overall_line() {
    let out = stdout(&vigil(&["eval", "--cases", "1", "--detector", "drop"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("detector") && lines[0].contains("false/wk"));
    let rows: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("drop "))
        .collect();
    assert_eq!(rows.len(), 8 + 4 + 1, "{out}");
    assert!(rows[8].contains(" scale=tiny "));
    assert!(rows[12].contains(" overall "));
    // Aligned: every row as wide as the header.
    assert!(rows.iter().all(|r| r.len() == lines[0].len()), "{out}");
}

#[test]
fn families_are_reported_per_family() {
    let families = [
        "service_1m",
        "service_5m",
        "irregular",
        "no_cycle",
        "trend",
        "level_shifts",
        "noisy_plateau",
    ];
    let json_args = [
        "eval",
        "--families",
        "--cases",
        "1",
        "--detector",
        "drop",
        "--format",
        "json",
    ];
    let json: serde_json::Value = serde_json::from_str(&stdout(&vigil(&json_args))).unwrap();
    assert_eq!(json["benchmark"], "families");
    // 7 families × 6 classes × 3 scales.
    assert_eq!(json["cases"], 7 * 6 * 3);
    let d = &json["detectors"][0];
    let names: Vec<&str> = d["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    assert_eq!(names, families);
    for c in d["families"].as_array().unwrap() {
        assert_eq!(c["cases"], 18);
        check_class(c);
    }
    // --benchmark families is the same run.
    let long = [
        "eval",
        "--benchmark",
        "families",
        "--cases",
        "1",
        "--detector",
        "drop",
    ];
    let short = ["eval", "--families", "--cases", "1", "--detector", "drop"];
    let table = stdout(&vigil(&short));
    assert_eq!(table, stdout(&vigil(&long)));
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("drop ")).collect();
    // 6 classes, 3 scales, 7 families, overall.
    assert_eq!(rows.len(), 6 + 3 + 7 + 1, "{table}");
    for (row, family) in rows[9..16].iter().zip(families) {
        assert!(row.contains(&format!(" family={family} ")), "{row}");
    }
    assert!(rows
        .iter()
        .all(|r| r.len() == table.lines().next().unwrap().len()));
    // The product benchmark's table has no family rows.
    let product = stdout(&vigil(&["eval", "--cases", "1", "--detector", "drop"]));
    assert!(!product.contains("family="), "{product}");
    // Families and an input are two different benchmarks.
    assert!(!vigil(&["eval", "--families", "--input", "x.csv"])
        .status
        .success());
}

/// 3 days of a flat metric with a labelled outage (rows 200..204 at zero)
/// and one unlabelled spike.
fn labelled_csv() -> String {
    let mut s = String::from("timestamp,value,label\n");
    for i in 0..288 {
        let t = 1_704_067_200 + i * 900;
        let ts = chrono::DateTime::from_timestamp(t, 0)
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S");
        let (value, label) = match i {
            200..204 => (0, 1),
            250 => (5000, 0),
            _ => (1000 + (i * 37) % 50, 0),
        };
        s.push_str(&format!("{ts},{value},{label}\n"));
    }
    s
}

#[test]
fn labelled_csv_is_scored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labelled.csv");
    std::fs::write(&path, labelled_csv()).unwrap();
    let out = stdout(&vigil(&[
        "eval",
        "--input",
        path.to_str().unwrap(),
        "--detector",
        "iqr",
        "--format",
        "json",
    ]));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["benchmark"], "csv");
    assert_eq!(json["cases"], 1);
    let d = &json["detectors"][0];
    let c = &d["classes"][0];
    assert_eq!(c["class"], "labelled");
    assert_eq!(d["scales"], serde_json::json!([]));
    assert_eq!(c["incidents"], 1);
    // The rolling IQR flags the fall to zero at once, and the spike is a false alert.
    assert_eq!(c["found"], 1);
    assert_eq!(c["delay_median"], 0.0);
    assert_eq!(c["false_events"], 1);
    assert_eq!(c["precision"], 0.5);
    check_class(c);
}

#[test]
fn malformed_csv_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(
        &path,
        "timestamp,value,label\n2024-01-01 00:00:00,1,0\n2024-01-01 00:15:00,2,maybe\n",
    )
    .unwrap();
    let out = vigil(&["eval", "--input", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.csv:3: label \"maybe\" is not 0 or 1"),
        "{err}"
    );
}

#[test]
fn unknown_detector_is_an_error() {
    let out = vigil(&["eval", "--detector", "magic", "--cases", "1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown detector"));
}

#[test]
fn zero_cases_is_an_error() {
    let out = vigil(&["eval", "--cases", "0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("--cases") && stderr.contains("at least 1"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "no table: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
