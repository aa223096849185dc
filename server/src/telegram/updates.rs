//! Button presses: read by long-polling `getUpdates` (no public URL needed),
//! applied to the alert store, recorded with who pressed what, and answered so
//! the button stops spinning.
//!
//! A button acts on every alert its message announced (a grouped message is
//! muted or labelled as a whole). Updates are confirmed to Telegram (the next
//! `offset`) only after they were applied, so a crash replays them at worst;
//! replaying a press is harmless (a second label or silence of the same span).

use std::time::Duration;

use chrono::{DateTime, Duration as ChronoDuration, FixedOffset};

use super::client::{CallbackQuery, TelegramClient, TelegramError, Update};
use super::keyboard::{AlertAction, CallbackData};
use crate::alerts::AlertId;
use crate::state::{AlertError, Label, SentMessage};
use crate::state::{State, StateStore};

/// Long-poll timeout of one `getUpdates` call in the serve loop.
pub const POLL_SECONDS: u32 = 25;

/// What applying one press did: the toast shown to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub answer: String,
}

/// Applies one button press at `now` (unix seconds); `utc_offset_minutes` says
/// when "tomorrow" starts for the user.
pub fn apply_press(
    store: &mut dyn StateStore,
    query: &CallbackQuery,
    now: i64,
    utc_offset_minutes: i32,
) -> Result<Applied, AlertError> {
    let Some(data) = query.data.as_deref().and_then(CallbackData::parse) else {
        return Ok(Applied {
            answer: "This button is not from this vigil.".into(),
        });
    };
    let actor = actor_name(query);
    // Every alert the pressed message announced; at least the one in the data.
    let mut alerts: Vec<AlertId> = match &query.message {
        Some(message) => store
            .message_group(SentMessage {
                chat_id: message.chat.id,
                message_id: message.message_id,
            })?
            .into_iter()
            .map(|(payload, _)| payload.alert_id)
            .collect(),
        None => Vec::new(),
    };
    if !alerts.contains(&data.alert_id) {
        alerts.insert(0, data.alert_id);
    }
    if store.alert(data.alert_id)?.is_none() {
        return Ok(Applied {
            answer: "This alert is no longer known to vigil.".into(),
        });
    }
    let answer = match data.action {
        AlertAction::Acknowledge => {
            for id in &alerts {
                store.record_button(*id, "acknowledge", &actor, now)?;
            }
            format!("Acknowledged by {actor}")
        }
        AlertAction::MuteHour => {
            for id in &alerts {
                store.silence_alert(*id, now + 3600, &actor, now)?;
            }
            "Muted for 1 hour".to_string()
        }
        AlertAction::MuteUntilTomorrow => {
            let until = tomorrow_morning(now, utc_offset_minutes);
            for id in &alerts {
                store.silence_alert(*id, until, &actor, now)?;
            }
            "Muted until 09:00 tomorrow".to_string()
        }
        AlertAction::FalseAlarm => {
            for id in &alerts {
                store.label(*id, Label::FalseAlarm, &actor, now)?;
            }
            "Marked as a false alarm: the evaluation will count it".to_string()
        }
        AlertAction::Expected => {
            for id in &alerts {
                store.label(*id, Label::Expected, &actor, now)?;
            }
            "Marked as expected".to_string()
        }
    };
    tracing::info!(alert_id = data.alert_id, alerts = alerts.len(), action = ?data.action, %actor, "button applied");
    Ok(Applied { answer })
}

/// `@username`, else the first name, with the user id.
fn actor_name(query: &CallbackQuery) -> String {
    match &query.from.username {
        Some(username) => format!("@{username}"),
        None if !query.from.first_name.is_empty() => {
            format!("{} ({})", query.from.first_name, query.from.id)
        }
        None => format!("user {}", query.from.id),
    }
}

