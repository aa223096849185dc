//! CSV I/O for `vigil detect`: a `timestamp,value` file in, a series of
//! detector points out.
//!
//! Input: header `timestamp,value`; timestamps in RFC 3339 (any offset,
//! converted to UTC) or `YYYY-MM-DD HH:MM:SS` (UTC), whole seconds, strictly
//! increasing; an empty value is a gap. A value written as `NaN` or `inf` (a
//! ratio over zero views, say) is a gap too, and said so: counted in
//! [`CsvSeries::literal_gaps`] and logged with the first one's line. Any
//! other value must be a finite number within ±[`detect::MAX_MAGNITUDE`]: a number
//! that overflows `f64` (10,000 digits) or lies beyond it (`1e308`) is
//! refused with its line, never read as a gap. The step is the smallest
//! difference between consecutive timestamps; every timestamp must lie on
//! that grid, and buckets without a row become gaps. With fewer than two rows
//! the step is 900 s (it does not matter then: no detector has a band). A
//! file whose grid would hold more buckets than its [`SpanLimit`] allows is
//! refused before anything is allocated for the grid.
//!
//! Output: header `timestamp,value,lower,upper,expected,is_anomaly,score`, one
//! row per bucket (gaps included), timestamps in the family of the first input
//! row (RFC 3339 as `YYYY-MM-DDTHH:MM:SSZ`, or `YYYY-MM-DD HH:MM:SS`), floats
//! in shortest round-trip form, empty cells where there is no value or no
//! band, `is_anomaly` as 0/1.

use std::io::{Read, Write};

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, NaiveDateTime};
use detect::{Detection, Series};

mod cells;
mod limits;

use limits::{check_span, is_non_finite_literal, parse_value};
pub use limits::{
    LiteralGaps, SpanLimit, SpanTooLong, BUCKETS_PER_ROW, MAX_BUCKETS, MAX_BUCKETS_LEARNED,
    MIN_BUCKET_LIMIT,
};

/// Step used when it cannot be inferred (fewer than two rows).
pub const DEFAULT_STEP: i64 = 900;

const PLAIN_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// How timestamps are written back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// `2024-05-01T12:15:00Z`.
    Rfc3339,
    /// `2024-05-01 12:15:00` (UTC).
    Plain,
}

impl TimeFormat {
    /// Formats unix seconds (UTC).
    pub fn format(self, secs: i64) -> String {
        match DateTime::from_timestamp(secs, 0) {
            Some(dt) => match self {
                TimeFormat::Rfc3339 => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                TimeFormat::Plain => dt.format(PLAIN_FORMAT).to_string(),
            },
            None => secs.to_string(),
        }
    }
}

/// A series read from CSV plus how its timestamps were written.
#[derive(Debug, Clone)]
pub struct CsvSeries {
    pub series: Series,
    pub format: TimeFormat,
    /// Values written as `NaN` or `inf`, read as gaps.
    pub literal_gaps: LiteralGaps,
}

/// Parses one timestamp cell: unix seconds and the format family.
pub fn parse_timestamp(cell: &str) -> Result<(i64, TimeFormat), String> {
    if let Some(parsed) = cells::parse_timestamp_fast(cell) {
        return Ok(parsed);
    }
    let (secs, nanos, format) = if let Ok(dt) = DateTime::parse_from_rfc3339(cell) {
        (
            dt.timestamp(),
            dt.timestamp_subsec_nanos(),
            TimeFormat::Rfc3339,
        )
    } else if let Ok(dt) = NaiveDateTime::parse_from_str(cell, PLAIN_FORMAT) {
        let dt = dt.and_utc();
        (
            dt.timestamp(),
            dt.timestamp_subsec_nanos(),
            TimeFormat::Plain,
        )
    } else {
        return Err(format!(
            "cannot parse timestamp {cell:?} (expected RFC 3339 like 2024-05-01T12:15:00Z or YYYY-MM-DD HH:MM:SS)"
        ));
    };
    if nanos != 0 {
        return Err(format!("timestamp {cell:?} has a fraction of a second"));
    }
    Ok((secs, format))
}

/// Reads a `timestamp,value` CSV. `name` prefixes errors:
/// `in.csv:17: cannot parse value "abc" as a number`.
pub fn read_series(input: impl Read, name: &str) -> anyhow::Result<CsvSeries> {
    read_series_within(input, name, SpanLimit::DEFAULT)
}

