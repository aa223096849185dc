//! `vigil replay` says what `vigil check --at`, run bucket by bucket from a
//! fresh state, records: the same notifications of the same series at the
//! same buckets, on a simulated store around its injected feed outage.

#[path = "support/cli.rs"]
mod cli;

use std::collections::BTreeSet;

use cli::{format_time, outage, parse_time, simulate_small_store, stdout_of, vigil};

/// One notification: bucket, metric, slice (`os=iOS` or empty), kind.
type Notification = (i64, String, String, String);

#[test]
fn replay_lists_what_the_checks_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("utf-8 path");
    simulate_small_store(&data);
    let (start, end) = outage(&data.join("vigil.sqlite"), "feed_views");
    let first = start - 3600;
    let last = end + 3600;

    let replay = || {
        stdout_of(&vigil(&[
            "replay",
            "--data-dir",
            data_arg,
            "--from",
            &format_time(first),
            "--to",
            &format_time(last + 900 + 120),
        ]))
    };

    // The replay first: it must neither need nor write the alert state.
    let csv = replay();
    let state = data.join("vigil-state.sqlite");
    assert!(!state.exists(), "replay wrote an alert state");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("bucket,metric,slice,notify,muted,started_at,value,expected,deviation")
    );
    let replayed: BTreeSet<Notification> = lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (
                parse_time(cells[0]),
                cells[1].to_string(),
                cells[2].to_string(),
                cells[3].to_string(),
            )
        })
        .collect();

    let mut bucket = first;
    while bucket <= last {
        stdout_of(&vigil(&[
            "check",
            "--data-dir",
            data_arg,
            "--at",
            &format_time(bucket + 900 + 120),
        ]));
        bucket += 900;
    }
    let checked: BTreeSet<Notification> = {
        let connection = rusqlite::Connection::open(&state).expect("state opens");
        let mut statement = connection
            .prepare(
                "SELECT e.bucket, a.metric,
                        COALESCE(a.slice_dimension || '=' || a.slice_value, ''), e.kind
                 FROM alert_events e JOIN alerts a ON a.id = e.alert_id
                 WHERE e.bucket IS NOT NULL",
            )
            .expect("query");
        statement
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("row")
    };
    assert_eq!(
        checked.symmetric_difference(&replayed).collect::<Vec<_>>(),
        Vec::<&Notification>::new(),
        "checked {checked:#?}"
    );
    assert!(
        replayed
            .iter()
            .any(|(b, metric, slice, kind)| metric == "feed_views"
                && slice.is_empty()
                && kind == "opened"
                && (start..end).contains(b)),
        "the outage alerts: {replayed:#?}"
    );

    // A silence the checks would have applied (a Telegram button, the web UI),
    // since ended: the replay reads it from the state and mutes what it covered.
    rusqlite::Connection::open(&state)
        .expect("state opens")
        .execute(
            "INSERT INTO silences (scope, metric, until, created_by, created_at, ended_at)
             VALUES ('metric', 'feed_views', ?1, 'ann', ?2, ?3)",
            [end + 86_400, first, last + 3600],
        )
        .expect("silence recorded");
    let csv = replay();
    let muted: Vec<(&str, &str)> = csv
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells[1], cells[4])
        })
        .collect();
    assert!(
        muted.iter().any(|(metric, _)| *metric == "feed_views"),
        "{csv}"
    );
    for (metric, muted) in muted {
        let silenced = metric == "feed_views";
        assert_eq!(muted, silenced.to_string(), "{metric} in {csv}");
    }
}
