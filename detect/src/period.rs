//! Seasonal period detection for `--period auto`: grafana's augurs
//! periodogram (`augurs-seasons`, Welch's method) finds the candidate, the
//! autocorrelation refines and confirms it.
//!
//! [`detect_period`]:
//!
//! 1. Gaps are filled by linear interpolation (as the forecast detector
//!    does); a series with fewer than half of its buckets observed, or
//!    shorter than [`MIN_POINTS`], has no period.
//! 2. The periodogram's strongest peak between 2 buckets and a third of the
//!    series (at most [`MAX_PERIOD`]) is the candidate. Its resolution is
//!    coarse (periods are rounded reciprocals of FFT frequencies: a daily
//!    cycle of 96 buckets reads as 85 or 102), so
//! 3. the period is a whole day, week or hour of the series' steps when one
//!    lies between the peak's two neighbouring periodogram periods (product
//!    metrics follow the calendar; on noisy, growing counts the
//!    autocorrelation's own maximum can miss it by a bucket), otherwise the
//!    lag with the highest autocorrelation there; it is kept only when its
//!    autocorrelation is at least [`MIN_AUTOCORRELATION`] and four standard
//!    errors of white noise's (white noise has a strongest peak too; a
//!    CTR's daily cycle under binomial noise and a spike has about 0.15).

use augurs_seasons::PeriodogramDetector;

use crate::detectors::forecast::fill_gaps;
use crate::series::Series;

/// Fewest buckets a period is looked for in.
pub const MIN_POINTS: usize = 16;

/// Longest period looked for, in buckets (a week of minutes is 10080).
pub const MAX_PERIOD: usize = 1 << 14;

/// Smallest autocorrelation at the period for it to count (and at least
/// `4 / sqrt(len)`, four standard errors of white noise's).
pub const MIN_AUTOCORRELATION: f64 = 0.1;

/// The dominant seasonal period of `series` in buckets (see the module
/// doc), `None` when there is none or too little data.
pub fn detect_period(series: &Series) -> Option<usize> {
    let values = series.raw_values();
    if values.len() < MIN_POINTS {
        return None;
    }
    let mut filled = Vec::with_capacity(values.len());
    if !fill_gaps(values, &mut filled) {
        return None;
    }
    let mean = filled.iter().sum::<f64>() / filled.len() as f64;
    let centred: Vec<f64> = filled.iter().map(|x| x - mean).collect();
    let variance = centred.iter().map(|x| x * x).sum::<f64>();
    if !(variance.is_finite() && variance > 0.0) {
        return None;
    }
    let max_period = (values.len() / 3).min(MAX_PERIOD);
    if max_period < 4 {
        return None;
    }
    let detector = PeriodogramDetector::builder()
        .min_period(2)
        .max_period(max_period as u32)
        .build();
    let periodogram = detector.periodogram(&centred);
    // `peaks` comes in increasing power: the strongest is last.
    let peak = periodogram.peaks(0.99).last()?;
    // The periodogram's periods decrease with frequency (N/k for FFT size N);
    // 0 marks an end, where the missing neighbour N/(k±1) is bounded by
    // 2·period (k = 2 at the longest) and period/2.
    let period = peak.period as usize;
    let hi = match peak.prev_period as usize {
        0 => 2 * period,
        p => p,
    }
    .min(max_period);
    let lo = match peak.next_period as usize {
        0 => period / 2,
        p => p,
    }
    .max(2);
    let (lo, hi) = (lo.min(period), hi.max(period));
    let step = series.step;
    let calendar = [86_400, 7 * 86_400, 3_600]
        .into_iter()
        .filter(|&d| d % step == 0)
        .map(|d| (d / step) as usize)
        .find(|lag| (lo..=hi).contains(lag));
    let (lag, acf) = match calendar {
        Some(lag) => (lag, autocorrelation(&centred, variance, lag)),
        None => (lo..=hi.max(lo))
            .map(|lag| (lag, autocorrelation(&centred, variance, lag)))
            .max_by(|a, b| a.1.total_cmp(&b.1))?,
    };
    let noise = 4.0 / (values.len() as f64).sqrt();
    (acf >= MIN_AUTOCORRELATION.max(noise)).then_some(lag)
}

/// Autocorrelation of the centred series at `lag`, each lag's sum over its
/// own number of products (the biased estimator favours shorter lags).
fn autocorrelation(centred: &[f64], variance: f64, lag: usize) -> f64 {
    if lag >= centred.len() {
        return f64::NEG_INFINITY;
    }
    let s: f64 = centred[lag..].iter().zip(centred).map(|(a, b)| a * b).sum();
    let n = centred.len() as f64;
    (s / (n - lag as f64)) / (variance / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `days` days of `per_day` buckets: a daily cycle, weekly dip, noise.
    fn daily(days: usize, per_day: usize, seed: u64) -> Vec<Option<f64>> {
        let mut state = seed;
        (0..days * per_day)
            .map(|i| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                let phase = (i % per_day) as f64 / per_day as f64 * std::f64::consts::TAU;
                let weekend = if (i / per_day) % 7 >= 5 { 0.8 } else { 1.0 };
                Some(weekend * (400.0 + 250.0 * (phase - 1.0).sin()) + 60.0 * (u - 0.5))
            })
            .collect()
    }

    #[test]
    fn finds_the_daily_period_of_15_minute_and_5_minute_data() {
        let s = Series::new(0, 900, daily(21, 96, 1)).unwrap();
        assert_eq!(detect_period(&s), Some(96));
        let s = Series::new(0, 300, daily(10, 288, 2)).unwrap();
        assert_eq!(detect_period(&s), Some(288));
    }

    #[test]
    fn gaps_do_not_hide_the_period() {
        let mut v = daily(14, 96, 3);
        for (i, x) in v.iter_mut().enumerate() {
            if i % 7 == 0 || (300..340).contains(&i) {
                *x = None;
            }
        }
        assert_eq!(detect_period(&Series::new(0, 900, v).unwrap()), Some(96));
    }

    #[test]
    fn no_period_in_noise_constants_or_short_series() {
        let mut state = 7u64;
        let noise: Vec<Option<f64>> = (0..2000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                Some((state >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect();
        assert_eq!(detect_period(&Series::new(0, 900, noise).unwrap()), None);
        let constant = vec![Some(3.0); 500];
        assert_eq!(detect_period(&Series::new(0, 900, constant).unwrap()), None);
        let short = daily(1, 8, 1);
        assert_eq!(detect_period(&Series::new(0, 900, short).unwrap()), None);
        let empty = Series::new(0, 900, vec![None; 100]).unwrap();
        assert_eq!(detect_period(&empty), None);
    }
}

#[cfg(test)]
mod benchmark_tests {
    /// The synthetic benchmark's metrics (daily and weekly cycles, growth,
    /// Poisson or binomial noise at four scales) are daily.
    #[test]
    fn the_benchmark_series_are_daily() {
        for case in crate::eval::generate(5, 1).iter().step_by(3) {
            assert_eq!(
                super::detect_period(&case.series),
                Some(96),
                "{} {}",
                case.class,
                case.scale
            );
        }
    }
}
