//! Determinism and realism of the simulator, on generated events (no store).

use std::collections::BTreeMap;

use super::*;
use crate::events::IncidentKind;
use crate::times::unix_now;

/// 2024-01-01 00:00 UTC, a Monday.
const START: i64 = 1_704_067_200;

fn config(users: u32, days: u32, seed: u64) -> SimulatorConfig {
    SimulatorConfig { users, days, seed }
}

fn simulate(users: u32, days: u32, seed: u64) -> (Vec<Incident>, EventBatch) {
    let end = START + i64::from(days) * 86_400;
    let mut simulator = Simulator::new(&config(users, days, seed), end, Some((START, end)));
    (simulator.incidents(), simulator.generate(START, end))
}

#[test]
fn same_seed_same_events_other_seed_other_events() {
    let (incidents_a, a) = simulate(200, 3, 7);
    let (incidents_b, b) = simulate(200, 3, 7);
    let (_, c) = simulate(200, 3, 8);
    assert!(a.feed.len() > 1000);
    assert_eq!(incidents_a, incidents_b);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn chunking_does_not_change_incident_placement_or_noise() {
    let end = START + 5 * 86_400;
    let sim = Simulator::new(&config(100, 5, 3), end, Some((START, end)));
    let again = Simulator::new(&config(100, 5, 3), end + 999, Some((START, end)));
    assert_eq!(sim.incidents(), again.incidents());
    assert_eq!(sim.incidents().len(), 5);
}

/// Per-bucket counts of views / likes / messages, optionally for one predicate.
fn per_bucket(batch: &EventBatch, keep: impl Fn(&FeedAction) -> bool) -> BTreeMap<i64, (f64, f64)> {
    let mut buckets: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for row in batch.feed.iter().filter(|row| keep(row)) {
        let entry = buckets
            .entry(row.time / BUCKET_SECONDS * BUCKET_SECONDS)
            .or_default();
        match row.action {
            FeedActionKind::View => entry.0 += 1.0,
            FeedActionKind::Like => entry.1 += 1.0,
        }
    }
    buckets
}

#[test]
fn looks_like_product_data() {
    let (incidents, batch) = simulate(2000, 14, 42);
    let views_total = batch
        .feed
        .iter()
        .filter(|r| r.action == FeedActionKind::View)
        .count() as f64;
    let likes_total = batch.feed.len() as f64 - views_total;
    let ctr = likes_total / views_total;
    assert!((0.15..0.25).contains(&ctr), "CTR {ctr}");
    // Hundreds of views in an average 15-minute bucket.
    let per_bucket_mean = views_total / (14.0 * 96.0);
    assert!(
        (200.0..1500.0).contains(&per_bucket_mean),
        "{per_bucket_mean}"
    );

    // Daily cycle in UTC (most users are UTC+3): 01:00 UTC (4am) vs 18:00 UTC (9pm).
    let mut by_hour = [0f64; 24];
    for row in batch
        .feed
        .iter()
        .filter(|r| r.action == FeedActionKind::View)
    {
        by_hour[(row.time.rem_euclid(86_400) / 3600) as usize] += 1.0;
    }
    assert!(
        by_hour[1] * 3.0 < by_hour[18],
        "night {} evening {}",
        by_hour[1],
        by_hour[18]
    );

    // Attributes: os split ~35/65, five countries, exp groups 0..4, messages to others.
    let ios = batch.feed.iter().filter(|r| r.os == "iOS").count() as f64 / batch.feed.len() as f64;
    assert!((0.25..0.45).contains(&ios), "iOS share {ios}");
    let countries: std::collections::BTreeSet<_> =
        batch.feed.iter().map(|r| r.country.as_str()).collect();
    assert_eq!(countries.len(), 5);
    assert!(batch.feed.iter().all(|r| r.exp_group < 5));
    assert!(batch.messages.len() > 10_000);
    assert!(batch.messages.iter().all(|m| m.receiver_id != m.user_id));

    let all = per_bucket(&batch, |_| true);
    let views = |bucket: i64| all.get(&bucket).map_or(0.0, |v| v.0);
    for incident in &incidents {
        let first = incident.start;
        let day_before = first - 86_400;
        match (incident.kind, incident.metric.as_str()) {
            (IncidentKind::Outage, "feed_views") => {
                for bucket in (incident.start..incident.end).step_by(BUCKET_SECONDS as usize) {
                    assert_eq!(views(bucket), 0.0, "outage bucket {bucket}");
                }
                assert!(views(incident.end) > 0.0);
            }
            (IncidentKind::Outage, "messages_sent") => {
                let messages = batch
                    .messages
                    .iter()
                    .filter(|m| m.time >= incident.start && m.time < incident.end)
                    .count();
                assert_eq!(messages, 0);
            }
            (IncidentKind::PartialDrop, _) => {
                let android = per_bucket(&batch, |r| r.os == "Android");
                let sum = |from: i64| -> f64 {
                    (from..from + 4 * 3600)
                        .step_by(BUCKET_SECONDS as usize)
                        .map(|b| android.get(&b).map_or(0.0, |v| v.0))
                        .sum()
                };
                let ratio = sum(first) / sum(day_before);
                assert!(ratio < 0.7, "android drop ratio {ratio}");
            }
            (IncidentKind::Spike, _) => {
                let during = all.get(&(first + 1800)).copied().unwrap_or_default();
                let before = all.get(&(day_before + 1800)).copied().unwrap_or_default();
                assert!(during.0 > before.0 * 1.4, "views {during:?} vs {before:?}");
                assert!(during.1 / during.0 < 0.16, "ctr {during:?}");
            }
            (IncidentKind::SlowDecline, _) => {
                let last_hour = incident.end - 3600;
                let ctr = |from: i64| -> f64 {
                    let (v, l) = (from..from + 3600)
                        .step_by(BUCKET_SECONDS as usize)
                        .filter_map(|b| all.get(&b))
                        .fold((0.0, 0.0), |acc, x| (acc.0 + x.0, acc.1 + x.1));
                    l / v
                };
                assert!(
                    ctr(last_hour) < 0.8 * ctr(last_hour - 86_400),
                    "likes decline"
                );
            }
            other => panic!("unexpected incident {other:?}"),
        }
    }
}

#[tokio::test]
async fn history_then_live_appends_without_duplicating() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = crate::sources::SqliteStore::open(&dir.path().join("vigil.sqlite")).expect("opens");
    let source = Source::Sqlite(store.clone());
    let config = config(100, 1, 5);
    let now = unix_now();
    let report = fill_history(&source, &config, now).await.expect("history");
    assert!(report.events() > 0);
    let history_newest = newest_event(&source).await.expect("newest").expect("some");
    assert!(
        history_newest < now && history_newest > now - 900,
        "{history_newest} vs {now}"
    );
    let before = store
        .count_rows(EventTable::FeedActions)
        .await
        .expect("count");

    // A second fill right away adds at most the last moments, never the history again.
    let again = fill_history(&source, &config, unix_now())
        .await
        .expect("catch up");
    assert!(again.events() < report.events() / 20, "{again:?}");

    // Live mode for ~2.5 s at 100 users: events keep arriving, all newer than history.
    let shutdown = tokio::time::sleep(Duration::from_millis(2500));
    run_live(&source, &config, Duration::from_millis(500), shutdown)
        .await
        .expect("live");
    let after = store
        .count_rows(EventTable::FeedActions)
        .await
        .expect("count");
    assert!(after >= before, "{before} -> {after}");
    let newest = newest_event(&source).await.expect("newest").expect("some");
    assert!(newest >= history_newest);
}

