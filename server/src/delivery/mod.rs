//! Delivery: drains the alert outbox in order and hands each notification to
//! Telegram (or, without a bot token, to the log).
//!
//! - Alerts opened by one check for one chat go out as one message (the
//!   probable cause or the unsliced metric first, the others listed under it):
//!   a broad outage is one message, not twelve.
//! - A repeat is a reply to the original message; a resolution edits the
//!   original's caption, rewriting the whole group with each alert's state.
//! - A retriable failure (network, 5xx, 429) stops the walk, so nothing later
//!   overtakes it; the item backs off and survives restarts in the store. A
//!   permanent rejection (bad chat, bad request) is recorded and skipped.
//! - An item is marked sent right after Telegram confirms it (a photo before
//!   its follow-up text): a crash between the two, or while Telegram holds a
//!   request it has received, is the only way a notification goes out twice
//!   (the Bot API has no idempotency key).

mod experiment;
pub mod render;
mod reports;

use std::sync::Arc;

use crate::alerts::Notify;
use crate::chart_png;
use crate::config::AlertingConfig;
use crate::metrics::model::MetricDef;
use crate::report::send::MorningReports;
use crate::sources::Source;
use crate::state::{
    AlertError, AlertRecord, NotificationPayload, OutboxItem, SentMessage, CLAIM_SECONDS,
};
use crate::state::{State, StateStore};
use crate::telegram::client::{ChatId, Photo, TelegramClient, TelegramError, Text};
use crate::telegram::keyboard::alert_keyboard;
use crate::telegram::message::{
    format_alert, format_short, plan_delivery, truncate_html, AlertMessage, AlertState, Delivery,
    TEXT_BUDGET,
};
use app::format::{number, Digits};
use render::Links;

/// What one pass over the outbox did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeliveryReport {
    /// Notifications handed to Telegram (or logged, without Telegram).
    pub delivered: usize,
    /// Notifications Telegram refused for good (recorded, skipped).
    pub abandoned: usize,
    /// The walk stopped at a retriable failure.
    pub blocked: Option<Blocked>,
}

/// A retriable failure that stopped the walk.
#[derive(Clone, Debug, PartialEq)]
pub struct Blocked {
    pub error: String,
    /// Telegram's flood-control delay, if it gave one.
    pub retry_after_secs: Option<i64>,
    pub retry_at: i64,
}

/// How one batch went.
enum Outcome {
    Sent(SentMessage),
    /// Logged instead (no Telegram, or no chat for this metric).
    Logged,
    Retry(TelegramError),
    Abandon(String),
}

impl Outcome {
    /// Records a finished attempt of outbox item `id` (not a retry).
    fn record(&self, store: &mut dyn StateStore, id: i64, at: i64) -> Result<(), AlertError> {
        match self {
            Outcome::Sent(sent) => store.mark_sent(id, at, *sent),
            Outcome::Logged => store.mark_done_without_message(id, at, None),
            Outcome::Abandon(reason) => store.mark_done_without_message(id, at, Some(reason)),
            Outcome::Retry(_) => Ok(()), // handled by the caller: it backs off
        }
    }
}

/// Delivers the outbox.
pub struct Deliverer {
    store: State,
    /// Whose claim this sender's items carry (see [`crate::state::Outbox::claim`]).
    claimant: String,
    source: Arc<Source>,
    metrics: Vec<MetricDef>,
    alerting: AlertingConfig,
    links: Links,
    telegram: Option<TelegramClient>,
    /// The morning reports, delivered after the alerts.
    reports: Option<Arc<MorningReports>>,
}

impl Deliverer {
    pub fn new(
        store: State,
        source: Arc<Source>,
        metrics: Vec<MetricDef>,
        alerting: AlertingConfig,
        links: Links,
        telegram: Option<TelegramClient>,
    ) -> Self {
        Self {
            store,
            claimant: crate::instance::command_claimant("sender"),
            source,
            metrics,
            alerting,
            links,
            telegram,
            reports: None,
        }
    }

    /// Names this sender's claims (`vigil serve`: its leader lease's holder).
    pub fn with_claimant(mut self, claimant: impl Into<String>) -> Self {
        self.claimant = claimant.into();
        self
    }

