//! What the pages ask the server for: plain data types and the server functions
//! that return them, one module per resource. The server functions only declare
//! the contract; the server binary supplies a [`backend::Backend`] through
//! Leptos context, so this crate never depends on a database or a config file.

use leptos::prelude::*;

pub mod alerts;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod experiments;
pub mod labels;
pub mod metrics;
pub mod overview;
pub mod report;
pub mod settings;

pub use alerts::*;
pub use experiments::*;
pub use labels::*;
pub use metrics::*;
pub use overview::*;
pub use report::*;
pub use settings::*;

/// Why a request was refused: the HTTP status a server function answers
/// with. Without one, every error is a 500, which monitoring and scripts
/// read as a fault of the server rather than of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400: a parameter is malformed or out of range.
    BadRequest,
    /// 401: the operator token is missing.
    Unauthorized,
    /// 403: the token is wrong, or writes are disabled.
    Forbidden,
    /// 404: no such metric, silence or page.
    NotFound,
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::BadRequest => 400,
            Refusal::Unauthorized => 401,
            Refusal::Forbidden => 403,
            Refusal::NotFound => 404,
        }
    }
}

/// Sets the status of the response being built (a server function's, or the
/// page's while it renders on the server); nothing in the browser.
pub fn set_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(code) = leptos::server_fn::http_export::StatusCode::from_u16(status) {
            options.set_status(code);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

/// The error a server function returns for a refused request, answered with
/// the refusal's status.
pub fn refuse(why: Refusal, message: impl std::fmt::Display) -> ServerFnError {
    set_status(why.status());
    ServerFnError::new(message.to_string())
}

/// A server function's error as a person should read it: the server's own
/// message without the transport's "error running server function" prefix.
pub fn error_text(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}

/// `Some` non-blank text, trimmed; blank is `None`.
fn non_blank(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// The metrics the validation tests know.
#[cfg(test)]
fn known_in_tests() -> Vec<String> {
    vec!["feed_views".to_string()]
}

/// What the web UI shows to someone without the operator token configured.
pub const READ_ONLY: &str =
    "read-only: no operator token configured (set VIGIL_OPERATOR_TOKEN and restart vigil serve)";

/// Whether writes (labels, silences, applying settings) are possible: an
/// operator token is configured on the server. The pages say so up front.
#[server(endpoint = "fetch_writes_enabled")]
pub async fn fetch_writes_enabled() -> Result<bool, ServerFnError> {
    let backend = backend::from_context()?;
    Ok(backend.writes_enabled())
}

/// A closed set of words on the wire (`firing`, `false_alarm`): each variant's
/// word, the words in order, and parsing with a message that lists them.
/// Deserializing goes through [`std::str::FromStr`], so a request with
/// another word is refused with that message (400, as any undecodable request).
macro_rules! wire_words {
    ($(#[$meta:meta])* $name:ident: $what:literal { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? } expected $expected:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the order the pages list them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word on the wire and in the state file.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!(concat!($what, " {:?}: expected ", $expected), other)),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                text.parse()
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> &'static str {
                value.as_str()
            }
        }
    };
}
pub(crate) use wire_words;
