use super::*;

const TOKEN: &str = "123456:SECRET-token_xyz";

fn client() -> TelegramClient {
    TelegramClient::new(
        ClientConfig::new(BotToken::new(TOKEN)).with_base_url("http://127.0.0.1:9/"),
    )
    .unwrap()
}

#[test]
fn token_is_redacted_in_debug() {
    let c = client();
    assert_eq!(
        c.url("getMe"),
        format!("http://127.0.0.1:9/bot{TOKEN}/getMe")
    );
    for text in [
        format!("{:?}", c),
        format!("{:?}", BotToken::new(TOKEN)),
        format!("{}", BotToken::new(TOKEN)),
        format!("{:?}", ClientConfig::new(BotToken::new(TOKEN))),
    ] {
        assert!(!text.contains("SECRET"), "{text}");
    }
}

#[test]
fn interprets_envelopes() {
    let c = client();
    let ok: Value = c
        .interpret("m", 200, br#"{"ok":true,"result":{"a":1}}"#)
        .unwrap();
    assert_eq!(ok["a"], 1);
    let e = c
        .interpret::<Value>(
            "m",
            429,
            br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#,
        )
        .unwrap_err();
    assert!(matches!(
        e,
        TelegramError::RateLimited { retry_after: 7, .. }
    ));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    let e = c
        .interpret::<Value>("m", 502, b"<html>Bad Gateway</html>")
        .unwrap_err();
    assert!(matches!(e, TelegramError::Server { code: 502, .. }) && e.is_retriable());
    let body = format!(r#"{{"ok":false,"error_code":401,"description":"Unauthorized {TOKEN}"}}"#);
    let e = c.interpret::<Value>("m", 401, body.as_bytes()).unwrap_err();
    assert!(matches!(e, TelegramError::Rejected { code: 401, .. }) && !e.is_retriable());
    assert!(!e.to_string().contains("SECRET"));
    let e = c.interpret::<Value>("m", 200, b"not json").unwrap_err();
    assert!(matches!(e, TelegramError::InvalidResponse { .. }) && !e.is_retriable());
    let e = c
        .interpret::<Message>("m", 200, br#"{"ok":true,"result":{"nope":1}}"#)
        .unwrap_err();
    assert!(matches!(e, TelegramError::InvalidResponse { .. }));
}

#[test]
fn builds_an_https_client_for_the_real_api() {
    // Exercises the TLS backend setup (rustls, OS roots) without any network.
    let c = TelegramClient::new(ClientConfig::new(BotToken::new(TOKEN))).unwrap();
    assert!(c
        .url("sendPhoto")
        .starts_with("https://api.telegram.org/bot"));
}

#[test]
fn rejects_bad_base_url() {
    let e = TelegramClient::new(ClientConfig::new(BotToken::new(TOKEN)).with_base_url("ftp://x"))
        .unwrap_err();
    assert!(matches!(e, TelegramError::Setup(_)));
}
