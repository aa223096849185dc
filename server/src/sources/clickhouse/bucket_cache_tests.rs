//! The pure merging logic of the bucket cache: a read assembled from cached
//! slots and fetched parts equals reading the whole range at once.

use std::collections::BTreeMap;

use super::*;
use crate::metrics::model::Bucket;
use crate::metrics::model::BUCKET_SECONDS as B;

fn span(from: i64, to: i64) -> TimeRange {
    TimeRange {
        from: from * B,
        to: to * B,
    }
}

/// The "server": per slice value, `value(k)` at bucket k when `has(k)`.
fn table(range: TimeRange) -> Frame {
    let mut frame = Frame::new();
    for k in range.from / B..range.to / B {
        // "a" has rows every bucket, "b" every third (gaps), "c" only from 10.
        for (name, has) in [("a", true), ("b", k % 3 == 0), ("c", k >= 10)] {
            if has {
                frame
                    .entry(name.to_string())
                    .or_default()
                    .set(k * B, (k * 10) as f64 + name.len() as f64);
            }
        }
    }
    frame
}

/// A read of `range` through `cache`, returning the result and the parts read.
fn read(
    cache: &BucketCache,
    range: TimeRange,
    settled_to: i64,
    kept: Option<&[String]>,
    source: impl Fn(TimeRange) -> Frame,
) -> (BTreeMap<String, Vec<Bucket>>, Vec<TimeRange>) {
    let plan = cache.plan("k", range, settled_to, kept);
    let fetched: Vec<(TimeRange, Frame)> = plan
        .fetch
        .iter()
        .map(|part| (*part, source(*part)))
        .collect();
    let starts = plan.cached_span.map(|span| span.from);
    let (mut front, mut back) = (None, None);
    for (part, rows) in &fetched {
        match starts {
            Some(start) if part.to <= start => front = Some(rows),
            _ => back = Some(rows),
        }
    }
    let result = assemble(front, plan.cached, back);
    for (part, rows) in fetched {
        cache.store("k", part, settled_to, kept, rows);
    }
    (result, plan.fetch)
}

fn direct(range: TimeRange) -> BTreeMap<String, Vec<Bucket>> {
    assemble(None, BTreeMap::new(), Some(&table(range)))
}

#[test]
fn slots_grow_both_ways_and_drop_edge_gaps() {
    let mut slots = Slots::default();
    slots.set(5 * B, 1.0);
    slots.set(8 * B, 2.0);
    slots.set(3 * B, 3.0);
    assert_eq!(slots.len(), 6);
    assert_eq!(
        slots
            .buckets()
            .map(|b| (b.start / B, b.value))
            .collect::<Vec<_>>(),
        vec![(3, 3.0), (5, 1.0), (8, 2.0)]
    );
    assert_eq!(
        slots.buckets_within(span(4, 8)).collect::<Vec<_>>(),
        vec![Bucket {
            start: 5 * B,
            value: 1.0
        }]
    );
    assert_eq!(slots.count_within(span(6, 8)), 0);
    assert_eq!(slots.count_within(span(0, 100)), 3);
    slots.trim_before(4 * B);
    assert_eq!(slots.buckets().next().map(|b| b.start), Some(5 * B));
    assert!(slots.get(2 * B).is_nan() && slots.get(40 * B).is_nan());
}

#[test]
fn slots_moved_into_the_cache_keep_only_the_settled_span() {
    let mut slots = table(span(0, 10)).remove("b").expect("b");
    assert_eq!(slots.count(), 4, "buckets 0, 3, 6 and 9");
    slots.keep_within(span(1, 7));
    assert_eq!(
        slots.buckets().map(|b| b.start / B).collect::<Vec<_>>(),
        vec![3, 6]
    );
    slots.keep_within(span(4, 5));
    assert!(slots.is_empty());
}

#[test]
fn a_settled_range_is_read_once_then_only_the_unsettled_tail() {
    let cache = BucketCache::default();
    let settled = 20 * B;
    let (first, read_parts) = read(&cache, span(0, 24), settled, None, table);
    assert_eq!(read_parts, vec![span(0, 24)]);
    assert_eq!(first, direct(span(0, 24)));
    let (again, read_parts) = read(&cache, span(2, 25), settled, None, table);
    assert_eq!(read_parts, vec![span(20, 25)], "only what is not settled");
    assert_eq!(again, direct(span(2, 25)));
    // Time passes: two more buckets settle, and are read once more each.
    let (later, read_parts) = read(&cache, span(3, 26), 22 * B, None, table);
    assert_eq!(read_parts, vec![span(20, 26)]);
    assert_eq!(later, direct(span(3, 26)));
    let (_, read_parts) = read(&cache, span(3, 26), 22 * B, None, table);
    assert_eq!(read_parts, vec![span(22, 26)]);
}

#[test]
fn an_earlier_start_reads_only_the_front() {
    let cache = BucketCache::default();
    read(&cache, span(10, 20), 30 * B, None, table);
    let (rows, read_parts) = read(&cache, span(5, 20), 30 * B, None, table);
    assert_eq!(read_parts, vec![span(5, 10)]);
    assert_eq!(rows, direct(span(5, 20)));
    let (rows, read_parts) = read(&cache, span(6, 12), 30 * B, None, table);
    assert!(read_parts.is_empty());
    assert_eq!(rows, direct(span(6, 12)));
}

