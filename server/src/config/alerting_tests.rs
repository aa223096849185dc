use super::*;
use detect::{DetectorSpec, Ensemble, IqrParams};

#[test]
fn the_choice_says_whether_the_config_picked_a_metric_detector() {
    let mut choice = DetectorChoice::default();
    assert!(!choice.chooses("feed_views"), "the built-in default");
    choice.per_metric.insert(
        "feed_ctr".into(),
        Ensemble::single(DetectorSpec::Iqr(IqrParams {
            n: 96,
            ..IqrParams::default()
        })),
    );
    assert!(choice.chooses("feed_ctr"));
    assert!(!choice.chooses("feed_views"));
    choice.default = Ensemble::single(DetectorSpec::Iqr(IqrParams {
        a: 3.0,
        ..IqrParams::default()
    }));
    assert!(choice.chooses("feed_views"), "a configured default");
}

#[test]
fn utc_offsets_parse_and_bad_ones_are_explained() {
    assert_eq!(parse_utc_offset("+03:00"), Ok(180));
    assert_eq!(parse_utc_offset("-05:30"), Ok(-330));
    assert_eq!(parse_utc_offset("UTC"), Ok(0));
    assert!(parse_utc_offset("Moscow").unwrap_err().contains("Moscow"));
    assert!(parse_utc_offset("+25:00").is_err());
}

#[test]
fn token_shape() {
    assert!(looks_like_token("123456789:AAHk-abcdefghijklmnopqrstuv"));
    assert!(!looks_like_token("hunter2"));
    assert!(!looks_like_token("abc:AAHk-abcdefghijklmnopqrstuv"));
}
