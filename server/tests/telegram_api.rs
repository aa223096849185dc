//! The Telegram client against a local fake Bot API over real HTTP: an axum
//! server on 127.0.0.1 that checks the token in the path, records every request
//! (multipart fields and files, JSON bodies) and answers from a script.

#[path = "support/fake_telegram.rs"]
mod fake_telegram;

use std::time::Duration;

use fake_telegram::{FakeApi, CHAT, TOKEN};
use serde_json::json;

use server::chart_png::{self, ChartInput};
use server::metrics::model::SliceKey;
use server::telegram::client::{
    BotToken, ChatId, ClientConfig, Photo, TelegramClient, TelegramError, Text,
};
use server::telegram::keyboard::{alert_keyboard, CallbackData, InlineKeyboardMarkup};
use server::telegram::message::{
    plan_delivery, visible_len, AlertMessage, AlertState, Delivery, CAPTION_LIMIT, TEXT_LIMIT,
};

fn alert() -> AlertMessage {
    AlertMessage {
        metric_name: "feed_views".into(),
        metric_title: "Feed views <all> & more".into(),
        slice: Some(SliceKey {
            dimension: "os".into(),
            value: "iOS".into(),
        }),
        bucket: 1_763_900_100,
        utc_offset_minutes: 180,
        value: Some(512.0),
        expected: Some(1010.5),
        lower: Some(880.0),
        upper: Some(1150.0),
        deviation: Some(-0.4933),
        vs_yesterday: Some(-0.47),
        vs_week_ago: None,
        detector: "iqr".into(),
        page_url: "http://vigil.local/metrics/feed_views?os=iOS&range=24h".into(),
        dashboards: vec![("Feed (BI)".into(), "https://bi.example/d/feed".into())],
        state: AlertState::Firing { for_secs: 30 * 60 },
        extra: Default::default(),
    }
}

fn chart() -> Vec<u8> {
    let n = 96;
    let values = (0..n)
        .map(|i| {
            Some(if i == 94 {
                512.0
            } else {
                1000.0 + (i % 9) as f64 * 10.0
            })
        })
        .collect();
    chart_png::render_png(&ChartInput {
        title: "Feed views · os = iOS".into(),
        start: 1_763_900_100 - 94 * 900,
        step: 900,
        values,
        lower: vec![Some(880.0); n],
        upper: vec![Some(1150.0); n],
        yesterday: vec![Some(990.0); n],
        marked: Some(94),
        utc_offset_minutes: 180,
    })
    .unwrap()
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG magic");
    let reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let info = reader.info();
    (info.width, info.height)
}

fn assert_no_token(error: &TelegramError) {
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains(TOKEN), "token leaked: {text}");
        assert!(!text.contains("very_secret"), "token leaked: {text}");
    }
}

#[tokio::test]
async fn send_photo_delivers_the_chart_caption_and_keyboard() {
    let api = FakeApi::start().await;
    let client = api.client();
    let chat = ChatId::Id(CHAT);
    let Delivery::Photo { caption } = plan_delivery(&alert()) else {
        panic!("a normal alert fits in a caption");
    };
    let keyboard = alert_keyboard(42);
    let sent = client
        .send_photo(Photo {
            chat_id: &chat,
            png: chart(),
            caption: &caption,
            keyboard: Some(&keyboard),
            reply_to_message_id: None,
        })
        .await
        .unwrap();
    assert_eq!(sent.message_id, 101);
    assert_eq!(sent.chat.id, CHAT);

    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "sendPhoto");
    assert!(r.token_ok);
    assert_eq!(r.fields["chat_id"], CHAT.to_string());
    assert_eq!(r.fields["parse_mode"], "HTML");
    assert_eq!(r.fields["caption"], caption);
    assert!(visible_len(&r.fields["caption"]) <= CAPTION_LIMIT);
    assert!(r.fields["caption"].contains("Feed views &lt;all&gt; &amp; more"));
    assert!(!r.fields.contains_key("reply_to_message_id"));
    let markup: InlineKeyboardMarkup = serde_json::from_str(&r.fields["reply_markup"]).unwrap();
    assert_eq!(markup, keyboard);
    let data = markup.inline_keyboard[0][0]
        .callback_data
        .as_deref()
        .unwrap();
    assert_eq!(CallbackData::parse(data).unwrap().alert_id, 42);
    let (file_name, content_type, bytes) = &r.files["photo"];
    assert_eq!(file_name, "chart.png");
    assert_eq!(content_type, "image/png");
    assert_eq!(png_size(bytes), (chart_png::WIDTH, chart_png::HEIGHT));
}