/// The same history with and without the default experiments.
fn with_and_without_experiments() -> (Simulator, EventBatch, EventBatch) {
    let (users, days, seed) = (2000, 14, 42);
    let end = START + i64::from(days) * 86_400;
    let mut with = Simulator::new(&config(users, days, seed), end, Some((START, end)));
    let mut without = Simulator::new(&config(users, days, seed), end, Some((START, end)));
    without.experiments.clear();
    let (a, b) = (with.generate(START, end), without.generate(START, end));
    (with, a, b)
}

#[test]
fn experiments_have_their_effects_and_touch_nothing_else() {
    let (simulator, with, without) = with_and_without_experiments();
    let labels = simulator.experiment_labels();
    let kinds: Vec<_> = labels.iter().map(|l| l.kind).collect();
    assert_eq!(
        kinds,
        [
            IncidentKind::ExperimentAa,
            IncidentKind::ExperimentEffect,
            IncidentKind::ExperimentEffect,
            IncidentKind::ExperimentSrm
        ]
    );
    assert!(labels.iter().all(|l| l.kind.is_experiment()
        && l.slice_dimension.as_deref() == Some("exp_group")
        && l.id > 100));
    let label = |name: &str| {
        let index = experiments::DEFAULTS
            .iter()
            .position(|t| t.name == name)
            .expect("default experiment");
        (&simulator.experiments[index], &labels[index])
    };
    let true_group = |user_id: u32| simulator.users[user_id as usize - 1].exp_group;
    let views = |batch: &EventBatch| -> Vec<(u32, u32, i64)> {
        batch
            .feed
            .iter()
            .filter(|r| r.action == FeedActionKind::View)
            .map(|r| (r.user_id, r.post_id, r.time))
            .collect()
    };
    // Views are untouched, event for event.
    assert_eq!(views(&with), views(&without));

    // CTR experiment: likes of group 2 x0.85 while it runs; everyone else's likes unchanged.
    let (ctr, ctr_label) = label("feed-ranking-v2");
    assert_eq!(ctr_label.slice_value.as_deref(), Some("2"));
    let likes = |batch: &EventBatch, in_group: bool| {
        batch
            .feed
            .iter()
            .filter(|r| r.action == FeedActionKind::Like && r.time >= ctr.start)
            .filter(|r| (true_group(r.user_id) == 2) == in_group)
            .count() as f64
    };
    let kept = likes(&with, true) / likes(&without, true);
    assert!((0.82..0.88).contains(&kept), "group 2 likes kept {kept}");
    assert_eq!(likes(&with, false), likes(&without, false));

    // Messages experiment: group 3 sends ~1.25x while it runs; others unchanged.
    let (messages, _) = label("messenger-suggestions");
    let sent = |batch: &EventBatch, in_group: bool| {
        batch
            .messages
            .iter()
            .filter(|m| m.time >= messages.start && (true_group(m.user_id) == 3) == in_group)
            .count() as f64
    };
    let factor = sent(&with, true) / sent(&without, true);
    assert!((1.18..1.32).contains(&factor), "group 3 messages x{factor}");
    assert_eq!(sent(&with, false), sent(&without, false));

    // Broken assignment: after the break, half of group 4's users show up in group 0.
    let (onboarding, srm_label) = label("onboarding-v3");
    assert!(srm_label.start > onboarding.start && srm_label.end == onboarding.end);
    let (aa, _) = label("aa-check");
    assert!(
        aa.end <= onboarding.start,
        "the A/A pair's groups are clean while it runs"
    );
    let users_in = |group: u8, from: i64, to: i64| -> std::collections::BTreeSet<u32> {
        with.feed
            .iter()
            .filter(|r| r.exp_group == group && r.time >= from && r.time < to)
            .map(|r| r.user_id)
            .collect()
    };
    let day_before = users_in(4, srm_label.start - 86_400, srm_label.start);
    let day_after = users_in(4, srm_label.start, srm_label.start + 86_400);
    let moved = users_in(0, srm_label.start, srm_label.end)
        .into_iter()
        .filter(|&id| true_group(id) == 4)
        .count() as f64;
    let share = 1.0 - day_after.len() as f64 / day_before.len() as f64;
    assert!((0.4..0.6).contains(&share), "group 4 lost {share}");
    assert!(
        moved > 0.2 * day_before.len() as f64,
        "{moved} moved to group 0"
    );
    assert!(users_in(0, srm_label.start - 86_400, srm_label.start)
        .iter()
        .all(|&id| true_group(id) == 0));
}