/// [`read_series`] within another limit on the buckets the file may expand
/// to. A span beyond it is a [`SpanTooLong`] error.
pub fn read_series_within(
    input: impl Read,
    name: &str,
    span_limit: SpanLimit,
) -> anyhow::Result<CsvSeries> {
    read_table(input, name, false, span_limit).map(|(series, _)| series)
}

/// Reads a `timestamp,value,label` CSV (label `0` or `1`; for `vigil eval`):
/// the series as [`read_series`] reads it, and one label per bucket (buckets
/// without a row are unlabelled, `false`).
pub fn read_labelled_series(
    input: impl Read,
    name: &str,
) -> anyhow::Result<(CsvSeries, Vec<bool>)> {
    read_table(input, name, true, SpanLimit::DEFAULT)
}

fn parse_label(cell: &str) -> Result<bool, String> {
    match cell {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(format!("label {cell:?} is not 0 or 1")),
    }
}

fn read_table(
    input: impl Read,
    name: &str,
    labelled: bool,
    span_limit: SpanLimit,
) -> anyhow::Result<(CsvSeries, Vec<bool>)> {
    let (header, fields): (&[&str], &str) = if labelled {
        (&["timestamp", "value", "label"], "timestamp,value,label")
    } else {
        (&["timestamp", "value"], "timestamp,value")
    };
    // Cells are trimmed (`str::trim`) where they are read: csv's own
    // `Trim::All` does the same but builds a new record for every row.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut rows: Vec<(u64, i64, Option<f64>, bool)> = Vec::new();
    let mut format = None;
    let mut literal_gaps = LiteralGaps::default();
    let mut header_seen = false;
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            anyhow!("{name}:{line}: {}", csv_reason(&e))
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record[0].trim().is_empty() {
            continue; // blank line
        }
        if !header_seen {
            header_seen = true;
            let cells: Vec<String> = record
                .iter()
                .map(|c| c.trim().to_ascii_lowercase())
                .collect();
            if cells != header {
                bail!(
                    "{name}:{line}: expected the header \"{fields}\", got {:?}",
                    record.iter().map(str::trim).collect::<Vec<_>>().join(",")
                );
            }
            continue;
        }
        if record.len() != header.len() {
            bail!(
                "{name}:{line}: expected {} fields ({fields}), got {}",
                header.len(),
                record.len()
            );
        }
        let cell = |i: usize| record[i].trim();
        let (ts, fmt) = parse_timestamp(cell(0)).map_err(|e| anyhow!("{name}:{line}: {e}"))?;
        let value = match cell(1) {
            "" => None,
            text if is_non_finite_literal(text) => {
                literal_gaps.note(line);
                None
            }
            text => Some(parse_value(text).map_err(|e| anyhow!("{name}:{line}: {e}"))?),
        };
        let label = if labelled {
            parse_label(cell(2)).map_err(|e| anyhow!("{name}:{line}: {e}"))?
        } else {
            false
        };
        if let Some(&(prev_line, prev, _, _)) = rows.last() {
            if ts <= prev {
                bail!(
                    "{name}:{line}: timestamp {:?} is not after the one on line {prev_line} (timestamps must be increasing)",
                    cell(0)
                );
            }
        }
        format.get_or_insert(fmt);
        rows.push((line, ts, value, label));
    }
    if !header_seen {
        bail!("{name}: empty input (expected the header \"{fields}\")");
    }
    let format = format.unwrap_or(TimeFormat::Rfc3339);
    if let Some(first) = literal_gaps.first_line {
        tracing::warn!(
            "{name}: {} value(s) written as NaN or inf, the first on line {first} (column 2), \
             read as gaps (they never alert)",
            literal_gaps.count
        );
    }
    let step = rows
        .windows(2)
        .map(|w| w[1].1 - w[0].1)
        .min()
        .unwrap_or(DEFAULT_STEP);
    let start = rows.first().map_or(0, |r| r.1);
    check_span(&rows, step, format, name, span_limit)?;
    let mut values: Vec<Option<f64>> = Vec::with_capacity(rows.len());
    let mut labels: Vec<bool> = Vec::with_capacity(if labelled { rows.len() } else { 0 });
    for &(line, ts, value, label) in &rows {
        let offset = ts - start;
        if offset % step != 0 {
            bail!(
                "{name}:{line}: timestamp {} is off the {step}-second grid that starts at {} (step inferred as the smallest gap between rows)",
                format.format(ts),
                format.format(start)
            );
        }
        // In range: check_span bounded the last (largest) offset.
        let index = (offset / step) as usize;
        values.resize(index, None);
        values.push(value);
        if labelled {
            labels.resize(index, false);
            labels.push(label);
        }
    }
    let series =
        Series::new(start, step, values).with_context(|| format!("{name}: invalid series"))?;
    let csv = CsvSeries {
        series,
        format,
        literal_gaps,
    };
    Ok((csv, labels))
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8".to_string(),
        _ => e.to_string(),
    }
}

