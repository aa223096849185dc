//! A small Telegram Bot API client: the methods alerting needs, over HTTP.
//!
//! Every call is `POST <base>/bot<TOKEN>/<method>`. The token is a secret: it
//! only ever lives in [`BotToken`] (whose `Debug` redacts it) and in the request
//! URL; errors are built without the URL and scrubbed of the token, and log
//! lines name only the method.

use std::fmt;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::keyboard::InlineKeyboardMarkup;

/// The official Bot API endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.telegram.org";
/// Whole-request timeout for ordinary calls.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Added to a long poll's own timeout for the HTTP request.
const LONG_POLL_GRACE: Duration = Duration::from_secs(10);

const REDACTED: &str = "<redacted>";

/// A bot token (`123456:ABC...`). `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl BotToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into().trim().to_string())
    }

    /// The secret itself: only for building request URLs.
    fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the token in `text`.
    fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, REDACTED)
        }
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotToken(<redacted>)")
    }
}

impl fmt::Display for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Where and how to reach the Bot API.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `https://api.telegram.org`, or a local Bot API server / test fake.
    pub base_url: String,
    pub token: BotToken,
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

impl ClientConfig {
    pub fn new(token: BotToken) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_string(),
            token,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }
}

/// Why a call failed. Messages never contain the token.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// 429: wait `retry_after` seconds before the next call.
    #[error("telegram {method}: rate limited, retry after {retry_after} s")]
    RateLimited {
        method: &'static str,
        retry_after: u64,
    },
    /// 5xx: Telegram's side; worth retrying.
    #[error("telegram {method}: server error {code}: {description}")]
    Server {
        method: &'static str,
        code: u16,
        description: String,
    },
    /// Connect, timeout or transport failure; worth retrying.
    #[error("telegram {method}: network error: {message}")]
    Network {
        method: &'static str,
        message: String,
    },
    /// 4xx other than 429 (bad token, chat not found, bad HTML, ...): retrying won't help.
    #[error("telegram {method}: rejected ({code}): {description}")]
    Rejected {
        method: &'static str,
        code: u16,
        description: String,
    },
    /// A success status whose body is not the Bot API's envelope.
    #[error("telegram {method}: invalid response: {message}")]
    InvalidResponse {
        method: &'static str,
        message: String,
    },
    /// The client could not be built (bad base URL, TLS setup).
    #[error("telegram client setup: {0}")]
    Setup(String),
}

impl TelegramError {
    /// Whether the same call may succeed later.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            TelegramError::RateLimited { .. }
                | TelegramError::Server { .. }
                | TelegramError::Network { .. }
        )
    }

    /// For [`TelegramError::RateLimited`], how long to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TelegramError::RateLimited { retry_after, .. } => {
                Some(Duration::from_secs(*retry_after))
            }
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, TelegramError>;

/// The Bot API's response envelope.
#[derive(Debug, Deserialize)]
struct ApiResponse {
    ok: bool,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default)]
    parameters: Option<ResponseParameters>,
}

#[derive(Debug, Deserialize)]
struct ResponseParameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

/// A chat: numeric id or `@channelusername`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChatId {
    Id(i64),
    Username(String),
}

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChatId::Id(id) => write!(f, "{id}"),
            ChatId::Username(name) => f.write_str(name),
        }
    }
}

impl From<i64> for ChatId {
    fn from(id: i64) -> Self {
        ChatId::Id(id)
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

/// A message (also an inaccessible one: then only id, chat and `date == 0`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub chat: Chat,
    #[serde(default)]
    pub date: i64,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
}

/// A button press.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct CallbackQuery {
    pub id: String,
    pub from: User,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub chat_instance: Option<String>,
}

/// One update from `getUpdates`; kinds other than callback queries are ignored.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Update {
    pub update_id: i64,
    #[serde(default)]
    pub callback_query: Option<CallbackQuery>,
}

/// A photo to send.
#[derive(Clone)]
pub struct Photo<'a> {
    pub chat_id: &'a ChatId,
    /// PNG bytes, uploaded as `chart.png`.
    pub png: Vec<u8>,
    /// Telegram HTML, within the caption limit.
    pub caption: &'a str,
    pub keyboard: Option<&'a InlineKeyboardMarkup>,
    pub reply_to_message_id: Option<i64>,
}

