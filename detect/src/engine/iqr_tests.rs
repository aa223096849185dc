//! The IQR engines against each other and the rule (bit for bit).

use super::iqr::*;
use super::sources::*;
use super::window::*;
use crate::detection::Detection;
use crate::detectors::iqr::*;
use crate::detectors::{Detector, Stream};
use crate::error::{DetectError, MAX_WINDOW};
use crate::point::Point;
use crate::series::Series;
use crate::smoothing::Smoothing;

fn series(values: &[Option<f64>]) -> Series {
    Series::new(0, 900, values.to_vec()).unwrap()
}

/// The batch result as points.
fn run(s: &Series, params: &IqrParams) -> Vec<Point> {
    iqr(s, params).unwrap().points().collect()
}

fn p(n: usize, a: f64, smooth: Smoothing) -> IqrParams {
    IqrParams { n, a, smooth }
}

#[test]
fn validation_messages() {
    let err = |n, a| p(n, a, Smoothing::AsOf).validate().unwrap_err().to_string();
    assert_eq!(err(1, 4.0), "n must be at least 2 (got 1)");
    assert_eq!(err(0, 4.0), "n must be at least 2 (got 0)");
    assert_eq!(err(5, f64::NAN), "a must be a finite number >= 0 (got NaN)");
    assert_eq!(err(5, -1.0), "a must be a finite number >= 0 (got -1)");
    assert_eq!(
        err(5, f64::INFINITY),
        "a must be a finite number >= 0 (got inf)"
    );
    assert!(err(MAX_WINDOW + 1, 1.0).starts_with("n must be at most"));
    assert!(p(2, 0.0, Smoothing::None).validate().is_ok());
    assert!(IqrParams::default().validate().is_ok());
    assert_eq!(IqrParams::default(), p(5, 4.0, Smoothing::AsOf));
    // Batch validates too.
    assert!(iqr(&series(&[Some(1.0)]), &p(1, 4.0, Smoothing::AsOf)).is_err());
}

#[test]
fn incremental_rejects_centered() {
    let err = IqrState::new(p(5, 4.0, Smoothing::Centered)).unwrap_err();
    assert_eq!(err, DetectError::SmoothingNeedsFuture(Smoothing::Centered));
    assert!(err
        .to_string()
        .contains("centered smoothing looks at future points"));
    assert!(IqrState::new(p(0, 4.0, Smoothing::None)).is_err());
}

#[test]
fn empty_and_short_series_have_no_band() {
    for smooth in Smoothing::ALL {
        assert!(run(&series(&[]), &p(5, 4.0, smooth)).is_empty());
        let s = series(&[Some(1.0), Some(100.0), Some(1.0), Some(-50.0), Some(2.0)]);
        let pts = run(&s, &p(5, 4.0, smooth));
        assert_eq!(pts.len(), 5);
        for pt in pts {
            assert_eq!(pt.lower, None);
            assert_eq!(pt.upper, None);
            assert_eq!(pt.expected, None);
            assert!(!pt.is_anomaly);
            assert_eq!(pt.score, 0.0);
            assert_eq!(pt.deviation, None);
        }
    }
}

#[test]
fn all_gap_series() {
    let s = series(&[None; 50]);
    for smooth in Smoothing::ALL {
        let pts = run(&s, &p(3, 1.0, smooth));
        assert_eq!(pts.len(), 50);
        assert!(pts.iter().all(|pt| *pt == Point::default()));
    }
}

#[test]
fn leading_gaps_are_skipped_not_counted() {
    let mut v = vec![None, None, None];
    v.extend([10.0, 12.0, 11.0, 13.0, 12.0].map(Some));
    let pts = run(&series(&v), &p(3, 1.0, Smoothing::None));
    // Observations at 3, 4, 5: the band exists from position 6 on.
    assert!(pts[..6].iter().all(|pt| pt.upper.is_none()));
    // Window [10, 12, 11]: q25 = 10.5, q75 = 11.5, median 11.
    assert_eq!(pts[6].expected, Some(11.0));
    assert_eq!(pts[6].lower, Some(9.5));
    assert_eq!(pts[6].upper, Some(12.5));
    assert!(pts[6].is_anomaly);
    assert_eq!(pts[6].score, 0.5);
}

