//! Real events from files: CSV or TSV with a header row (what
//! `clickhouse-client --query "SELECT * FROM feed_actions FORMAT CSVWithNames"`
//! or `... FORMAT TSVWithNames` writes) into typed rows for the embedded store.
//!
//! Every row is checked before anything is stored: a bad row is reported with
//! its line number and reason, and a file with any bad row loads nothing (the
//! caller stores a file's rows in one transaction). Columns may come in any
//! order; every column of the table must be there and no other. `time` is
//! unix seconds or `YYYY-MM-DD HH:MM:SS` in UTC (ClickHouse prints a DateTime
//! in the server's time zone: export from a server in UTC, or as
//! `toUInt32(time) AS time`).

use std::collections::BTreeMap;
use std::fmt;

use crate::events::{EventBatch, FeedAction, FeedActionKind, MessageAction};
use crate::metrics::model::EventTable;

/// How fields are separated and quoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated, `"`-quoted fields (ClickHouse's CSVWithNames).
    Csv,
    /// Tab-separated, backslash escapes, no quoting (ClickHouse's TSVWithNames).
    Tsv,
}

impl Format {
    /// TSV for `.tsv` and `.tab` files, CSV otherwise.
    pub fn from_file_name(name: &str) -> Self {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".tsv") || lower.ends_with(".tab") {
            Format::Tsv
        } else {
            Format::Csv
        }
    }
}

/// One problem with the input: a line (1-based) or the file as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadInput {
    pub line: Option<u64>,
    pub reason: String,
}

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// At most this many bad rows are listed per file (then a count of the rest).
pub const MAX_REPORTED: usize = 20;

/// The problems of a rejected file: the first [`MAX_REPORTED`] and how many in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub problems: Vec<BadInput>,
    pub total: usize,
}

/// Columns of `table`, in the order of the ClickHouse DDL.
pub fn columns(table: EventTable) -> &'static [&'static str] {
    match table {
        EventTable::FeedActions => &[
            "user_id",
            "post_id",
            "action",
            "time",
            "gender",
            "age",
            "country",
            "city",
            "os",
            "source",
            "exp_group",
        ],
        EventTable::MessageActions => &[
            "user_id",
            "receiver_id",
            "time",
            "source",
            "exp_group",
            "gender",
            "age",
            "country",
            "city",
            "os",
        ],
    }
}

/// Parse a whole file of `table` rows; `Err` lists why it cannot be loaded.
pub fn parse(bytes: &[u8], table: EventTable, format: Format) -> Result<EventBatch, Rejected> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(if format == Format::Tsv { b'\t' } else { b',' })
        .quoting(format == Format::Csv)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let whole_file = |reason: String| Rejected {
        problems: vec![BadInput { line: None, reason }],
        total: 1,
    };
    let header = match records.next() {
        None => return Err(whole_file("empty file: expected a header row".into())),
        Some(Err(error)) => return Err(whole_file(format!("header row: {error}"))),
        Some(Ok(header)) => header,
    };
    let positions = header_positions(&header, table, format).map_err(whole_file)?;
    let mut batch = EventBatch::default();
    let mut problems = Vec::new();
    let mut total = 0;
    for record in records {
        let row = record
            .map_err(|error| (error.position().map(|p| p.line()), error.to_string()))
            .and_then(|record| {
                let line = record.position().map(|p| p.line());
                let fields = Fields::new(&record, &positions, format, header.len())
                    .map_err(|reason| (line, reason))?;
                add_row(&mut batch, table, &fields).map_err(|reason| (line, reason))
            });
        if let Err((line, reason)) = row {
            total += 1;
            if problems.len() < MAX_REPORTED {
                problems.push(BadInput { line, reason });
            }
        }
    }
    if total > 0 {
        return Err(Rejected { problems, total });
    }
    Ok(batch)
}

