use super::*;
use crate::metrics::catalogue;

const FROM: i64 = 1_709_510_400 + 123;
const HOUR: i64 = 3_600;

fn sums_key(groups: &[u8]) -> SumsKey {
    let metric = catalogue::builtin_metric("feed_ctr").expect("built-in");
    SumsKey::new("sqlite test", &metric, groups, FROM)
}

fn row(user: u64, group: u8, x: f64, y: f64) -> UserSums {
    UserSums { user, group, x, y }
}

fn range(to: i64) -> TimeRange {
    TimeRange { from: FROM, to }
}

/// The group sums of per-user pairs written out: what the full query returns.
fn summed(users: &[(u8, f64, f64)]) -> Vec<(u8, GroupSummary)> {
    let mut groups: BTreeMap<u8, GroupSummary> = BTreeMap::new();
    for &(group, x, y) in users {
        groups.entry(group).or_default().add_user(x, y);
    }
    groups.into_iter().collect()
}

/// Runs `plan` then `apply` with the rows each window would return.
fn call(
    cache: &mut SumsCache,
    key: &SumsKey,
    to: i64,
    settled: i64,
    rows: impl Fn(TimeRange) -> Vec<UserSums>,
) -> (Plan, Option<Vec<(u8, GroupSummary)>>) {
    let plan = cache.plan(key, range(to), settled);
    let Plan::Incremental { settle, tail, cut } = plan else {
        return (plan, None);
    };
    let settled_rows = settle.map(&rows).unwrap_or_default();
    let tail_rows = tail.map(&rows).unwrap_or_default();
    let settle = settle.map(|window| (window, settled_rows.as_slice()));
    (plan, cache.apply(key, settle, cut, &tail_rows))
}

#[test]
fn the_settled_boundary_advances_and_each_call_reads_only_the_new_span() {
    let mut cache = SumsCache::default();
    let key = sums_key(&[1, 2]);
    let settled_1 = FROM - 123 + 10 * HOUR;
    let to_1 = settled_1 + HOUR + 900;
    let plan = cache.plan(&key, range(to_1), settled_1);
    assert_eq!(
        plan,
        Plan::Incremental {
            settle: Some(range(settled_1)),
            tail: Some(TimeRange {
                from: settled_1,
                to: to_1
            }),
            cut: settled_1,
        }
    );
    let sums = cache.apply(
        &key,
        Some((range(settled_1), &[row(7, 1, 2.0, 5.0)])),
        settled_1,
        &[],
    );
    assert_eq!(sums, Some(summed(&[(1, 2.0, 5.0)])));
    assert_eq!(cache.settled_to(&key), Some(settled_1));

    // A bucket later: only the bucket that settled since, and the tail.
    let settled_2 = settled_1 + 900;
    let to_2 = to_1 + 900;
    let plan = cache.plan(&key, range(to_2), settled_2);
    assert_eq!(
        plan,
        Plan::Incremental {
            settle: Some(TimeRange {
                from: settled_1,
                to: settled_2
            }),
            tail: Some(TimeRange {
                from: settled_2,
                to: to_2
            }),
            cut: settled_2,
        }
    );
    let settled_window = TimeRange {
        from: settled_1,
        to: settled_2,
    };
    let sums = cache.apply(
        &key,
        Some((settled_window, &[row(7, 1, 1.0, 1.0), row(8, 2, 0.0, 3.0)])),
        settled_2,
        &[],
    );
    assert_eq!(sums, Some(summed(&[(1, 3.0, 6.0), (2, 0.0, 3.0)])));
    assert_eq!(cache.settled_to(&key), Some(settled_2));
    assert_eq!(cache.users(), 2);

    // A range entirely settled ends the entry at its end, no tail.
    let later = settled_2 + 5 * HOUR;
    assert_eq!(
        cache.plan(&key, range(settled_2 + 900), later),
        Plan::Incremental {
            settle: Some(TimeRange {
                from: settled_2,
                to: settled_2 + 900
            }),
            tail: None,
            cut: settled_2 + 900,
        }
    );
}

