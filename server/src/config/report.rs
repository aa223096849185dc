//! `[report]`: the morning report (see [`crate::report`]).
//!
//! ```toml
//! [report]
//! time = "11:00"          # local time (alerts.utc_offset) it is sent, about the day before
//! # enabled = false       # the report is on by default; this stops it
//! # chats = [-1001234]    # where it goes (default: the alert chat, [telegram] chat)
//! ```
//!
//! The report is on without a `[report]` section: at 11:00 local time the
//! alert chats get the day before's figures (the issue's default), and a
//! team that does not want it says `enabled = false`.

use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReport {
    time: Option<String>,
    enabled: Option<bool>,
    chats: Option<Vec<i64>>,
}

/// When and where the morning report goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportConfig {
    pub enabled: bool,
    /// Minutes after local midnight it is due (11:00 is 660).
    pub time_minutes: u32,
    /// Its chats; empty means the alert chat.
    pub chats: Vec<i64>,
}

/// 11:00 local time.
pub const DEFAULT_TIME_MINUTES: u32 = 11 * 60;

impl Default for ReportConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            time_minutes: DEFAULT_TIME_MINUTES,
            chats: Vec::new(),
        }
    }
}

/// Validates `[report]`; problems are (key path, reason).
pub(super) fn validate(
    raw: Option<RawReport>,
    problems: &mut Vec<(String, String)>,
) -> ReportConfig {
    let Some(raw) = raw else {
        return ReportConfig::default();
    };
    let time_minutes = match raw.time.as_deref().map(parse_clock) {
        None => DEFAULT_TIME_MINUTES,
        Some(Ok(minutes)) => minutes,
        Some(Err(reason)) => {
            problems.push(("report.time".into(), reason));
            DEFAULT_TIME_MINUTES
        }
    };
    let chats = raw.chats.unwrap_or_default();
    for (index, chat) in chats.iter().enumerate() {
        if *chat == 0 {
            problems.push((
                format!("report.chats[{index}]"),
                "0 is not a Telegram chat id".into(),
            ));
        }
    }
    ReportConfig {
        enabled: raw.enabled.unwrap_or(true),
        time_minutes,
        chats,
    }
}

/// `HH:MM` (24 h) -> minutes after midnight.
pub fn parse_clock(text: &str) -> Result<u32, String> {
    let bad = || format!("{text:?} is not a time of day like \"11:00\" (24-hour HH:MM)");
    let (hours, minutes) = text.trim().split_once(':').ok_or_else(bad)?;
    let digits = |part: &str| {
        (!part.is_empty() && part.len() <= 2 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    match (digits(hours), digits(minutes)) {
        (Some(h), Some(m)) if h < 24 && m < 60 && minutes.len() == 2 => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, SecretEnv};
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, "vigil.toml", &SecretEnv::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn the_report_is_on_at_eleven_to_the_alert_chat_unless_turned_off() {
        let eleven_to_the_alert_chat = ReportConfig {
            enabled: true,
            time_minutes: 660,
            chats: Vec::new(),
        };
        assert_eq!(parse("").expect("valid").report, eleven_to_the_alert_chat);
        assert_eq!(
            parse("[report]\n").expect("valid").report,
            eleven_to_the_alert_chat
        );
        assert!(
            !parse("[report]\nenabled = false\n")
                .expect("valid")
                .report
                .enabled
        );
        let report = parse("[report]\ntime = \"07:30\"\nchats = [-100, 5]\nenabled = false\n")
            .expect("valid")
            .report;
        assert_eq!(
            report,
            ReportConfig {
                enabled: false,
                time_minutes: 450,
                chats: vec![-100, 5]
            }
        );
    }

    #[test]
    fn bad_values_name_the_key_and_line() {
        for (text, key) in [
            ("[report]\ntime = \"25:00\"\n", "`report.time`"),
            ("[report]\ntime = \"11\"\n", "`report.time`"),
            ("[report]\nchats = [0]\n", "`report.chats[0]`"),
            ("[report]\ncolour = 1\n", "`report.colour`"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(
                error.contains(key) && error.contains("(line "),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn clock_times() {
        assert_eq!(parse_clock("00:00"), Ok(0));
        assert_eq!(parse_clock("9:05"), Ok(545));
        assert_eq!(parse_clock("23:59"), Ok(1439));
        for bad in ["24:00", "12:60", "12:5", "noon", "-1:00", "1:00:00"] {
            assert!(parse_clock(bad).is_err(), "{bad}");
        }
    }
}