#[test]
fn live_generation_resumes_the_experiments_still_running() {
    let end = START + 7 * 86_400;
    let history = Simulator::new(&config(100, 7, 1), end, Some((START, end)));
    let mut live = Simulator::new(&config(100, 7, 1), end, None);
    assert!(live.experiments.is_empty());
    live.resume_experiments(&history.experiment_labels());
    // The A/A pair ended half-way; the other three run on, open-ended.
    let names: Vec<_> = live.experiments.iter().map(|e| e.template.name).collect();
    assert_eq!(
        names,
        ["feed-ranking-v2", "messenger-suggestions", "onboarding-v3"]
    );
    assert!(live.experiments.iter().all(|e| e.end == i64::MAX));
    let active = experiments::Active::at(&live.experiments, end + 86_400);
    assert_eq!(active.likes, Some((2, 0.85)));
    assert_eq!(active.reassign, Some((4, 0, 0.5)));
}

/// Per-user sums of one exp_group over `[from, to)` for feed_ctr (likes,
/// views) and messages_sent (messages, 1) over users exposed in either table,
/// and the number of those users.
fn group_sums(
    batch: &EventBatch,
    group: u8,
    from: i64,
    to: i64,
) -> (
    ::detect::experiments::GroupSummary,
    ::detect::experiments::GroupSummary,
    u64,
) {
    let mut per_user: BTreeMap<u32, (f64, f64, f64)> = BTreeMap::new();
    for row in batch
        .feed
        .iter()
        .filter(|r| r.exp_group == group && r.time >= from && r.time < to)
    {
        let entry = per_user.entry(row.user_id).or_default();
        match row.action {
            FeedActionKind::Like => entry.0 += 1.0,
            FeedActionKind::View => entry.1 += 1.0,
        }
    }
    for message in batch
        .messages
        .iter()
        .filter(|m| m.exp_group == group && m.time >= from && m.time < to)
    {
        per_user.entry(message.user_id).or_default().2 += 1.0;
    }
    let ctr =
        ::detect::experiments::GroupSummary::from_users(per_user.values().map(|v| (v.0, v.1)));
    let messages =
        ::detect::experiments::GroupSummary::from_users(per_user.values().map(|v| (v.2, 1.0)));
    (ctr, messages, per_user.len() as u64)
}

