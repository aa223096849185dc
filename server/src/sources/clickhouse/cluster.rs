//! Sharded clusters, the pure part: which local table a `Distributed` table
//! reads (parsed from `system.tables.engine_full`), and the SQL that names the
//! shards and builds the `Distributed` rollup over each shard's local rollup.
//!
//! On a cluster the rollup is per shard: an `AggregatingMergeTree` and its
//! materialized view on each shard's local event table (the DDL of
//! [`super::rollup`], run on the local table), and on the servers vigil reads
//! through, a `Distributed` table over those under the name reads already use
//! (`feed_actions_rollup_15m`). The reads' `countMerge`/`uniqExactMerge` then
//! run per shard and the initiator merges the states, as it does for raw reads.

use super::ddl::{qualified, quote};
use super::rollup::rollup_name;
use crate::metrics::check_identifier;

/// What a `Distributed` table reads: `Distributed(cluster, database, table[, key])`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistributedTarget {
    pub cluster: String,
    pub database: String,
    pub table: String,
}

/// `engine_full` of a Distributed table, e.g.
/// `Distributed(vigil_cluster, vigil, feed_actions_local, cityHash64(user_id))`
/// (arguments may be quoted as strings or identifiers). An argument that is an
/// expression (`currentDatabase()`) is refused: vigil must know the names.
pub fn parse_distributed(engine_full: &str) -> Result<DistributedTarget, String> {
    let cannot = |why: &str| format!("cannot read the Distributed engine `{engine_full}`: {why}");
    let inner = engine_full
        .trim()
        .strip_prefix("Distributed(")
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(|| cannot("expected Distributed(cluster, database, table, ...)"))?;
    let arguments = split_arguments(inner);
    let [cluster, database, table] = match arguments.get(..3) {
        Some([cluster, database, table]) => [cluster, database, table].map(|a| unquote(a)),
        _ => return Err(cannot("fewer than three arguments")),
    };
    for (what, name) in [
        ("cluster name", &cluster),
        ("database name", &database),
        ("table name", &table),
    ] {
        check_identifier(what, name).map_err(|error| cannot(&error.to_string()))?;
    }
    Ok(DistributedTarget {
        cluster,
        database,
        table,
    })
}

/// Top-level comma-separated arguments (commas inside brackets or quotes kept).
fn split_arguments(text: &str) -> Vec<String> {
    let (mut arguments, mut current) = (Vec::new(), String::new());
    let (mut depth, mut quote_char, mut escaped) = (0_i32, None, false);
    for c in text.chars() {
        match quote_char {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(open) if c == open => quote_char = None,
            Some(_) => {}
            None => match c {
                '\'' | '`' | '"' => quote_char = Some(c),
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ',' if depth == 0 => {
                    arguments.push(current.trim().to_string());
                    current.clear();
                    continue;
                }
                _ => {}
            },
        }
        current.push(c);
    }
    arguments.push(current.trim().to_string());
    arguments
}

/// `'name'`, `` `name` `` or `"name"` to `name` (escapes undone).
fn unquote(argument: &str) -> String {
    let mut chars = argument.chars();
    match (chars.next(), argument.chars().last()) {
        (Some(open @ ('\'' | '`' | '"')), Some(close)) if open == close && argument.len() > 1 => {
            let body = &argument[1..argument.len() - 1];
            let mut out = String::new();
            let mut escaped = false;
            for c in body.chars() {
                if !escaped && c == '\\' {
                    escaped = true;
                    continue;
                }
                escaped = false;
                out.push(c);
            }
            out
        }
        _ => argument.to_string(),
    }
}

/// The Distributed tables among `?` (database) and the two `?` table names,
/// with their engines: `(name, engine_full)`.
pub const SELECT_DISTRIBUTED: &str = "SELECT name, engine_full FROM system.tables \
     WHERE database = ? AND engine = 'Distributed' AND (name = ? OR name = ?) ORDER BY name";

/// The shards of cluster `?`: `(shard_num, replicas, first replica's host:port)`.
pub const SELECT_SHARDS: &str = "SELECT toUInt32(shard_num), toUInt32(count()), \
     concat(any(host_name), ':', toString(any(port))) FROM system.clusters \
     WHERE cluster = ? GROUP BY shard_num ORDER BY shard_num";

/// Which shard of cluster `?` the server answering is (no row: none).
pub const SELECT_LOCAL_SHARD: &str = "SELECT toUInt32(shard_num) FROM system.clusters \
     WHERE cluster = ? AND is_local = 1";

/// Tables of database `?`: `(name, engine_full)`.
pub const SELECT_TABLES: &str = "SELECT name, engine_full FROM system.tables WHERE database = ?";

/// The Distributed rollup `database.<event table>_rollup_15m` over every
/// shard's `<local table>_rollup_15m`; no sharding key (nothing is inserted
/// through it: each shard's view fills its own local rollup).
pub fn create_distributed_rollup(
    database: &str,
    event_table: &str,
    target: &DistributedTarget,
) -> String {
    let local_rollup = rollup_name(&target.table);
    format!(
        "CREATE TABLE IF NOT EXISTS {} AS {} ENGINE = Distributed({}, {}, {})",
        qualified(database, &rollup_name(event_table)),
        qualified(&target.database, &local_rollup),
        quote(&target.cluster),
        quote(&target.database),
        quote(&local_rollup)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributed_engines_parse_with_plain_or_quoted_arguments() {
        let want = DistributedTarget {
            cluster: "vigil_cluster".into(),
            database: "vigil".into(),
            table: "feed_actions_local".into(),
        };
        for engine in [
            "Distributed(vigil_cluster, vigil, feed_actions_local, cityHash64(user_id))",
            "Distributed('vigil_cluster', 'vigil', 'feed_actions_local', rand())",
            "Distributed(`vigil_cluster`, `vigil`, `feed_actions_local`)",
        ] {
            assert_eq!(parse_distributed(engine), Ok(want.clone()), "{engine}");
        }
        let error = parse_distributed("Distributed(c, currentDatabase(), t)").unwrap_err();
        assert!(error.contains("currentDatabase()"), "{error}");
        assert!(parse_distributed("MergeTree() ORDER BY time").is_err());
        assert!(parse_distributed("Distributed(c, db)").is_err());
    }

    #[test]
    fn the_distributed_rollup_reads_each_shards_local_rollup() {
        let target = parse_distributed("Distributed(vigil_cluster, vigil, feed_actions_local)")
            .expect("parsed");
        assert_eq!(
            create_distributed_rollup("vigil", "feed_actions", &target),
            "CREATE TABLE IF NOT EXISTS `vigil`.`feed_actions_rollup_15m` AS \
             `vigil`.`feed_actions_local_rollup_15m` ENGINE = \
             Distributed(`vigil_cluster`, `vigil`, `feed_actions_local_rollup_15m`)"
        );
    }
}
