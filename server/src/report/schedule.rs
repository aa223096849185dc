//! When a morning report is due, and who gets it.
//!
//! The report about local day D is due on day D + 1 at the configured time.
//! Each scheduler tick (and each `vigil check`) creates the rows of the most
//! recent report due by then, one per chat, unless they exist: the report
//! goes out once, at the first tick after its time, or after downtime at the
//! first tick after vigil is back (marked late). A report not created by
//! the time the next one is due is skipped: the newer one replaces it (one
//! that was created stays queued until sent). Before any
//! report was ever created, a late one is not made up: the first report is
//! the first one due while vigil runs.

use super::LocalDay;
use crate::config::{ReportConfig, TelegramSettings};
use crate::metrics::sql::DAY_SECONDS;
use crate::state::LOG_CHAT;

/// A report created this long after its due time says it is late: the
/// scheduler wakes every 15 minutes plus a grace delay, so an on-time
/// report is created well within this.
pub const ON_TIME_FOR: i64 = 30 * 60;

/// The most recent report due at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    /// The day it is about.
    pub day: LocalDay,
    /// When it fell due (unix seconds).
    pub due_at: i64,
}

impl Due {
    /// Created at `now`, is it late?
    pub fn late_at(&self, now: i64) -> bool {
        now - self.due_at > ON_TIME_FOR
    }
}

/// The most recent report due at or before `now`, for a report sent
/// `time_minutes` after local midnight at `utc_offset_minutes`.
pub fn latest_due(now: i64, utc_offset_minutes: i32, time_minutes: u32) -> Due {
    let today = LocalDay::containing(now, utc_offset_minutes);
    let due_today = today.start() + i64::from(time_minutes) * 60;
    if now >= due_today {
        Due {
            day: today.plus(-1),
            due_at: due_today,
        }
    } else {
        Due {
            day: today.plus(-2),
            due_at: due_today - DAY_SECONDS,
        }
    }
}

/// Where reports go: the configured chats, else the alert chat (the
/// default chat, or every metric's chat when there is none); the log when
/// there is no Telegram.
pub fn chats(config: &ReportConfig, telegram: &TelegramSettings) -> Vec<i64> {
    if !telegram.enabled() {
        return vec![LOG_CHAT];
    }
    if !config.chats.is_empty() {
        return config.chats.clone();
    }
    let mut chats: Vec<i64> = match telegram.default_chat {
        Some(chat) => vec![chat],
        None => telegram.chats.values().copied().collect(),
    };
    chats.sort_unstable();
    chats.dedup();
    chats
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::config::Secret;

    const OFFSET: i32 = 180;
    const ELEVEN: u32 = 11 * 60;

    fn day(d: u32) -> LocalDay {
        LocalDay::new(NaiveDate::from_ymd_opt(2026, 12, d).unwrap(), OFFSET)
    }

    #[test]
    fn the_report_of_yesterday_is_due_at_eleven_local() {
        let eleven = day(6).start() + 11 * 3600;
        let before = latest_due(eleven - 1, OFFSET, ELEVEN);
        assert_eq!(
            before.day,
            day(4),
            "before 11:00 the latest due is the day before's"
        );
        assert_eq!(before.due_at, eleven - DAY_SECONDS);
        let at = latest_due(eleven, OFFSET, ELEVEN);
        assert_eq!(
            at,
            Due {
                day: day(5),
                due_at: eleven
            }
        );
        assert!(
            !at.late_at(eleven + 2 * 60 + 900),
            "the next tick is on time"
        );
        assert!(at.late_at(eleven + 3 * 3600), "after downtime it is late");
        // Local midnight, not UTC's: 23:30 UTC on the 5th is the 6th at +03:00.
        let late_evening = day(6).start() + 1800;
        assert_eq!(latest_due(late_evening, OFFSET, ELEVEN).day, day(4));
    }

    #[test]
    fn chats_default_to_the_alert_chat_and_the_log_without_telegram() {
        let mut telegram = TelegramSettings::default();
        let config = ReportConfig {
            enabled: true,
            ..ReportConfig::default()
        };
        assert_eq!(chats(&config, &telegram), vec![LOG_CHAT]);
        telegram.token = Some(Secret::new("1:x"));
        telegram.default_chat = Some(-5);
        telegram.chats.insert("feed_views".into(), -7);
        assert_eq!(chats(&config, &telegram), vec![-5]);
        telegram.default_chat = None;
        telegram.chats.insert("feed_likes".into(), -7);
        assert_eq!(chats(&config, &telegram), vec![-7]);
        let config = ReportConfig {
            chats: vec![3, 4],
            ..config
        };
        assert_eq!(chats(&config, &telegram), vec![3, 4]);
    }
}
