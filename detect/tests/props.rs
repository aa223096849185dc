//! Property tests: no panic on arbitrary input, batch == incremental bit for
//! bit, window structures == naive sort, and the rule == a naive O(n) per point
//! reimplementation written straight from the spec.

use detect::window::{OrderStatistics, QuantilePos, SortedVec, Treap};
use detect::{
    iqr, Detector, IqrParams, IqrState, Point, Series, Smoothing, Stream, BLOCKS_THRESHOLD,
};
use proptest::prelude::*;

fn smoothing() -> impl Strategy<Value = Smoothing> {
    prop_oneof![
        Just(Smoothing::AsOf),
        Just(Smoothing::Centered),
        Just(Smoothing::None)
    ]
}

fn any_value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        3 => any::<f64>().prop_map(Some),
        1 => Just(None),
        1 => Just(Some(f64::NAN)),
        1 => Just(Some(f64::INFINITY)),
        1 => (-5i32..5).prop_map(|x| Some(x as f64)),
    ]
}

/// Realistic values with ties and gaps.
fn gappy_value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        6 => (-1000.0f64..1000.0).prop_map(Some),
        2 => (0i32..6).prop_map(|x| Some(x as f64)),
        2 => Just(None),
    ]
}

fn bits(p: &Point) -> [u64; 7] {
    let o = |x: Option<f64>| x.map_or(u64::MAX - 1, f64::to_bits);
    [
        o(p.value),
        o(p.lower),
        o(p.upper),
        o(p.expected),
        p.is_anomaly as u64,
        p.score.to_bits(),
        o(p.deviation),
    ]
}

