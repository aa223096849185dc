//! Golden tests against the pandas reference (`scripts/golden_iqr.py`).
//! Every column is compared to 1e-9 (relative, with an absolute floor of
//! 1e-9), missing-ness and `is_anomaly` exactly.

use std::path::{Path, PathBuf};

use detect::{iqr, IqrParams, Point, Series, Smoothing};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn parse_opt(cell: &str) -> Option<f64> {
    if cell.is_empty() {
        None
    } else {
        Some(
            cell.parse()
                .unwrap_or_else(|e| panic!("bad float {cell:?}: {e}")),
        )
    }
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn check_opt(what: &str, ctx: &str, got: Option<f64>, want: Option<f64>) -> Result<(), String> {
    match (got, want) {
        (None, None) => Ok(()),
        (Some(g), Some(w)) if close(g, w) => Ok(()),
        _ => Err(format!("{ctx}: {what}: got {got:?}, want {want:?}")),
    }
}

struct Row {
    value: Option<f64>,
    lower: Option<f64>,
    upper: Option<f64>,
    expected: Option<f64>,
    is_anomaly: bool,
    score: f64,
    deviation: Option<f64>,
}

fn read_fixture(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("i,value,lower,upper,expected,is_anomaly,score,deviation")
    );
    lines
        .enumerate()
        .map(|(i, line)| {
            let c: Vec<&str> = line.split(',').collect();
            assert_eq!(c.len(), 8, "{}: line {}", path.display(), i + 2);
            assert_eq!(c[0].parse::<usize>().unwrap(), i);
            Row {
                value: parse_opt(c[1]),
                lower: parse_opt(c[2]),
                upper: parse_opt(c[3]),
                expected: parse_opt(c[4]),
                is_anomaly: c[5] == "1",
                score: c[6].parse().unwrap(),
                deviation: parse_opt(c[7]),
            }
        })
        .collect()
}

fn compare(file: &str, rows: &[Row], points: &[Point]) -> Vec<String> {
    let mut errors = Vec::new();
    if rows.len() != points.len() {
        errors.push(format!(
            "{file}: {} rows vs {} points",
            rows.len(),
            points.len()
        ));
        return errors;
    }
    for (i, (r, p)) in rows.iter().zip(points).enumerate() {
        let ctx = format!("{file} row {i}");
        let mut checks = vec![
            check_opt("value", &ctx, p.value, r.value),
            check_opt("lower", &ctx, p.lower, r.lower),
            check_opt("upper", &ctx, p.upper, r.upper),
            check_opt("expected", &ctx, p.expected, r.expected),
            check_opt("score", &ctx, Some(p.score), Some(r.score)),
            check_opt("deviation", &ctx, p.deviation, r.deviation),
        ];
        if p.is_anomaly != r.is_anomaly {
            checks.push(Err(format!(
                "{ctx}: is_anomaly: got {}, want {}",
                p.is_anomaly, r.is_anomaly
            )));
        }
        errors.extend(checks.into_iter().filter_map(Result::err));
    }
    errors
}

#[test]
fn iqr_matches_pandas_reference() {
    let dir = golden_dir();
    let manifest = std::fs::read_to_string(dir.join("manifest.csv")).unwrap();
    let mut lines = manifest.lines();
    assert_eq!(lines.next(), Some("file,series,n,a,smooth"));
    let mut errors = Vec::new();
    let mut fixtures = 0;
    let mut anomalies = 0;
    let mut smoothings = std::collections::BTreeSet::new();
    for line in lines {
        let c: Vec<&str> = line.split(',').collect();
        let (file, n, a, smooth) = (c[0], c[2], c[3], c[4]);
        let params = IqrParams {
            n: n.parse().unwrap(),
            a: a.parse().unwrap(),
            smooth: smooth.parse::<Smoothing>().unwrap(),
        };
        smoothings.insert(smooth.to_string());
        let rows = read_fixture(&dir.join(file));
        let series =
            Series::new(1_700_000_000, 900, rows.iter().map(|r| r.value).collect()).unwrap();
        let detection = iqr(&series, &params).unwrap();
        anomalies += detection.anomaly_count();
        let points: Vec<Point> = detection.points().collect();
        errors.extend(compare(file, &rows, &points));
        fixtures += 1;
    }
    assert!(fixtures >= 20, "only {fixtures} fixtures");
    assert_eq!(smoothings.len(), 3);
    assert!(anomalies > 0, "fixtures exercise no anomaly");
    assert!(
        errors.is_empty(),
        "{} mismatches, first ones:\n{}",
        errors.len(),
        errors
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
