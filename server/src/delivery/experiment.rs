//! Experiment alerts in Telegram: one text message with the buttons (no
//! chart: the effect and its interval are the message), a repeat replies
//! to it, a resolution or reopening rewrites it in place.

use super::{render, send_reply, send_text, Deliverer};
use crate::alerts::Notify;
use crate::state::{OutboxItem, SentMessage};
use crate::telegram::client::{ChatId, TelegramClient, TelegramError};
use crate::telegram::keyboard::alert_keyboard;

impl Deliverer {
    /// An experiment alert is one text message with the buttons: a repeat
    /// replies to it, a resolution (or reopening) rewrites it in place.
    pub(super) async fn send_experiment(
        &self,
        client: &TelegramClient,
        chat: &ChatId,
        item: &OutboxItem,
    ) -> Result<SentMessage, TelegramError> {
        let payload = &item.payload;
        let offset = self.alerting.utc_offset_minutes;
        let text = render::experiment_text(payload, offset, &self.links);
        let keyboard = alert_keyboard(payload.alert_id);
        if matches!(payload.notify, Notify::Opened) {
            return send_text(client, chat, &text, Some(&keyboard)).await;
        }
        let Some(original) = self.original_message(item.alert_id).await else {
            return send_text(client, chat, &text, Some(&keyboard)).await;
        };
        let edit = match payload.notify {
            Notify::Repeat { .. } => None,
            Notify::Resolved { .. } => Some(None),
            _ => Some(Some(&keyboard)),
        };
        let Some(keyboard) = edit else {
            return send_reply(client, chat, &text, original.message_id).await;
        };
        let target = ChatId::Id(original.chat_id);
        match client
            .edit_message_text(&target, original.message_id, &text, keyboard)
            .await
        {
            Ok(()) => Ok(original),
            Err(TelegramError::Rejected { description, .. })
                if description.contains("message is not modified") =>
            {
                Ok(original)
            }
            // The original is gone: post anew.
            Err(TelegramError::Rejected { .. }) => send_text(client, chat, &text, None).await,
            Err(error) => Err(error),
        }
    }
}
