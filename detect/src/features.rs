//! Per-bucket features for the learned detector: what a person looks at
//! when deciding whether a point is an incident, as numbers a tree model can
//! split on. Computed causally from the series alone (each bucket from its
//! own value and the ones before it, and its time), so the server's live
//! check, `vigil detect` and the browser's lab get the same numbers.
//!
//! Most features are ratios or relative differences, so that one model
//! judges a slice of 20 events a bucket and a whole metric of 5,000 alike;
//! the scale itself is a feature too ([`FeatureState`]'s `log_scale` and
//! `noise_z`), so that a tiny slice's ±50 % is read as the noise it is.
//! The ads-monitoring design vigil follows found the ratios between the
//! newest points the strongest signal of a fall, and the seasonal residuals
//! let the model learn when a move is just the time of day.

use crate::detectors::common::{median, sort, Ring};
use crate::detectors::{Detector, IqrParams, IqrState, SeasonalParams, SeasonalState, Stream};
use crate::point::Point;
use crate::series::Clock;
use crate::smoothing::Smoothing;

/// Bumped whenever a feature's meaning or order changes: a model trained on
/// other features is refused with a message instead of judging nonsense.
pub const FEATURE_VERSION: u32 = 1;

/// How many points back the ratios `v_t / v_{t-k}` go.
pub const RATIO_LAGS: usize = 6;
/// Points in the rolling window (median, mean, deviations).
pub const WINDOW: usize = 12;
/// Seasonal residuals summed by the windowed CUSUM.
const CUSUM_POINTS: usize = 12;
/// The CUSUM's allowance per point, in residual sds (the textbook 0.5).
const CUSUM_DRIFT: f64 = 0.5;
/// Ratios are clipped here: a fall from 0 to 5 is "much more", not infinity.
const RATIO_CAP: f64 = 100.0;

/// The features, in the order of a row.
pub const FEATURE_NAMES: [&str; FEATURE_COUNT] = [
    "ratio_prev_1",
    "ratio_prev_2",
    "ratio_prev_3",
    "ratio_prev_4",
    "ratio_prev_5",
    "ratio_prev_6",
    "ratio_prev_max3",
    "ratio_prev_min3",
    "median_diff_rel",
    "median_diff_rel_abs",
    "ratio_window_mean",
    "window_cv",
    "window_cv_with_newest",
    "sum_30m_ratio",
    "slot_of_day",
    "hour",
    "day_of_week",
    "weekend",
    "seasonal_deviation",
    "seasonal_z",
    "iqr_deviation",
    "iqr_score",
    "cusum_down",
    "cusum_up",
    "log_scale",
    "noise_z",
    "ratio_day_ago",
    "ratio_week_ago",
    "window_gaps",
];

/// Number of features.
pub const FEATURE_COUNT: usize = 29;

/// Indices of the features the explanations and tests name.
pub mod index {
    pub const RATIO_PREV_1: usize = 0;
    pub const RATIO_PREV_MAX3: usize = 6;
    pub const RATIO_PREV_MIN3: usize = 7;
    pub const MEDIAN_DIFF_REL: usize = 8;
    pub const MEDIAN_DIFF_REL_ABS: usize = 9;
    pub const RATIO_WINDOW_MEAN: usize = 10;
    pub const WINDOW_CV: usize = 11;
    pub const WINDOW_CV_WITH_NEWEST: usize = 12;
    pub const SUM_30M_RATIO: usize = 13;
    pub const SLOT_OF_DAY: usize = 14;
    pub const HOUR: usize = 15;
    pub const DAY_OF_WEEK: usize = 16;
    pub const WEEKEND: usize = 17;
    pub const SEASONAL_DEVIATION: usize = 18;
    pub const SEASONAL_Z: usize = 19;
    pub const IQR_DEVIATION: usize = 20;
    pub const IQR_SCORE: usize = 21;
    pub const CUSUM_DOWN: usize = 22;
    pub const CUSUM_UP: usize = 23;
    pub const LOG_SCALE: usize = 24;
    pub const NOISE_Z: usize = 25;
    pub const RATIO_DAY_AGO: usize = 26;
    pub const RATIO_WEEK_AGO: usize = 27;
    pub const WINDOW_GAPS: usize = 28;
}