/// One CSV cell: quoted when it holds a comma, quote or line break (slice
/// values and user names are data and may).
pub fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Writes one row per bucket; see the module docs for the format. The rows
/// are formatted into one reused buffer (no `String` per cell, no fresh
/// pages for a whole file) and handed to `output` a buffer at a time.
pub fn write_points(
    mut output: impl Write,
    input: &CsvSeries,
    detection: &Detection,
) -> anyhow::Result<()> {
    const CHUNK: usize = 1 << 18;
    // The longest row: a timestamp of up to 20 bytes (longer ones only
    // outside years 0..=9999), five floats of up to 24 bytes in the common
    // path, separators. A longer row only makes the buffer grow.
    const ROOM: usize = 256;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + ROOM);
    buf.extend_from_slice(b"timestamp,value,lower,upper,expected,is_anomaly,score\n");
    let mut timestamps = cells::TimestampWriter::new(input.format);
    let optional = |buf: &mut Vec<u8>, x: Option<f64>| {
        if let Some(x) = x {
            cells::push_f64(buf, x);
        }
        buf.push(b',');
    };
    for (i, p) in detection.points().enumerate() {
        timestamps.write(&mut buf, input.series.timestamp(i));
        buf.push(b',');
        optional(&mut buf, p.value);
        optional(&mut buf, p.lower);
        optional(&mut buf, p.upper);
        optional(&mut buf, p.expected);
        buf.extend_from_slice(if p.is_anomaly { b"1," } else { b"0," });
        if p.lower.is_some() && p.upper.is_some() {
            cells::push_f64(&mut buf, p.score);
        }
        buf.push(b'\n');
        if buf.len() >= CHUNK {
            output.write_all(&buf)?;
            buf.clear();
        }
    }
    output.write_all(&buf)?;
    output.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> anyhow::Result<CsvSeries> {
        read_series(text.as_bytes(), "in.csv")
    }

    #[test]
    fn infers_step_and_fills_missing_rows() {
        let s = read(
            "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:15:00,\n2024-01-01 00:45:00,3\n",
        )
        .unwrap();
        assert_eq!(s.format, TimeFormat::Plain);
        assert_eq!(s.series.step, 900);
        assert_eq!(
            s.series.values().collect::<Vec<_>>(),
            vec![Some(1.0), None, None, Some(3.0)]
        );
        assert_eq!(
            s.format.format(s.series.timestamp(2)),
            "2024-01-01 00:30:00"
        );
    }

    #[test]
    fn rfc3339_with_offsets() {
        let s =
            read("timestamp,value\n2024-01-01T01:00:00+01:00,1\n2024-01-01T00:15:00Z,2\n").unwrap();
        assert_eq!(s.format, TimeFormat::Rfc3339);
        assert_eq!(s.format.format(s.series.start), "2024-01-01T00:00:00Z");
    }

    #[test]
    fn errors_name_the_line() {
        let e = |t: &str| format!("{:#}", read(t).unwrap_err());
        assert_eq!(
            e("timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:15:00,abc\n"),
            "in.csv:3: cannot parse value \"abc\" as a number"
        );
        assert!(e("timestamp,value\nyesterday,1\n")
            .starts_with("in.csv:2: cannot parse timestamp \"yesterday\""));
        assert!(e("time,v\n").starts_with("in.csv:1: expected the header"));
        assert!(
            e("timestamp,value\n2024-01-01 00:15:00,1\n2024-01-01 00:00:00,1\n")
                .starts_with("in.csv:3: timestamp")
        );
        assert!(e("timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:10:00,1\n2024-01-01 00:25:00,1\n")
            .starts_with("in.csv:4: timestamp 2024-01-01 00:25:00 is off the 600-second grid"));
        assert!(e("timestamp,value\n2024-01-01 00:00:00,1,2\n")
            .starts_with("in.csv:2: expected 2 fields"));
        assert!(e("").contains("empty input"));
    }

    /// Issue 19: an 85-byte file whose three rows span 49 million buckets
    /// took 2.76 GB. The span is refused before the grid is allocated, with
    /// the figures and what to do.
    #[test]
    fn a_span_far_beyond_the_rows_is_refused_up_front() {
        let text = "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:00:01,2\n2025-07-22 00:00:00,3\n";
        let started = std::time::Instant::now();
        let err = format!("{:#}", read(text).unwrap_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(
            err,
            "in.csv: 3 rows from 2024-01-01 00:00:00 (line 2) to 2025-07-22 00:00:00 (line 4) \
             span 49075201 buckets of 1 s, more than the limit of 1000000 for 3 rows \
             (100 per row, at least 1000000, at most 5000000); the step is the smallest gap \
             between rows (1 s, lines 2 and 3): fix a mistyped timestamp, trim the range, or \
             resample the rows to a coarser step"
        );
        // The same rows at the limit are read: a series mostly of gaps is fine.
        let at_limit = "timestamp,value\n1970-01-01 00:00:00,1\n1970-01-01 00:00:01,2\n1970-01-12 13:46:39,3\n";
        assert_eq!(read(at_limit).unwrap().series.len(), 1_000_000);
        let limit = |rows| SpanLimit::DEFAULT.buckets(rows);
        assert_eq!(limit(3), MIN_BUCKET_LIMIT);
        assert_eq!(limit(20_000), 2_000_000);
        assert_eq!(limit(usize::MAX), MAX_BUCKETS);
    }

    /// 500,000 rows may not span 50 million buckets (2.8 GB with `iqr`, the
    /// limit before): the cap holds however many rows a file has, a lower
    /// one (the learned detector's) wins over the rows' minimum, and a limit
    /// the caller names replaces both, either way.
    #[test]
    fn the_cap_holds_for_many_rows_and_a_given_limit_replaces_it() {
        assert_eq!(SpanLimit::DEFAULT.buckets(500_000), MAX_BUCKETS);
        let learned = SpanLimit::FromRows {
            at_most: MAX_BUCKETS_LEARNED,
        };
        assert_eq!(learned.buckets(500_000), MAX_BUCKETS_LEARNED);
        let tiny = SpanLimit::FromRows { at_most: 5 };
        assert_eq!(tiny.buckets(3), 5);
        assert_eq!(SpanLimit::Given(60_000_000).buckets(3), 60_000_000);
        let text = "timestamp,value\n1970-01-01 00:00:00,1\n1970-01-01 00:00:01,2\n1970-01-01 00:00:09,3\n";
        let within = |max| read_series_within(text.as_bytes(), "in.csv", SpanLimit::Given(max));
        assert_eq!(within(10).unwrap().series.len(), 10);
        let err = within(9).unwrap_err();
        let span = err.downcast_ref::<SpanTooLong>().expect("a span error");
        assert_eq!((span.buckets, span.limit), (10, 9));
        assert_eq!(
            err.to_string(),
            "in.csv: 3 rows from 1970-01-01 00:00:00 (line 2) to 1970-01-01 00:00:09 (line 4) \
             span 10 buckets of 1 s, more than the limit of 9 given; the step is the smallest \
             gap between rows (1 s, lines 2 and 3): fix a mistyped timestamp, trim the range, \
             or resample the rows to a coarser step"
        );
    }

    /// Issue 19: a 10,000-digit number (which overflows to inf) was read as
    /// a gap without a word; `1e308` next to ordinary values turned the
    /// following bands into `-inf..inf`. Each is refused with its line and
    /// column. `NaN` and `inf` written as such stay gaps, and are counted.
    #[test]
    fn values_that_overflow_or_are_too_large_are_refused_with_their_line() {
        let e = |value: &str| {
            let text =
                format!("timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:15:00,{value}\n");
            format!("{:#}", read(&text).unwrap_err())
        };
        let digits = format!("1{}", "0".repeat(10_000));
        assert_eq!(
            e(&digits),
            "in.csv:3: value \"100000000000000000000000...\" (10001 characters) in column 2 \
             overflows a 64-bit float (magnitude above 1.8e308)"
        );
        for huge in ["1e308", "-1.5e101"] {
            assert_eq!(
                e(huge),
                format!(
                    "in.csv:3: value \"{huge}\" in column 2 is beyond ±1e100, the largest magnitude \
                     the detectors compute bands for (their arithmetic would overflow)"
                )
            );
        }
        let text = "timestamp,value\n2024-01-01 00:00:00,1e100\n2024-01-01 00:15:00,-1e100\n2024-01-01 00:30:00,\n2024-01-01 00:45:00,1e-400\n";
        let s = read(text).unwrap();
        assert_eq!(
            s.series.values().collect::<Vec<_>>(),
            vec![Some(1e100), Some(-1e100), None, Some(0.0)]
        );
        assert_eq!(s.literal_gaps, LiteralGaps::default());
        let mut text = String::from("timestamp,value\n2024-01-01 00:00:00,1\n");
        for (i, literal) in ["nan", "NaN", "inf", "-inf", "+Infinity"]
            .iter()
            .enumerate()
        {
            text.push_str(&format!("2024-01-01 {:02}:00:00,{literal}\n", i + 1));
        }
        let s = read(&text).unwrap();
        assert_eq!(s.series.observed(), 1);
        assert_eq!(
            s.literal_gaps,
            LiteralGaps {
                count: 5,
                first_line: Some(3)
            }
        );
    }

    /// `write_points` as it was, through csv::Writer and `to_string`: the
    /// reference the fast writer must match byte for byte.
    fn reference_points(input: &CsvSeries, detection: &Detection) -> Vec<u8> {
        let cell = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer
            .write_record([
                "timestamp",
                "value",
                "lower",
                "upper",
                "expected",
                "is_anomaly",
                "score",
            ])
            .unwrap();
        for (i, p) in detection.points().enumerate() {
            let has_band = p.lower.is_some() && p.upper.is_some();
            writer
                .write_record([
                    input.format.format(input.series.timestamp(i)),
                    cell(p.value),
                    cell(p.lower),
                    cell(p.upper),
                    cell(p.expected),
                    if p.is_anomaly { "1" } else { "0" }.to_string(),
                    if has_band {
                        p.score.to_string()
                    } else {
                        String::new()
                    },
                ])
                .unwrap();
        }
        writer.into_inner().unwrap()
    }

    #[test]
    fn points_match_the_reference_writer() {
        use detect::{DetectorSpec, IqrParams};
        // Fractions, whole numbers, huge and tiny magnitudes, negatives and
        // gaps, over a leap day, at an odd step; both timestamp families.
        let mut x: u64 = 7;
        let values: Vec<Option<f64>> = (0..5000)
            .map(|i| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (x >> 11) as f64 / (1u64 << 53) as f64;
                match i % 500 {
                    0..=99 => Some((1000.0 * u).round()),
                    100..=199 => Some(0.1 + u),
                    200..=249 => Some(-1e-7 * u),
                    250..=299 => Some(1e19 * (u - 0.5)),
                    300..=309 => None,
                    310..=319 => Some(-0.0),
                    _ => Some(1e3 * (u - 0.3)),
                }
            })
            .collect();
        let start = cells::days_from_civil(2024, 2, 27) * 86_400 + 3;
        let series = Series::new(start, 77, values).unwrap();
        for format in [TimeFormat::Rfc3339, TimeFormat::Plain] {
            for n in [3, 24] {
                let spec = DetectorSpec::Iqr(IqrParams {
                    n,
                    ..IqrParams::default()
                });
                let detection = spec.run(&series).unwrap();
                let input = CsvSeries {
                    series: series.clone(),
                    format,
                    literal_gaps: LiteralGaps::default(),
                };
                let mut fast = Vec::new();
                write_points(&mut fast, &input, &detection).unwrap();
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    String::from_utf8(reference_points(&input, &detection)).unwrap()
                );
            }
        }
    }

    #[test]
    fn labelled_series() {
        let read = |t: &str| read_labelled_series(t.as_bytes(), "l.csv");
        let (s, labels) = read(
            "timestamp,value,label\n2024-01-01 00:00:00,1,0\n2024-01-01 00:15:00,,1\n2024-01-01 00:45:00,3,1\n",
        )
        .unwrap();
        assert_eq!(s.series.len(), 4);
        assert_eq!(labels, vec![false, true, false, true]);
        let e = |t: &str| format!("{:#}", read(t).unwrap_err());
        assert_eq!(
            e("timestamp,value,label\n2024-01-01 00:00:00,1,0\n2024-01-01 00:15:00,2,yes\n"),
            "l.csv:3: label \"yes\" is not 0 or 1"
        );
        assert!(e("timestamp,value\n")
            .starts_with("l.csv:1: expected the header \"timestamp,value,label\""));
        assert!(e("timestamp,value,label\n2024-01-01 00:00:00,1\n")
            .starts_with("l.csv:2: expected 3 fields (timestamp,value,label), got 2"));
    }
}
