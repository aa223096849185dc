//! The alerting part of the config file: when checks run, how alerts repeat,
//! where they go (Telegram), which links they carry and which detector judges
//! each metric.
//!
//! ```toml
//! [schedule]
//! grace_seconds = 120          # wait this long after a bucket ends (late events)
//! catch_up_hours = 24          # after downtime, evaluate at most this far back
//! stale_after_minutes = 60     # a table without events this long is "data stale"
//! late_rows_minutes = 60       # a checked bucket whose rows change this soon after is checked once more (0: never)
//! leader_lease_seconds = 30    # instances sharing a state: a dead leader is replaced within about this long
//!
//! [alerts]
//! repeat_after_minutes = 60    # a still-firing alert is repeated this often
//! utc_offset = "+03:00"        # times in messages and charts
//! public_url = "http://vigil.internal:3000"   # links to vigil's pages
//! min_volume = 20              # counts below this never alert (noise of tiny slices)
//! min_abs_change = 5           # nor changes smaller than this
//! ratio_slices = false         # CTR of one slice alerts on its own only if true
//! inhibit_slices = true        # while a metric fires, its slices moving the same way are not alerts of their own
//! resolve_after_buckets = 2    # an alert resolves after this many checks back in band
//! reopen_within_minutes = 60   # an anomaly this soon after a resolution continues that alert and message
//!
//! [telegram]
//! # token = "..."              # better: env VIGIL_TELEGRAM_TOKEN (wins over the file)
//! chat = -1001234567890        # default chat
//! chats = { messages_sent = -1009876543210 }   # per metric
//! # api_url = "https://api.telegram.org"
//! # poll_updates = true        # read button presses with getUpdates
//!
//! [[links]]                    # see `links` for the URL's placeholders
//! metric = "feed_views"        # or "*" for every metric
//! title = "Feed dashboard"
//! url = "https://bi.example.com/dashboard/12?from={from}&to={to}"
//!
//! [detectors]
//! default = { detector = "iqr", a = 4, n = 5 }
//! # several detectors: combine = "any" (default), "all" or "majority";
//! # the alert names the ones that fired
//! metrics = { feed_ctr = { detector = "seasonal" }, feed_views = { combine = "any", members = [{ detector = "seasonal" }, { detector = "drop" }] } }
//! # the learned detector with a model trained on this store's labels
//! # (`vigil train --output team-model.json --metric feed_views`), its
//! # path relative to this file:
//! # metrics = { feed_views = { detector = "learned", model = "team-model.json" } }
//!
//! [[silences]]                 # planned: maintenance, a holiday
//! metric = "messages_sent"     # or "*"
//! slice = "os=Android"         # optional
//! from = "2026-12-31 20:00:00" # optional, UTC; default: at once
//! until = "2027-01-01 12:00:00"
//! reason = "New Year"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::detector_entries::detector_entry;
use super::links::{self, DashboardLink, LinkAlert, RawLink};
use super::{http_url, Secret};
use crate::alerts::significance::AlertFloor;
use crate::alerts::AlertConfig;
use crate::detector_choice::DetectorChoice;

/// Environment variable with the bot token (wins over the file).
pub const TOKEN_ENV: &str = "VIGIL_TELEGRAM_TOKEN";
/// The public Bot API.
pub const DEFAULT_TELEGRAM_API: &str = "https://api.telegram.org";

/// Everything about turning evaluations into delivered alerts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertingConfig {
    pub schedule: ScheduleConfig,
    pub lifecycle: AlertConfig,
    /// Recipients' time zone as a fixed offset from UTC, in minutes.
    pub utc_offset_minutes: i32,
    /// Base URL of this vigil for links in messages (default: the serve address).
    pub public_url: Option<String>,
    pub telegram: TelegramSettings,
    pub links: Vec<DashboardLink>,
    pub detectors: DetectorChoice,
    /// Anomalies too small to alert on.
    pub floor: AlertFloor,
    /// Planned silences (maintenance, holidays), applied at startup.
    pub silences: Vec<ConfiguredSilence>,
}

