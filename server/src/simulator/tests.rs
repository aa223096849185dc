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