#[test]
fn gap_points_get_the_band_but_never_alert() {
    let mut v: Vec<Option<f64>> = [10.0, 11.0, 10.0, 11.0, 10.0].map(Some).to_vec();
    v.push(None);
    v.push(Some(500.0));
    for smooth in [Smoothing::AsOf, Smoothing::None, Smoothing::Centered] {
        let pts = run(&series(&v), &p(5, 1.0, smooth));
        assert!(pts[5].upper.is_some(), "{smooth}");
        assert!(!pts[5].is_anomaly);
        assert_eq!(pts[5].score, 0.0);
        assert_eq!(pts[5].deviation, None);
        assert!(pts[6].is_anomaly, "{smooth}");
    }
}

#[test]
fn constant_series_uses_eps_score() {
    let mut v = vec![Some(100.0); 10];
    v.push(Some(100.0));
    v.push(Some(101.0));
    let pts = run(&series(&v), &p(5, 4.0, Smoothing::AsOf));
    assert_eq!(pts[10].lower, Some(100.0));
    assert_eq!(pts[10].upper, Some(100.0));
    assert!(!pts[10].is_anomaly);
    assert_eq!(pts[10].deviation, Some(0.0));
    assert!(pts[11].is_anomaly);
    // eps = 1e-9 * 100.
    assert!((pts[11].score - 1.0 / 1e-7).abs() < 1e-3);
    assert!((pts[11].deviation.unwrap() - 0.01).abs() < 1e-15);
}

#[test]
fn non_finite_inputs_are_gaps() {
    let base = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let mut with_nan: Vec<Option<f64>> = base.map(Some).to_vec();
    with_nan[3] = Some(f64::NAN);
    with_nan[5] = Some(f64::NEG_INFINITY);
    let mut with_none = with_nan.clone();
    with_none[3] = None;
    with_none[5] = None;
    let params = p(2, 1.0, Smoothing::AsOf);
    // Series::new normalises; the incremental state must too.
    let mut st = IqrState::new(params).unwrap();
    let pushed: Vec<Point> = with_nan.iter().map(|&v| st.push(v)).collect();
    assert_eq!(pushed, run(&series(&with_none), &params));
    assert_eq!(pushed[3].value, None);
    assert!(!pushed[5].is_anomaly);
}

#[test]
fn asof_is_the_centered_mean_at_the_newest_point() {
    let v: Vec<Option<f64>> = (0..40)
        .map(|i| {
            if i % 9 == 4 {
                None
            } else {
                Some(((i * 37) % 11) as f64)
            }
        })
        .collect();
    for n in [2, 3, 4, 5, 6] {
        let asof = run(&series(&v), &p(n, 2.0, Smoothing::AsOf));
        for t in 0..v.len() {
            let prefix = series(&v[..=t]);
            let centered = run(&prefix, &p(n, 2.0, Smoothing::Centered));
            let (a, c) = (asof[t], centered[t]);
            match (a.upper, c.upper) {
                (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-12 * x.abs().max(1.0)),
                (x, y) => assert_eq!(x, y, "n={n} t={t}"),
            }
        }
    }
}

#[test]
fn spike_and_drop_are_flagged_with_deviation() {
    let mut v: Vec<Option<f64>> = (0..30).map(|i| Some(100.0 + (i % 3) as f64)).collect();
    v[20] = Some(200.0);
    v[25] = Some(10.0);
    let pts = run(&series(&v), &IqrParams::default());
    let flagged: Vec<usize> = (0..30).filter(|&i| pts[i].is_anomaly).collect();
    assert_eq!(flagged, vec![20, 25]);
    assert!(pts[20].score > 1.0);
    assert!(pts[25].deviation.unwrap() < -0.8);
}

/// Every field of a point, floats as bits (`-0.0 != 0.0`).
fn bits(p: &Point) -> [Option<u64>; 7] {
    let b = |x: Option<f64>| x.map(f64::to_bits);
    [
        b(p.value),
        b(p.lower),
        b(p.upper),
        b(p.expected),
        Some(u64::from(p.is_anomaly)),
        Some(p.score.to_bits()),
        b(p.deviation),
    ]
}

/// Every field of every point as bits.
fn all_bits(d: &Detection) -> Vec<[Option<u64>; 7]> {
    d.points().map(|p| bits(&p)).collect()
}

/// The batch pipeline `iqr_into` runs above the sorting networks (the
/// block pipeline when causal, else the point-at-a-time one), over the
/// rank source `src`, whatever `n`.
fn with_source<I: RankColumns<3>>(s: &Series, pr: &IqrParams, src: Blocks<I>) -> Detection {
    let rule = Rule::new(pr);
    let mut d = Detection::new();
    if pr.smooth.is_causal() {
        run_blocks(&rule, s.raw_values(), BlocksRaw::new(src, &rule), &mut d);
    } else {
        rule.run(s.raw_values(), src, pr.n, &mut d);
    }
    d
}