/// The rule from the spec, naively: sort the window at every point.
fn naive(values: &[Option<f64>], prm: &IqrParams) -> Vec<Point> {
    let n = prm.n;
    let vals: Vec<Option<f64>> = values.iter().map(|v| v.filter(|x| x.is_finite())).collect();
    let mut raw: Vec<Option<(f64, f64, f64, f64)>> = Vec::new(); // lower, upper, median, iqr
    for t in 0..vals.len() {
        let obs: Vec<f64> = vals[..t].iter().flatten().copied().collect();
        if obs.len() < n {
            raw.push(None);
            continue;
        }
        let mut w = obs[obs.len() - n..].to_vec();
        w.sort_by(f64::total_cmp);
        let q = |p: f64| QuantilePos::new(p, n).read_sorted(&w).unwrap();
        let (q25, q50, q75) = (q(0.25), q(0.5), q(0.75));
        let iqr = q75 - q25;
        raw.push(Some((q25 - prm.a * iqr, q75 + prm.a * iqr, q50, iqr)));
    }
    let len = vals.len() as isize;
    let mean = |lo: isize, hi: isize| {
        let pairs: Vec<(f64, f64)> = (lo.max(0)..=hi.min(len - 1))
            .filter_map(|j| raw[j as usize].map(|r| (r.0, r.1)))
            .collect();
        if pairs.is_empty() {
            None
        } else {
            let c = pairs.len() as f64;
            Some((
                pairs.iter().map(|p| p.0).sum::<f64>() / c,
                pairs.iter().map(|p| p.1).sum::<f64>() / c,
            ))
        }
    };
    (0..vals.len())
        .map(|t| {
            let ti = t as isize;
            let (back, ahead) = ((n / 2) as isize, ((n - 1) / 2) as isize);
            let band = match prm.smooth {
                Smoothing::None => raw[t].map(|r| (r.0, r.1)),
                Smoothing::AsOf => mean(ti - back, ti),
                Smoothing::Centered => mean(ti - back, ti + ahead),
            };
            let spread = raw[t]
                .map(|r| r.3)
                .or_else(|| band.map(|(lo, hi)| (hi - lo) / (1.0 + 2.0 * prm.a)));
            Point::assess(vals[t], band, raw[t].map(|r| r.2), spread)
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn close_opt(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => close(x, y),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_panics(
        values in prop::collection::vec(any_value(), 0..80),
        n in 0usize..40,
        a in prop_oneof![any::<f64>(), 0.0f64..10.0],
        smooth in smoothing(),
    ) {
        let s = Series::new(0, 900, values.clone()).unwrap();
        let params = IqrParams { n, a, smooth };
        match iqr(&s, &params) {
            Ok(detection) => {
                let points: Vec<Point> = detection.points().collect();
                prop_assert_eq!(points.len(), values.len());
                for p in &points {
                    prop_assert!(!p.score.is_nan());
                    prop_assert!(p.score >= 0.0);
                    if p.value.is_none() { prop_assert!(!p.is_anomaly); }
                }
            }
            Err(e) => prop_assert!(params.validate().is_err(), "{}", e),
        }
        if let Ok(mut st) = IqrState::new(params) {
            for v in values { let _ = st.push(v); }
        }
    }

    #[test]
    fn batch_equals_incremental_bit_for_bit(
        values in prop::collection::vec(gappy_value(), 0..300),
        // Both batch providers: sorted array below BLOCKS_THRESHOLD, sorted blocks from it.
        n in prop_oneof![2usize..30, BLOCKS_THRESHOLD..100],
        a in 0.0f64..6.0,
        asof in any::<bool>(),
    ) {
        let smooth = if asof { Smoothing::AsOf } else { Smoothing::None };
        let params = IqrParams { n, a, smooth };
        let batch = iqr(&Series::new(0, 60, values.clone()).unwrap(), &params).unwrap();
        prop_assert_eq!(batch.len(), values.len());
        let mut st = IqrState::new(params).unwrap();
        for (t, v) in values.iter().enumerate() {
            let p = st.push(*v);
            prop_assert_eq!(bits(&p), bits(&batch.point(t)), "t={}", t);
        }
    }

    #[test]
    fn rule_matches_naive_reference(
        values in prop::collection::vec(gappy_value(), 0..120),
        n in prop_oneof![2usize..12, BLOCKS_THRESHOLD..BLOCKS_THRESHOLD + 16],
        a in 0.0f64..6.0,
        smooth in smoothing(),
    ) {
        let params = IqrParams { n, a, smooth };
        let got: Vec<Point> = iqr(&Series::new(0, 60, values.clone()).unwrap(), &params)
            .unwrap()
            .points()
            .collect();
        let want = naive(&values, &params);
        prop_assert_eq!(got.len(), want.len());
        for (t, (g, w)) in got.iter().zip(&want).enumerate() {
            prop_assert!(close_opt(g.lower, w.lower) && close_opt(g.upper, w.upper),
                "t={} band {:?} vs {:?}", t, g, w);
            prop_assert_eq!(g.expected.map(f64::to_bits), w.expected.map(f64::to_bits), "t={}", t);
            prop_assert_eq!(g.value, w.value);
            // Anomaly/score can differ only when the value sits within
            // rounding of a bound.
            let near = |b: Option<f64>| match (g.value, b) {
                (Some(v), Some(b)) => close(v, b),
                _ => false,
            };
            if !near(w.lower) && !near(w.upper) {
                prop_assert_eq!(g.is_anomaly, w.is_anomaly, "t={}", t);
                prop_assert!(close(g.score, w.score) || (g.score - w.score).abs() < 1e-6, "t={} {} vs {}", t, g.score, w.score);
            }
            prop_assert!(close_opt(g.deviation, w.deviation));
        }
    }

    #[test]
    fn windows_agree_with_naive_sort(
        ops in prop::collection::vec((any::<bool>(), prop_oneof![(-20i32..20).prop_map(|x| x as f64), -1e6f64..1e6]), 0..400),
    ) {
        let mut sorted = SortedVec::with_capacity(8);
        let mut treap = Treap::with_capacity(8);
        let mut naive: Vec<f64> = Vec::new();
        for (i, (insert, x)) in ops.into_iter().enumerate() {
            if insert || naive.is_empty() {
                sorted.insert(x);
                treap.insert(x);
                naive.push(x);
                naive.sort_by(f64::total_cmp);
            } else {
                // Remove a present value (picked by x), sometimes an absent one.
                let victim = if i % 5 == 0 { x + 0.5 } else { naive[(x.abs() as usize) % naive.len()] };
                let present = naive.iter().position(|&y| y == victim);
                if let Some(k) = present { naive.remove(k); }
                prop_assert_eq!(sorted.remove(victim), present.is_some());
                prop_assert_eq!(treap.remove(victim), present.is_some());
            }
            prop_assert_eq!(sorted.len(), naive.len());
            prop_assert_eq!(treap.len(), naive.len());
            for (k, &want) in naive.iter().enumerate() {
                prop_assert_eq!(sorted.select(k), Some(want));
                prop_assert_eq!(treap.select(k), Some(want));
            }
            prop_assert_eq!(sorted.select(naive.len()), None);
            prop_assert_eq!(treap.select(naive.len()), None);
        }
    }

    #[test]
    fn replace_agrees_with_remove_insert(
        init in prop::collection::vec((-10i32..10).prop_map(|x| x as f64), 1..60),
        repl in prop::collection::vec(((0usize..1000), (-12i32..12).prop_map(|x| x as f64)), 0..100),
    ) {
        let mut sorted = SortedVec::with_capacity(8);
        let mut treap = Treap::with_capacity(8);
        let mut naive = init.clone();
        for &x in &init { sorted.insert(x); treap.insert(x); }
        naive.sort_by(f64::total_cmp);
        for (pick, new) in repl {
            let old = naive[pick % naive.len()];
            sorted.replace(old, new);
            treap.replace(old, new);
            let k = naive.iter().position(|&y| y == old).unwrap();
            naive.remove(k);
            naive.push(new);
            naive.sort_by(f64::total_cmp);
            prop_assert_eq!(sorted.as_slice(), &naive[..]);
            for (k, &want) in naive.iter().enumerate() {
                prop_assert_eq!(treap.select(k), Some(want));
            }
        }
    }
}
