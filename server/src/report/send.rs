//! The morning reports of `vigil serve` and `vigil check`: creating them
//! when due (the scheduler's tick) and delivering them (the sender loop),
//! each (day, chat) once.
//!
//! A report is claimed before it is built and sent, and marked sent right
//! after Telegram confirms it, like an alert: two instances sharing the state
//! never both send it, and a crash between Telegram's answer and the mark is
//! the only way it goes out twice. A retriable
//! failure (network, 5xx, 429, the source unreachable while building it)
//! backs off and stays pending across restarts; a permanent rejection is
//! recorded and the report dropped.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;

use super::schedule::{self, Due};
use super::text::{self, Markup};
use super::{LocalDay, Report, ReportError};
use crate::config::ExperimentConfig;
use crate::config::{AlertingConfig, ReportConfig};
use crate::metrics::model::MetricDef;
use crate::sources::Source;
use crate::state::{backoff_secs, AlertError, ReportItem, State, CLAIM_SECONDS, LOG_CHAT};
use crate::telegram::client::{ChatId, Photo, TelegramClient, TelegramError, Text};
use crate::telegram::message::{truncate_html, visible_len, CAPTION_BUDGET, TEXT_BUDGET};

/// The morning reports of one vigil.
pub struct MorningReports {
    pub config: ReportConfig,
    store: State,
    source: Arc<Source>,
    metrics: Vec<MetricDef>,
    /// `[[experiments]]`, whose effects the report lists.
    experiments: Vec<ExperimentConfig>,
    alerting: AlertingConfig,
    telegram: Option<TelegramClient>,
}

/// What one pass over the due reports did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportDelivery {
    /// Reports handed to Telegram (or logged).
    pub delivered: usize,
    /// Reports Telegram refused for good.
    pub abandoned: usize,
    /// The pass stopped at a retriable failure: why, Telegram's flood-control
    /// delay if it gave one, and when the report is due again.
    pub blocked: Option<(String, Option<i64>, i64)>,
}

/// A report built for sending, with its chart (`None`: sent as text), or
/// why it could not be built.
type Built = Result<(Report, Option<Vec<u8>>), String>;

/// How one delivery attempt went.
enum Outcome {
    Sent(i64),
    Logged,
    Retry {
        error: String,
        retry_after: Option<i64>,
    },
    Abandon(String),
}

impl MorningReports {
    pub fn new(
        config: ReportConfig,
        store: State,
        source: Arc<Source>,
        metrics: Vec<MetricDef>,
        alerting: AlertingConfig,
        telegram: Option<TelegramClient>,
    ) -> Self {
        Self {
            config,
            store,
            source,
            metrics,
            experiments: Vec::new(),
            alerting,
            telegram,
        }
    }

    /// The declared experiments (none: the simulator's, when its labels are there).
    pub fn with_experiments(mut self, experiments: &[ExperimentConfig]) -> Self {
        self.experiments = experiments.to_vec();
        self
    }

    /// Creates the most recent report due at `now` (see [`schedule`]) for
    /// each chat that lacks it. Returns the report due, if reports are on.
    pub async fn enqueue_due(&self, now: i64) -> Result<Option<Due>, AlertError> {
        if !self.config.enabled {
            return Ok(None);
        }
        let due = schedule::latest_due(
            now,
            self.alerting.utc_offset_minutes,
            self.config.time_minutes,
        );
        let late = due.late_at(now);
        if late {
            // Late only catches up on a report vigil missed: the first one
            // ever waits for its time rather than arriving late at once.
            let last = self.store.call(|store| store.last_report_date()).await?;
            if last.is_none() {
                return Ok(Some(due));
            }
        }
        self.enqueue(due.day, late, now).await?;
        Ok(Some(due))
    }

    /// Creates the report of `day` for each chat that lacks it; how many were created.
    pub async fn enqueue(&self, day: LocalDay, late: bool, now: i64) -> Result<usize, AlertError> {
        let chats = schedule::chats(&self.config, &self.alerting.telegram);
        let date = day.iso();
        let logged = date.clone();
        let created = self
            .store
            .call(move |store| store.enqueue_reports(&date, &chats, late, now))
            .await?;
        if created > 0 {
            tracing::info!(date = %logged, chats = created, late, "morning report queued");
        }
        Ok(created)
    }

    /// The local day `date` in the alerts' UTC offset.
    pub fn day(&self, date: NaiveDate) -> LocalDay {
        LocalDay::new(date, self.alerting.utc_offset_minutes)
    }

    /// Builds the report of `day` from the source and the alert state.
    pub async fn build(&self, day: LocalDay) -> Result<Report, ReportError> {
        super::build(
            &self.source,
            Some(&self.store),
            &self.metrics,
            &self.experiments,
            day.date,
            day.utc_offset_minutes,
        )
        .await
    }

