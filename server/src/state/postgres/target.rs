//! Where a PostgreSQL state lives: a `postgres://user[:password]@host:port/db`
//! URL (or libpq's `key=value` form) and the password given apart from it.
//! The password is a secret: it is registered with [`crate::redact`] and
//! never part of what [`PostgresTarget`] displays or debug-prints.

use std::str::FromStr;
use std::time::Duration;

/// How long a connection attempt may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A PostgreSQL database to keep the state in.
#[derive(Clone)]
pub struct PostgresTarget {
    /// Boxed: it is large, and a [`crate::state::StateLocation`] holds it.
    config: Box<postgres::Config>,
    /// `host:port/db` (as user): what messages name.
    shown: String,
}

impl PostgresTarget {
    /// Parses `url`; `password` (from `VIGIL_STATE_PASSWORD`) is used when the
    /// URL has none. The error is the reason alone, without the URL (it may
    /// hold the password).
    pub fn parse(url: &str, password: Option<&str>) -> Result<Self, String> {
        let mut config = postgres::Config::from_str(url)
            .map_err(|e| format!("not a PostgreSQL URL (postgres://user@host:port/db): {e}"))?;
        if config.get_hosts().is_empty() {
            return Err("the URL names no host (postgres://user@host:port/db)".into());
        }
        if config.get_user().is_none() {
            return Err("the URL names no user (postgres://user@host:port/db)".into());
        }
        if config.get_password().is_none() {
            if let Some(password) = password.filter(|p| !p.is_empty()) {
                config.password(password);
            }
        }
        if let Some(password) = config.get_password() {
            crate::redact::register(&String::from_utf8_lossy(password));
        }
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .application_name("vigil")
            // The server's notices ("relation ... already exists, skipping"
            // from the idempotent schema steps at every start) are not news:
            // debug, not the client's default of info.
            .notice_callback(|notice| {
                tracing::debug!(
                    severity = notice.severity(),
                    message = notice.message(),
                    "PostgreSQL notice"
                );
            });
        let shown = shown(&config);
        Ok(Self {
            config: Box::new(config),
            shown,
        })
    }

    /// `host:port/db`, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    pub(super) fn config(&self) -> &postgres::Config {
        &self.config
    }
}

/// Two targets are the same database, user and password.
impl PartialEq for PostgresTarget {
    fn eq(&self, other: &Self) -> bool {
        self.shown == other.shown && self.config.get_password() == other.config.get_password()
    }
}

impl std::fmt::Debug for PostgresTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PostgresTarget").field(&self.shown).finish()
    }
}

impl std::fmt::Display for PostgresTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

fn shown(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => String::new(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or("");
    let user = config.get_user().unwrap_or("");
    format!("postgresql {host}:{port}/{db} (as {user})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_taken_from_the_url_or_apart_and_never_shown() {
        let target =
            PostgresTarget::parse("postgres://vigil:s3cret-pw@db.internal:6543/state", None)
                .expect("parses");
        assert_eq!(
            target.shown(),
            "postgresql db.internal:6543/state (as vigil)"
        );
        assert!(!format!("{target:?} {target}").contains("s3cret-pw"));
        assert_eq!(target.config().get_password(), Some(&b"s3cret-pw"[..]));
        assert_eq!(crate::redact::scrub("x s3cret-pw y"), "x <redacted> y");

        let apart =
            PostgresTarget::parse("postgres://vigil@db.internal/state", Some("from-env-pw"))
                .expect("parses");
        assert_eq!(apart.config().get_password(), Some(&b"from-env-pw"[..]));
        assert_eq!(
            apart.shown(),
            "postgresql db.internal:5432/state (as vigil)"
        );
    }

    #[test]
    fn a_bad_url_says_why_without_echoing_it() {
        for (url, reason) in [
            (
                "postgres://vigil:pw-in-bad-url@db:notaport/state",
                "not a PostgreSQL URL",
            ),
            ("postgres:///state?user=vigil", "names no host"),
            ("postgres://db.internal/state", "names no user"),
        ] {
            let error = PostgresTarget::parse(url, None).unwrap_err();
            assert!(error.contains(reason), "{url}: {error}");
            assert!(!error.contains("pw-in-bad-url"), "{error}");
        }
    }
}
