//! `[state]`: where vigil keeps its own state (alerts, outbox, silences,
//! labels, settings). Without it, the embedded SQLite file in the data
//! directory; with a PostgreSQL URL, a database several `vigil serve`
//! instances share.
//!
//! ```toml
//! [state]
//! url = "postgres://vigil@db.internal:5432/vigil"   # or env VIGIL_STATE_URL (wins over the file)
//! # the password: in the URL, or env VIGIL_STATE_PASSWORD
//! ```
//!
//! The URL may hold the password, so neither it nor the password is shown:
//! errors give the reason alone, `Debug` shows host, port and database.

use serde::Deserialize;

use super::{ConfigError, SecretEnv};
use crate::state::PostgresTarget;

/// Environment variable that supplies the state URL (wins over the file).
pub const STATE_URL_ENV: &str = "VIGIL_STATE_URL";
/// Environment variable that supplies the state database's password.
pub const STATE_PASSWORD_ENV: &str = "VIGIL_STATE_PASSWORD";

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    url: Option<String>,
}

/// `[state]`, validated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateConfig {
    /// The shared PostgreSQL state; `None` keeps the embedded SQLite file.
    pub postgres: Option<PostgresTarget>,
}

/// Validates `[state]` and the environment's URL and password. A bad file
/// value is a (key path, reason) problem; a bad environment value an error
/// naming the variable.
pub(super) fn validate(
    raw: Option<RawState>,
    env: &SecretEnv,
    problems: &mut Vec<(String, String)>,
    env_problems: &mut Vec<ConfigError>,
) -> StateConfig {
    let password = env.state_password.as_deref();
    if let Some(url) = env.state_url.as_deref() {
        return match PostgresTarget::parse(url, password) {
            Ok(target) => StateConfig {
                postgres: Some(target),
            },
            Err(reason) => {
                env_problems.push(ConfigError::Environment {
                    variable: STATE_URL_ENV,
                    reason,
                });
                StateConfig::default()
            }
        };
    }
    let Some(url) = raw.and_then(|raw| raw.url) else {
        return StateConfig::default();
    };
    match PostgresTarget::parse(&url, password) {
        Ok(target) => StateConfig {
            postgres: Some(target),
        },
        Err(reason) => {
            problems.push(("state.url".into(), reason));
            StateConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, SecretEnv};

    #[test]
    fn without_a_state_section_the_state_is_embedded() {
        let config = Config::parse("", "vigil.toml", &SecretEnv::default()).expect("valid");
        assert_eq!(config.state.postgres, None);
    }

    #[test]
    fn a_postgres_url_is_read_with_the_password_from_the_environment() {
        let env = SecretEnv {
            state_password: Some("state-pw-from-env".into()),
            ..SecretEnv::default()
        };
        let text = "[state]\nurl = \"postgres://vigil@db.internal:6432/vigil\"\n";
        let config = Config::parse(text, "vigil.toml", &env).expect("valid");
        assert!(!format!("{:?}", config.state).contains("state-pw-from-env"));
        let target = config.state.postgres.expect("postgres");
        assert_eq!(
            target.shown(),
            "postgresql db.internal:6432/vigil (as vigil)"
        );
    }

    #[test]
    fn a_bad_url_names_file_key_line_and_reason_without_the_password() {
        let text = "[state]\nurl = \"postgres://vigil:file-secret@db:port/vigil\"\n";
        let message = Config::parse(text, "vigil.toml", &SecretEnv::default())
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("vigil.toml: `state.url`: "),
            "{message}"
        );
        assert!(message.contains("not a PostgreSQL URL"), "{message}");
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains("file-secret"), "{message}");
        let unknown = Config::parse(
            "[state]\npath = \"x\"\n",
            "vigil.toml",
            &SecretEnv::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(unknown.contains("state"), "{unknown}");
    }

    #[test]
    fn the_environment_url_wins_and_a_bad_one_blames_the_variable() {
        let text = "[state]\nurl = \"postgres://vigil@file-host/vigil\"\n";
        let env = SecretEnv {
            state_url: Some("postgres://vigil@env-host:5433/vigil".into()),
            ..SecretEnv::default()
        };
        let config = Config::parse(text, "vigil.toml", &env).expect("valid");
        let target = config.state.postgres.expect("postgres");
        assert!(
            target.shown().contains("env-host:5433"),
            "{}",
            target.shown()
        );

        let env = SecretEnv {
            state_url: Some("postgres://env-user-missing@/x?port=nope".into()),
            ..SecretEnv::default()
        };
        let message = Config::parse(text, "vigil.toml", &env)
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("environment variable VIGIL_STATE_URL: "),
            "{message}"
        );
    }
}
