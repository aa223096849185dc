use super::*;

fn payload(value: Option<f64>, lower: Option<f64>, upper: Option<f64>) -> NotificationPayload {
    NotificationPayload {
        alert_id: 1,
        notify: Notify::Opened,
        metric: "feed_active_users".into(),
        slice: None,
        bucket: 1_763_900_100,
        started_at: 1_763_900_100,
        value,
        lower,
        upper,
        expected: None,
        deviation: None,
        detector: "iqr".into(),
        context: Default::default(),
        notice: None,
    }
}

#[test]
fn the_log_line_shows_plain_rounded_numbers() {
    let line = value_and_band(&payload(
        Some(11.0),
        Some(12.666666666666666),
        Some(33.666666666666664),
    ));
    assert_eq!(line, "value 11, band 12.67..33.67");
    assert_eq!(
        value_and_band(&payload(None, None, None)),
        "no value, no band"
    );
    assert_eq!(
        value_and_band(&payload(Some(f64::NAN), None, Some(3.0))),
        "no value, band —..3"
    );
}
