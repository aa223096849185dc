//! The page's replay is the check's: on the simulator's experiments (the
//! embedded default, up to now), the server function answers exactly what
//! [`replay_experiment`] records over the same span with the same rules;
//! the harmful experiment (feed-ranking-v2) opens an alert quoting its
//! effect, the A/A experiment (aa-check) sends nothing, a minimum effect no
//! experiment reaches sends nothing either, and rules out of range are
//! refused with words, not a panic.

use std::sync::Arc;

use app::api::backend::BackendHandle;
use app::api::{replay_experiment_checks, ReplayRules, DEFAULT_REPLAY_DAYS};
use detect::alerting::Notify;
use leptos::prelude::*;

use super::*;
use crate::check::experiments::in_effect;
use crate::config::{AlertingConfig, SimulatorConfig};
use crate::metrics::catalogue::builtin;
use crate::simulator::Simulator;
use crate::sources::SqliteStore;
use crate::state::StateLocation;
use crate::web::backend::SourceBackend;

const DAY: i64 = 86_400;

/// The embedded default in small: two weeks of the simulator up to now,
/// served by the pages' backend with the default alerting rules.
async fn served(dir: &std::path::Path) -> (Arc<Source>, Owner) {
    let now = crate::times::unix_now();
    let end = now - now.rem_euclid(BUCKET_SECONDS);
    let start = end - 14 * DAY;
    let config = SimulatorConfig {
        users: 2000,
        days: 14,
        seed: 42,
    };
    let mut simulator = Simulator::new(&config, end, Some((start, end)));
    let source = Source::Sqlite(SqliteStore::open(&dir.join("vigil.sqlite")).expect("store"));
    let mut from = start;
    while from < end {
        let to = (from + DAY).min(end);
        (source.write_events(simulator.generate(from, to)).await).expect("events written");
        from = to;
    }
    let mut labels = simulator.incidents();
    labels.extend(simulator.experiment_labels());
    (source.write_incidents(&labels).await).expect("labels");
    let source = Arc::new(source);
    let state = State::open(&StateLocation::Sqlite(dir.join("state.sqlite"))).expect("state");
    let backend = SourceBackend::new(Arc::clone(&source), builtin(), state, None)
        .with_alert_rules(&AlertingConfig::default());
    // The server function reads its backend from the Leptos context, as
    // when the web server calls it.
    let owner = Owner::new();
    owner.with(|| provide_context(BackendHandle(Arc::new(backend))));
    (source, owner)
}

/// The server function's answer for `name` under `rules`.
async fn replay(
    owner: &Owner,
    name: &str,
    rules: ReplayRules,
) -> Result<app::api::ExperimentReplay, ServerFnError> {
    owner.set();
    replay_experiment_checks(name.to_string(), rules).await
}

/// What the check's replay records for `name` over `span` with the default
/// lifecycle and no silences, as the page lists it.
async fn recorded(
    source: &Source,
    name: &str,
    span: (i64, i64),
    rules: ReplayRules,
) -> Vec<ReplayedNotification> {
    let metrics = builtin();
    let experiments = in_effect(source, &[]).await;
    let experiment = experiments.iter().find(|e| e.name == name).expect(name);
    let experiment = what_if(experiment, rules);
    let alerting = AlertingConfig::default();
    let lifecycle = (
        &alerting.lifecycle,
        &[][..],
        alerting.schedule.grace_seconds,
    );
    let replayed = replay_experiment(source, &experiment, &metrics, lifecycle, span)
        .await
        .expect("replay runs");
    (replayed.iter())
        .map(|r| notification(r, &experiment, &metrics, alerting.utc_offset_minutes))
        .collect()
}