/// One bucket's features (NaN = unknown, which the trees route as missing).
pub type Row = [f64; FEATURE_COUNT];

/// What a feature row comes with: the baseline the explanation and the
/// chart quote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Context {
    /// The seasonal baseline's point (its expectation follows the daily
    /// cycle), when the series has one.
    pub seasonal: Option<Point>,
    /// The median of the window before this bucket.
    pub window_median: Option<f64>,
}

/// The causal feature computation: one bucket in, its row out.
#[derive(Debug, Clone)]
pub struct FeatureState {
    clock: Clock,
    /// Buckets pushed so far (the next one's index).
    index: usize,
    /// Points per day (the seasonal features' period), when the step divides a day.
    day: Option<usize>,
    /// The last week (or window) of values, NaN for a gap.
    history: Ring,
    seasonal: Option<SeasonalState>,
    iqr: IqrState,
    /// The last seasonal residuals in sds (NaN for unknown).
    residuals: Ring,
    /// Scratch for the window's order statistics.
    scratch: Vec<f64>,
}

impl FeatureState {
    /// A state for values that start at `clock`, with a daily cycle of
    /// `period` points (`None`: no seasonal features).
    pub fn new(clock: Clock, period: Option<usize>) -> FeatureState {
        let day = usable_period(period);
        let seasonal = day.and_then(|period| {
            SeasonalState::new(SeasonalParams {
                period,
                ..SeasonalParams::default()
            })
            .ok()
        });
        let keep = day.map_or(WINDOW + RATIO_LAGS, |d| 7 * d + 1);
        FeatureState {
            clock,
            index: 0,
            day,
            history: Ring::new(keep.max(WINDOW + RATIO_LAGS)),
            seasonal,
            iqr: IqrState::new(iqr_params()).expect("valid IQR parameters"),
            residuals: Ring::new(CUSUM_POINTS),
            scratch: Vec::with_capacity(WINDOW + 1),
        }
    }

    /// Points before a bucket that its row depends on, for a cycle of
    /// `period` points: a week of same-slot values and the seasonal
    /// baseline's own history (exact: the row from only these equals the
    /// row from the whole series).
    pub fn lookback(period: Option<usize>) -> usize {
        let window = WINDOW + RATIO_LAGS;
        match usable_period(period) {
            Some(period) => {
                let seasonal = SeasonalParams {
                    period,
                    ..SeasonalParams::default()
                };
                (7 * period)
                    .max(seasonal.lookback() + CUSUM_POINTS)
                    .max(window)
            }
            None => window.max(iqr_params().lookback()),
        }
    }

    /// Buckets beyond [`FeatureState::lookback`] whose values a row may
    /// still read when buckets are missing: only the IQR band looks for its
    /// last values and skips gaps.
    pub fn gap_reach() -> usize {
        iqr_params().lookback()
    }

    /// Takes the next bucket's value into the history without computing
    /// its row: for the buckets of a live check's lookback whose rows
    /// nobody reads. The rows pushed within [`FeatureState::skip_reach`]
    /// buckets after a skipped one differ from the full computation's; every
    /// later row is identical (tested against [`FeatureState::push`]).
    pub fn skip(&mut self, value: Option<f64>) {
        let v = value.filter(|x| x.is_finite()).unwrap_or(f64::NAN);
        self.index += 1;
        if let Some(seasonal) = self.seasonal.as_mut() {
            seasonal.skip(Some(v));
        }
        // Unknown, as for a bucket without a baseline; only the CUSUM of
        // the next rows reads it.
        self.residuals.push(f64::NAN);
        self.history.push(v);
    }

    /// Rows after a skipped bucket that still depend on what it skipped:
    /// the seasonal level's window, then the CUSUM over those rows'
    /// residuals, and the IQR window (never fed while skipping).
    pub fn skip_reach(&self) -> usize {
        let seasonal = self.seasonal.as_ref().map_or(0, SeasonalState::skip_reach);
        (seasonal + CUSUM_POINTS).max(iqr_params().n)
    }