    /// Claims every item of `batch` for this sender; false when another
    /// sender holds one of them (it sends them: this one stops, and gives
    /// up the claims it took on the others).
    async fn claim(&self, batch: &[OutboxItem]) -> Result<bool, AlertError> {
        let ids: Vec<i64> = batch.iter().map(|item| item.id).collect();
        let claimant = self.claimant.clone();
        self.store
            .call(move |store| {
                for (n, id) in ids.iter().enumerate() {
                    if !store.claim(*id, &claimant, CLAIM_SECONDS)? {
                        for taken in &ids[..n] {
                            store.release_claim(*taken, &claimant)?;
                        }
                        return Ok(false);
                    }
                }
                Ok(true)
            })
            .await
    }

    /// Delivers what is due at `now` (everything pending with
    /// `ignore_backoff`, for one-shot runs whose cadence is the backoff), in
    /// order, stopping at the first retriable failure.
    pub async fn deliver_due(
        &self,
        now: i64,
        ignore_backoff: bool,
    ) -> Result<DeliveryReport, AlertError> {
        let due = self
            .store
            .call(move |store| store.due(if ignore_backoff { i64::MAX } else { now }))
            .await?;
        let mut report = DeliveryReport::default();
        let mut rest = due.as_slice();
        while let Some(first) = rest.first() {
            let size = self.batch_len(rest);
            let (batch, tail) = rest.split_at(size);
            rest = tail;
            if !self.claim(batch).await? {
                tracing::info!("another instance is sending these alerts; leaving them to it");
                break;
            }
            let outcome = self.deliver_batch(batch).await;
            let at = crate::times::unix_now();
            if let Outcome::Retry(error) = outcome {
                let retry_after = error
                    .retry_after()
                    .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                let retry_at = first.retry_at(at, retry_after);
                let text = error.to_string();
                let id = first.id;
                let stored = text.clone();
                // The first item records the attempt (and gives up its
                // claim); the others were not tried: their claims go too, so
                // another sender need not wait for them to expire.
                let unsent: Vec<i64> = batch[1..].iter().map(|item| item.id).collect();
                let claimant = self.claimant.clone();
                self.store
                    .call(move |store| {
                        store.mark_failed(id, &stored, retry_at)?;
                        (unsent.iter()).try_for_each(|id| store.release_claim(*id, &claimant))
                    })
                    .await?;
                report.blocked = Some(Blocked {
                    error: text,
                    retry_after_secs: retry_after,
                    retry_at,
                });
                break;
            }
            if matches!(outcome, Outcome::Abandon(_)) {
                report.abandoned += batch.len();
            } else {
                report.delivered += batch.len();
            }
            let ids: Vec<i64> = batch.iter().map(|item| item.id).collect();
            self.store
                .call(move |store| ids.iter().try_for_each(|id| outcome.record(store, *id, at)))
                .await?;
        }
        self.deliver_reports(now, ignore_backoff, &mut report)
            .await?;
        Ok(report)
    }

    /// Items at the head of `items` that go out together: alerts opened by the
    /// same check for the same chat (one message), or resolved by the same
    /// check (one edit per original message).
    fn batch_len(&self, items: &[OutboxItem]) -> usize {
        let first = &items[0];
        let kind = first.payload.notify.kind();
        if matches!(first.payload.notify, Notify::Repeat { .. })
            || render::is_notice(&first.payload)
            || render::is_experiment(&first.payload)
        {
            return 1;
        }
        let chat = self.chat_for(&first.payload);
        1 + items[1..]
            .iter()
            .take_while(|item| {
                item.created_at == first.created_at
                    && item.payload.notify.kind() == kind
                    && !render::is_notice(&item.payload)
                    && !render::is_experiment(&item.payload)
                    && self.chat_for(&item.payload) == chat
            })
            .count()
    }

    fn chat_for(&self, payload: &NotificationPayload) -> Option<i64> {
        let telegram = &self.alerting.telegram;
        if render::is_notice(payload) {
            telegram
                .default_chat
                .or_else(|| telegram.chats.values().next().copied())
        } else {
            telegram.chat_for(&payload.metric)
        }
    }

    fn metric(&self, name: &str) -> Option<&MetricDef> {
        self.metrics.iter().find(|m| m.name == name)
    }