#[tokio::test]
async fn the_page_replays_what_the_check_would_have_sent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (source, owner) = served(dir.path()).await;
    let rules = ReplayRules {
        days: DEFAULT_REPLAY_DAYS,
        alpha: None,
        min_effect: None,
    };

    let harmful = (replay(&owner, "feed-ranking-v2", rules).await).expect("replayed");
    let span = harmful.span.expect("a span: the experiment runs");
    assert_eq!(span.1 - span.0, DAY - BUCKET_SECONDS, "a day of checks");
    assert_eq!((harmful.alpha, harmful.min_effect), (0.05, 0.05));
    assert_eq!(
        harmful.notifications,
        recorded(&source, "feed-ranking-v2", span, rules).await
    );
    // Not vacuous: the harmful comparison opens (it diverged days before
    // the span), and the message is the alert's sentence.
    let opened: Vec<&ReplayedNotification> = (harmful.notifications.iter())
        .filter(|n| n.notify == Notify::Opened && n.arm.as_deref() == Some("group 2"))
        .collect();
    assert_eq!(opened.len(), 1, "{:#?}", harmful.notifications);
    assert_eq!(opened[0].bucket, span.0);
    assert_eq!(opened[0].subject, "Feed CTR (likes / views)");
    assert!(
        opened[0]
            .message
            .starts_with("Feed CTR (likes / views) in group 2 is ")
            && opened[0].message.contains("% below group 1 (95% CI "),
        "{}",
        opened[0].message
    );

    // The A/A experiment ended half-way through the history: its last day
    // (and the checks after its end) send nothing.
    let aa = (replay(&owner, "aa-check", rules).await).expect("replayed");
    assert!(aa.span.is_some());
    assert_eq!(aa.notifications, [], "{:#?}", aa.notifications);
    let span = aa.span.expect("a span");
    assert_eq!(
        aa.notifications,
        recorded(&source, "aa-check", span, rules).await
    );

    // The what-if: a minimum effect of 500% is never reached.
    let strict = ReplayRules {
        min_effect: Some(5.0),
        ..rules
    };
    let none = (replay(&owner, "feed-ranking-v2", strict).await).expect("replayed");
    assert_eq!(none.min_effect, 5.0);
    assert_eq!(none.notifications, [], "{:#?}", none.notifications);

    // Refused in words: out of range, or no such experiment.
    let error = (replay(&owner, "feed-ranking-v2", ReplayRules { days: 8, ..rules }).await)
        .expect_err("refused");
    assert!(
        app::api::error_text(&error).contains("days 8: expected 1 to 7"),
        "{error}"
    );
    let error = (replay(
        &owner,
        "feed-ranking-v2",
        ReplayRules {
            alpha: Some(f64::NAN),
            ..rules
        },
    )
    .await)
        .expect_err("refused");
    assert!(
        app::api::error_text(&error).starts_with("alpha NaN"),
        "{error}"
    );
    let error = (replay(&owner, "no-such", rules).await).expect_err("unknown");
    assert!(
        app::api::error_text(&error).contains("no experiment \"no-such\""),
        "{error}"
    );
}

#[test]
fn the_span_is_the_last_days_of_the_runtime_and_the_resolving_checks() {
    use crate::web::experiments::tests::experiment;
    let lifecycle = AlertConfig::default();
    let b = BUCKET_SECONDS;
    // Running: the last day up to the newest complete bucket.
    let newest = 10 * DAY + 100;
    assert_eq!(
        span(&experiment(0, None), Some(newest), 1, &lifecycle),
        Some((9 * DAY, 10 * DAY - b))
    );
    // Younger than the span: from its start's bucket.
    assert_eq!(
        span(
            &experiment(10 * DAY - 3 * b - 5, None),
            Some(newest),
            7,
            &lifecycle
        ),
        Some((10 * DAY - 4 * b, 10 * DAY - b))
    );
    // Ended: the last day before the end, then the checks that resolve.
    let tail = i64::from(lifecycle.resolve_after) + 1;
    assert_eq!(
        span(&experiment(0, Some(5 * DAY)), Some(newest), 1, &lifecycle),
        Some((4 * DAY, 5 * DAY - b + tail * b))
    );
    // No complete bucket since the start, or no data at all.
    assert_eq!(
        span(&experiment(10 * DAY, None), Some(newest), 1, &lifecycle),
        None
    );
    assert_eq!(span(&experiment(0, None), None, 1, &lifecycle), None);
}