/// A silence from the config file (`[[silences]]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredSilence {
    pub scope: crate::alerts::SilenceScope,
    /// Unix seconds.
    pub from: Option<i64>,
    pub until: i64,
    pub reason: String,
}

/// When the scheduler evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleConfig {
    /// Seconds after a bucket ends before it is evaluated.
    pub grace_seconds: i64,
    /// After downtime, missed buckets up to this many are evaluated (late).
    pub catch_up_buckets: usize,
    /// A table whose newest event is older than this at a check (while the
    /// source answers) opens a "data stale" alert; its metrics wait.
    pub stale_after_secs: i64,
    /// A checked bucket whose value changed (late rows) within this long
    /// after it ended is checked once more (0: never): an alert opened on
    /// data that later arrived is withdrawn, one the late rows show opens late.
    pub late_rows_secs: i64,
    /// Lifetime of the leader lease when instances share a state: the
    /// leader renews it every third of it, and another instance takes over
    /// about this long after the leader dies.
    pub leader_lease_secs: u64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            grace_seconds: 120,
            catch_up_buckets: 96,
            stale_after_secs: 60 * 60,
            late_rows_secs: 60 * 60,
            leader_lease_secs: 30,
        }
    }
}

/// Where Telegram alerts go. Without a token (or without a chat) alerts are
/// logged and shown in the UI only.
#[derive(Clone, Debug, PartialEq)]
pub struct TelegramSettings {
    pub token: Option<Secret>,
    pub api_url: String,
    pub default_chat: Option<i64>,
    pub chats: BTreeMap<String, i64>,
    pub poll_updates: bool,
}

impl Default for TelegramSettings {
    fn default() -> Self {
        Self {
            token: None,
            api_url: DEFAULT_TELEGRAM_API.to_string(),
            default_chat: None,
            chats: BTreeMap::new(),
            poll_updates: true,
        }
    }
}

impl TelegramSettings {
    /// Whether alerts are sent to Telegram at all.
    pub fn enabled(&self) -> bool {
        self.token.is_some() && (self.default_chat.is_some() || !self.chats.is_empty())
    }

    /// The chat a metric's alerts go to (its own, else the default).
    pub fn chat_for(&self, metric: &str) -> Option<i64> {
        self.chats.get(metric).copied().or(self.default_chat)
    }
}

