use super::*;
use crate::telegram::keyboard::{alert_keyboard, AlertAction, CallbackData, CALLBACK_DATA_LIMIT};
use proptest::prelude::*;

fn alert() -> AlertMessage {
    AlertMessage {
        metric_name: "feed_views".into(),
        metric_title: "Feed views".into(),
        slice: Some(SliceKey {
            dimension: "os".into(),
            value: "iOS".into(),
        }),
        bucket: 1_763_900_100,
        utc_offset_minutes: 180,
        value: Some(1234.0),
        expected: Some(1500.0),
        lower: Some(1300.0),
        upper: Some(1700.0),
        deviation: Some(-0.1773),
        vs_yesterday: Some(-0.12),
        vs_week_ago: Some(0.031),
        detector: "iqr".into(),
        page_url: "https://vigil.example/metrics/feed_views?slice=os&v=iOS".into(),
        dashboards: vec![(
            "Feed <BI> & co".into(),
            "https://bi.example/d/1?a=1&b=2".into(),
        )],
        state: AlertState::Firing { for_secs: 45 * 60 },
        extra: MessageExtras::default(),
    }
}

/// Checks the HTML is well-formed the way Telegram needs: balanced tags,
/// every `&` starts an entity, no stray `<` or `>`.
fn assert_well_formed(html: &str) {
    let mut stack = Vec::new();
    for token in tokenize(html) {
        match token {
            Token::Open(name, _) => stack.push(name),
            Token::Close(name, _) => assert_eq!(stack.pop(), Some(name), "in {html:?}"),
            Token::Text(raw, _) => {
                assert!(!matches!(raw, "<" | ">" | "&"), "stray {raw:?} in {html:?}")
            }
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?} in {html:?}");
}

fn visible_text(html: &str) -> String {
    tokenize(html)
        .into_iter()
        .filter_map(|t| match t {
            Token::Text(raw, _) => Some(match raw {
                "&amp;" => "&",
                "&lt;" => "<",
                "&gt;" => ">",
                "&quot;" => "\"",
                other => other,
            }),
            _ => None,
        })
        .collect()
}

#[test]
fn escapes_user_text() {
    assert_eq!(escape_html("<a&b> \"q\""), "&lt;a&amp;b&gt; \"q\"");
    let mut a = alert();
    a.metric_title = "CTR <b>&".into();
    a.slice = Some(SliceKey {
        dimension: "src<".into(),
        value: "ads & more>".into(),
    });
    a.detector = "<script>".into();
    let html = format_alert(&a);
    assert!(html.contains("CTR &lt;b&gt;&amp;"));
    assert!(html.contains("src&lt; = ads &amp; more&gt;"));
    assert!(html.contains("&lt;script&gt;"));
    assert!(html.contains("href=\"https://bi.example/d/1?a=1&amp;b=2\""));
    assert!(html.contains(">Feed &lt;BI&gt; &amp; co</a>"));
    assert_well_formed(&html);
}

#[test]
fn formats_the_alert() {
    let html = format_alert(&alert());
    assert!(html.starts_with("🔴 <b>Feed views</b> <code>feed_views</code>"));
    assert!(
        html.contains("Bucket: 2025-11-23 15:15 UTC+03:00"),
        "{html}"
    );
    assert!(html.contains("Value: <b>1234</b>"));
    assert!(html.contains("Expected: 1500 (normal 1300 – 1700)"));
    assert!(html.contains("Deviation: <b>−17.7 %</b> vs expected"));
    assert!(html.contains("−12.0 % vs yesterday · +3.1 % vs a week ago"));
    assert!(html.contains("Firing for 45 min"));
    assert!(html.contains("Detector: iqr"));
    let mut resolved = alert();
    resolved.state = AlertState::Resolved {
        lasted_secs: 2 * 3600 + 300,
    };
    resolved.utc_offset_minutes = 0;
    let html = format_alert(&resolved);
    assert!(html.starts_with("✅"));
    assert!(html.contains("Resolved after 2 h 05 min"));
    assert!(html.contains("12:15 UTC\n"), "{html}");
    assert_eq!(
        plan_delivery(&alert()),
        Delivery::Photo {
            caption: format_alert(&alert())
        }
    );
}

/// The slices held back beyond the drill-down are counted after it, or on
/// their own line when there is no drill-down (the metric's point is back
/// in band while its alert stays open); none, no line.
#[test]
fn held_back_slices_are_counted() {
    let mut whole = alert();
    whole.slice = None;
    whole.extra.drilldown = vec![SliceChange {
        slice: SliceKey {
            dimension: "os".into(),
            value: "Android".into(),
        },
        value: 300.0,
        expected: 600.0,
        change: Some(-0.5),
        share: Some(0.9),
    }];
    whole.extra.held_back_unlisted = 41;
    let html = format_alert(&whole);
    assert!(
        html.contains(
            "os = Android: 600 → 300 (−50.0 %), 90 % of the change\n  … and 41 more held back with it"
        ),
        "{html}"
    );
    whole.extra.drilldown.clear();
    let html = format_alert(&whole);
    assert!(!html.contains("Top slices"), "{html}");
    assert!(html.contains("\nSlices held back with it: 41 (not alerts of their own)"));
    whole.extra.held_back_unlisted = 0;
    assert!(!format_alert(&whole).contains("held back"));
}

#[test]
fn counts_like_telegram() {
    assert_eq!(visible_len("<b>a&amp;b</b>"), 3);
    assert_eq!(visible_len("é"), 1);
    assert_eq!(visible_len("😀"), 2);
    assert_eq!(visible_len("&#128512;&#x41;"), 3);
    assert_eq!(visible_len("a & b < c"), 9);
}

#[test]
fn exact_limits_with_multibyte_text() {
    // Emoji are 2 UTF-16 units: 512 of them fill a caption exactly.
    let emoji = "😀".repeat(CAPTION_LIMIT / 2);
    assert_eq!(visible_len(&emoji), CAPTION_LIMIT);
    assert_eq!(truncate_html(&emoji, CAPTION_LIMIT), emoji);
    let over = format!("{emoji}é");
    let cut = truncate_html(&over, CAPTION_LIMIT);
    assert_eq!(visible_len(&cut), CAPTION_LIMIT - 1);
    assert!(cut.ends_with("😀…"));
    // Cyrillic: 1 unit per character, 2 bytes each.
    let cyr = "ж".repeat(TEXT_LIMIT);
    assert_eq!(truncate_html(&cyr, TEXT_LIMIT), cyr);
    let cut = truncate_html(&format!("{cyr}ж"), TEXT_LIMIT);
    assert_eq!(visible_len(&cut), TEXT_LIMIT);
    assert_eq!(cut.chars().count(), TEXT_LIMIT);
    // An emoji never gets split to fit the last unit.
    let cut = truncate_html(&"😀".repeat(10), 4);
    assert_eq!(cut, "😀…");
}

#[test]
fn truncation_keeps_entities_and_tags_whole() {
    let html = "<b>a&amp;b</b> <a href=\"x?a=1&amp;b=2\">link &lt;text&gt;</a>";
    for limit in 0..=visible_len(html) {
        let cut = truncate_html(html, limit);
        assert!(visible_len(&cut) <= limit, "{limit}: {cut}");
        assert_well_formed(&cut);
    }
    assert_eq!(truncate_html(html, 3), "<b>a&amp;…</b>");
    assert_eq!(
        truncate_html(html, 8),
        "<b>a&amp;b</b> <a href=\"x?a=1&amp;b=2\">lin…</a>"
    );
}

#[test]
fn long_alert_splits_into_caption_and_text() {
    let mut a = alert();
    a.dashboards = (0..60)
        .map(|i| {
            (
                format!("Dashboard №{i} & <friends> 📈"),
                format!("https://bi.example/d/{i}"),
            )
        })
        .collect();
    match plan_delivery(&a) {
        Delivery::PhotoThenText { caption, text } => {
            assert!(visible_len(&caption) <= CAPTION_BUDGET);
            assert!(caption.contains("Value: <b>1234</b> (expected 1500), −17.7 %"));
            assert_eq!(text, format_alert(&a));
            assert!(visible_len(&text) > CAPTION_LIMIT);
            assert!(visible_len(&text) <= TEXT_BUDGET);
            assert_well_formed(&caption);
            assert_well_formed(&text);
        }
        other => panic!("expected a split, got {other:?}"),
    }
    // Enormous names: both parts truncated, still well formed.
    a.metric_title = "📉&<".repeat(3000);
    match plan_delivery(&a) {
        Delivery::PhotoThenText { caption, text } => {
            assert!(visible_len(&caption) <= CAPTION_BUDGET);
            assert!(visible_len(&text) <= TEXT_BUDGET);
            assert!(caption.ends_with("…</b>"));
            assert_well_formed(&caption);
            assert_well_formed(&text);
        }
        other => panic!("expected a split, got {other:?}"),
    }
}

#[test]
fn callback_data_round_trips() {
    for action in AlertAction::ALL {
        for alert_id in [0, 1, 42, u64::MAX] {
            let data = CallbackData { alert_id, action };
            let encoded = data.encode();
            assert!(encoded.len() <= CALLBACK_DATA_LIMIT);
            assert_eq!(CallbackData::parse(&encoded), Some(data));
        }
    }
    for garbage in [
        "",
        "v1",
        "v1:ack",
        "v1:ack:",
        "v1:ack:-1",
        "v1:ack:01",
        "v1:ack:+1",
        "v1:ack:1:2",
        "v2:ack:1",
        "v1:nope:1",
        "v1:ack:18446744073709551616",
        "v1:ACK:1",
        "v1:ack: 1",
        "v1:ack:１",
    ] {
        assert_eq!(CallbackData::parse(garbage), None, "{garbage:?}");
    }
    let keyboard = alert_keyboard(7);
    let buttons: Vec<_> = keyboard.inline_keyboard.iter().flatten().collect();
    assert_eq!(buttons.len(), 5);
    let actions: Vec<_> = buttons
        .iter()
        .map(|b| CallbackData::parse(b.callback_data.as_deref().unwrap()).unwrap())
        .collect();
    assert!(actions.iter().all(|d| d.alert_id == 7));
    assert_eq!(
        actions.iter().map(|d| d.action).collect::<Vec<_>>(),
        AlertAction::ALL.to_vec()
    );
    let json = serde_json::to_value(&keyboard).unwrap();
    assert_eq!(json["inline_keyboard"][0][0]["callback_data"], "v1:ack:7");
    assert!(json["inline_keyboard"][0][0].get("url").is_none());
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("&".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        Just("😀".to_string()),
        Just("👩‍💻".to_string()),
        Just("é".to_string()),
        Just("amp;".to_string()),
        "[a-z ]{1,4}",
    ]
}

proptest! {
    #[test]
    fn truncation_is_safe(
        parts in prop::collection::vec((piece(), 0..4u8), 0..40),
        limit in 0usize..80,
    ) {
        // Build HTML the way the formatter does: escaped text inside tags.
        let mut html = String::new();
        let mut plain = String::new();
        for (text, tag) in &parts {
            plain.push_str(text);
            let escaped = escape_html(text);
            match tag {
                0 => html.push_str(&escaped),
                1 => { let _ = write!(html, "<b>{escaped}</b>"); }
                2 => { let _ = write!(html, "<a href=\"https://x.y/?a=1&amp;b=2\"><i>{escaped}</i></a>"); }
                _ => { let _ = write!(html, "<code>{escaped}</code>"); }
            }
        }
        prop_assert_eq!(visible_len(&html), plain.encode_utf16().count());
        prop_assert_eq!(visible_text(&html), plain.clone());
        let cut = truncate_html(&html, limit);
        prop_assert!(visible_len(&cut) <= limit);
        assert_well_formed(&cut);
        let shown = visible_text(&cut);
        if visible_len(&html) <= limit {
            prop_assert_eq!(cut, html);
        } else {
            let kept = shown.strip_suffix('…').unwrap_or(&shown);
            prop_assert!(plain.starts_with(kept));
        }
    }
}