/// [`with_source`] with [`SortedArray`], its SIMD pass or its portable
/// one, in `f32` lanes if `narrow` and the values allow (the pipeline
/// picks it only for [`ARRAY_WINDOWS`] and [`NARROW_ARRAY_WINDOWS`]).
fn with_array(s: &Series, pr: &IqrParams, observed: &[f64], simd: bool, narrow: bool) -> Detection {
    let pos = Rule::new(pr).pos;
    with_source(s, pr, Blocks::array(observed, pr.n, &pos, simd, narrow))
}

/// The causal batch pipeline compiled without the run-time selected
/// SIMD extensions (what a CPU without AVX2 runs), for some `n`.
fn portable(s: &Series, pr: &IqrParams, observed: &[f64]) -> Option<Detection> {
    if !pr.smooth.is_causal() {
        return None;
    }
    let rule = Rule::new(pr);
    let mut d = Detection::new();
    let values = s.raw_values();
    match pr.n {
        5 => run_blocks_body(&rule, values, Network::<5>::new(observed, &rule), &mut d),
        17 => run_blocks_body(&rule, values, Network::<17>::new(observed, &rule), &mut d),
        n if n > NETWORK_MAX => {
            let src = Blocks::new(observed, n, &rule.pos);
            run_blocks_body(&rule, values, BlocksRaw::new(src, &rule), &mut d);
            // And the tracked ranks.
            let src = Blocks::tracked(observed, n, &rule.pos);
            let mut t = Detection::new();
            run_blocks_body(&rule, values, BlocksRaw::new(src, &rule), &mut t);
            assert_eq!(all_bits(&d), all_bits(&t), "n={n} tracked");
            // And the sorted array with its portable pass.
            let narrow = crate::window::exact_in_f32(observed);
            let src = Blocks::array(observed, n, &rule.pos, false, narrow);
            let mut e = Detection::new();
            run_blocks_body(&rule, values, BlocksRaw::new(src, &rule), &mut e);
            assert_eq!(all_bits(&d), all_bits(&e), "n={n}");
        }
        _ => return None,
    }
    Some(d)
}

#[test]
fn all_rank_sources_agree_bit_for_bit() {
    let mut x = 12345u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // Scattered gaps, a gap-free stretch then a burst of gaps (blocks
    // of the batch pipeline with and without gaps), no gaps at all,
    // and ties.
    let gappy: Vec<f64> = (0..3000)
        .map(|i| {
            let x = next();
            let gap = if i < 1500 {
                x.is_multiple_of(13)
            } else {
                (2100..2200).contains(&i) && x.is_multiple_of(2)
            };
            if gap {
                f64::NAN
            } else {
                ((x % 1000) as f64) + (i % 50) as f64
            }
        })
        .collect();
    let clean: Vec<f64> = (0..2000).map(|_| (next() % 100) as f64 - 50.0).collect();
    for values in [gappy, clean] {
        let s = Series::from_f64(0, 60, values).unwrap();
        let observed: Vec<f64> = s.values().flatten().collect();
        for n in (2..=17).chain([25, 64, 96, 160, 161, 301]) {
            for smooth in Smoothing::ALL {
                let pr = p(n, 1.5, smooth);
                let pos = Rule::new(&pr).pos;
                let (mut a, mut b, mut c) = (Detection::new(), Detection::new(), Detection::new());
                let small: Live<SortedVec> = Live::new(n, &pos);
                let large: Live<Treap> = Live::new(n, &pos);
                Rule::new(&pr).run(s.raw_values(), small, n, &mut a);
                Rule::new(&pr).run(s.raw_values(), large, n, &mut b);
                let blocks = Blocks::new(&observed, n, &pos);
                Rule::new(&pr).run(s.raw_values(), blocks, n, &mut c);
                assert_eq!(a, b, "n={n} {smooth}");
                assert_eq!(a, c, "n={n} {smooth}");
                assert_eq!(all_bits(&a), all_bits(&c), "n={n} {smooth}");
                let tracked = Blocks::tracked(&observed, n, &pos);
                let t = with_source(&s, &pr, tracked);
                assert_eq!(all_bits(&a), all_bits(&t), "n={n} {smooth} tracked");
                let exact = crate::window::exact_in_f32(&observed);
                for (simd, narrow) in [(false, false), (true, false), (false, exact), (true, exact)]
                {
                    let e = with_array(&s, &pr, &observed, simd, narrow);
                    let what = format!("n={n} {smooth} simd={simd} narrow={narrow}");
                    assert_eq!(all_bits(&a), all_bits(&e), "{what}");
                }
                let batch = iqr(&s, &pr).unwrap();
                assert_eq!(all_bits(&a), all_bits(&batch), "n={n} {smooth}");
                if let Some(d) = portable(&s, &pr, &observed) {
                    assert_eq!(a, d, "n={n} {smooth}");
                }
                let mut st = IqrState::new(pr);
                if let Ok(st) = &mut st {
                    for (t, v) in s.values().enumerate() {
                        let (want, got) = (a.point(t), st.push(v));
                        assert_eq!(bits(&want), bits(&got), "n={n} {smooth} t={t}");
                    }
                }
            }
        }
    }
}