    /// The next bucket's value (`None` or non-finite: a gap) -> its row.
    pub fn push(&mut self, value: Option<f64>) -> (Row, Context) {
        let v = value.filter(|x| x.is_finite()).unwrap_or(f64::NAN);
        let time = self.clock.time(self.index);
        self.index += 1;
        let seasonal = self.seasonal.as_mut().map(|s| s.push(Some(v)));
        let iqr = self.iqr.push(Some(v));
        let mut row = [f64::NAN; FEATURE_COUNT];
        let window_median = self.window(v, &mut row);
        self.ratios(v, &mut row);
        self.calendar(time, &mut row);
        self.baselines(v, seasonal.as_ref(), &iqr, &mut row);
        self.history.push(v);
        // Overflow near f64::MAX is "unknown", not a split point.
        for x in &mut row {
            if !x.is_finite() {
                *x = f64::NAN;
            }
        }
        (
            row,
            Context {
                seasonal,
                window_median,
            },
        )
    }

    /// Ratios to earlier points, the 30-minute sums, day and week ago.
    fn ratios(&self, v: f64, row: &mut Row) {
        use index::*;
        for k in 1..=RATIO_LAGS {
            row[RATIO_PREV_1 + k - 1] = ratio(v, self.history.back(k));
        }
        let last3: [f64; 3] = [
            row[RATIO_PREV_1],
            row[RATIO_PREV_1 + 1],
            row[RATIO_PREV_1 + 2],
        ];
        let last3 = &last3;
        row[RATIO_PREV_MAX3] = fold_known(last3, f64::max);
        row[RATIO_PREV_MIN3] = fold_known(last3, f64::min);
        // 30 minutes in points (at least one): the newest half hour over the one before.
        let half_hour = usize::try_from(1800 / self.clock.step.max(1))
            .unwrap_or(1)
            .clamp(1, WINDOW / 2);
        let recent = v + (1..half_hour).map(|k| self.history.back(k)).sum::<f64>();
        let before: f64 = (half_hour..2 * half_hour)
            .map(|k| self.history.back(k))
            .sum();
        row[SUM_30M_RATIO] = ratio(recent, before);
        if let Some(day) = self.day {
            row[RATIO_DAY_AGO] = ratio(v, self.history.back(day));
            row[RATIO_WEEK_AGO] = ratio(v, self.history.back(7 * day));
        }
    }

    /// The window before this bucket: differences from its median, ratio to
    /// its mean, its spread without and with the newest value, the scale.
    /// Returns the median.
    fn window(&mut self, v: f64, row: &mut Row) -> Option<f64> {
        use index::*;
        self.scratch.clear();
        self.scratch.extend(
            (1..=WINDOW)
                .map(|k| self.history.back(k))
                .filter(|x| x.is_finite()),
        );
        row[WINDOW_GAPS] = 1.0 - self.scratch.len() as f64 / WINDOW as f64;
        if self.scratch.len() < 3 {
            return None;
        }
        let (mean, sd) = mean_sd(&self.scratch);
        sort(&mut self.scratch);
        let med = median(&self.scratch);
        let scale = mean.abs().max(f64::MIN_POSITIVE);
        row[WINDOW_CV] = sd / scale;
        row[LOG_SCALE] = mean.abs().max(1e-6).log10();
        if v.is_finite() {
            let rel = (v - med) / med.abs().max(1e-9);
            row[MEDIAN_DIFF_REL] = rel;
            row[MEDIAN_DIFF_REL_ABS] = rel.abs();
            row[RATIO_WINDOW_MEAN] = ratio(v, mean);
            self.scratch.push(v);
            let (mean_with, sd_with) = mean_sd(&self.scratch);
            row[WINDOW_CV_WITH_NEWEST] = sd_with / mean_with.abs().max(f64::MIN_POSITIVE);
            // Counting noise: how many Poisson sds from the median (for a
            // ratio metric this is tiny and the model leans on the rest).
            row[NOISE_Z] = (v - med) / med.abs().max(1.0).sqrt();
        }
        Some(med)
    }

