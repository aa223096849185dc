//! Why the learned detector judged a bucket as it did, in words a person
//! checks at a glance against the chart: the probability and the two or
//! three features that pushed it up most ("0.12 of the value an hour ago;
//! 48% below the same slot last week").

use crate::detectors::Detector;
use crate::error::DetectError;
use crate::features::{index, rows, Row, FEATURE_NAMES, RATIO_LAGS, WINDOW};
use crate::series::Series;

use crate::detectors::LearnedParams;

/// The features quoted at most.
const DRIVERS: usize = 3;

/// One feature's part in a judgment.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Driver {
    /// The feature's name ([`FEATURE_NAMES`]).
    pub feature: String,
    /// Its value at the bucket.
    pub value: f64,
    /// Its share of the log-odds (positive: towards "anomaly").
    pub contribution: f64,
    /// What it says, in words.
    pub text: String,
}

/// The judgment of one bucket, explained.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Explanation {
    /// The anomaly probability.
    pub probability: f64,
    /// The features that pushed towards "anomaly" most, largest first.
    pub drivers: Vec<Driver>,
}

impl Explanation {
    /// One line: `p = 0.97: 0.12 of the value an hour ago; 48% below the
    /// same slot last week`.
    pub fn summary(&self) -> String {
        let words: Vec<&str> = self.drivers.iter().map(|d| d.text.as_str()).collect();
        if words.is_empty() {
            format!("p = {:.2}", self.probability)
        } else {
            format!("p = {:.2}: {}", self.probability, words.join("; "))
        }
    }
}

impl LearnedParams {
    /// Explains bucket `i` of `series` (its features from the buckets
    /// before it, as the batch run computes them).
    pub fn explain(&self, series: &Series, i: usize) -> Result<Explanation, DetectError> {
        self.validate()?;
        let out_of_range = || DetectError::IndexOutOfRange {
            index: i,
            len: series.len(),
        };
        let upto = series.raw_values().get(..=i).ok_or_else(out_of_range)?;
        let row = rows(upto, series.clock(), Some(self.period))
            .pop()
            .ok_or_else(out_of_range)?;
        Ok(self.explain_row(&row, series.step))
    }

    /// Explains a feature row of a series with `step` seconds between points.
    pub fn explain_row(&self, row: &Row, step: i64) -> Explanation {
        let probability = self.model.probability(row);
        let contributions = self.model.contributions(row);
        let mut order: Vec<usize> = (0..contributions.len())
            .filter(|&i| contributions[i] > 0.0 && row[i].is_finite())
            .collect();
        order.sort_by(|&a, &b| contributions[b].total_cmp(&contributions[a]));
        let mut drivers = Vec::new();
        for i in order {
            if drivers.len() == DRIVERS {
                break;
            }
            let Some(text) = describe(i, row[i], row, step) else {
                continue;
            };
            // Two lags that say the same thing once.
            if drivers.iter().any(|d: &Driver| d.text == text) {
                continue;
            }
            drivers.push(Driver {
                feature: FEATURE_NAMES[i].to_string(),
                value: row[i],
                contribution: contributions[i],
                text,
            });
        }
        Explanation {
            probability,
            drivers,
        }
    }
}

/// A feature's value in words; `None` for one that reads badly alone.
fn describe(feature: usize, x: f64, row: &Row, step: i64) -> Option<String> {
    use index::*;
    let text = match feature {
        f if (RATIO_PREV_1..RATIO_PREV_1 + RATIO_LAGS).contains(&f) => {
            let k = (f - RATIO_PREV_1 + 1) as i64;
            format!("{} of the value {} ago", times(x), ago(k * step))
        }
        RATIO_PREV_MAX3 if x < 1.0 => format!(
            "below each of the last 3 values (at most {} of them)",
            times(x)
        ),
        RATIO_PREV_MIN3 if x > 1.0 => format!(
            "above each of the last 3 values (at least {} of them)",
            times(x)
        ),
        MEDIAN_DIFF_REL | MEDIAN_DIFF_REL_ABS => {
            let rel = row[MEDIAN_DIFF_REL];
            format!(
                "{} the median of the last {}",
                percent_off(rel),
                ago(WINDOW as i64 * step)
            )
        }
        RATIO_WINDOW_MEAN => format!(
            "{} the mean of the last {}",
            percent_off(x - 1.0),
            ago(WINDOW as i64 * step)
        ),
        WINDOW_CV_WITH_NEWEST => format!(
            "the spread of the last {} jumps to {:.0}% of the mean with this point (from {:.0}%)",
            ago(WINDOW as i64 * step),
            x * 100.0,
            row[WINDOW_CV] * 100.0
        ),
        SUM_30M_RATIO => format!(
            "the last 30 minutes at {} of the 30 minutes before",
            times(x)
        ),
        SEASONAL_DEVIATION => format!("{} the usual level for this time of day", percent_off(x)),
        SEASONAL_Z => format!(
            "{:.1} sds {} the usual level for this time of day",
            x.abs(),
            if x < 0.0 { "below" } else { "above" }
        ),
        IQR_SCORE | IQR_DEVIATION => format!(
            "{} the recent median, outside its IQR band",
            percent_off(row[IQR_DEVIATION])
        ),
        CUSUM_DOWN => format!("a sustained fall over the last points (CUSUM {x:.1})"),
        CUSUM_UP => format!("a sustained rise over the last points (CUSUM {x:.1})"),
        NOISE_Z => format!(
            "{:.1} counting-noise sds {} the recent median",
            x.abs(),
            if x < 0.0 { "below" } else { "above" }
        ),
        RATIO_DAY_AGO => format!("{} the same time yesterday", percent_off(x - 1.0)),
        RATIO_WEEK_AGO => format!("{} the same slot last week", percent_off(x - 1.0)),
        WINDOW_GAPS => format!("{:.0}% of the recent buckets missing", x * 100.0),
        _ => return None,
    };
    Some(text)
}

/// `0.12` / `3.4x` style: a ratio as a person says it.
fn times(x: f64) -> String {
    if x < 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.1}x")
    }
}

/// `48% below` / `30% above` for a relative difference.
fn percent_off(rel: f64) -> String {
    if rel < 0.0 {
        format!("{:.0}% below", -rel * 100.0)
    } else {
        format!("{:.0}% above", rel * 100.0)
    }
}

/// A duration the way the sentence reads: `15 minutes`, `an hour`, `3 hours`.
fn ago(seconds: i64) -> String {
    match seconds {
        3600 => "an hour".to_string(),
        s if s % 3600 == 0 => format!("{} hours", s / 3600),
        s if s % 60 == 0 && s > 3600 => format!("{}h{:02}", s / 3600, s % 3600 / 60),
        s if s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_amounts_read_as_words() {
        assert_eq!(ago(900), "15 minutes");
        assert_eq!(ago(3600), "an hour");
        assert_eq!(ago(4 * 3600), "4 hours");
        assert_eq!(ago(5400), "1h30");
        assert_eq!(ago(30), "30 seconds");
        assert_eq!(percent_off(-0.48), "48% below");
        assert_eq!(percent_off(0.3), "30% above");
        assert_eq!(times(0.123), "0.12");
        assert_eq!(times(3.42), "3.4x");
    }
}