    async fn deliver_batch(&self, batch: &[OutboxItem]) -> Outcome {
        let first = &batch[0].payload;
        let (Some(client), Some(chat)) = (self.telegram.as_ref(), self.chat_for(first)) else {
            for item in batch {
                log_notification(&item.payload);
            }
            return Outcome::Logged;
        };
        let chat = ChatId::Id(chat);
        let result = if render::is_notice(first) {
            let text = render::notice_text(first, &self.source.describe());
            send_text(client, &chat, &text, None).await
        } else if render::is_experiment(first) {
            self.send_experiment(client, &chat, &batch[0]).await
        } else {
            match first.notify {
                Notify::Opened => self.send_opened(client, &chat, batch).await,
                Notify::Repeat { .. } => self.send_repeat(client, &chat, &batch[0]).await,
                // Both rewrite the original message: resolved, or firing again.
                Notify::Resolved { .. } | Notify::Reopened { .. } => {
                    self.send_resolved(client, &chat, batch).await
                }
            }
        };
        match result {
            Ok(sent) => Outcome::Sent(sent),
            Err(error) if error.is_retriable() => Outcome::Retry(error),
            Err(error) => Outcome::Abandon(error.to_string()),
        }
    }

    /// A new alert (or group): the chart with the caption and the buttons.
    async fn send_opened(
        &self,
        client: &TelegramClient,
        chat: &ChatId,
        batch: &[OutboxItem],
    ) -> Result<SentMessage, TelegramError> {
        let mut ordered: Vec<&NotificationPayload> = batch.iter().map(|i| &i.payload).collect();
        // The cause first, then the whole metric, then the biggest deviation.
        ordered.sort_by(|a, b| {
            (!a.context.caused_by.is_empty())
                .cmp(&!b.context.caused_by.is_empty())
                .then(a.slice.is_some().cmp(&b.slice.is_some()))
                .then(
                    b.deviation
                        .unwrap_or(0.0)
                        .abs()
                        .total_cmp(&a.deviation.unwrap_or(0.0).abs()),
                )
        });
        let primary = ordered[0];
        let metric = self.metric(&primary.metric);
        let mut message = render::alert_message(
            primary,
            metric,
            &self.alerting,
            &self.links,
            render::state_of(primary),
        );
        message.extra.group = ordered[1..]
            .iter()
            .map(|p| render::group_line(p, self.metric(&p.metric), false))
            .collect();
        let keyboard = alert_keyboard(primary.alert_id);
        let png = match metric {
            Some(metric) => self.chart(metric, primary).await,
            None => None,
        };
        let Some(png) = png else {
            // No chart: the alert still goes out, as text.
            let text = truncate_html(&format_alert(&message), TEXT_BUDGET);
            return send_text(client, chat, &text, Some(&keyboard)).await;
        };
        let (caption, follow_up) = match plan_delivery(&message) {
            Delivery::Photo { caption } => (caption, None),
            Delivery::PhotoThenText { caption, text } => (caption, Some(text)),
        };
        let sent = client
            .send_photo(Photo {
                chat_id: chat,
                png,
                caption: &caption,
                keyboard: Some(&keyboard),
                reply_to_message_id: None,
            })
            .await?;
        let sent = SentMessage {
            chat_id: sent.chat.id,
            message_id: sent.message_id,
        };
        if let Some(text) = follow_up {
            // The alert is out with the photo: recorded so before the follow-up
            // goes, or a crash while it is on its way sends the photo again.
            let ids: Vec<i64> = batch.iter().map(|item| item.id).collect();
            let at = crate::times::unix_now();
            (self.store)
                .call(move |store| ids.iter().try_for_each(|id| store.mark_sent(*id, at, sent)))
                .await
                .unwrap_or_else(|error| tracing::warn!(%error, "photo alert not marked sent"));
            // A lost follow-up is logged, not retried
            // (retrying would send the photo twice).
            if let Err(error) = send_reply(client, chat, &text, sent.message_id).await {
                tracing::warn!(%error, alert_id = primary.alert_id, "alert details follow-up not sent");
            }
        }
        Ok(sent)
    }

    /// The message that announced an alert, if it was sent.
    async fn original_message(&self, alert_id: crate::alerts::AlertId) -> Option<SentMessage> {
        let found = self.store.call(move |store| store.message_of(alert_id));
        found.await.ok().flatten()
    }

    /// Still firing: a short reply to the original message (a new alert if
    /// there is no original to reply to).
    async fn send_repeat(
        &self,
        client: &TelegramClient,
        chat: &ChatId,
        item: &OutboxItem,
    ) -> Result<SentMessage, TelegramError> {
        let Some(original) = self.original_message(item.alert_id).await else {
            return self
                .send_opened(client, chat, std::slice::from_ref(item))
                .await;
        };
        let message = render::alert_message(
            &item.payload,
            self.metric(&item.payload.metric),
            &self.alerting,
            &self.links,
            render::state_of(&item.payload),
        );
        let text = format_short(&message);
        match send_reply(client, chat, &text, original.message_id).await {
            Ok(sent) => Ok(sent),
            Err(TelegramError::Rejected { .. }) => send_text(client, chat, &text, None).await,
            Err(error) => Err(error),
        }
    }