/// Column name -> field index, checking the header names exactly the table's columns.
fn header_positions(
    header: &csv::ByteRecord,
    table: EventTable,
    format: Format,
) -> Result<BTreeMap<&'static str, usize>, String> {
    let wanted = columns(table);
    let mut positions = BTreeMap::new();
    for (index, raw) in header.iter().enumerate() {
        let name = text(raw, format).map_err(|reason| format!("header row: {reason}"))?;
        let name = name.trim();
        let Some(&column) = wanted.iter().find(|column| **column == name) else {
            return Err(format!(
                "header row: `{name}` is not a column of {} ({})",
                table.as_str(),
                wanted.join(", ")
            ));
        };
        if positions.insert(column, index).is_some() {
            return Err(format!("header row: column `{name}` appears twice"));
        }
    }
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|column| !positions.contains_key(*column))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "header row: missing column(s) {} of {}",
            missing.join(", "),
            table.as_str()
        ));
    }
    Ok(positions)
}

/// One row's fields by column name, as text.
struct Fields {
    by_column: BTreeMap<&'static str, String>,
}

impl Fields {
    fn new(
        record: &csv::ByteRecord,
        positions: &BTreeMap<&'static str, usize>,
        format: Format,
        header_len: usize,
    ) -> Result<Self, String> {
        if record.len() != header_len {
            return Err(format!(
                "{} fields, the header has {header_len}",
                record.len()
            ));
        }
        let mut by_column = BTreeMap::new();
        for (&column, &index) in positions {
            let value = text(&record[index], format)
                .map_err(|reason| format!("column `{column}`: {reason}"))?;
            by_column.insert(column, value);
        }
        Ok(Self { by_column })
    }

    fn text(&self, column: &str) -> String {
        self.by_column.get(column).cloned().unwrap_or_default()
    }

    fn number<T: std::str::FromStr>(&self, column: &str, range: &str) -> Result<T, String> {
        let value = self.text(column);
        value
            .trim()
            .parse()
            .map_err(|_| format!("column `{column}`: `{value}` is not a whole number in {range}"))
    }

    fn time(&self) -> Result<i64, String> {
        let value = self.text("time");
        let trimmed = value.trim();
        let unix = match trimmed.parse::<i64>() {
            Ok(unix) => Some(unix),
            Err(_) => chrono::NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|time| time.and_utc().timestamp()),
        };
        // ClickHouse's DateTime range: what the store's times can be.
        match unix {
            Some(unix) if (0..=i64::from(u32::MAX)).contains(&unix) => Ok(unix),
            _ => Err(format!(
                "column `time`: `{value}` is not unix seconds or `YYYY-MM-DD HH:MM:SS` \
                 (UTC) between 1970 and 2106"
            )),
        }
    }
}

fn add_row(batch: &mut EventBatch, table: EventTable, fields: &Fields) -> Result<(), String> {
    const U32: &str = "0..=4294967295";
    const U8: &str = "0..=255";
    match table {
        EventTable::FeedActions => {
            let action = match fields.text("action").as_str() {
                "view" => FeedActionKind::View,
                "like" => FeedActionKind::Like,
                other => {
                    return Err(format!(
                        "column `action`: `{other}` is neither `view` nor `like`"
                    ))
                }
            };
            batch.feed.push(FeedAction {
                user_id: fields.number("user_id", U32)?,
                post_id: fields.number("post_id", U32)?,
                action,
                time: fields.time()?,
                gender: fields.number("gender", U8)?,
                age: fields.number("age", U8)?,
                country: fields.text("country"),
                city: fields.text("city"),
                os: fields.text("os"),
                source: fields.text("source"),
                exp_group: fields.number("exp_group", U8)?,
            });
        }
        EventTable::MessageActions => batch.messages.push(MessageAction {
            user_id: fields.number("user_id", U32)?,
            receiver_id: fields.number("receiver_id", U32)?,
            time: fields.time()?,
            source: fields.text("source"),
            exp_group: fields.number("exp_group", U8)?,
            gender: fields.number("gender", U8)?,
            age: fields.number("age", U8)?,
            country: fields.text("country"),
            city: fields.text("city"),
            os: fields.text("os"),
        }),
    }
    Ok(())
}