    /// Delivers the reports due at `now` (every pending one with
    /// `ignore_backoff`), stopping at the first retriable failure. Each is
    /// claimed for `claimant` first: one that another sender holds is left
    /// to it.
    pub async fn deliver_due(
        &self,
        now: i64,
        ignore_backoff: bool,
        claimant: &str,
    ) -> Result<ReportDelivery, AlertError> {
        let at = if ignore_backoff { i64::MAX } else { now };
        let due = self.store.call(move |store| store.due_reports(at)).await?;
        let mut report = ReportDelivery::default();
        // One build per day, however many chats it goes to.
        let mut built: BTreeMap<String, Built> = BTreeMap::new();
        for item in due {
            let holder = claimant.to_string();
            let claimed = (self.store)
                .call(move |store| store.claim_report(item.id, &holder, CLAIM_SECONDS))
                .await?;
            if !claimed {
                tracing::info!(date = %item.date, chat = item.chat_id, "another instance is sending this morning report; leaving it to it");
                continue;
            }
            if !built.contains_key(&item.date) {
                let made = self.build_item(&item).await;
                built.insert(item.date.clone(), made);
            }
            let outcome = match &built[&item.date] {
                Ok((built, png)) => {
                    let mut built = built.clone();
                    built.late = item.late;
                    self.send(&built, png.clone(), item.chat_id).await
                }
                Err(reason) => Outcome::Retry {
                    error: reason.clone(),
                    retry_after: None,
                },
            };
            let at = crate::times::unix_now();
            match outcome {
                Outcome::Retry { error, retry_after } => {
                    let retry_at =
                        at + retry_after.unwrap_or_else(|| backoff_secs(item.attempts + 1));
                    let stored = error.clone();
                    self.store
                        .call(move |store| store.retry_report(item.id, &stored, retry_at))
                        .await?;
                    tracing::warn!(date = %item.date, %error, "morning report not sent; will retry");
                    report.blocked = Some((error, retry_after, retry_at));
                    break;
                }
                Outcome::Sent(message_id) => {
                    report.delivered += 1;
                    self.finish(item.id, at, Some(message_id), None).await?;
                }
                Outcome::Logged => {
                    report.delivered += 1;
                    self.finish(item.id, at, None, None).await?;
                }
                Outcome::Abandon(reason) => {
                    report.abandoned += 1;
                    tracing::error!(date = %item.date, chat = item.chat_id, %reason, "morning report refused by Telegram");
                    self.finish(item.id, at, None, Some(reason)).await?;
                }
            }
        }
        Ok(report)
    }

    async fn finish(
        &self,
        id: i64,
        at: i64,
        message_id: Option<i64>,
        note: Option<String>,
    ) -> Result<(), AlertError> {
        self.store
            .call(move |store| store.finish_report(id, at, message_id, note.as_deref()))
            .await
    }

    /// The report of an item's day and its chart (`None` when it cannot be
    /// drawn: the report still goes out, as text); `Err` when its data
    /// cannot be read.
    async fn build_item(&self, item: &ReportItem) -> Built {
        let date = NaiveDate::parse_from_str(&item.date, "%Y-%m-%d")
            .map_err(|error| format!("report date {:?}: {error}", item.date))?;
        let report = self
            .build(self.day(date))
            .await
            .map_err(|error| crate::redact::scrub(&error.to_string()))?;
        let png = chart_png(&report).await;
        Ok((report, png))
    }

    /// One report to one chat: the chart with the text as its caption when
    /// it fits, else the chart with the metrics and a reply with the alerts.
    async fn send(&self, report: &Report, png: Option<Vec<u8>>, chat: i64) -> Outcome {
        let Some(client) = self.telegram.as_ref().filter(|_| chat != LOG_CHAT) else {
            tracing::info!("morning report\n{}", text::render(report, Markup::Plain));
            return Outcome::Logged;
        };
        let chat = ChatId::Id(chat);
        let html = text::render(report, Markup::Html);
        let result = match png {
            Some(png) => {
                let fits = visible_len(&html) <= CAPTION_BUDGET;
                let caption = if fits {
                    html
                } else {
                    truncate_html(&text::head(report, Markup::Html), CAPTION_BUDGET)
                };
                let sent = client
                    .send_photo(Photo {
                        chat_id: &chat,
                        png,
                        caption: &caption,
                        keyboard: None,
                        reply_to_message_id: None,
                    })
                    .await;
                if let (Ok(sent), false) = (&sent, fits) {
                    // The report is out with the chart; a lost follow-up is
                    // logged, not retried (retrying would send the chart twice).
                    let tail = truncate_html(&text::tail(report, Markup::Html), TEXT_BUDGET);
                    if let Err(error) = send_text(client, &chat, &tail, Some(sent.message_id)).await
                    {
                        tracing::warn!(%error, "morning report's alerts follow-up not sent");
                    }
                }
                sent.map(|sent| sent.message_id)
            }
            None => send_text(client, &chat, &truncate_html(&html, TEXT_BUDGET), None).await,
        };
        match result {
            Ok(message_id) => Outcome::Sent(message_id),
            Err(error) if error.is_retriable() => Outcome::Retry {
                retry_after: error
                    .retry_after()
                    .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1)),
                error: error.to_string(),
            },
            Err(error) => Outcome::Abandon(error.to_string()),
        }
    }
}

/// The report's chart, or `None` (logged) when it cannot be drawn.
pub async fn chart_png(report: &Report) -> Option<Vec<u8>> {
    let input = report.clone();
    match tokio::task::spawn_blocking(move || super::chart::render_png(&input)).await {
        Ok(Ok(png)) => Some(png),
        Ok(Err(error)) => {
            tracing::warn!(%error, "report chart not rendered; sending text");
            None
        }
        Err(error) => {
            tracing::warn!(%error, "report chart task failed; sending text");
            None
        }
    }
}

async fn send_text(
    client: &TelegramClient,
    chat: &ChatId,
    text: &str,
    reply_to: Option<i64>,
) -> Result<i64, TelegramError> {
    client
        .send_message(Text {
            chat_id: chat,
            text,
            keyboard: None,
            reply_to_message_id: reply_to,
            disable_web_page_preview: true,
        })
        .await
        .map(|sent| sent.message_id)
}
