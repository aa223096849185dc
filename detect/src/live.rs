//! Live checks: how much history a check must read to reproduce the batch
//! result for its newest point, and that newest point itself. Sources use the
//! lookback to fetch only the buckets a detector needs.

use crate::{
    ChangepointState, DetectError, DetectorSpec, DropState, ForecastState, IqrParams, IqrState,
    Point, SeasonalIqrState, SeasonalState, Smoothing,
};

impl IqrParams {
    /// Points before the evaluated one that its band depends on, on a series
    /// without gaps: the window of `n` values for each raw bound, and for `asof`
    /// the `floor(n/2)` earlier raw bounds that are averaged with it.
    /// (`centered` looks into the future; a live check cannot use it.)
    pub fn lookback(&self) -> usize {
        match self.smooth {
            Smoothing::AsOf | Smoothing::Centered => self.n + self.n / 2,
            Smoothing::None => self.n,
        }
    }
}

impl DetectorSpec {
    /// How many points before the evaluated one a live check must read. Exact
    /// (the newest point from `lookback()` earlier points equals the batch
    /// point over the whole history) for every detector but `changepoint`,
    /// whose sums carry the whole past: there it adds one period of warm-up.
    /// See [`IqrParams::lookback`],
    /// [`SeasonalIqrParams::lookback`](crate::SeasonalIqrParams::lookback),
    /// [`SeasonalParams::lookback`](crate::SeasonalParams::lookback),
    /// [`DropParams::lookback`](crate::DropParams::lookback),
    /// [`ChangepointParams::lookback`](crate::ChangepointParams::lookback),
    /// [`ForecastParams::lookback`](crate::ForecastParams::lookback).
    pub fn lookback(&self) -> usize {
        match self {
            DetectorSpec::Iqr(params) => params.lookback(),
            DetectorSpec::SeasonalIqr(params) => params.lookback(),
            DetectorSpec::Seasonal(params) => params.lookback(),
            DetectorSpec::Drop(params) => params.lookback(),
            DetectorSpec::Changepoint(params) => params.lookback(),
            DetectorSpec::Forecast(params) => params.lookback(),
        }
    }

    /// The detector's point for the last of `values` (oldest first, `None` for a
    /// gap), computed in newest-point mode: the same code as batch detection, fed
    /// one value at a time. An empty input gives an empty point.
    pub fn newest_point(
        &self,
        values: impl IntoIterator<Item = Option<f64>>,
    ) -> Result<Point, DetectError> {
        fn last(
            values: impl IntoIterator<Item = Option<f64>>,
            mut push: impl FnMut(Option<f64>) -> Point,
        ) -> Point {
            values
                .into_iter()
                .fold(Point::default(), |_, value| push(value))
        }
        Ok(match self {
            DetectorSpec::Iqr(params) => {
                let mut state = IqrState::new(*params)?;
                last(values, |v| state.push(v))
            }
            DetectorSpec::SeasonalIqr(params) => {
                let mut state = SeasonalIqrState::new(*params)?;
                last(values, |v| state.push(v))
            }
            DetectorSpec::Seasonal(params) => {
                let mut state = SeasonalState::new(*params)?;
                last(values, |v| state.push(v))
            }
            DetectorSpec::Drop(params) => {
                let mut state = DropState::new(*params)?;
                last(values, |v| state.push(v))
            }
            DetectorSpec::Changepoint(params) => {
                let mut state = ChangepointState::new(*params)?;
                last(values, |v| state.push(v))
            }
            // One fit on the values before the last, not one per value.
            DetectorSpec::Forecast(params) => ForecastState::newest(params, values)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{iqr, DetectorSpec, IqrParams, Series, Smoothing};

    /// Evaluating the newest point from only `lookback()` earlier points gives the
    /// same point as the whole history: the window is neither short nor guessed.
    #[test]
    fn centered_smoothing_cannot_run_live() {
        let spec = DetectorSpec::Iqr(IqrParams {
            smooth: Smoothing::Centered,
            ..IqrParams::default()
        });
        assert!(spec.newest_point([Some(1.0)]).is_err());
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
                let newest = spec.newest_point(tail.iter().copied()).expect("valid");
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
                let newest = spec.newest_point(tail.iter().copied()).unwrap();
                assert_eq!(newest, full.point(end), "{} end={end}", spec.name());
            }
        }
    }
}
