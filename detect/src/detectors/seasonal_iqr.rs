//! The IQR rule over the same slot of earlier periods.
//!
//! For bucket `t` the sample is the observed values at `t - period`,
//! `t - 2·period`, ... `t - seasons·period` (gaps skipped, not replaced). With
//! at least `min_seasons` of them, the band is `[q25 - a·iqr, q75 + a·iqr]`
//! with the quantile definition of [`iqr`](super::iqr) (numpy `linear`),
//! `expected` is the sample median and `score` the distance beyond the band
//! in IQRs (see [`Point::assess`]). Unlike the rolling IQR it does not follow
//! the local level, so the morning ramp is not an anomaly and a fall to zero
//! at night is compared with earlier nights.
//!
//! Cost per point: `O(seasons · log seasons)` (sorting the sample); memory
//! `seasons · period` values.

use crate::error::DetectError;
use crate::point::Point;
use crate::series::Clock;

use super::common::{check_count, check_non_negative, check_seasons, finite, quantile, sort, Ring};
use super::contract::{count, number, period, Detector, Knob, Param, Stream, Tunable};
use super::seasonal::baseline_params;

/// Parameters of the seasonal IQR rule.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct SeasonalIqrParams {
    /// Points per season (>= 2): 96 = one day of 15-minute buckets, 672 = one week.
    pub period: usize,
    /// Earlier periods whose same slot forms the sample (>= 1).
    pub seasons: usize,
    /// Observed same-slot values needed for a band (2..=seasons).
    pub min_seasons: usize,
    /// Band width in IQRs beyond the quartiles (finite, >= 0).
    pub a: f64,
}

impl Default for SeasonalIqrParams {
    /// A day of 15-minute buckets, the last 7 days, band from 3 of them,
    /// `a = 3`: with only 7 values the quartiles are rough, so the band is
    /// Tukey's "far out" fence rather than the rolling rule's 4 local IQRs.
    fn default() -> Self {
        SeasonalIqrParams {
            period: 96,
            seasons: 7,
            min_seasons: 3,
            a: 3.0,
        }
    }
}

impl Detector for SeasonalIqrParams {
    const NAME: &'static str = "seasonal_iqr";
    const DESCRIPTION: &'static str = "Seasonal IQR (same slot of earlier days)";
    const SUMMARY: &'static str =
        "The IQR rule over the same slot of the previous --seasons periods";
    const PARAMS: &'static [Param<Self>] = &{
        let [period, seasons, min_seasons] = baseline_params!(Self, seasons);
        [
            period,
            seasons,
            min_seasons,
            number("a", super::iqr::A_HELP, |p: &Self| p.a, |p, v| p.a = v),
        ]
    };
    const KNOBS: &'static [Tunable<Self>] = &[
        super::iqr::A_KNOB.on(|p| p.a, |p, v| p.a = v),
        Knob::count("seasons", "seasons (earlier days compared)", 3.0, 14.0).on(
            |p| p.seasons as f64,
            |p, v| {
                p.seasons = v as usize;
                // Keep the "needed" count valid while the season count moves.
                p.min_seasons = p.min_seasons.min(p.seasons.max(2));
            },
        ),
    ];
    type State = SeasonalIqrState;

    fn state(&self, _clock: Clock) -> Result<SeasonalIqrState, DetectError> {
        SeasonalIqrState::new(*self)
    }

    /// Checks `period >= 2`, `seasons >= 2`, `2 <= min_seasons <= seasons`,
    /// `seasons * period` bounded, `a` finite and `>= 0`.
    fn validate(&self) -> Result<(), DetectError> {
        check_seasons(self.period, self.seasons)?;
        check_count("seasons", self.seasons, 2, usize::MAX)?;
        check_count("min_seasons", self.min_seasons, 2, self.seasons)?;
        check_non_negative("a", self.a)
    }

    /// Points before the evaluated one that its band depends on.
    fn lookback(&self) -> usize {
        self.seasons * self.period
    }

    /// Positional: same-slot values a period apart.
    fn gap_reach(&self) -> usize {
        0
    }
}

/// Incremental seasonal IQR: push one bucket, get its point (exactly the
/// batch [`Detector::run`] point).
#[derive(Debug, Clone)]
pub struct SeasonalIqrState {
    params: SeasonalIqrParams,
    history: Ring,
    sample: Vec<f64>,
}

impl SeasonalIqrState {
    /// A fresh state; errors on invalid parameters.
    pub fn new(params: SeasonalIqrParams) -> Result<Self, DetectError> {
        params.validate()?;
        Ok(SeasonalIqrState {
            params,
            history: Ring::new(params.lookback()),
            sample: Vec::with_capacity(params.seasons),
        })
    }

    /// The parameters this state runs with.
    pub fn params(&self) -> &SeasonalIqrParams {
        &self.params
    }
}

impl Stream for SeasonalIqrState {
    /// The next bucket's value (`None` or non-finite = gap) -> its point.
    fn push(&mut self, value: Option<f64>) -> Point {
        let value = finite(value);
        let p = &self.params;
        self.sample.clear();
        for k in 1..=p.seasons {
            let x = self.history.back(k * p.period);
            if x.is_finite() {
                self.sample.push(x);
            }
        }
        let point = if self.sample.len() >= p.min_seasons {
            sort(&mut self.sample);
            let q25 = quantile(&self.sample, 0.25);
            let q50 = quantile(&self.sample, 0.5);
            let q75 = quantile(&self.sample, 0.75);
            let iqr = q75 - q25;
            let band = (q25 - p.a * iqr, q75 + p.a * iqr);
            Point::assess(value, Some(band), Some(q50), Some(iqr))
        } else {
            Point::assess(value, None, None, None)
        };
        self.history.push(value.unwrap_or(f64::NAN));
        point
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::Series;

    #[test]
    fn validation_messages() {
        let err = |p: SeasonalIqrParams| p.validate().unwrap_err().to_string();
        let d = SeasonalIqrParams::default();
        assert!(d.validate().is_ok());
        assert_eq!(
            err(SeasonalIqrParams { period: 1, ..d }),
            "period must be between 2 and 16777216 (got 1)"
        );
        assert_eq!(
            err(SeasonalIqrParams { a: f64::NAN, ..d }),
            "a must be a finite number >= 0 (got NaN)"
        );
        assert_eq!(
            err(SeasonalIqrParams {
                min_seasons: 8,
                ..d
            }),
            "min_seasons must be between 2 and 7 (got 8)"
        );
        assert!(err(SeasonalIqrParams {
            period: 1 << 23,
            ..d
        })
        .starts_with("seasons * period"));
    }

    #[test]
    fn same_slot_quartiles() {
        // Period 2: slot values at even positions 10, 20, 30, 40; odd ones 0.
        let v: Vec<Option<f64>> = [10.0, 0.0, 20.0, 0.0, 30.0, 0.0, 40.0, 0.0, 100.0]
            .map(Some)
            .to_vec();
        let p = SeasonalIqrParams {
            period: 2,
            seasons: 4,
            min_seasons: 2,
            a: 1.0,
        };
        let d = p.run(&Series::new(0, 60, v).unwrap()).unwrap();
        let last = d.point(8);
        // [10, 20, 30, 40]: q25 17.5, q75 32.5, iqr 15.
        assert_eq!(last.expected, Some(25.0));
        assert_eq!(last.lower, Some(2.5));
        assert_eq!(last.upper, Some(47.5));
        assert!(last.is_anomaly);
        assert!(d.point(3).upper.is_none());
        assert_eq!(d.point(4).expected, Some(15.0));
    }
}
