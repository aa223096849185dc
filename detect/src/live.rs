//! Live checks: how much history a check must read to reproduce the batch
//! result for its newest point, and that newest point itself. Sources use the
//! lookback to fetch only the buckets a detector needs.

use crate::{DetectError, DetectorSpec, IqrParams, IqrState, Point, Smoothing};

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
    /// See [`IqrParams::lookback`].
    pub fn lookback(&self) -> usize {
        match self {
            DetectorSpec::Iqr(params) => params.lookback(),
        }
    }

    /// The detector's point for the last of `values` (oldest first, `None` for a
    /// gap), computed in newest-point mode: the same code as batch detection, fed
    /// one value at a time. An empty input gives an empty point.
    pub fn newest_point(
        &self,
        values: impl IntoIterator<Item = Option<f64>>,
    ) -> Result<Point, DetectError> {
        match self {
            DetectorSpec::Iqr(params) => {
                let mut state = IqrState::new(*params)?;
                Ok(values
                    .into_iter()
                    .fold(Point::default(), |_, value| state.push(value)))
            }
        }
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
}
