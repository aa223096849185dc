//! Whether an anomaly is big enough to alert on. The detectors flag what is
//! statistically unusual; on a slice with a handful of events that is noise
//! (2 messages instead of 1 is "+100 %"). Counts alert only with enough volume
//! and a large enough absolute change; ratios by slice (CTR of one country)
//! alert only when enabled, since their volume is unknown here. The whole
//! metric's drill-down still names such slices.

use crate::Point;

/// The alerting floor (`[alerts]` min_volume, min_abs_change, ratio_slices).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AlertFloor {
    /// A count alerts only if its value or expected value reaches this.
    pub min_volume: f64,
    /// A count alerts only if it moved at least this much from expected.
    pub min_abs_change: f64,
    /// Whether slices of ratio metrics alert on their own.
    pub ratio_slices: bool,
    /// Whether a slice that moves the same way as its firing metric is held
    /// back ([`super::inhibition`]): the metric's alert already lists it.
    #[cfg_attr(feature = "serde", serde(default = "inhibit_by_default"))]
    pub inhibit_slices: bool,
}

#[cfg(feature = "serde")]
fn inhibit_by_default() -> bool {
    true
}

/// What a metric's values measure, as far as the floor cares: a volume
/// (a count of events or of distinct values) has a size to judge, a ratio
/// does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Measure {
    /// Events, or distinct values of a column, per bucket.
    Count,
    /// One count over another (CTR).
    Ratio,
}

impl Default for AlertFloor {
    fn default() -> Self {
        Self {
            min_volume: 20.0,
            min_abs_change: 5.0,
            ratio_slices: false,
            inhibit_slices: true,
        }
    }
}

impl AlertFloor {
    /// Why an anomalous point of a series measuring `measure` (a slice of
    /// its metric when `is_slice`) should not alert, or `None` if it should.
    pub fn suppression(&self, measure: Measure, is_slice: bool, point: &Point) -> Option<String> {
        if !point.is_anomaly {
            return None;
        }
        match measure {
            Measure::Ratio => (is_slice && !self.ratio_slices)
                .then(|| "ratio slice (alerts.ratio_slices = false)".to_string()),
            Measure::Count => {
                let (value, expected) = (point.value.unwrap_or(0.0), point.expected.unwrap_or(0.0));
                if value.max(expected) < self.min_volume {
                    Some(format!(
                        "volume below alerts.min_volume = {}",
                        self.min_volume
                    ))
                } else if (value - expected).abs() < self.min_abs_change {
                    Some(format!(
                        "change below alerts.min_abs_change = {}",
                        self.min_abs_change
                    ))
                } else {
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(value: f64, expected: f64) -> Point {
        Point {
            value: Some(value),
            expected: Some(expected),
            is_anomaly: true,
            ..Default::default()
        }
    }

    #[test]
    fn small_counts_and_ratio_slices_do_not_alert() {
        let floor = AlertFloor::default();
        let suppressed = |measure, is_slice, value, expected| {
            floor
                .suppression(measure, is_slice, &point(value, expected))
                .is_some()
        };
        assert!(suppressed(Measure::Count, true, 2.0, 1.0));
        assert!(suppressed(Measure::Count, true, 22.0, 19.0));
        assert!(!suppressed(Measure::Count, true, 0.0, 40.0));
        assert!(!suppressed(Measure::Count, false, 0.0, 900.0));
        assert!(suppressed(Measure::Ratio, true, 0.3, 0.1));
        assert!(!suppressed(Measure::Ratio, false, 0.3, 0.1));
    }

    #[test]
    fn a_normal_point_is_never_suppressed() {
        let normal = Point {
            is_anomaly: false,
            ..point(2.0, 1.0)
        };
        let floor = AlertFloor::default();
        assert_eq!(floor.suppression(Measure::Count, true, &normal), None);
        assert_eq!(floor.suppression(Measure::Ratio, true, &normal), None);
    }
}
