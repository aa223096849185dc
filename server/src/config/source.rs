//! `[source]`: which store the metrics are read from, checked key by key.

use std::path::{Path, PathBuf};

use super::raw::{RawSource, SourceKind};
use super::{
    clickhouse_tls, clickhouse_url, ClickHouseConfig, ClickHouseTls, ClientCertFiles, Secret,
    SecretEnv, SourceConfig, SqliteConfig, DEFAULT_SQLITE_PATH,
};
use crate::metrics;
use crate::metrics::model::TableNames;

/// The source a file configures (the embedded SQLite store without
/// `[source]`); problems are (key path, reason).
pub(super) fn validate(
    raw: Option<RawSource>,
    env: &SecretEnv,
    config_dir: &Path,
    problems: &mut Vec<(String, String)>,
) -> SourceConfig {
    let Some(raw) = raw else {
        return SourceConfig::Sqlite(SqliteConfig::default());
    };
    let mut problem = |key: &str, reason: String| problems.push((key.to_string(), reason));
    // A key of the other kind is a mistake, not something to ignore quietly.
    let (own, other) = match raw.kind {
        SourceKind::Sqlite => ("sqlite", "clickhouse"),
        SourceKind::Clickhouse => ("clickhouse", "sqlite"),
    };
    let keys_of_other_kind: &[(&str, bool)] = match raw.kind {
        SourceKind::Sqlite => &[
            ("url", raw.url.is_some()),
            ("database", raw.database.is_some()),
            ("user", raw.user.is_some()),
            ("password", raw.password.is_some()),
            ("feed_actions_table", raw.feed_actions_table.is_some()),
            ("message_actions_table", raw.message_actions_table.is_some()),
            ("ca_file", raw.ca_file.is_some()),
            ("client_cert_file", raw.client_cert_file.is_some()),
            ("client_key_file", raw.client_key_file.is_some()),
        ],
        SourceKind::Clickhouse => &[("path", raw.path.is_some())],
    };
    for (key, _) in keys_of_other_kind.iter().filter(|(_, set)| *set) {
        problem(
            &format!("source.{key}"),
            format!("only with kind = \"{other}\" (this source is kind = \"{own}\")"),
        );
    }
    match raw.kind {
        SourceKind::Sqlite => {
            let path = match raw.path {
                None => PathBuf::from(DEFAULT_SQLITE_PATH),
                Some(path) if path.as_os_str().is_empty() => {
                    problem(
                        "source.path",
                        format!("must not be empty (the SQLite file, e.g. \"{DEFAULT_SQLITE_PATH}\"; leave the key out for that default)"),
                    );
                    PathBuf::from(DEFAULT_SQLITE_PATH)
                }
                Some(path) => config_dir.join(path),
            };
            SourceConfig::Sqlite(SqliteConfig { path })
        }
        SourceKind::Clickhouse => {
            let tables = TableNames {
                feed_actions: raw
                    .feed_actions_table
                    .unwrap_or_else(|| "feed_actions".into()),
                message_actions: raw
                    .message_actions_table
                    .unwrap_or_else(|| "message_actions".into()),
            };
            for (key, name) in [
                ("source.feed_actions_table", &tables.feed_actions),
                ("source.message_actions_table", &tables.message_actions),
            ] {
                if let Err(error) = metrics::check_identifier("table name", name) {
                    problem(key, error.to_string());
                }
            }
            let database = raw.database.unwrap_or_else(|| "default".into());
            if let Err(error) = metrics::check_identifier("database name", &database) {
                problem("source.database", error.to_string());
            }
            let url = raw.url.unwrap_or_default();
            if url.is_empty() {
                problem(
                    "source.url",
                    "kind = \"clickhouse\" needs `url`, e.g. \"http://localhost:8123\"".into(),
                );
            } else if let Err(reason) = clickhouse_url::public_url(&url) {
                // The same rule `vigil check` applies when it opens the source.
                problem("source.url", reason.into());
            }
            let tls = tls_files(
                [raw.ca_file, raw.client_cert_file, raw.client_key_file],
                url.starts_with("https://"),
                config_dir,
                &mut problem,
            );
            SourceConfig::ClickHouse(ClickHouseConfig {
                url,
                database,
                user: raw.user.unwrap_or_else(|| "default".into()),
                password: env
                    .clickhouse_password
                    .clone()
                    .or(raw.password)
                    .map(Secret::new),
                tables,
                tls,
            })
        }
    }
}

/// `ca_file`, `client_cert_file` and `client_key_file` (relative to the config
/// file's directory), read and checked the way the source will use them.
fn tls_files(
    [ca_file, cert_file, key_file]: [Option<PathBuf>; 3],
    https: bool,
    config_dir: &Path,
    problem: &mut impl FnMut(&str, String),
) -> ClickHouseTls {
    let mut usable = true;
    let mut path = |key: &str, value: Option<PathBuf>| match value {
        Some(path) if path.as_os_str().is_empty() => {
            problem(key, "must not be empty (leave the key out instead)".into());
            usable = false;
            None
        }
        Some(_) if !https => {
            problem(
                key,
                "only with an https:// url (this url is not https)".into(),
            );
            usable = false;
            None
        }
        Some(path) => Some(config_dir.join(path)),
        None => None,
    };
    let ca_file = path(clickhouse_tls::CA_FILE_KEY, ca_file);
    let (cert_file, key_file) = (
        path(clickhouse_tls::CLIENT_CERT_KEY, cert_file),
        path(clickhouse_tls::CLIENT_KEY_KEY, key_file),
    );
    let client_cert = match (cert_file, key_file) {
        (Some(cert_file), Some(key_file)) => Some(ClientCertFiles {
            cert_file,
            key_file,
        }),
        (None, None) => None,
        (Some(_), None) => {
            problem(
                clickhouse_tls::CLIENT_KEY_KEY,
                "client_cert_file needs client_key_file too (the PEM private key of that certificate)"
                    .into(),
            );
            return ClickHouseTls::default();
        }
        (None, Some(_)) => {
            problem(
                clickhouse_tls::CLIENT_CERT_KEY,
                "client_key_file needs client_cert_file too (the PEM certificate of that key)"
                    .into(),
            );
            return ClickHouseTls::default();
        }
    };
    let tls = ClickHouseTls {
        ca_file,
        client_cert,
    };
    if https && usable {
        // The same files, read the same way, as when the source opens.
        if let Err(error) = clickhouse_tls::client_config(&tls) {
            problem(error.key, error.reason);
        }
    }
    tls
}