/// A field as UTF-8 text; TSV's backslash escapes undone.
fn text(raw: &[u8], format: Format) -> Result<String, String> {
    let value = std::str::from_utf8(raw).map_err(|_| "not UTF-8 text".to_string())?;
    if format == Format::Csv || !value.contains('\\') {
        return Ok(value.to_string());
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next() {
            Some('t') => '\t',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('0') => '\0',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some(other) => other,
            None => return Err("ends in a lone backslash".into()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED_CSV: &str = "\"user_id\",\"post_id\",\"action\",\"time\",\"gender\",\"age\",\"country\",\"city\",\"os\",\"source\",\"exp_group\"\n\
        7,12,\"view\",\"2026-12-01 10:00:05\",1,30,\"Russia\",\"Moscow, Center\",\"iOS\",\"ads\",2\n\
        8,13,\"like\",1796119205,0,41,\"Poland\",\"Warsaw\",\"Android\",\"organic\",0\n";

    #[test]
    fn clickhouse_csv_with_names_parses_with_quoted_fields_and_both_time_forms() {
        let batch =
            parse(FEED_CSV.as_bytes(), EventTable::FeedActions, Format::Csv).expect("valid file");
        assert_eq!(batch.feed.len(), 2);
        assert_eq!(batch.feed[0].city, "Moscow, Center");
        assert_eq!(batch.feed[0].time, 1_796_119_205);
        assert_eq!(batch.feed[1].time, 1_796_119_205);
        assert_eq!(batch.feed[1].action, FeedActionKind::Like);
    }

    #[test]
    fn tsv_columns_in_any_order_with_escapes() {
        let tsv = "os\tcity\tcountry\tage\tgender\texp_group\tsource\ttime\treceiver_id\tuser_id\n\
                   Android\tSaint\\tPetersburg\tRussia\t22\t1\t3\tads\t2026-12-01 00:00:00\t5\t9\n";
        let batch = parse(tsv.as_bytes(), EventTable::MessageActions, Format::Tsv).expect("valid");
        assert_eq!(batch.messages[0].city, "Saint\tPetersburg");
        assert_eq!(
            (batch.messages[0].user_id, batch.messages[0].receiver_id),
            (9, 5)
        );
    }

    #[test]
    fn every_bad_row_is_reported_by_line_and_nothing_is_returned() {
        let bad = format!(
            "{FEED_CSV}9,1,\"click\",1796119205,0,41,\"PL\",\"W\",\"iOS\",\"ads\",0\n\
             9,1,\"view\",1796119205,0,300,\"PL\",\"W\",\"iOS\",\"ads\",0\n\
             9,1,\"view\",\"yesterday\",0,3,\"PL\",\"W\",\"iOS\",\"ads\",0\n\
             9,1,\"view\"\n"
        );
        let rejected =
            parse(bad.as_bytes(), EventTable::FeedActions, Format::Csv).expect_err("bad rows");
        let lines: Vec<String> = rejected.problems.iter().map(ToString::to_string).collect();
        assert_eq!(rejected.total, 4, "{lines:?}");
        assert!(
            lines[0].starts_with("line 4: column `action`: `click`"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("line 5: column `age`: `300`"),
            "{lines:?}"
        );
        assert!(
            lines[2].starts_with("line 6: column `time`: `yesterday`"),
            "{lines:?}"
        );
        assert_eq!(lines[3], "line 7: 3 fields, the header has 11");
    }

    #[test]
    fn headers_must_name_exactly_the_tables_columns() {
        let missing = "user_id,post_id\n1,2\n";
        let rejected = parse(missing.as_bytes(), EventTable::FeedActions, Format::Csv)
            .expect_err("missing columns");
        assert!(rejected.problems[0]
            .reason
            .contains("missing column(s) action, time"));
        let wrong = FEED_CSV.replace("post_id", "receiver_id");
        let rejected = parse(wrong.as_bytes(), EventTable::FeedActions, Format::Csv)
            .expect_err("a message column in a feed file");
        assert!(rejected.problems[0]
            .reason
            .contains("`receiver_id` is not a column of feed_actions"));
        let empty = parse(b"", EventTable::MessageActions, Format::Tsv).expect_err("empty");
        assert!(empty.problems[0].reason.contains("empty file"));
    }
}
