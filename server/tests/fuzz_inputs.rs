//! Fuzzing what users hand vigil, with proptest and many cases: the CSV
//! reader, the config parser and the metric-definition-to-SQL builder. None
//! may panic; the SQL builder must keep every user value out of the SQL text
//! (bound as a parameter) and emit only statements SQLite prepares with
//! exactly as many placeholders as values.

use proptest::prelude::*;

use server::config::{Config, SecretEnv};
use server::csv_series::{read_labelled_series, read_series};
use server::metrics::model::{
    Aggregate, EventTable, Filter, MetricDef, SliceKey, TableNames, TimeRange,
};
use server::metrics::sql::{build, Dialect};

const EXAMPLE: &str = include_str!("../../vigil.example.toml");

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text that often looks like a CSV row and sometimes is garbage.
fn csv_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2},-?[0-9]{0,6}(\\.[0-9]{0,3})?",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2}),[-0-9.eEinfNa]{0,8}(,[01x]?)?",
        "-?[0-9]{1,20},[0-9.]{0,8}",
        ".{0,40}",
        Just("\"quoted, with comma\",1".to_string()),
        Just(String::new()),
    ];
    (
        prop_oneof![
            Just("timestamp,value"),
            Just("timestamp,value,label"),
            Just("x")
        ],
        prop::collection::vec(line, 0..30),
    )
        .prop_map(|(header, lines)| format!("{header}\n{}", lines.join("\n")))
}

/// The example file with a few random edits (deleted, replaced or inserted characters).
fn mutated_example() -> impl Strategy<Value = String> {
    prop::collection::vec((0..EXAMPLE.len(), 0u8..3, any::<char>()), 1..6).prop_map(|edits| {
        let mut chars: Vec<char> = EXAMPLE.chars().collect();
        for (at, op, c) in edits {
            let at = at % chars.len().max(1);
            match op {
                0 => {
                    chars.remove(at);
                }
                1 => chars[at] = c,
                _ => chars.insert(at, c),
            }
        }
        chars.into_iter().collect()
    })
}

/// Strings a hostile or careless user might put in a filter or slice value.
fn nasty() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,24}",
        Just("'; DROP TABLE feed_actions; --".to_string()),
        Just("\" OR 1=1 --".to_string()),
        Just("?".to_string()),
        Just("`os`".to_string()),
        Just("\\\\'".to_string()),
    ]
}

fn identifier() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("os".to_string()),
        Just("country".to_string()),
        Just("source".to_string()),
        Just("action".to_string()),
        Just("user_id".to_string()),
        Just("city".to_string()),
        ".{0,12}",
    ]
}

fn metric() -> impl Strategy<Value = MetricDef> {
    let aggregate = prop_oneof![
        Just(Aggregate::Count),
        identifier().prop_map(|column| Aggregate::Distinct { column }),
        (
            prop::collection::vec((identifier(), nasty()), 1..3),
            prop::collection::vec((identifier(), nasty()), 1..3)
        )
            .prop_map(|(n, d)| Aggregate::Ratio {
                numerator: n
                    .into_iter()
                    .map(|(column, value)| Filter { column, value })
                    .collect(),
                denominator: d
                    .into_iter()
                    .map(|(column, value)| Filter { column, value })
                    .collect(),
            }),
    ];
    (
        "[a-z_]{1,12}|.{0,12}",
        prop_oneof![
            Just(EventTable::FeedActions),
            Just(EventTable::MessageActions)
        ],
        aggregate,
        prop::collection::vec((identifier(), nasty()), 0..3),
    )
        .prop_map(|(name, table, aggregate, filters)| MetricDef {
            title: name.clone(),
            name,
            table,
            aggregate,
            filters: filters
                .into_iter()
                .map(|(column, value)| Filter { column, value })
                .collect(),
            slices: Vec::new(),
            depends_on: Vec::new(),
            dimensions: Vec::new(),
        })
}

/// `metric` with every filter value replaced by "v".
fn with_plain_values(metric: &MetricDef) -> MetricDef {
    let plain = |filters: &[Filter]| -> Vec<Filter> {
        filters
            .iter()
            .map(|f| Filter {
                column: f.column.clone(),
                value: "v".into(),
            })
            .collect()
    };
    let mut out = metric.clone();
    out.filters = plain(&metric.filters);
    if let Aggregate::Ratio {
        numerator,
        denominator,
    } = &metric.aggregate
    {
        out.aggregate = Aggregate::Ratio {
            numerator: plain(numerator),
            denominator: plain(denominator),
        };
    }
    out
}

/// An SQLite database with the event tables, to prepare the generated SQL against.
fn sqlite_with_schema() -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("vigil.sqlite");
    server::sources::sqlite::SqliteStore::open(&path).expect("store with schema");
    let connection = rusqlite::Connection::open(&path).expect("opens");
    (dir, connection)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_csv_reader_never_panics(text in csv_text()) {
        let _ = read_series(text.as_bytes(), "in.csv");
        let _ = read_labelled_series(text.as_bytes(), "in.csv");
    }

    #[test]
    fn the_csv_reader_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = read_series(bytes.as_slice(), "in.csv");
    }

    #[test]
    fn the_config_parser_never_panics_on_an_edited_example(text in mutated_example()) {
        if let Err(error) = Config::parse(&text, "vigil.toml", &SecretEnv::default()) {
            // Every problem names the file.
            prop_assert!(error.to_string().lines().all(|l| l.starts_with("vigil.toml")));
        }
    }

    #[test]
    fn the_config_parser_never_panics_on_any_text(text in ".{0,200}") {
        let _ = Config::parse(&text, "vigil.toml", &SecretEnv::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_sql_builder_binds_every_value_and_emits_valid_sql(
        metric in metric(),
        slice in prop::option::of((identifier(), nasty())),
        group_by in prop::option::of(identifier()),
        from in 0i64..2_000_000_000,
        len in 1i64..100_000,
    ) {
        let slice = slice.map(|(dimension, value)| SliceKey { dimension, value });
        let range = TimeRange { from, to: from + len };
        let tables = TableNames::default();
        for dialect in [Dialect::Sqlite, Dialect::ClickHouse] {
            let Ok(query) = build(dialect, &metric, &tables, range, slice.as_ref(), group_by.as_deref()) else {
                continue; // refused with an error: fine
            };
            prop_assert_eq!(query.sql.matches('?').count(), query.params.len(), "{}", query.sql);
            // Values never change the statement: the same metric with every
            // value replaced gives the same SQL text, only other parameters.
            let plain = build(dialect, &with_plain_values(&metric), &tables, range,
                slice.as_ref().map(|s| SliceKey { dimension: s.dimension.clone(), value: "v".into() }).as_ref(),
                group_by.as_deref()).expect("same shape builds");
            prop_assert_eq!(&plain.sql, &query.sql);
            if dialect == Dialect::Sqlite {
                let (_dir, connection) = sqlite_with_schema();
                let statement = connection.prepare(&query.sql);
                prop_assert!(statement.is_ok(), "{:?}: {}", statement.err(), query.sql);
                let mut statement = statement.expect("prepared");
                prop_assert_eq!(statement.parameter_count(), query.params.len());
                let rows = statement.query(rusqlite::params_from_iter(query.params.iter()));
                prop_assert!(rows.is_ok(), "runs with its values bound: {}", query.sql);
            }
        }
    }
}
