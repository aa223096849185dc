//! What only `vigil serve` reads: the heartbeat it calls after each check and
//! the host names its web UI answers to.
//!
//! ```toml
//! [heartbeat]
//! url = "https://hc-ping.com/<uuid>"   # GET after each good check, POST <url>/fail with the reason after a failed one
//!
//! [web]
//! allowed_hosts = ["vigil.internal"]   # Host header names served, besides localhost, IP addresses and public_url's host
//! ```
//!
//! The heartbeat URL usually holds a secret (the check's id is all a caller
//! needs), so it is never shown whole: `Debug` and logs show scheme and host.

use std::fmt;

use serde::Deserialize;

use super::http_url;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeartbeat {
    url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWeb {
    #[serde(default)]
    allowed_hosts: Vec<String>,
}

/// `[heartbeat]`: the dead-man's switch vigil pings.
#[derive(Clone, PartialEq, Eq)]
pub struct HeartbeatConfig {
    url: String,
}

impl HeartbeatConfig {
    /// The whole URL, for the one place that calls it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `https://hc-ping.com`: scheme and host, what logs may show.
    pub fn shown(&self) -> String {
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("", &self.url));
        format!("{scheme}://{}", http_url::authority(rest))
    }
}

impl fmt::Debug for HeartbeatConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeartbeatConfig({}/<redacted>)", self.shown())
    }
}

/// `[web]`: what the HTTP server accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebConfig {
    /// Host names (lower case, no port) served besides the defaults; `*` serves any.
    pub allowed_hosts: Vec<String>,
}

/// Validates `[heartbeat]`; problems are (key path, reason).
pub(super) fn heartbeat(
    raw: Option<RawHeartbeat>,
    problems: &mut Vec<(String, String)>,
) -> Option<HeartbeatConfig> {
    let url = raw?.url?;
    match http_url::check(&url) {
        Ok(()) => Some(HeartbeatConfig {
            url: url.trim_end_matches('/').to_string(),
        }),
        Err(problem) => {
            problems.push((
                "heartbeat.url".into(),
                problem.reason("put the check's secret in its path, as healthchecks.io does"),
            ));
            None
        }
    }
}

/// Validates `[web]`; problems are (key path, reason).
pub(super) fn web(raw: Option<RawWeb>, problems: &mut Vec<(String, String)>) -> WebConfig {
    let mut allowed_hosts = Vec::new();
    for (index, host) in raw
        .unwrap_or_default()
        .allowed_hosts
        .into_iter()
        .enumerate()
    {
        match host_name_problem(&host) {
            None => allowed_hosts.push(host.to_ascii_lowercase()),
            Some(reason) => problems.push((format!("web.allowed_hosts[{index}]"), reason)),
        }
    }
    WebConfig { allowed_hosts }
}

/// Why `host` is not a bare host name (or `*`).
fn host_name_problem(host: &str) -> Option<String> {
    if host == "*" {
        return None;
    }
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    (!valid).then(|| {
        format!(
            "{:?} is not a host name: write the name alone, like \"vigil.example.com\" \
             (no scheme, port or path), or \"*\" to serve any Host",
            host.escape_debug().to_string()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_urls_are_checked_and_never_shown_whole() {
        let mut problems = Vec::new();
        let raw = RawHeartbeat {
            url: Some("https://hc-ping.com/5e1f-secret-uuid/".into()),
        };
        let config = heartbeat(Some(raw), &mut problems).expect("valid");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.url(), "https://hc-ping.com/5e1f-secret-uuid");
        assert_eq!(config.shown(), "https://hc-ping.com");
        assert!(!format!("{config:?}").contains("secret"), "{config:?}");

        let raw = RawHeartbeat {
            url: Some("https://user:pw@hc-ping.com/x".into()),
        };
        assert_eq!(heartbeat(Some(raw), &mut problems), None);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "heartbeat.url");
        assert!(!problems[0].1.contains("pw@"), "{problems:?}");
        assert_eq!(heartbeat(None, &mut problems), None);
    }

    #[test]
    fn allowed_hosts_are_bare_names() {
        let mut problems = Vec::new();
        let raw = RawWeb {
            allowed_hosts: vec![
                "Vigil.Example.com".into(),
                "*".into(),
                "http://x".into(),
                "a:80".into(),
                String::new(),
            ],
        };
        let web = web(Some(raw), &mut problems);
        assert_eq!(web.allowed_hosts, ["vigil.example.com", "*"]);
        let keys: Vec<&str> = problems.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "web.allowed_hosts[2]",
                "web.allowed_hosts[3]",
                "web.allowed_hosts[4]"
            ]
        );
        assert!(
            problems[0].1.contains("no scheme, port or path"),
            "{problems:?}"
        );
    }
}
