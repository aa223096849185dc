//! Live checks: how much history a check must read to reproduce the batch
//! result for its newest point ([`DetectorSpec::lookback`](crate::DetectorSpec::lookback)), and that newest
//! point itself ([`DetectorSpec::newest_point`](crate::DetectorSpec::newest_point)). Sources use the lookback to
//! fetch only the buckets a detector needs. Each detector states both in its
//! [`Detector`](crate::Detector) impl; the registry dispatches. The tests
//! here check that the two agree with the batch run.

#[cfg(test)]
mod tests {
    use crate::{iqr, Clock, DetectorSpec, IqrParams, Series, Smoothing};

    /// Evaluating the newest point from only `lookback()` earlier points gives the
    /// same point as the whole history: the window is neither short nor guessed.
    #[test]
    fn centered_smoothing_cannot_run_live() {
        let spec = DetectorSpec::Iqr(IqrParams {
            smooth: Smoothing::Centered,
            ..IqrParams::default()
        });
        assert!(spec.newest_point([Some(1.0)], Clock::new(0, 900)).is_err());
    }

    #[test]
    fn lookback_suffices_to_reproduce_the_newest_point() {
        let values: Vec<Option<f64>> = (0..400)
            .map(|i| Some(100.0 + (i as f64 * 0.37).sin() * 20.0 + (i % 7) as f64))
            .collect();
        for n in [2, 3, 5, 8, 24] {
            for smooth in [Smoothing::AsOf, Smoothing::None] {
                let params = IqrParams { n, a: 1.5, smooth };
                let full = Series::new(0, 900, values.clone()).expect("series");
                let expected = iqr(&full, &params).expect("batch");
                let expected = expected.point(values.len() - 1);

                let spec = DetectorSpec::Iqr(params);
                let tail = &values[values.len() - 1 - spec.lookback()..];
                let clock = full.clock().skip(values.len() - 1 - spec.lookback());
                let newest = spec
                    .newest_point(tail.iter().copied(), clock)
                    .expect("valid");
                assert_eq!(newest, expected, "n={n} smooth={smooth}");
            }
        }
    }

    #[test]
    fn lookback_is_exact_for_the_history_detectors() {
        use crate::{DropParams, SeasonalIqrParams, SeasonalParams};
        let values: Vec<Option<f64>> = (0..300)
            .map(|i| {
                if i % 17 == 3 {
                    None
                } else {
                    Some(100.0 + (i as f64 * 0.9).sin() * 30.0 + (i % 5) as f64)
                }
            })
            .collect();
        let specs = [
            DetectorSpec::SeasonalIqr(SeasonalIqrParams {
                period: 10,
                seasons: 4,
                ..SeasonalIqrParams::default()
            }),
            DetectorSpec::Seasonal(SeasonalParams {
                period: 10,
                seasons: 4,
                level_window: 7,
                ..SeasonalParams::default()
            }),
            DetectorSpec::Drop(DropParams {
                window: 5,
                confirm: 3,
                drop_fraction: 0.1,
                rise_fraction: Some(0.1),
            }),
        ];
        for spec in specs {
            let full = spec
                .run(&Series::new(0, 900, values.clone()).unwrap())
                .unwrap();
            for end in [100, 200, 299] {
                let tail = &values[end - spec.lookback()..=end];
                let clock = Clock::new(0, 900).skip(end - spec.lookback());
                let newest = spec.newest_point(tail.iter().copied(), clock).unwrap();
                assert_eq!(newest, full.point(end), "{} end={end}", spec.name());
            }
        }
    }
}