/// Long histories compute their order statistics (and, when causal,
/// raw bands) on a second thread: the same bits as on one, with and
/// without gaps, for each kind of rank source.
#[test]
fn second_thread_gives_the_same_bits() {
    let len = crate::engine::prefetch::MIN_ITEMS + 3000;
    let mut x = 0x853c_49e6_748f_ea9bu64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let cycle = |i: usize, noise: u64| {
        let phase = (i % 96) as f64 / 96.0 * core::f64::consts::TAU;
        (1000.0 + 400.0 * phase.sin()).round() + (noise % 60) as f64
    };
    let clean: Vec<f64> = (0..len).map(|i| cycle(i, next())).collect();
    let gappy: Vec<f64> = (0..len)
        .map(|i| {
            let r = next();
            let burst = (20_000..20_300).contains(&i);
            if r.is_multiple_of(17) || (burst && r.is_multiple_of(2)) {
                f64::NAN
            } else {
                cycle(i, r) * 1.1
            }
        })
        .collect();
    for values in [clean, gappy] {
        let s = Series::from_f64(0, 900, values).unwrap();
        let observed: Vec<f64> = s.values().flatten().collect();
        for n in [30usize, 96, 300, 672] {
            for smooth in Smoothing::ALL {
                let pr = p(n, 1.5, smooth);
                let pos = Rule::new(&pr).pos;
                let one = with_source(&s, &pr, Blocks::new(&observed, n, &pos));
                let two = iqr(&s, &pr).unwrap();
                assert_eq!(all_bits(&one), all_bits(&two), "n={n} {smooth}");
            }
        }
    }
}

/// The sorted array (SIMD and portable passes) against the sorted
/// blocks, bit for bit, at every window length it is picked for: with
/// and without gaps, with many ties, and -0.0 beside 0.0.
#[test]
fn sorted_array_agrees_at_every_window_length() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let len = 700;
    let tied: Vec<f64> = (0..len)
        .map(|_| match next() % 16 {
            0 => -0.0,
            1 => 0.0,
            r => (r % 5) as f64 - 2.0,
        })
        .collect();
    let gappy: Vec<f64> = tied
        .iter()
        .map(|&v| {
            let r = next();
            if r.is_multiple_of(7) {
                f64::NAN
            } else if r.is_multiple_of(3) {
                v
            } else {
                (r % 100_000) as f64 * 0.25 - 9000.0
            }
        })
        .collect();
    // The same with values no f32 holds exactly (f64 lanes only).
    let wide: Vec<f64> = gappy.iter().map(|v| v * 1.1).collect();
    for (values, exact) in [(tied, true), (gappy, true), (wide, false)] {
        let s = Series::from_f64(0, 60, values).unwrap();
        let observed: Vec<f64> = s.values().flatten().collect();
        assert_eq!(crate::window::exact_in_f32(&observed), exact);
        for n in ARRAY_WINDOWS.start() - 1..=NARROW_ARRAY_WINDOWS.end() + 1 {
            for smooth in [Smoothing::AsOf, Smoothing::None, Smoothing::Centered] {
                let pr = p(n, 1.5, smooth);
                let pos = Rule::new(&pr).pos;
                let want = all_bits(&with_source(&s, &pr, Blocks::new(&observed, n, &pos)));
                for (simd, narrow) in [(false, false), (true, false), (false, exact), (true, exact)]
                {
                    let got = with_array(&s, &pr, &observed, simd, narrow);
                    let what = format!("n={n} {smooth} simd={simd} narrow={narrow} exact={exact}");
                    assert_eq!(want, all_bits(&got), "{what}");
                }
                let batch = iqr(&s, &pr).unwrap();
                assert_eq!(want, all_bits(&batch), "n={n} {smooth}");
            }
        }
    }
}
