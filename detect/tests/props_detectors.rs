//! Property tests of the history-based detectors: batch == newest-point mode
//! bit for bit over random series with gaps, and no panic on arbitrary input.

use detect::{
    ChangepointParams, Clock, DetectorSpec, DropParams, LearnedParams, Point, SeasonalIqrParams,
    SeasonalParams, Series,
};
use proptest::prelude::*;

fn any_value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        3 => any::<f64>().prop_map(Some),
        1 => Just(None),
        1 => Just(Some(f64::NAN)),
        1 => Just(Some(f64::INFINITY)),
        1 => (-5i32..5).prop_map(|x| Some(x as f64)),
    ]
}

/// Realistic values with ties, zeros and gaps.
fn gappy_value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        6 => (0.0f64..1000.0).prop_map(Some),
        1 => (-100.0f64..100.0).prop_map(Some),
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

/// Any of the four detectors, with parameters that may be invalid.
fn any_spec() -> impl Strategy<Value = DetectorSpec> {
    let period = 0usize..12;
    let seasons = 0usize..5;
    let real = prop_oneof![any::<f64>(), 0.0f64..6.0];
    prop_oneof![
        (period.clone(), seasons.clone(), 0usize..5, real.clone()).prop_map(
            |(period, seasons, min_seasons, a)| {
                DetectorSpec::SeasonalIqr(SeasonalIqrParams {
                    period,
                    seasons,
                    min_seasons,
                    a,
                })
            }
        ),
        (
            period.clone(),
            seasons.clone(),
            0usize..5,
            0usize..8,
            0usize..3,
            real.clone(),
            real.clone()
        )
            .prop_map(
                |(period, seasons, min_seasons, level_window, neighbours, z, w)| {
                    DetectorSpec::Seasonal(SeasonalParams {
                        period,
                        seasons,
                        min_seasons,
                        level_window,
                        neighbours,
                        z,
                        min_rel_width: w.abs().min(1.0),
                        min_abs_width: if w > 3.0 { f64::NAN } else { 0.0 },
                    })
                }
            ),
        (
            0usize..8,
            real.clone(),
            prop::option::of(real.clone()),
            0usize..4
        )
            .prop_map(|(window, f, rise, confirm)| DetectorSpec::Drop(DropParams {
                window,
                drop_fraction: f / 6.0,
                rise_fraction: rise,
                confirm,
            })),
        (period, seasons, 0usize..8, real.clone(), real).prop_map(
            |(period, seasons, level_window, drift, threshold)| {
                DetectorSpec::Changepoint(ChangepointParams {
                    period,
                    seasons,
                    min_seasons: 1,
                    level_window,
                    drift,
                    threshold,
                    ..ChangepointParams::default()
                })
            }
        ),
        (2usize..12, 0.05f64..1.0, 0.0f64..0.3).prop_map(|(period, threshold, min_change)| {
            DetectorSpec::Learned(LearnedParams {
                period,
                threshold,
                min_change,
                ..LearnedParams::default()
            })
        }),
    ]
}

/// Valid parameters for each detector.
fn valid_spec() -> impl Strategy<Value = DetectorSpec> {
    prop_oneof![
        (2usize..12, 2usize..6, 0.0f64..5.0).prop_map(|(period, seasons, a)| {
            DetectorSpec::SeasonalIqr(SeasonalIqrParams {
                period,
                seasons,
                min_seasons: 2,
                a,
            })
        }),
        (
            2usize..12,
            1usize..6,
            0usize..10,
            0usize..2,
            0.0f64..5.0,
            0.0f64..0.2
        )
            .prop_map(
                |(period, seasons, level_window, neighbours, z, min_rel_width)| {
                    DetectorSpec::Seasonal(SeasonalParams {
                        period,
                        seasons,
                        min_seasons: 1,
                        level_window,
                        neighbours,
                        z,
                        min_rel_width,
                        min_abs_width: 0.5,
                    })
                }
            ),
        (
            2usize..10,
            0.05f64..1.0,
            prop::option::of(0.1f64..2.0),
            1usize..3
        )
            .prop_map(
                |(window, drop_fraction, rise_fraction, confirm)| DetectorSpec::Drop(DropParams {
                    window,
                    drop_fraction,
                    rise_fraction,
                    confirm,
                })
            ),
        (2usize..12, 1usize..5, 0usize..10, 0.0f64..1.0, 0.5f64..6.0).prop_map(
            |(period, seasons, level_window, drift, threshold)| {
                DetectorSpec::Changepoint(ChangepointParams {
                    period,
                    seasons,
                    min_seasons: 1,
                    level_window,
                    drift,
                    threshold,
                    ..ChangepointParams::default()
                })
            }
        ),
        (2usize..12, 0.05f64..1.0, 0.0f64..0.3).prop_map(|(period, threshold, min_change)| {
            DetectorSpec::Learned(LearnedParams {
                period,
                threshold,
                min_change,
                ..LearnedParams::default()
            })
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_panics(values in prop::collection::vec(any_value(), 0..80), spec in any_spec()) {
        let s = Series::new(0, 900, values.clone()).unwrap();
        match spec.run(&s) {
            Ok(d) => {
                prop_assert_eq!(d.len(), values.len());
                for p in d.points() {
                    prop_assert!(!p.score.is_nan());
                    prop_assert!(p.score >= 0.0);
                    if p.value.is_none() {
                        prop_assert!(!p.is_anomaly);
                        prop_assert_eq!(p.score, 0.0);
                    }
                }
                let _ = spec.newest_point(values, Clock::new(0, 60));
            }
            Err(e) => {
                prop_assert!(spec.validate().is_err(), "{}", e);
                prop_assert!(spec.newest_point(values, Clock::new(0, 60)).is_err());
            }
        }
    }

    #[test]
    fn batch_equals_newest_point_bit_for_bit(
        values in prop::collection::vec(gappy_value(), 0..120),
        spec in valid_spec(),
    ) {
        let batch = spec.run(&Series::new(0, 60, values.clone()).unwrap()).unwrap();
        prop_assert_eq!(batch.len(), values.len());
        for t in 0..values.len() {
            let p = spec.newest_point(values[..=t].iter().copied(), Clock::new(0, 60)).unwrap();
            prop_assert_eq!(bits(&p), bits(&batch.point(t)), "{} t={}", spec.name(), t);
        }
        // The live lookback suffices (exact for all but changepoint).
        if spec.name() != "changepoint" {
            for t in spec.lookback()..values.len() {
                let from = t - spec.lookback();
                let p = spec.newest_point(values[from..=t].iter().copied(), Clock::new(0, 60).skip(from)).unwrap();
                prop_assert_eq!(bits(&p), bits(&batch.point(t)), "{} lookback t={}", spec.name(), t);
            }
        }
    }
}