impl fmt::Debug for Photo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Photo")
            .field("chat_id", self.chat_id)
            .field("png_bytes", &self.png.len())
            .field("caption", &self.caption)
            .field("keyboard", &self.keyboard)
            .field("reply_to_message_id", &self.reply_to_message_id)
            .finish()
    }
}

/// A text message to send.
#[derive(Clone, Debug)]
pub struct Text<'a> {
    pub chat_id: &'a ChatId,
    /// Telegram HTML, within the text limit.
    pub text: &'a str,
    pub keyboard: Option<&'a InlineKeyboardMarkup>,
    pub reply_to_message_id: Option<i64>,
    pub disable_web_page_preview: bool,
}

/// The Bot API client. Cheap to clone (the HTTP pool is shared).
#[derive(Clone, Debug)]
pub struct TelegramClient {
    http: reqwest::Client,
    base_url: String,
    token: BotToken,
}

impl TelegramClient {
    pub fn new(config: ClientConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                TelegramError::Setup(config.token.scrub(&error_chain(&e.without_url())))
            })?;
        let base_url = config.base_url.trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(TelegramError::Setup(format!(
                "base URL must start with http:// or https://, got {:?}",
                config.token.scrub(&base_url)
            )));
        }
        Ok(Self {
            http,
            base_url,
            token: config.token,
        })
    }

    fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base_url, self.token.expose())
    }

    /// `sendPhoto` with the chart uploaded as multipart `photo` (`chart.png`).
    pub async fn send_photo(&self, photo: Photo<'_>) -> Result<Message> {
        const METHOD: &str = "sendPhoto";
        let part = Part::bytes(photo.png)
            .file_name("chart.png")
            .mime_str("image/png")
            .map_err(|e| self.invalid(METHOD, &e))?;
        let mut form = Form::new()
            .text("chat_id", photo.chat_id.to_string())
            .part("photo", part)
            .text("caption", photo.caption.to_string())
            .text("parse_mode", "HTML");
        if let Some(keyboard) = photo.keyboard {
            let json = serde_json::to_string(keyboard).map_err(|e| self.invalid(METHOD, &e))?;
            form = form.text("reply_markup", json);
        }
        if let Some(id) = photo.reply_to_message_id {
            form = form.text("reply_to_message_id", id.to_string());
        }
        let request = self.http.post(self.url(METHOD)).multipart(form);
        self.call(METHOD, request).await
    }

    /// `sendMessage` in HTML.
    pub async fn send_message(&self, text: Text<'_>) -> Result<Message> {
        let mut body = json!({
            "chat_id": text.chat_id,
            "text": text.text,
            "parse_mode": "HTML",
            "disable_web_page_preview": text.disable_web_page_preview,
        });
        if let Some(keyboard) = text.keyboard {
            body["reply_markup"] = json!(keyboard);
        }
        if let Some(id) = text.reply_to_message_id {
            body["reply_to_message_id"] = json!(id);
        }
        self.call_json("sendMessage", &body, None).await
    }

    /// `editMessageCaption` (HTML); `keyboard: None` removes the buttons.
    pub async fn edit_message_caption(
        &self,
        chat_id: &ChatId,
        message_id: i64,
        caption: &str,
        keyboard: Option<&InlineKeyboardMarkup>,
    ) -> Result<()> {
        let mut body = json!({
            "chat_id": chat_id,
            "message_id": message_id,
            "caption": caption,
            "parse_mode": "HTML",
        });
        if let Some(keyboard) = keyboard {
            body["reply_markup"] = json!(keyboard);
        }
        // The result is the edited Message (or `true` for inline messages).
        let _: Value = self.call_json("editMessageCaption", &body, None).await?;
        Ok(())
    }

    /// `editMessageText` (HTML) of a text message; `keyboard: None` removes the buttons.
    pub async fn edit_message_text(
        &self,
        chat_id: &ChatId,
        message_id: i64,
        text: &str,
        keyboard: Option<&InlineKeyboardMarkup>,
    ) -> Result<()> {
        let mut body = json!({
            "chat_id": chat_id,
            "message_id": message_id,
            "text": text,
            "parse_mode": "HTML",
            "disable_web_page_preview": true,
        });
        if let Some(keyboard) = keyboard {
            body["reply_markup"] = json!(keyboard);
        }
        let _: Value = self.call_json("editMessageText", &body, None).await?;
        Ok(())
    }

    /// `answerCallbackQuery`: stops the button's spinner, optionally with a toast.
    pub async fn answer_callback_query(
        &self,
        callback_query_id: &str,
        text: Option<&str>,
        show_alert: bool,
    ) -> Result<()> {
        let mut body = json!({ "callback_query_id": callback_query_id });
        if let Some(text) = text {
            body["text"] = json!(text);
        }
        if show_alert {
            body["show_alert"] = json!(true);
        }
        let _: Value = self.call_json("answerCallbackQuery", &body, None).await?;
        Ok(())
    }

    /// `getUpdates` for callback queries only, long polling up to `timeout_secs`.
    /// Pass the last `update_id + 1` as `offset` to confirm earlier updates.
    pub async fn get_updates(&self, offset: Option<i64>, timeout_secs: u32) -> Result<Vec<Update>> {
        let mut body = json!({
            "timeout": timeout_secs,
            "allowed_updates": ["callback_query"],
        });
        if let Some(offset) = offset {
            body["offset"] = json!(offset);
        }
        let http_timeout = Duration::from_secs(u64::from(timeout_secs)) + LONG_POLL_GRACE;
        self.call_json("getUpdates", &body, Some(http_timeout.max(DEFAULT_TIMEOUT)))
            .await
    }

    async fn call_json<T: DeserializeOwned>(
        &self,
        method: &'static str,
        body: &Value,
        timeout: Option<Duration>,
    ) -> Result<T> {
        let mut request = self.http.post(self.url(method)).json(body);
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        self.call(method, request).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<T> {
        tracing::debug!(method, "telegram call");
        let response = request.send().await.map_err(|e| self.network(method, e))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.network(method, e))?;
        let result = self.interpret(method, status, &bytes);
        if let Err(error) = &result {
            tracing::warn!(method, status, retriable = error.is_retriable(), %error, "telegram call failed");
        }
        result
    }

    /// Turns a status and body into the result or a typed error.
    fn interpret<T: DeserializeOwned>(
        &self,
        method: &'static str,
        status: u16,
        body: &[u8],
    ) -> Result<T> {
        let envelope: Option<ApiResponse> = serde_json::from_slice(body).ok();
        if let Some(envelope) = &envelope {
            if envelope.ok && (200..300).contains(&status) {
                let result = envelope.result.clone().unwrap_or(Value::Null);
                return serde_json::from_value(result).map_err(|e| self.invalid(method, &e));
            }
        }
        let (code, description, retry_after) = match envelope {
            Some(e) => (
                e.error_code
                    .and_then(|c| u16::try_from(c).ok())
                    .filter(|c| *c >= 400)
                    .unwrap_or(status),
                e.description.unwrap_or_default(),
                e.parameters.and_then(|p| p.retry_after),
            ),
            None => (
                status,
                String::from_utf8_lossy(body).chars().take(200).collect(),
                None,
            ),
        };
        let description = self.token.scrub(&description);
        match code {
            429 => Err(TelegramError::RateLimited {
                method,
                retry_after: retry_after.unwrap_or(1),
            }),
            500..=599 => Err(TelegramError::Server {
                method,
                code,
                description,
            }),
            400..=499 => Err(TelegramError::Rejected {
                method,
                code,
                description,
            }),
            // A 2xx (or odd) status with a body that is not a successful envelope.
            _ => Err(TelegramError::InvalidResponse {
                method,
                message: format!("status {status}: {description}"),
            }),
        }
    }

    fn network(&self, method: &'static str, error: reqwest::Error) -> TelegramError {
        let timeout = error.is_timeout();
        let mut message = self.token.scrub(&error_chain(&error.without_url()));
        if timeout && !message.contains("timed out") {
            message.push_str(" (timed out)");
        }
        TelegramError::Network { method, message }
    }

    fn invalid(&self, method: &'static str, error: &dyn std::error::Error) -> TelegramError {
        TelegramError::InvalidResponse {
            method,
            message: self.token.scrub(&error_chain(error)),
        }
    }
}

/// An error and its sources, `: `-joined.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests;
