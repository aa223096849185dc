//! The cap on a dimension's slices: the `top` values by volume are watched
//! one by one, the rest together as one `(other)` series, so that a city
//! dimension with thousands of small towns costs a check (and its reader)
//! what its largest cities and one remainder cost.
//!
//! It works on the rows of the one grouped query per metric and dimension:
//! no query per series, none extra. The volume of a value is the sum of its
//! buckets over the range the check reads (the detector's window, hours to
//! days): recent, and the same for every series of the check. `(other)` is
//! the bucket-wise sum of the values past the cap, which is exact for
//! counts only: a distinct count of the rest is not the sum of their
//! distinct counts (a user in two small towns would count twice), and a
//! ratio of the rest is not a sum of ratios. For those, the values past the
//! cap are left out rather than shown wrong.

use std::collections::BTreeMap;

use crate::metrics::dimensions::OTHER;
use crate::metrics::model::{Aggregate, Bucket};

/// `by_value` capped to its `top` values by volume (ties by value), plus
/// [`OTHER`] for the rest of a count metric; unchanged when it has at most
/// `top` values.
pub fn cap(
    aggregate: &Aggregate,
    by_value: BTreeMap<String, Vec<Bucket>>,
    top: usize,
) -> BTreeMap<String, Vec<Bucket>> {
    if by_value.len() <= top {
        return by_value;
    }
    let volume = |buckets: &[Bucket]| buckets.iter().map(|b| b.value).sum::<f64>();
    let mut ranked: Vec<(String, Vec<Bucket>)> = by_value.into_iter().collect();
    // Stable: equal volumes keep the values' order.
    ranked.sort_by(|a, b| volume(&b.1).total_cmp(&volume(&a.1)));
    let rest = ranked.split_off(top);
    let mut capped: BTreeMap<String, Vec<Bucket>> = ranked.into_iter().collect();
    if matches!(aggregate, Aggregate::Count) {
        let mut sums: BTreeMap<i64, f64> = BTreeMap::new();
        for bucket in rest.iter().flat_map(|(_, buckets)| buckets) {
            *sums.entry(bucket.start).or_default() += bucket.value;
        }
        let other = (sums.into_iter())
            .map(|(start, value)| Bucket { start, value })
            .collect();
        capped.insert(OTHER.to_string(), other);
    }
    capped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[(i64, f64)]) -> Vec<Bucket> {
        (values.iter())
            .map(|&(start, value)| Bucket { start, value })
            .collect()
    }

    #[test]
    fn the_largest_stay_and_the_rest_of_a_count_are_summed() {
        let by_value: BTreeMap<String, Vec<Bucket>> = [
            ("a", series(&[(0, 1.0), (900, 1.0)])),
            ("b", series(&[(0, 50.0), (900, 60.0)])),
            ("c", series(&[(0, 5.0)])),
            ("d", series(&[(900, 7.0)])),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let capped = cap(&Aggregate::Count, by_value.clone(), 2);
        let names: Vec<&str> = capped.keys().map(String::as_str).collect();
        assert_eq!(names, ["(other)", "b", "d"]);
        assert_eq!(capped[OTHER], series(&[(0, 6.0), (900, 1.0)]));
        let users = Aggregate::Distinct {
            column: "user_id".into(),
        };
        let capped = cap(&users, by_value.clone(), 2);
        assert_eq!(capped.keys().collect::<Vec<_>>(), ["b", "d"], "no sum");
        assert_eq!(cap(&Aggregate::Count, by_value.clone(), 4), by_value);
    }
}
