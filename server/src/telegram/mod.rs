//! Telegram delivery: the Bot API client ([`client`]) and the alert message
//! formatting with its inline keyboard ([`message`]).

pub mod client;
pub mod message;
