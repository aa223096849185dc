//! The events the check's tests write (`#[cfg(test)]`): views of one os
//! spread over a bucket, and the metric they feed, so each test states only
//! its own story (how many views, when).

use crate::events::{FeedAction, FeedActionKind};
use crate::metrics::catalogue;
use crate::metrics::model::{MetricDef, BUCKET_SECONDS};

/// `n` views of `os` in the bucket starting at `start`, one per user
/// (`user_id` 1..=n), spread evenly over the bucket.
pub fn views_of_os(start: i64, n: u32, os: &str) -> impl Iterator<Item = FeedAction> + '_ {
    (0..n).map(move |user| FeedAction {
        user_id: user + 1,
        post_id: 1,
        action: FeedActionKind::View,
        time: start + i64::from(user) * BUCKET_SECONDS / i64::from(n),
        gender: 1,
        age: 30,
        country: "Russia".into(),
        city: "Moscow".into(),
        os: os.into(),
        source: "organic".into(),
        exp_group: 1,
    })
}

/// The built-in `name`, sliced by os only (the only dimension the events vary).
pub fn by_os(name: &str) -> MetricDef {
    let mut metric = catalogue::builtin_metric(name).expect("a built-in metric");
    metric.slices = vec!["os".into()];
    metric
}