impl AlertingConfig {
    /// Dashboard links for an alert: (title, URL filled for the alert).
    pub fn links_for(&self, alert: &LinkAlert<'_>) -> Vec<(String, String)> {
        self.links
            .iter()
            .filter(|l| l.metric.as_deref().is_none_or(|m| m == alert.metric))
            .map(|l| (l.title.clone(), l.url.fill(alert, l.time_format)))
            .collect()
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    grace_seconds: Option<i64>,
    catch_up_hours: Option<u32>,
    stale_after_minutes: Option<i64>,
    late_rows_minutes: Option<i64>,
    leader_lease_seconds: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    repeat_after_minutes: Option<i64>,
    utc_offset: Option<String>,
    public_url: Option<String>,
    min_volume: Option<f64>,
    min_abs_change: Option<f64>,
    ratio_slices: Option<bool>,
    inhibit_slices: Option<bool>,
    resolve_after_buckets: Option<u32>,
    reopen_within_minutes: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTelegram {
    token: Option<String>,
    api_url: Option<String>,
    chat: Option<i64>,
    #[serde(default)]
    chats: BTreeMap<String, i64>,
    poll_updates: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSilence {
    metric: String,
    slice: Option<String>,
    from: Option<String>,
    until: String,
    #[serde(default)]
    reason: String,
}

/// Detector entries stay raw TOML until [`validate`]: an entry is either one
/// detector or `{ combine, members }`, and each shape deserves its own error.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDetectors {
    default: Option<toml::Value>,
    #[serde(default)]
    metrics: BTreeMap<String, toml::Value>,
}

/// The raw alerting sections, as read from the file.
#[derive(Default)]
pub(super) struct RawAlerting {
    pub schedule: Option<RawSchedule>,
    pub alerts: Option<RawAlerts>,
    pub telegram: Option<RawTelegram>,
    pub links: Vec<Option<RawLink>>,
    pub detectors: Option<RawDetectors>,
    pub silences: Vec<Option<RawSilence>>,
}

/// Validates the alerting sections. `metric_names` are every known metric
/// (built-in and the file's); problems are (key path, reason).
pub(super) fn validate(
    raw: RawAlerting,
    config_dir: &Path,
    metric_names: &[String],
    env_token: Option<String>,
    problems: &mut Vec<(String, String)>,
) -> AlertingConfig {
    let defaults = AlertingConfig::default();
    let known = |name: &str| metric_names.iter().any(|m| m == name);
    let mut problem = |key: &str, reason: String| problems.push((key.to_string(), reason));

    let schedule = raw.schedule.unwrap_or_default();
    let grace_seconds = schedule
        .grace_seconds
        .unwrap_or(defaults.schedule.grace_seconds);
    if !(0..=3600).contains(&grace_seconds) {
        problem("schedule.grace_seconds", "expected 0..=3600 seconds".into());
    }
    let catch_up_hours = schedule.catch_up_hours.unwrap_or(24);
    if catch_up_hours > 24 * 31 {
        problem(
            "schedule.catch_up_hours",
            "expected at most 744 hours (31 days)".into(),
        );
    }
    let stale_after_minutes = schedule
        .stale_after_minutes
        .unwrap_or(defaults.schedule.stale_after_secs / 60);
    if !(15..=7 * 24 * 60).contains(&stale_after_minutes) {
        problem(
            "schedule.stale_after_minutes",
            "expected 15..=10080 minutes (one bucket to one week)".into(),
        );
    }
    let late_rows_minutes = schedule
        .late_rows_minutes
        .unwrap_or(defaults.schedule.late_rows_secs / 60);
    if !(0..=24 * 60).contains(&late_rows_minutes) {
        problem(
            "schedule.late_rows_minutes",
            "expected 0..=1440 minutes (0: late rows are never re-checked)".into(),
        );
    }

    let leader_lease_seconds = schedule
        .leader_lease_seconds
        .unwrap_or(defaults.schedule.leader_lease_secs as i64);
    // At least 3 s (renewed every second); at most 10 minutes, so a dead
    // leader is replaced within one check interval.
    if !(3..=600).contains(&leader_lease_seconds) {
        problem(
            "schedule.leader_lease_seconds",
            "expected 3..=600 seconds".into(),
        );
    }

    let alerts = raw.alerts.unwrap_or_default();
    let repeat_minutes = alerts.repeat_after_minutes.unwrap_or(60);
    if !(15..=7 * 24 * 60).contains(&repeat_minutes) {
        problem(
            "alerts.repeat_after_minutes",
            "expected 15..=10080 minutes (one check to one week)".into(),
        );
    }
    let utc_offset_minutes = match alerts.utc_offset.as_deref().map(parse_utc_offset) {
        None => 0,
        Some(Ok(minutes)) => minutes,
        Some(Err(reason)) => {
            problem("alerts.utc_offset", reason);
            0
        }
    };
    if let Some(url) = &alerts.public_url {
        if let Err(url_problem) = http_url::check(url) {
            problem(
                "alerts.public_url",
                url_problem.reason("vigil's own address needs none"),
            );
        }
    }

    let floor = AlertFloor {
        min_volume: alerts.min_volume.unwrap_or(defaults.floor.min_volume),
        min_abs_change: alerts
            .min_abs_change
            .unwrap_or(defaults.floor.min_abs_change),
        ratio_slices: alerts.ratio_slices.unwrap_or(defaults.floor.ratio_slices),
        inhibit_slices: alerts
            .inhibit_slices
            .unwrap_or(defaults.floor.inhibit_slices),
    };
    let resolve_after = alerts
        .resolve_after_buckets
        .unwrap_or(defaults.lifecycle.resolve_after);
    if !(1..=96).contains(&resolve_after) {
        problem(
            "alerts.resolve_after_buckets",
            "expected 1..=96 checks (15 minutes to a day)".into(),
        );
    }
    let reopen_minutes = alerts
        .reopen_within_minutes
        .unwrap_or(defaults.lifecycle.reopen_within_secs / 60);
    if !(0..=24 * 60).contains(&reopen_minutes) {
        problem(
            "alerts.reopen_within_minutes",
            "expected 0..=1440 minutes (0: never reopen)".into(),
        );
    }
    for (key, value) in [
        ("alerts.min_volume", floor.min_volume),
        ("alerts.min_abs_change", floor.min_abs_change),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            problem(key, "expected a number >= 0".into());
        }
    }

    let telegram = raw.telegram.unwrap_or_default();
    let api_url = telegram
        .api_url
        .unwrap_or_else(|| DEFAULT_TELEGRAM_API.to_string());
    if let Err(url_problem) = http_url::check(&api_url) {
        problem(
            "telegram.api_url",
            url_problem.reason(&format!("the bot token goes in `token` or {TOKEN_ENV}")),
        );
    } else if api_url
        .split('/')
        .any(|part| looks_like_token(part.strip_prefix("bot").unwrap_or(part)))
    {
        // Never echo the value: the token is a secret.
        problem(
            "telegram.api_url",
            format!("the URL must not contain the bot token (it would be logged); put it in `token` or {TOKEN_ENV} and give only the server, e.g. \"{DEFAULT_TELEGRAM_API}\""),
        );
    }
    // A malformed token from the environment is reported by `Config::parse`
    // against the variable, not against this file's key.
    let token_from_file = env_token.is_none();
    let token = env_token.or(telegram.token).filter(|t| !t.is_empty());
    if let (true, Some(token)) = (token_from_file, &token) {
        if !looks_like_token(token) {
            // Never echo the value: it is a secret even when malformed.
            problem(
                "telegram.token",
                format!("not a bot token (expected <bot id>:<secret>, as BotFather gives it; or set {TOKEN_ENV})"),
            );
        }
    }
    let chats = telegram
        .chat
        .iter()
        .map(|chat| ("telegram.chat".to_string(), chat));
    let chats = chats.chain(
        telegram
            .chats
            .iter()
            .map(|(metric, chat)| (format!("telegram.chats.{metric}"), chat)),
    );
    for (key, _) in chats.filter(|(_, chat)| **chat == 0) {
        problem(
            &key,
            "0 is not a chat id (a group's id is negative, e.g. -1001234567890; \
             a user's is positive; the bot's getUpdates shows it)"
                .into(),
        );
    }
    for metric in telegram.chats.keys() {
        if !known(metric) {
            problem(
                &format!("telegram.chats.{metric}"),
                "no metric with this name".into(),
            );
        }
    }
    if token.is_some() && telegram.chat.is_none() && telegram.chats.is_empty() {
        problem(
            "telegram.chat",
            "a bot token is set but no chat: set `chat` (the default chat id) or `chats`".into(),
        );
    }

    let mut link_problems = Vec::new();
    let links = links::validate(raw.links, known, &mut link_problems);
    for (key, reason) in link_problems {
        problem(&key, reason);
    }

    let detectors = raw.detectors.unwrap_or_default();
    let entry = |value| detector_entry(value, config_dir);
    let default_detector = match detectors.default.map(entry) {
        None => defaults.detectors.default.clone(),
        Some(Ok(ensemble)) => ensemble,
        Some(Err(reason)) => {
            problem("detectors.default", reason);
            defaults.detectors.default.clone()
        }
    };
    let mut per_metric = BTreeMap::new();
    for (metric, value) in detectors.metrics {
        let key = format!("detectors.metrics.{metric}");
        if !known(&metric) {
            problem(&key, "no metric with this name".into());
        }
        match entry(value) {
            Ok(ensemble) => {
                per_metric.insert(metric, ensemble);
            }
            Err(reason) => problem(&key, reason),
        }
    }

    let mut silences = Vec::new();
    for (index, raw) in raw.silences.into_iter().enumerate() {
        let Some(raw) = raw else { continue };
        let key = |field: &str| format!("silences[{index}].{field}");
        let absolute = |text: &str| crate::times::parse_time(text, 0).ok().filter(|t| *t > 0);
        let until = absolute(&raw.until);
        if until.is_none() {
            problem(
                &key("until"),
                format!(
                    "{:?} is not a time like \"2026-12-01 09:00:00\" (UTC) or RFC 3339",
                    raw.until
                ),
            );
        }
        let from = raw.from.as_deref().map(absolute);
        if from == Some(None) {
            problem(
                &key("from"),
                "not a time like \"2026-12-01 09:00:00\" (UTC) or RFC 3339".into(),
            );
        }
        let experiment_alert = super::experiments::is_experiment_alert(&raw.metric, known);
        if raw.metric != "*" && !known(&raw.metric) && !experiment_alert {
            problem(
                &key("metric"),
                format!(
                    "no metric named {:?} (use \"*\" for every metric, or \"experiment:<name>:<metric>\" for an experiment's alerts)",
                    raw.metric
                ),
            );
        }
        let slice = match raw
            .slice
            .as_deref()
            .map(crate::metrics::model::SliceKey::parse)
        {
            None => None,
            Some(Ok(slice)) => Some(slice),
            Some(Err(reason)) => {
                problem(&key("slice"), reason.to_string());
                None
            }
        };
        if slice.is_some() && raw.metric == "*" {
            problem(&key("slice"), "a slice needs one metric, not \"*\"".into());
        }
        if let (Some(Some(from)), Some(until)) = (from, until) {
            if from >= until {
                problem(&key("until"), "must be after `from`".into());
            }
        }
        let scope = match (raw.metric.as_str(), slice) {
            ("*", _) => crate::alerts::SilenceScope::All,
            (metric, None) => crate::alerts::SilenceScope::Metric {
                metric: metric.to_string(),
            },
            (metric, Some(slice)) => crate::alerts::SilenceScope::Slice {
                metric: metric.to_string(),
                slice: Some(slice),
            },
        };
        silences.push(ConfiguredSilence {
            scope,
            from: from.flatten(),
            until: until.unwrap_or(0),
            reason: raw.reason,
        });
    }

    AlertingConfig {
        schedule: ScheduleConfig {
            grace_seconds,
            catch_up_buckets: catch_up_hours as usize * 4,
            stale_after_secs: stale_after_minutes * 60,
            late_rows_secs: late_rows_minutes.clamp(0, 24 * 60) * 60,
            leader_lease_secs: leader_lease_seconds.clamp(3, 600) as u64,
        },
        lifecycle: AlertConfig {
            repeat_after_secs: repeat_minutes * 60,
            resolve_after: resolve_after.clamp(1, 96),
            reopen_within_secs: reopen_minutes.clamp(0, 24 * 60) * 60,
        },
        utc_offset_minutes,
        public_url: alerts
            .public_url
            .map(|u| u.trim_end_matches('/').to_string()),
        telegram: TelegramSettings {
            token: token.map(Secret::new),
            api_url,
            default_chat: telegram.chat,
            chats: telegram.chats,
            poll_updates: telegram.poll_updates.unwrap_or(true),
        },
        links,
        detectors: DetectorChoice {
            default: default_detector,
            per_metric,
            fixed: false,
        },
        floor,
        silences,
    }
}

/// `+03:00`, `-05:30`, `UTC`, `Z` -> minutes east of UTC.
pub fn parse_utc_offset(text: &str) -> Result<i32, String> {
    let text = text.trim();
    if matches!(text, "UTC" | "Z" | "utc" | "z" | "+00:00" | "00:00") {
        return Ok(0);
    }
    let bad = || format!("{text:?} is not a UTC offset like \"+03:00\" or \"-05:30\"");
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(bad()),
    };
    let (hours, minutes) = rest.split_once(':').ok_or_else(bad)?;
    let hours: i32 = hours.parse().map_err(|_| bad())?;
    let minutes: i32 = minutes.parse().map_err(|_| bad())?;
    if !(0..=14).contains(&hours) || !(0..60).contains(&minutes) {
        return Err(bad());
    }
    Ok(sign * (hours * 60 + minutes))
}

/// `123456:ABC-def_...`: digits, a colon, at least 20 URL-safe characters.
pub(super) fn looks_like_token(token: &str) -> bool {
    token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && secret.len() >= 20
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

#[cfg(test)]
#[path = "alerting_tests.rs"]
mod tests;