    /// Back to normal, or firing again soon after (reopened): rewrite each
    /// original message's caption once (the whole group with every alert's
    /// state) and drop the buttons once all are resolved. An alert never
    /// announced in Telegram gets a short message.
    async fn send_resolved(
        &self,
        client: &TelegramClient,
        chat: &ChatId,
        batch: &[OutboxItem],
    ) -> Result<SentMessage, TelegramError> {
        let ids: Vec<u64> = batch.iter().map(|item| item.alert_id).collect();
        let originals: Vec<Option<SentMessage>> = self
            .store
            .call(move |store| ids.iter().map(|id| store.message_of(*id)).collect())
            .await
            .unwrap_or_else(|_| vec![None; batch.len()]);
        let changed: Vec<(&NotificationPayload, AlertMessage)> = batch
            .iter()
            .map(|item| {
                let message = render::alert_message(
                    &item.payload,
                    self.metric(&item.payload.metric),
                    &self.alerting,
                    &self.links,
                    render::state_of(&item.payload),
                );
                (&item.payload, message)
            })
            .collect();
        let mut first_sent = None;
        let mut edited: Vec<SentMessage> = Vec::new();
        for ((payload, message), original) in changed.iter().zip(&originals) {
            let sent = match original {
                None => send_text(client, chat, &format_short(message), None).await?,
                Some(original) if edited.contains(original) => *original,
                Some(original) => {
                    edited.push(*original);
                    self.edit_group(client, chat, *original, &changed, payload, message)
                        .await?
                }
            };
            first_sent.get_or_insert(sent);
        }
        first_sent.ok_or_else(|| TelegramError::InvalidResponse {
            method: "editMessageCaption",
            message: "empty batch".into(),
        })
    }

    /// Rewrites one original message after some of its alerts resolved (or
    /// reopened).
    async fn edit_group(
        &self,
        client: &TelegramClient,
        chat: &ChatId,
        original: SentMessage,
        changed: &[(&NotificationPayload, AlertMessage)],
        payload: &NotificationPayload,
        message: &AlertMessage,
    ) -> Result<SentMessage, TelegramError> {
        let group = self
            .store
            .call(move |store| store.message_group(original))
            .await
            .unwrap_or_default();
        let caption = self.group_caption(&group, changed);
        let resolved_now = |id: u64| {
            changed
                .iter()
                .any(|(p, _)| p.alert_id == id && matches!(p.notify, Notify::Resolved { .. }))
        };
        let all_resolved = group
            .iter()
            .all(|(p, record)| resolved_now(p.alert_id) || record.resolved_at.is_some());
        let keyboard = (!all_resolved)
            .then(|| alert_keyboard(group.first().map_or(payload.alert_id, |g| g.0.alert_id)));
        match client
            .edit_message_caption(
                &ChatId::Id(original.chat_id),
                original.message_id,
                &caption,
                keyboard.as_ref(),
            )
            .await
        {
            Ok(()) => Ok(original),
            Err(TelegramError::Rejected { description, .. })
                if description.contains("message is not modified") =>
            {
                Ok(original)
            }
            // A text message (no chart) has no caption, or the original is gone:
            // reply instead, or post anew.
            Err(TelegramError::Rejected { .. }) => {
                let text = format_short(message);
                match send_reply(client, chat, &text, original.message_id).await {
                    Err(TelegramError::Rejected { .. }) => {
                        send_text(client, chat, &text, None).await
                    }
                    other => other,
                }
            }
            Err(error) => Err(error),
        }
    }

    /// The caption of a message after some of its alerts changed state.
    fn group_caption(
        &self,
        group: &[(NotificationPayload, AlertRecord)],
        changed: &[(&NotificationPayload, AlertMessage)],
    ) -> String {
        let state_now = |p: &NotificationPayload, record: &AlertRecord| {
            changed
                .iter()
                .find(|(c, _)| c.alert_id == p.alert_id)
                .map_or_else(|| render::state_of_record(record), |(_, m)| m.state.clone())
        };
        let Some(((primary, primary_record), others)) = group.split_first() else {
            return changed
                .first()
                .map(|(_, m)| caption_of(m))
                .unwrap_or_default();
        };
        let mut message = render::alert_message(
            primary,
            self.metric(&primary.metric),
            &self.alerting,
            &self.links,
            state_now(primary, primary_record),
        );
        message.extra.group = others
            .iter()
            .map(|(p, record)| {
                let resolved = matches!(
                    state_now(p, record),
                    AlertState::Resolved { .. } | AlertState::Withdrawn { .. }
                );
                render::group_line(p, self.metric(&p.metric), resolved)
            })
            .collect();
        caption_of(&message)
    }