#[tokio::test]
async fn a_long_alert_goes_as_photo_then_a_reply() {
    let api = FakeApi::start().await;
    let client = api.client();
    let chat = ChatId::Id(CHAT);
    let mut long = alert();
    long.dashboards = (0..80)
        .map(|i| {
            (
                format!("Dashboard {i} 📊"),
                format!("https://bi.example/d/{i}?x=1&y=2"),
            )
        })
        .collect();
    let Delivery::PhotoThenText { caption, text } = plan_delivery(&long) else {
        panic!("80 dashboards do not fit in a caption");
    };
    let photo = client
        .send_photo(Photo {
            chat_id: &chat,
            png: chart(),
            caption: &caption,
            keyboard: Some(&alert_keyboard(7)),
            reply_to_message_id: None,
        })
        .await
        .unwrap();
    let follow_up = client
        .send_message(Text {
            chat_id: &chat,
            text: &text,
            keyboard: None,
            reply_to_message_id: Some(photo.message_id),
            disable_web_page_preview: true,
        })
        .await
        .unwrap();
    assert_eq!(follow_up.message_id, photo.message_id + 1);

    let requests = api.requests();
    assert_eq!(requests[0].fields["caption"], caption);
    assert!(visible_len(&caption) <= CAPTION_LIMIT);
    let body = requests[1].json.as_ref().unwrap();
    assert_eq!(requests[1].method, "sendMessage");
    assert!(requests[1].token_ok);
    assert_eq!(body["chat_id"], CHAT);
    assert_eq!(body["text"], text.as_str());
    assert!(visible_len(&text) <= TEXT_LIMIT);
    assert_eq!(body["parse_mode"], "HTML");
    assert_eq!(body["reply_to_message_id"], photo.message_id);
    assert_eq!(body["disable_web_page_preview"], true);
    assert!(body.get("reply_markup").is_none());
}

#[tokio::test]
async fn rate_limit_then_success() {
    let api = FakeApi::start().await;
    api.push(
        "sendMessage",
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1",
               "parameters": {"retry_after": 1}})
        .to_string(),
    );
    let client = api.client();
    let chat = ChatId::Id(CHAT);
    let text = Text {
        chat_id: &chat,
        text: "hello",
        keyboard: None,
        reply_to_message_id: None,
        disable_web_page_preview: false,
    };
    let error = client.send_message(text.clone()).await.unwrap_err();
    assert!(
        matches!(error, TelegramError::RateLimited { retry_after: 1, .. }),
        "{error:?}"
    );
    assert!(error.is_retriable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert_no_token(&error);
    tokio::time::sleep(error.retry_after().unwrap()).await;
    let sent = client.send_message(text).await.unwrap();
    assert_eq!(sent.chat.id, CHAT);
    assert_eq!(api.requests().len(), 2);
}