#[test]
fn the_tail_is_overlaid_and_never_accumulated() {
    let mut cache = SumsCache::default();
    let key = sums_key(&[1, 2]);
    let settled = FROM - 123 + 10 * HOUR;
    let to = settled + HOUR;
    let window = range(settled);
    let base = [row(1, 1, 1.0, 2.0), row(2, 2, 0.0, 1.0)];
    let tail = [row(1, 1, 1.0, 1.0)];
    let first = cache.apply(&key, Some((window, &base)), settled, &tail);
    let expected = summed(&[(1, 2.0, 3.0), (2, 0.0, 1.0)]);
    assert_eq!(first, Some(expected.clone()));
    // Same clock: nothing new settled, the tail read again (it may have
    // grown), added once, not on top of the previous answer's.
    assert_eq!(
        cache.plan(&key, range(to), settled),
        Plan::Incremental {
            settle: None,
            tail: Some(TimeRange { from: settled, to }),
            cut: settled,
        }
    );
    assert_eq!(cache.apply(&key, None, settled, &tail), Some(expected));
    let grown = [
        row(1, 1, 1.0, 1.0),
        row(1, 1, 0.0, 4.0),
        row(3, 2, 1.0, 1.0),
    ];
    assert_eq!(
        cache.apply(&key, None, settled, &grown),
        Some(summed(&[(1, 2.0, 7.0), (2, 0.0, 1.0), (2, 1.0, 1.0)]))
    );
    // Without a tail: the settled sums alone, unchanged by the overlays.
    assert_eq!(
        cache.apply(&key, None, settled, &[]),
        Some(summed(&[(1, 1.0, 2.0), (2, 0.0, 1.0)]))
    );
    assert_eq!(cache.users(), 2);
}

#[test]
fn users_seen_in_one_window_only_count_once() {
    let mut cache = SumsCache::default();
    let key = sums_key(&[1, 2]);
    let settled_1 = FROM - 123 + 4 * HOUR;
    let settled_2 = settled_1 + 900;
    let to = settled_2 + 1_800;
    // User 1 only in the first settled window, 2 only in the second, 3 only
    // in the tail, 4 in all three, 5 in group 1 and (a leak) group 2.
    let rows = |window: TimeRange| -> Vec<UserSums> {
        if window.from == FROM {
            vec![
                row(1, 1, 3.0, 4.0),
                row(4, 2, 1.0, 1.0),
                row(5, 1, 1.0, 1.0),
            ]
        } else if window.from == settled_1 {
            vec![
                row(2, 1, 0.0, 2.0),
                row(4, 2, 1.0, 0.0),
                row(5, 2, 2.0, 2.0),
            ]
        } else {
            vec![row(3, 2, 1.0, 1.0), row(4, 2, 0.0, 5.0)]
        }
    };
    let (_, first) = call(&mut cache, &key, settled_1, settled_1, rows);
    assert_eq!(
        first,
        Some(summed(&[(1, 3.0, 4.0), (2, 1.0, 1.0), (1, 1.0, 1.0)]))
    );
    let (_, second) = call(&mut cache, &key, to, settled_2, rows);
    assert_eq!(
        second,
        Some(summed(&[
            (1, 3.0, 4.0),
            (1, 0.0, 2.0),
            (2, 1.0, 1.0),
            (2, 2.0, 6.0),
            (1, 1.0, 1.0),
            (2, 2.0, 2.0),
        ]))
    );
    // Kept: 1, 2, 4, 5 twice; not the tail's 3.
    assert_eq!(cache.users(), 5);
}

#[test]
fn an_earlier_end_or_nothing_settled_reads_the_range_whole() {
    let mut cache = SumsCache::default();
    let key = sums_key(&[1, 2]);
    let settled = FROM - 123 + 10 * HOUR;
    cache.apply(
        &key,
        Some((range(settled), &[row(1, 1, 1.0, 1.0)])),
        settled,
        &[],
    );
    // The report of an earlier day, a past checkpoint of the page: bypass,
    // and the entry is left as it was.
    assert_eq!(cache.plan(&key, range(settled - 900), settled), Plan::Full);
    assert_eq!(
        cache.plan(&key, range(settled - 900), settled + HOUR),
        Plan::Full
    );
    assert_eq!(cache.settled_to(&key), Some(settled));
    // Ending at the boundary itself: the entry as it is.
    assert_eq!(
        cache.plan(&key, range(settled), settled + HOUR),
        Plan::Incremental {
            settle: None,
            tail: None,
            cut: settled
        }
    );
    // A longer settle delay than the entry's (set meanwhile): the entry
    // stays, its boundary is not moved back.
    assert_eq!(
        cache.plan(&key, range(settled + 900), settled - HOUR),
        Plan::Incremental {
            settle: None,
            tail: Some(TimeRange {
                from: settled,
                to: settled + 900
            }),
            cut: settled
        }
    );
    // An experiment younger than the settle delay: nothing to keep yet.
    let young = key_from(FROM + 20 * HOUR);
    let young_range = TimeRange {
        from: FROM + 20 * HOUR,
        to: FROM + 21 * HOUR,
    };
    assert_eq!(
        cache.plan(&young, young_range, FROM + 20 * HOUR),
        Plan::Full
    );
    // Other groups or another start are other sums.
    assert!(matches!(
        cache.plan(&sums_key(&[0, 4]), range(settled), settled),
        Plan::Incremental {
            settle: Some(_),
            ..
        }
    ));
}