    /// The chart PNG, or `None` (logged) when it cannot be read or drawn: a
    /// chart failure never holds an alert back.
    async fn chart(&self, metric: &MetricDef, payload: &NotificationPayload) -> Option<Vec<u8>> {
        let detectors = crate::settings::in_effect(&self.store, &self.alerting.detectors).await;
        let input = match render::chart_input(
            &self.source,
            metric,
            payload,
            detectors.for_metric(&metric.name),
            self.alerting.utc_offset_minutes,
        )
        .await
        {
            Ok(input) => input,
            Err(error) => {
                tracing::warn!(%error, metric = %metric.name, "chart data unavailable; sending text");
                return None;
            }
        };
        match tokio::task::spawn_blocking(move || chart_png::render_png(&input)).await {
            Ok(Ok(png)) => Some(png),
            Ok(Err(error)) => {
                tracing::warn!(%error, metric = %metric.name, "chart not rendered; sending text");
                None
            }
            Err(error) => {
                tracing::warn!(%error, "chart task failed; sending text");
                None
            }
        }
    }
}

/// The caption for a message: the full text when it fits, else the short one.
fn caption_of(message: &AlertMessage) -> String {
    match plan_delivery(message) {
        Delivery::Photo { caption } | Delivery::PhotoThenText { caption, .. } => caption,
    }
}

async fn send_text(
    client: &TelegramClient,
    chat: &ChatId,
    text: &str,
    keyboard: Option<&crate::telegram::keyboard::InlineKeyboardMarkup>,
) -> Result<SentMessage, TelegramError> {
    let sent = client
        .send_message(Text {
            chat_id: chat,
            text,
            keyboard,
            reply_to_message_id: None,
            disable_web_page_preview: true,
        })
        .await?;
    Ok(SentMessage {
        chat_id: sent.chat.id,
        message_id: sent.message_id,
    })
}

async fn send_reply(
    client: &TelegramClient,
    chat: &ChatId,
    text: &str,
    reply_to: i64,
) -> Result<SentMessage, TelegramError> {
    let sent = client
        .send_message(Text {
            chat_id: chat,
            text,
            keyboard: None,
            reply_to_message_id: Some(reply_to),
            disable_web_page_preview: true,
        })
        .await?;
    Ok(SentMessage {
        chat_id: sent.chat.id,
        message_id: sent.message_id,
    })
}

/// "value 11, band 12.67..33.67": rounded as the Telegram message rounds them,
/// "no value" / "no band" when the detector gave none.
fn value_and_band(payload: &NotificationPayload) -> String {
    let value = match payload.value.filter(|v| v.is_finite()) {
        Some(value) => format!("value {}", number(Some(value), Digits::Exact)),
        None => "no value".to_string(),
    };
    let band = match (payload.lower, payload.upper) {
        (None, None) => "no band".to_string(),
        (lower, upper) => format!(
            "band {}..{}",
            number(lower, Digits::Exact),
            number(upper, Digits::Exact)
        ),
    };
    format!("{value}, {band}")
}

/// Without Telegram, an alert is a log line (and a row in the UI's history).
fn log_notification(payload: &NotificationPayload) {
    let slice = payload
        .slice
        .as_ref()
        .map(|s| format!(" {}={}", s.dimension, s.value))
        .unwrap_or_default();
    let deviation = payload
        .deviation
        .map(|d| format!(" ({:+.1} %)", d * 100.0))
        .unwrap_or_default();
    match payload.notify {
        Notify::Opened | Notify::Repeat { .. } | Notify::Reopened { .. } => tracing::warn!(
            alert_id = payload.alert_id,
            kind = payload.notify.kind(),
            "ALERT {}{}: {}{} by {}{}",
            payload.metric,
            slice,
            value_and_band(payload),
            deviation,
            payload.detector,
            payload
                .notice
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default(),
        ),
        Notify::Resolved { lasted_secs } => tracing::info!(
            alert_id = payload.alert_id,
            "RESOLVED {}{} after {} s",
            payload.metric,
            slice,
            lasted_secs
        ),
    }
}

#[cfg(test)]
mod tests;