#[test]
fn a_shorter_disjoint_read_does_not_replace_the_window() {
    let cache = BucketCache::default();
    read(&cache, span(0, 10), 100 * B, None, table);
    let (rows, read_parts) = read(&cache, span(50, 52), 100 * B, None, table);
    assert_eq!(read_parts, vec![span(50, 52)]);
    assert_eq!(rows, direct(span(50, 52)));
    let (_, read_parts) = read(&cache, span(1, 9), 100 * B, None, table);
    assert!(read_parts.is_empty(), "{read_parts:?}");
}

#[test]
fn nothing_settled_is_never_cached() {
    let cache = BucketCache::default();
    read(&cache, span(10, 20), 5 * B, None, table);
    let (rows, read_parts) = read(&cache, span(10, 20), 5 * B, None, table);
    assert_eq!(read_parts, vec![span(10, 20)]);
    assert_eq!(rows, direct(span(10, 20)));
}

#[test]
fn history_beyond_the_longest_read_and_a_day_is_trimmed() {
    let cache = BucketCache::default();
    for step in 0..200 {
        let (rows, _) = read(&cache, span(step, step + 10), (step + 9) * B, None, table);
        assert_eq!(rows, direct(span(step, step + 10)));
    }
    let (_, covered) = cache.kept("k");
    let covered = covered.expect("covered");
    assert!(
        covered.to - covered.from <= 10 * B + TRIM_SLACK,
        "{covered:?}"
    );
}

fn names(values: &[&str]) -> Vec<String> {
    values.iter().map(|value| value.to_string()).collect()
}

/// A capped count: the kept values' rows, and the rest summed as OTHER.
fn capped(kept: &[String]) -> impl Fn(TimeRange) -> Frame + '_ {
    move |range| {
        let mut frame = Frame::new();
        for (value, slots) in table(range) {
            let name = if kept.contains(&value) {
                value
            } else {
                OTHER.to_string()
            };
            let target = frame.entry(name).or_default();
            target.add(&slots, range, 1.0);
        }
        frame
    }
}

const OTHER: &str = "(other)";

#[test]
fn a_changed_kept_list_is_applied_as_a_delta_with_other_adjusted() {
    let cache = BucketCache::default();
    let (old, new) = (names(&["a", "b"]), names(&["a", "c"]));
    let settled = 30 * B;
    let kept = |values: &[String]| Kept {
        values: values.to_vec(),
        ranked_from: 0,
    };
    cache.set_kept("k", None, kept(&old), None);
    read(&cache, span(0, 32), settled, Some(&old), capped(&old));
    let (_, covered) = cache.kept("k");
    let span_cached = covered.expect("covered");
    assert_eq!(span_cached, span(0, 30));
    // "c" comes in, "b" goes: only "c" is read over the cached span.
    let mut added = table(span_cached);
    added.retain(|value, _| value == "c");
    let delta = KeptDelta {
        span: span_cached,
        added,
        other: Some(OTHER.to_string()),
    };
    cache.set_kept("k", Some(&old), kept(&new), Some(delta));
    let (rows, read_parts) = read(&cache, span(1, 33), settled, Some(&new), capped(&new));
    assert_eq!(
        read_parts,
        vec![span(30, 33)],
        "the settled span stays cached"
    );
    assert_eq!(
        rows,
        assemble(None, BTreeMap::new(), Some(&capped(&new)(span(1, 33))))
    );
    assert!(rows.contains_key(OTHER) && !rows.contains_key("b"));
}

#[test]
fn a_kept_list_that_changed_meanwhile_drops_the_entry() {
    let cache = BucketCache::default();
    let (old, new) = (names(&["a"]), names(&["b"]));
    let kept = |values: &[String]| Kept {
        values: values.to_vec(),
        ranked_from: 0,
    };
    cache.set_kept("k", None, kept(&old), None);
    read(&cache, span(0, 10), 20 * B, Some(&old), capped(&old));
    // Rows read for another list are not stored into this one.
    cache.store("k", span(10, 12), 20 * B, Some(&new), table(span(10, 12)));
    let delta = KeptDelta {
        span: span(0, 5),
        added: Frame::new(),
        other: None,
    };
    cache.set_kept("k", Some(&old), kept(&new), Some(delta));
    let (rows, read_parts) = read(&cache, span(0, 10), 20 * B, Some(&new), capped(&new));
    assert_eq!(
        read_parts,
        vec![span(0, 10)],
        "a delta for another span is not applied"
    );
    assert_eq!(
        rows,
        assemble(None, BTreeMap::new(), Some(&capped(&new)(span(0, 10))))
    );
}

#[test]
fn a_ranking_is_reused_for_less_than_a_day_either_way() {
    let kept = Kept {
        values: names(&["a"]),
        ranked_from: 1000 * B,
    };
    assert!(kept.still_ranks(1000 * B));
    assert!(kept.still_ranks(1095 * B));
    assert!(!kept.still_ranks(1096 * B));
    // An open alert's range reaches back to impute its span: same ranking.
    assert!(kept.still_ranks(999 * B));
    assert!(kept.still_ranks(905 * B));
    assert!(
        !kept.still_ranks(904 * B),
        "a day before: a range of its own"
    );
}
