//! The inline keyboard under an alert message, and the callback data its
//! buttons send back (parsed by [`super::updates`]).

use serde::{Deserialize, Serialize};

/// Telegram's limit for `callback_data`, in bytes.
pub const CALLBACK_DATA_LIMIT: usize = 64;

/// An action a button asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertAction {
    Acknowledge,
    MuteHour,
    MuteUntilTomorrow,
    FalseAlarm,
    Expected,
}

impl AlertAction {
    pub const ALL: [AlertAction; 5] = [
        AlertAction::Acknowledge,
        AlertAction::MuteHour,
        AlertAction::MuteUntilTomorrow,
        AlertAction::FalseAlarm,
        AlertAction::Expected,
    ];

    fn code(self) -> &'static str {
        match self {
            AlertAction::Acknowledge => "ack",
            AlertAction::MuteHour => "m1h",
            AlertAction::MuteUntilTomorrow => "mtd",
            AlertAction::FalseAlarm => "fa",
            AlertAction::Expected => "exp",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }

    /// The button's label.
    pub fn label(self) -> &'static str {
        match self {
            AlertAction::Acknowledge => "👀 Acknowledge",
            AlertAction::MuteHour => "🔕 Mute 1 h",
            AlertAction::MuteUntilTomorrow => "🌙 Mute until tomorrow",
            AlertAction::FalseAlarm => "❌ False alarm",
            AlertAction::Expected => "📅 Expected",
        }
    }
}

/// What a button's `callback_data` carries: `v1:<action>:<alert id>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackData {
    pub alert_id: u64,
    pub action: AlertAction,
}

const CALLBACK_PREFIX: &str = "v1";

impl CallbackData {
    /// At most 27 bytes, well within Telegram's 64.
    pub fn encode(&self) -> String {
        format!("{CALLBACK_PREFIX}:{}:{}", self.action.code(), self.alert_id)
    }

    /// Parses what [`CallbackData::encode`] wrote; anything else is `None`.
    pub fn parse(data: &str) -> Option<Self> {
        if data.len() > CALLBACK_DATA_LIMIT {
            return None;
        }
        let mut parts = data.split(':');
        let (prefix, code, id) = (parts.next()?, parts.next()?, parts.next()?);
        if prefix != CALLBACK_PREFIX || parts.next().is_some() {
            return None;
        }
        // Canonical digits only: no sign, no leading zeros (so encode(parse(x)) == x).
        if id.is_empty()
            || !id.bytes().all(|b| b.is_ascii_digit())
            || (id.len() > 1 && id.starts_with('0'))
        {
            return None;
        }
        Some(Self {
            alert_id: id.parse().ok()?,
            action: AlertAction::from_code(code)?,
        })
    }
}

/// Telegram's `InlineKeyboardMarkup`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InlineKeyboardMarkup {
    pub inline_keyboard: Vec<Vec<InlineKeyboardButton>>,
}

/// One inline button: a callback or a link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InlineKeyboardButton {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl InlineKeyboardButton {
    pub fn callback(text: &str, data: &CallbackData) -> Self {
        Self {
            text: text.to_string(),
            callback_data: Some(data.encode()),
            url: None,
        }
    }
}

/// The buttons under an alert: acknowledge / mute 1 h, mute until tomorrow,
/// false alarm / expected.
pub fn alert_keyboard(alert_id: u64) -> InlineKeyboardMarkup {
    let button = |action| {
        InlineKeyboardButton::callback(
            AlertAction::label(action),
            &CallbackData { alert_id, action },
        )
    };
    InlineKeyboardMarkup {
        inline_keyboard: vec![
            vec![
                button(AlertAction::Acknowledge),
                button(AlertAction::MuteHour),
            ],
            vec![button(AlertAction::MuteUntilTomorrow)],
            vec![
                button(AlertAction::FalseAlarm),
                button(AlertAction::Expected),
            ],
        ],
    }
}
