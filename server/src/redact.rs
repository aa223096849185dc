//! Every secret this process knows (the ClickHouse password, the Telegram bot
//! token, the operator token), so that text about to leave the process (a
//! probe's answer, a page, a server function's error, a log line, a heartbeat's
//! failure reason) can be scrubbed of them. An error body from ClickHouse or a
//! proxy in front of it may echo the request's headers, password included:
//! nothing checks for that upstream, so every exit does.

use std::sync::RwLock;

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// The secrets registered so far, longest first (a secret containing another
/// is replaced whole).
static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds `secret` to those [`scrub`] removes (an empty one is ignored).
pub fn register(secret: &str) {
    if secret.is_empty() {
        return;
    }
    let mut known = KNOWN
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !known.iter().any(|seen| seen == secret) {
        known.push(secret.to_string());
        known.sort_by_key(|seen| std::cmp::Reverse(seen.len()));
    }
}

/// `text` with every registered secret replaced by [`REDACTED`].
pub fn scrub(text: &str) -> String {
    let known = KNOWN
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut text = text.to_string();
    for secret in known.iter() {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), REDACTED);
        }
    }
    text
}

/// Standard error, scrubbed: the log's writer. A dependency may log what
/// vigil never sees (the ClickHouse client logs a whole error body at debug),
/// so the log is scrubbed as it is written, each event in one piece.
pub struct ScrubbedStderr;

impl std::io::Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut stderr = std::io::stderr().lock();
        match std::str::from_utf8(buf) {
            Ok(text) => stderr.write_all(scrub(text).as_bytes())?,
            Err(_) => stderr.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_replaced_wherever_they_occur() {
        register("s3cret-pass");
        register("s3cret-pass-longer");
        register("");
        let text = "X-ClickHouse-Key: s3cret-pass-longer\nagain s3cret-pass.";
        assert_eq!(
            scrub(text),
            "X-ClickHouse-Key: <redacted>\nagain <redacted>."
        );
        assert_eq!(scrub("nothing here"), "nothing here");
    }
}