#[test]
fn the_experiment_tests_see_the_simulated_experiments() {
    use ::detect::experiments::{judge, MetricKind, Rules, SrmTest, Verdict};
    let (simulator, batch, _) = with_and_without_experiments();
    let rules = Rules::default();
    for running in &simulator.experiments {
        let template = running.template;
        let (from, to) = (running.start, running.end);
        let (control_ctr, control_messages, control_users) =
            group_sums(&batch, template.control, from, to);
        let (treatment_ctr, treatment_messages, treatment_users) =
            group_sums(&batch, template.treatment, from, to);
        let srm = SrmTest::run(&[control_users, treatment_users], &[1.0, 1.0]).expect("users");
        let ctr = judge(
            &rules,
            MetricKind::Ratio,
            &control_ctr,
            &treatment_ctr,
            Some(&srm),
        )
        .expect("valid");
        let messages = judge(
            &rules,
            MetricKind::PerUser,
            &control_messages,
            &treatment_messages,
            Some(&srm),
        )
        .expect("valid");
        let effect = |decision: &::detect::experiments::Decision| {
            decision.effect.expect("enough users").estimate.relative
        };
        match template.name {
            "aa-check" => {
                assert_eq!(ctr.verdict, Verdict::Inconclusive, "{ctr:?}");
                assert_eq!(messages.verdict, Verdict::Inconclusive, "{messages:?}");
            }
            "feed-ranking-v2" => {
                assert_eq!(ctr.verdict, Verdict::Diverged, "{ctr:?}");
                let interval = ctr.effect.expect("effect").interval;
                assert!(interval.0 < -0.15 && -0.15 < interval.1, "{interval:?}");
            }
            // +25% messages is real but, at 2000 users, smaller than what
            // messaging's spread between users lets a sequential test see in
            // days (docs/experiments.md: a pre-period adjustment is the next
            // step); the estimate points the right way and nothing breaks.
            "messenger-suggestions" => {
                assert!(effect(&messages) > 0.0, "{messages:?}");
                assert_ne!(messages.verdict, Verdict::SampleRatioMismatch);
            }
            "onboarding-v3" => {
                assert_eq!(ctr.verdict, Verdict::SampleRatioMismatch, "{srm:?}");
                assert!(srm.observed[0] > srm.observed[1]);
            }
            other => panic!("unexpected experiment {other}"),
        }
    }
}