/// 09:00 of the next day in the users' zone.
pub fn tomorrow_morning(now: i64, utc_offset_minutes: i32) -> i64 {
    let Some(offset) = FixedOffset::east_opt(utc_offset_minutes.saturating_mul(60)) else {
        return now + 86_400;
    };
    let Some(local) = DateTime::from_timestamp(now, 0).map(|t| t.with_timezone(&offset)) else {
        return now + 86_400;
    };
    let next_day = local.date_naive() + ChronoDuration::days(1);
    next_day
        .and_hms_opt(9, 0, 0)
        .and_then(|t| t.and_local_timezone(offset).single())
        .map_or(now + 86_400, |t| t.timestamp())
}

/// Fetches pending presses once (`timeout_secs` of long polling), applies and
/// answers them, and returns the next offset. Errors of one press are logged
/// and answered; they do not stop the others.
pub async fn poll_once(
    client: &TelegramClient,
    store: &State,
    offset: Option<i64>,
    timeout_secs: u32,
    utc_offset_minutes: i32,
) -> Result<Option<i64>, TelegramError> {
    let updates = client.get_updates(offset, timeout_secs).await?;
    let mut next = offset;
    for update in updates {
        next = Some(next.unwrap_or(i64::MIN).max(update.update_id + 1));
        handle(client, store, update, utc_offset_minutes).await;
    }
    Ok(next)
}

async fn handle(client: &TelegramClient, store: &State, update: Update, utc_offset_minutes: i32) {
    let Some(query) = update.callback_query else {
        return;
    };
    let now = crate::times::unix_now();
    let applied = {
        let query = query.clone();
        store
            .call(move |store| apply_press(store, &query, now, utc_offset_minutes))
            .await
    };
    let answer = match applied {
        Ok(applied) => applied.answer,
        Err(error) => {
            tracing::error!(%error, "button press not applied");
            "vigil could not apply this; try again".to_string()
        }
    };
    if let Err(error) = client
        .answer_callback_query(&query.id, Some(&answer), false)
        .await
    {
        // The press is applied; only the toast is lost.
        tracing::warn!(%error, "callback not answered");
    }
}

/// Applies whatever presses are waiting (no long poll) and confirms them:
/// what a one-shot `vigil check` does before evaluating.
pub async fn drain_pending(
    client: &TelegramClient,
    store: &State,
    utc_offset_minutes: i32,
) -> Result<(), TelegramError> {
    if let Some(offset) = poll_once(client, store, None, 0, utc_offset_minutes).await? {
        // Confirms them: Telegram forgets updates below the offset.
        client.get_updates(Some(offset), 0).await?;
    }
    Ok(())
}

/// The serve loop: long-polls until `stopped` resolves, backing off on errors.
pub async fn run(
    client: TelegramClient,
    store: State,
    utc_offset_minutes: i32,
    stopped: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stopped);
    let mut offset = None;
    let mut backoff = Duration::from_secs(1);
    loop {
        tokio::select! {
            () = &mut stopped => return,
            result = poll_once(&client, &store, offset, POLL_SECONDS, utc_offset_minutes) => match result {
                Ok(next) => {
                    offset = next;
                    backoff = Duration::from_secs(1);
                }
                Err(error) => {
                    let wait = error.retry_after().unwrap_or(backoff);
                    tracing::warn!(%error, wait_secs = wait.as_secs(), "getUpdates failed; retrying");
                    tokio::select! {
                        () = &mut stopped => return,
                        () = tokio::time::sleep(wait) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tomorrow_morning_is_nine_local_the_next_day() {
        // 2026-11-23 22:30 UTC = 2026-11-24 01:30 at +03:00 -> 2026-11-25 09:00 +03:00.
        let now = 1_795_473_000;
        let until = tomorrow_morning(now, 180);
        let local = DateTime::from_timestamp(until, 0)
            .expect("valid")
            .with_timezone(&FixedOffset::east_opt(180 * 60).expect("valid"));
        assert_eq!(local.format("%H:%M").to_string(), "09:00");
        assert!(until > now && until - now < 2 * 86_400);
    }
}