    /// Where the bucket is in the day and the week (UTC).
    fn calendar(&self, time: i64, row: &mut Row) {
        use index::*;
        let second_of_day = time.rem_euclid(86_400);
        // 1970-01-01 was a Thursday: Monday = 0.
        let day_of_week = (time.div_euclid(86_400) + 3).rem_euclid(7);
        row[SLOT_OF_DAY] = second_of_day as f64 / 86_400.0;
        row[HOUR] = (second_of_day / 3600) as f64;
        row[DAY_OF_WEEK] = day_of_week as f64;
        row[WEEKEND] = f64::from(u8::from(day_of_week >= 5));
    }

    /// The cheap detectors' view: the seasonal baseline's deviation and
    /// residual, the IQR band's, and a CUSUM of the last residuals (a
    /// sustained shift that no single point shows).
    fn baselines(&mut self, v: f64, seasonal: Option<&Point>, iqr: &Point, row: &mut Row) {
        use index::*;
        let signed = |p: &Point| p.score.copysign(p.deviation.unwrap_or(0.0));
        row[IQR_DEVIATION] = iqr.deviation.unwrap_or(f64::NAN);
        row[IQR_SCORE] = if iqr.value.is_some() && iqr.lower.is_some() {
            signed(iqr)
        } else {
            f64::NAN
        };
        let mut residual = f64::NAN;
        if let Some(p) = seasonal {
            row[SEASONAL_DEVIATION] = p.deviation.unwrap_or(f64::NAN);
            if let (Some(lo), Some(hi), Some(e)) = (p.lower, p.upper, p.expected) {
                // The band is expected ± z·scale.
                let sd = (hi - lo) / (2.0 * SeasonalParams::default().z);
                if v.is_finite() && sd > 0.0 {
                    residual = (v - e) / sd;
                }
            }
            row[SEASONAL_Z] = residual;
        }
        self.residuals.push(residual);
        if self.seasonal.is_some() {
            row[CUSUM_DOWN] = cusum(&self.residuals, -1.0);
            row[CUSUM_UP] = cusum(&self.residuals, 1.0);
        }
    }
}

/// The daily cycle the seasonal features can use: at least 2 points, and
/// a week and a day of them countable (`new` and `lookback` must agree).
fn usable_period(period: Option<usize>) -> Option<usize> {
    period.filter(|&p| p >= 2 && p.checked_mul(8).is_some())
}

/// The IQR band the features quote: the textbook 1.5 IQRs over a 12-point
/// window, unsmoothed (the score is what matters, not a band to draw).
fn iqr_params() -> IqrParams {
    IqrParams {
        n: 12,
        a: 1.5,
        smooth: Smoothing::None,
    }
}

/// `a / b` when both are known and `b > 0`, clipped to `[0, RATIO_CAP]`
/// for non-negative inputs; NaN otherwise.
fn ratio(a: f64, b: f64) -> f64 {
    if a.is_finite() && b.is_finite() && b > 0.0 {
        (a / b).min(RATIO_CAP)
    } else {
        f64::NAN
    }
}

/// The fold of the known values (NaN when none is).
fn fold_known(xs: &[f64], f: fn(f64, f64) -> f64) -> f64 {
    xs.iter()
        .copied()
        .filter(|x| !x.is_nan())
        .reduce(f)
        .unwrap_or(f64::NAN)
}

/// Mean and (population) standard deviation of a non-empty sample.
fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// The largest one-sided CUSUM over the residuals in the ring (newest
/// last), in the direction `sign` (-1: a fall): the sum of
/// `sign·r - drift` over the best recent run. Unknown residuals reset it.
fn cusum(residuals: &Ring, sign: f64) -> f64 {
    let mut sum: f64 = 0.0;
    let mut best: f64 = 0.0;
    for k in (1..=CUSUM_POINTS).rev() {
        let r = residuals.back(k);
        sum = if r.is_finite() {
            (sum + sign * r - CUSUM_DRIFT).max(0.0)
        } else {
            0.0
        };
        best = best.max(sum);
    }
    best
}

