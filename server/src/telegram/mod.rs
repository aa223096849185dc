//! Telegram: the Bot API client ([`client`]), the alert message formatting
//! ([`message`]) with its inline keyboard ([`keyboard`]) and the button
//! presses that come back ([`updates`]).

pub mod client;
pub mod keyboard;
pub mod message;
pub mod updates;