#[tokio::test]
async fn server_errors_are_retriable_and_rejections_are_not() {
    let api = FakeApi::start().await;
    let client = api.client();
    let chat = ChatId::Id(CHAT);
    let text = Text {
        chat_id: &chat,
        text: "x",
        keyboard: None,
        reply_to_message_id: None,
        disable_web_page_preview: true,
    };
    api.push(
        "sendMessage",
        500,
        json!({"ok": false, "error_code": 500, "description": "Internal Server Error"}).to_string(),
    );
    api.push("sendMessage", 502, "<html>Bad Gateway</html>");
    api.push(
        "sendMessage",
        400,
        json!({"ok": false, "error_code": 400,
               "description": "Bad Request: can't parse entities: Unsupported start tag \"x\""})
        .to_string(),
    );
    let e500 = client.send_message(text.clone()).await.unwrap_err();
    assert!(
        matches!(e500, TelegramError::Server { code: 500, .. }),
        "{e500:?}"
    );
    assert!(e500.is_retriable());
    let e502 = client.send_message(text.clone()).await.unwrap_err();
    assert!(
        matches!(e502, TelegramError::Server { code: 502, .. }),
        "{e502:?}"
    );
    assert!(e502.is_retriable());
    let e400 = client.send_message(text.clone()).await.unwrap_err();
    match &e400 {
        TelegramError::Rejected {
            code, description, ..
        } => {
            assert_eq!(*code, 400);
            assert!(description.contains("can't parse entities"));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(!e400.is_retriable());
    for e in [&e500, &e502, &e400] {
        assert_no_token(e);
    }
}

#[tokio::test]
async fn get_updates_parses_callback_queries() {
    let api = FakeApi::start().await;
    let data = CallbackData {
        alert_id: 42,
        action: server::telegram::keyboard::AlertAction::MuteHour,
    }
    .encode();
    api.push(
        "getUpdates",
        200,
        json!({"ok": true, "result": [
            {"update_id": 900, "callback_query": {
                "id": "4382bfdwdsb323b2d9",
                "from": {"id": 1111, "is_bot": false, "first_name": "Ann", "username": "ann_analyst"},
                "message": {"message_id": 101, "date": 1_763_900_000,
                            "chat": {"id": CHAT, "type": "supergroup", "title": "alerts"},
                            "caption": "🔴 Feed views"},
                "chat_instance": "-12345",
                "data": data}},
            {"update_id": 901, "callback_query": {
                "id": "q2",
                "from": {"id": 2222, "is_bot": false, "first_name": "Bob"},
                "message": {"message_id": 55, "date": 0, "chat": {"id": CHAT, "type": "supergroup"}},
                "chat_instance": "-12345",
                "data": "garbage"}},
            {"update_id": 902, "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "hi"}}
        ]})
        .to_string(),
    );
    let client = api.client();
    let updates = client.get_updates(Some(900), 0).await.unwrap();
    assert_eq!(updates.len(), 3);
    let q = updates[0].callback_query.as_ref().unwrap();
    assert_eq!(updates[0].update_id, 900);
    assert_eq!(q.id, "4382bfdwdsb323b2d9");
    assert_eq!(q.from.id, 1111);
    assert_eq!(q.from.username.as_deref(), Some("ann_analyst"));
    let message = q.message.as_ref().unwrap();
    assert_eq!(message.message_id, 101);
    assert_eq!(message.chat.id, CHAT);
    let parsed = CallbackData::parse(q.data.as_deref().unwrap()).unwrap();
    assert_eq!(parsed.alert_id, 42);
    let q2 = updates[1].callback_query.as_ref().unwrap();
    assert_eq!(q2.from.username, None);
    assert_eq!(q2.message.as_ref().unwrap().date, 0);
    assert_eq!(CallbackData::parse(q2.data.as_deref().unwrap()), None);
    assert!(updates[2].callback_query.is_none());

    let requests = api.requests();
    let body = requests[0].json.as_ref().unwrap();
    assert_eq!(requests[0].method, "getUpdates");
    assert_eq!(body["offset"], 900);
    assert_eq!(body["timeout"], 0);
    assert_eq!(body["allowed_updates"], json!(["callback_query"]));
}

#[tokio::test]
async fn edit_caption_and_answer_callback_send_the_right_fields() {
    let api = FakeApi::start().await;
    let client = api.client();
    let chat = ChatId::Id(CHAT);
    client
        .edit_message_caption(&chat, 101, "✅ <b>Resolved</b>", None)
        .await
        .unwrap();
    let keyboard = alert_keyboard(9);
    client
        .edit_message_caption(&chat, 102, "👀 acknowledged", Some(&keyboard))
        .await
        .unwrap();
    client
        .answer_callback_query("q-1", Some("Muted for 1 h"), false)
        .await
        .unwrap();
    client
        .answer_callback_query("q-2", None, true)
        .await
        .unwrap();

    let requests = api.requests();
    assert!(requests.iter().all(|r| r.token_ok));
    let edit = requests[0].json.as_ref().unwrap();
    assert_eq!(requests[0].method, "editMessageCaption");
    assert_eq!(edit["chat_id"], CHAT);
    assert_eq!(edit["message_id"], 101);
    assert_eq!(edit["caption"], "✅ <b>Resolved</b>");
    assert_eq!(edit["parse_mode"], "HTML");
    assert!(edit.get("reply_markup").is_none());
    let edit = requests[1].json.as_ref().unwrap();
    assert_eq!(
        edit["reply_markup"],
        serde_json::to_value(&keyboard).unwrap()
    );
    let answer = requests[2].json.as_ref().unwrap();
    assert_eq!(requests[2].method, "answerCallbackQuery");
    assert_eq!(answer["callback_query_id"], "q-1");
    assert_eq!(answer["text"], "Muted for 1 h");
    assert!(answer.get("show_alert").is_none());
    let answer = requests[3].json.as_ref().unwrap();
    assert_eq!(answer["callback_query_id"], "q-2");
    assert!(answer.get("text").is_none());
    assert_eq!(answer["show_alert"], true);
}

#[tokio::test]
async fn the_token_never_appears_in_errors() {
    let api = FakeApi::start().await;
    let mut errors = Vec::new();

    // Wrong token: the fake answers 401 like Telegram.
    let wrong = api.client_with("1:wrong_very_secret", Duration::from_secs(5));
    let e = wrong.get_updates(None, 0).await.unwrap_err();
    assert!(
        matches!(e, TelegramError::Rejected { code: 401, .. }),
        "{e:?}"
    );
    assert!(!format!("{e} {e:?}").contains("wrong_very_secret"));

    // A response slower than the timeout.
    api.push_delayed(
        "answerCallbackQuery",
        200,
        r#"{"ok":true,"result":true}"#,
        Duration::from_secs(3),
    );
    let impatient = api.client_with(TOKEN, Duration::from_millis(300));
    let e = impatient
        .answer_callback_query("q", None, false)
        .await
        .unwrap_err();
    assert!(matches!(e, TelegramError::Network { .. }), "{e:?}");
    assert!(e.is_retriable());
    errors.push(e);

    // Nothing listening.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config =
        ClientConfig::new(BotToken::new(TOKEN)).with_base_url(format!("http://127.0.0.1:{port}"));
    config.connect_timeout = Duration::from_secs(2);
    let offline = TelegramClient::new(config).unwrap();
    let e = offline.get_updates(Some(1), 0).await.unwrap_err();
    assert!(matches!(e, TelegramError::Network { .. }), "{e:?}");
    errors.push(e);

    // A description echoing the token back, and a 2xx that is not an envelope.
    api.push(
        "sendMessage",
        403,
        json!({"ok": false, "error_code": 403, "description": format!("Forbidden: bot{TOKEN} was blocked")})
            .to_string(),
    );
    api.push(
        "sendMessage",
        200,
        format!("<html>proxy page for /bot{TOKEN}/sendMessage</html>"),
    );
    let client = api.client();
    let chat = ChatId::Username("@vigil_alerts".into());
    for _ in 0..2 {
        let text = Text {
            chat_id: &chat,
            text: "x",
            keyboard: None,
            reply_to_message_id: None,
            disable_web_page_preview: true,
        };
        errors.push(client.send_message(text).await.unwrap_err());
    }
    assert!(matches!(
        errors[2],
        TelegramError::Rejected { code: 403, .. }
    ));
    assert!(matches!(errors[3], TelegramError::InvalidResponse { .. }));
    assert_eq!(
        api.requests().last().unwrap().json.as_ref().unwrap()["chat_id"],
        "@vigil_alerts"
    );

    for e in &errors {
        assert_no_token(e);
    }
    assert!(!format!("{client:?}").contains(TOKEN));
}