/// The rows of a whole series (what training and the batch run read).
pub fn rows(values: &[f64], clock: Clock, period: Option<usize>) -> Vec<Row> {
    let mut state = FeatureState::new(clock, period);
    values.iter().map(|&v| state.push(Some(v)).0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monday 2024-01-01 00:00 UTC.
    const MONDAY: i64 = 1_704_067_200;

    fn cycle(days: usize) -> Vec<f64> {
        (0..days * 96)
            .map(|t| 500.0 + 300.0 * ((t % 96) as f64 / 96.0 * std::f64::consts::TAU).sin())
            .collect()
    }

    #[test]
    fn names_match_the_count_and_indices() {
        assert_eq!(FEATURE_NAMES.len(), FEATURE_COUNT);
        assert_eq!(FEATURE_NAMES[index::RATIO_PREV_MAX3], "ratio_prev_max3");
        assert_eq!(FEATURE_NAMES[index::SEASONAL_Z], "seasonal_z");
        assert_eq!(FEATURE_NAMES[index::RATIO_WEEK_AGO], "ratio_week_ago");
        assert_eq!(FEATURE_NAMES[index::WINDOW_GAPS], "window_gaps");
        for (i, name) in FEATURE_NAMES.iter().enumerate() {
            assert!(!FEATURE_NAMES[..i].contains(name), "{name} twice");
        }
    }

    #[test]
    fn a_fall_reads_as_small_ratios_and_a_negative_residual() {
        let mut values = cycle(9);
        let last = values.len() - 1;
        values[last] *= 0.1;
        let rows = rows(&values, Clock::new(MONDAY, 900), Some(96));
        let row = rows[last];
        assert!(row[index::RATIO_PREV_MAX3] < 0.2, "{row:?}");
        assert!(row[index::MEDIAN_DIFF_REL] < -0.8);
        assert!(row[index::SEASONAL_Z] < -5.0, "{}", row[index::SEASONAL_Z]);
        assert!((row[index::RATIO_WEEK_AGO] - 0.1).abs() < 1e-9);
        assert!((row[index::RATIO_DAY_AGO] - 0.1).abs() < 1e-9);
        // A normal point the bucket before.
        let before = rows[last - 1];
        assert!((before[index::RATIO_DAY_AGO] - 1.0).abs() < 1e-9);
        assert!(before[index::SEASONAL_Z].abs() < 3.0);
    }

    #[test]
    fn the_calendar_is_utc_from_the_clock() {
        // 9 days from a Monday: the last bucket is Tuesday 23:45 of week 2.
        let rows = rows(&cycle(9), Clock::new(MONDAY, 900), Some(96));
        let row = rows[rows.len() - 1];
        assert_eq!(row[index::HOUR], 23.0);
        assert_eq!(row[index::DAY_OF_WEEK], 1.0);
        assert_eq!(row[index::WEEKEND], 0.0);
        assert_eq!(rows[5 * 96][index::WEEKEND], 1.0, "Saturday");
        assert!((row[index::SLOT_OF_DAY] - 95.0 / 96.0).abs() < 1e-12);
    }

    #[test]
    fn the_lookback_reproduces_the_row() {
        let values = cycle(12);
        let clock = Clock::new(MONDAY, 900);
        let all = rows(&values, clock, Some(96));
        let lookback = FeatureState::lookback(Some(96));
        for end in [lookback + 3, values.len() - 1] {
            let from = end - lookback;
            let tail = rows(&values[from..=end], clock.skip(from), Some(96));
            let (a, b) = (tail[tail.len() - 1], all[end]);
            for i in 0..FEATURE_COUNT {
                assert!(
                    a[i].to_bits() == b[i].to_bits(),
                    "{} at {end}: {} vs {}",
                    FEATURE_NAMES[i],
                    a[i],
                    b[i]
                );
            }
        }
    }

    #[test]
    fn gaps_and_odd_inputs_never_panic() {
        let values = [f64::NAN, 0.0, -5.0, 1e308, f64::NAN, 3.0, 0.0, 0.0];
        for period in [None, Some(2), Some(3), Some(usize::MAX)] {
            let rows = rows(&values, Clock::new(i64::MAX - 10, 900), period);
            assert_eq!(rows.len(), values.len());
            assert!(rows.iter().flatten().all(|x| !x.is_infinite()));
        }
        assert!(rows(&[], Clock::new(0, 60), None).is_empty());
    }
}