fn key_from(from: i64) -> SumsKey {
    let metric = catalogue::builtin_metric("feed_ctr").expect("built-in");
    SumsKey::new("sqlite test", &metric, &[1, 2], from)
}

#[test]
fn a_call_whose_entry_moved_meanwhile_is_read_whole() {
    let mut cache = SumsCache::default();
    let key = sums_key(&[1, 2]);
    let settled_1 = FROM - 123 + 10 * HOUR;
    let settled_2 = settled_1 + 900;
    let window_1 = range(settled_1);
    cache.apply(
        &key,
        Some((window_1, &[row(1, 1, 1.0, 1.0)])),
        settled_1,
        &[],
    );
    // Two calls planned the same window; the second to apply finds the
    // entry already past it and must not add it again.
    let window_2 = TimeRange {
        from: settled_1,
        to: settled_2,
    };
    let rows = [row(1, 1, 1.0, 1.0)];
    assert!(cache
        .apply(&key, Some((window_2, &rows)), settled_2, &[])
        .is_some());
    assert_eq!(
        cache.apply(&key, Some((window_2, &rows)), settled_2, &[]),
        None
    );
    assert_eq!(
        cache.apply(&key, None, settled_2, &[]),
        Some(summed(&[(1, 2.0, 2.0)]))
    );
    // An evicted entry's later window is not a start.
    let other = key_from(FROM + 1);
    let late = TimeRange {
        from: FROM + HOUR,
        to: FROM + 2 * HOUR,
    };
    assert_eq!(cache.apply(&other, Some((late, &rows)), late.to, &[]), None);
    assert_eq!(cache.settled_to(&other), None);
}

#[test]
fn the_least_recently_used_entries_go_past_the_caps() {
    let mut cache = SumsCache::new(2, 5);
    let settled = FROM - 123 + 10 * HOUR;
    let window = range(settled);
    let rows = |n: u64| (0..n).map(|u| row(u, 1, 1.0, 1.0)).collect::<Vec<_>>();
    let (a, b, c) = (sums_key(&[1]), sums_key(&[2]), sums_key(&[3]));
    cache.apply(&a, Some((window, &rows(1))), settled, &[]);
    cache.apply(&b, Some((window, &rows(1))), settled, &[]);
    cache.apply(&a, None, settled, &[]); // a used last
    cache.apply(&c, Some((window, &rows(1))), settled, &[]);
    assert_eq!(cache.settled_to(&b), None, "b was the least recently used");
    assert!(cache.settled_to(&a).is_some() && cache.settled_to(&c).is_some());
    // Past the user cap: the older entry goes first.
    let sums = cache.apply(&b, Some((window, &rows(4))), settled, &[]);
    assert_eq!(sums.map(|s| s[0].1.users), Some(4));
    assert!(cache.users() <= 5);
    assert!(cache.settled_to(&b).is_some());
    // One entry alone above the cap answers, and is not kept.
    let big = cache.apply(&c, Some((window, &rows(6))), settled, &[]);
    assert!(
        big.is_none(),
        "c is still kept at its first boundary: {big:?}"
    );
    let d = sums_key(&[4]);
    let big = cache.apply(&d, Some((window, &rows(6))), settled, &[]);
    assert_eq!(big.map(|s| s[0].1.users), Some(6));
    assert_eq!(cache.settled_to(&d), None);
    assert!(cache.users() <= 5);
}
