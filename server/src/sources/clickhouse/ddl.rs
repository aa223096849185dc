//! The ClickHouse schema vigil reads and (for the simulator) writes.
//!
//! One spelling for every server from Debian's 18.16 to current releases: the
//! `ENGINE = MergeTree() PARTITION BY ... ORDER BY ...` syntax (18.16 accepts it),
//! plain `String` and `UInt*` columns (no `LowCardinality`, added in 19.x), and
//! daily partitions so dropping old data stays cheap. The sort key `(time)` is
//! what every metric query filters on; `docs/clickhouse.md` shows the same DDL.

/// The table holding labelled incidents (ground truth written by the simulator).
pub const INCIDENTS_TABLE: &str = "incidents";

/// `` `name` ``, with backquotes and backslashes escaped. Names are also checked
/// against the identifier whitelist before they get here; this is belt and braces.
pub fn quote(identifier: &str) -> String {
    let mut quoted = String::with_capacity(identifier.len() + 2);
    quoted.push('`');
    for c in identifier.chars() {
        if c == '`' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('`');
    quoted
}

/// `` `database`.`table` ``.
pub fn qualified(database: &str, table: &str) -> String {
    format!("{}.{}", quote(database), quote(table))
}

pub fn create_database(database: &str) -> String {
    format!("CREATE DATABASE IF NOT EXISTS {}", quote(database))
}

pub fn create_feed_actions(database: &str, table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\
         user_id UInt32, post_id UInt32, action String, time DateTime, \
         gender UInt8, age UInt8, country String, city String, os String, \
         source String, exp_group UInt8\
         ) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (time)",
        qualified(database, table)
    )
}

pub fn create_message_actions(database: &str, table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\
         user_id UInt32, receiver_id UInt32, time DateTime, source String, \
         exp_group UInt8, gender UInt8, age UInt8, country String, city String, \
         os String\
         ) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (time)",
        qualified(database, table)
    )
}

/// Incidents are few and rewritten by id: `ReplacingMergeTree` keeps the row with
/// the highest `version` per id once parts merge, and reads use `FINAL` so a
/// replaced incident never shows twice before that.
pub fn create_incidents(database: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\
         id UInt32, start_time DateTime, end_time DateTime, kind String, \
         metric String, slice_dimension Nullable(String), slice_value Nullable(String), \
         description String, version UInt64\
         ) ENGINE = ReplacingMergeTree(version) ORDER BY (id)",
        qualified(database, INCIDENTS_TABLE)
    )
}

/// Incidents overlapping `[?, ?)`: bind `from` then `to` (unix seconds).
pub fn select_incidents(database: &str) -> String {
    format!(
        "SELECT id, toUInt32(start_time), toUInt32(end_time), kind, metric, \
         slice_dimension, slice_value, description \
         FROM {} FINAL \
         WHERE end_time > toDateTime(?) AND start_time < toDateTime(?) \
         ORDER BY start_time, id",
        qualified(database, INCIDENTS_TABLE)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_backquotes_and_backslashes() {
        assert_eq!(quote("feed_actions"), "`feed_actions`");
        assert_eq!(quote("a`b\\c"), "`a\\`b\\\\c`");
        assert_eq!(qualified("db", "t"), "`db`.`t`");
    }

    #[test]
    fn tables_use_the_portable_merge_tree_syntax() {
        let feed = create_feed_actions("vigil", "feed_actions");
        assert!(feed.starts_with("CREATE TABLE IF NOT EXISTS `vigil`.`feed_actions` ("));
        assert!(
            feed.ends_with("ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (time)")
        );
        assert!(create_message_actions("vigil", "m").contains("receiver_id UInt32"));
        assert!(create_incidents("vigil").contains("ReplacingMergeTree(version)"));
    }
}
