//! Telegram: the Bot API client ([`client`]), the alert message formatting
//! with its inline keyboard ([`message`]) and the button presses that come
//! back ([`updates`]).

pub mod client;
pub mod message;
pub mod updates;
