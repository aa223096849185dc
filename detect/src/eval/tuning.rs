//! What the web lab varies and how it searches: each detector's main
//! parameters as numeric [`Knob`]s (read and written on a [`DetectorSpec`]),
//! the parameter grid of a heatmap, alert events and their weekly rate, and
//! the bisection that meets an alert budget. Pure, so it is unit-tested here
//! and runs the same in the browser.

use crate::detection::Detection;
use crate::detectors::DetectorSpec;
use crate::eval::labels::IncidentSpan;
use crate::eval::score::alert_events;

const WEEK_SECONDS: f64 = 7.0 * 86_400.0;

pub use crate::detectors::Knob;

/// The detector's main parameters, most important first
/// ([`Detector::KNOBS`](crate::Detector::KNOBS)). The first is its
/// threshold: raising it makes the detector less sensitive (the alert budget
/// bisects on it); the first two are a heatmap's axes.
pub fn knobs(spec: &DetectorSpec) -> Vec<Knob> {
    spec.knobs()
}

/// The value of parameter `key` of `spec`; `None` for a key it lacks.
pub fn get(spec: &DetectorSpec, key: &str) -> Option<f64> {
    spec.knob(key)
}

/// `spec` with parameter `key` set to `value` (counts rounded, negative
/// counts as 0 so that [`DetectorSpec::validate`] reports them). Returns
/// `false` for a key the detector lacks.
pub fn set(spec: &mut DetectorSpec, key: &str, value: f64) -> bool {
    spec.set_knob(key, value)
}

/// `count` evenly spaced values over the knob's range, both ends included,
/// snapped to its step (so counts are whole numbers); duplicates removed.
pub fn grid(knob: &Knob, count: usize) -> Vec<f64> {
    let count = count.max(1);
    let mut out: Vec<f64> = (0..count)
        .map(|i| {
            let t = if count == 1 {
                0.5
            } else {
                i as f64 / (count - 1) as f64
            };
            snap(knob, knob.min + t * (knob.max - knob.min))
        })
        .collect();
    out.dedup();
    out
}

/// `base` with every combination of `count` values of each of its two main
/// knobs ([`grid`]), the first knob varying slowest: the grid the web lab's
/// heatmap draws and `vigil tune` searches. Settings the detector rejects
/// (e.g. a window longer than allowed) are left out.
pub fn grid_specs(base: &DetectorSpec, count: usize) -> Vec<DetectorSpec> {
    let knobs = knobs(base);
    let (first, second) = (&knobs[0], &knobs[1]);
    let mut specs = Vec::new();
    for x in grid(first, count) {
        for y in grid(second, count) {
            let mut spec = base.clone();
            set(&mut spec, first.key, x);
            set(&mut spec, second.key, y);
            if spec.validate().is_ok() {
                specs.push(spec);
            }
        }
    }
    specs
}

/// `value` rounded to the knob's step (from its minimum) and clamped to its range.
pub fn snap(knob: &Knob, value: f64) -> f64 {
    let steps = ((value - knob.min) / knob.step).round();
    let snapped = knob.min + steps * knob.step;
    // Trim float noise such as 0.30000000000000004 so labels stay short.
    let snapped = (snapped * 1e9).round() / 1e9;
    snapped.clamp(knob.min, knob.max)
}

/// An alert the detection would have sent: a run of anomalous buckets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertEvent {
    /// First anomalous bucket (the alert is sent here).
    pub start: usize,
    /// One past the last anomalous bucket.
    pub end: usize,
}

/// Every alert event of `detection`, oldest first.
pub fn alerts(detection: &Detection) -> Vec<AlertEvent> {
    alert_events(detection.anomalies())
        .into_iter()
        .map(|run| AlertEvent {
            start: run.start,
            end: run.end,
        })
        .collect()
}

/// Alert events per week over `buckets` buckets of `step` seconds.
pub fn per_week(events: usize, buckets: usize, step: i64) -> f64 {
    let seconds = buckets as f64 * step as f64;
    if seconds <= 0.0 {
        0.0
    } else {
        events as f64 * WEEK_SECONDS / seconds
    }
}

/// Which labelled incidents have an anomalous bucket inside them.
pub fn caught(detection: &Detection, incidents: &[IncidentSpan]) -> Vec<bool> {
    let flags = detection.anomalies();
    incidents
        .iter()
        .map(|inc| (inc.start..inc.end.min(flags.len())).any(|i| flags[i]))
        .collect()
}

/// The result of [`solve_budget`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetSolution {
    /// The most sensitive threshold found that meets the budget.
    pub value: f64,
    /// Alerts per week at that threshold.
    pub per_week: f64,
}

/// The smallest threshold in `[knob.min, knob.search_max]` (snapped to the knob's
/// step) whose alerts per week, as `rate` computes them, are at most
/// `budget`. Assumes a higher threshold never alerts more, so it bisects
/// (about 20 evaluations); `None` when even the maximum alerts too often.
/// `rate` returns `None` for a setting that cannot run, treated as failing.
pub fn solve_budget(
    knob: &Knob,
    budget: f64,
    mut rate: impl FnMut(f64) -> Option<f64>,
) -> Option<BudgetSolution> {
    let mut meets = |value: f64| rate(value).filter(|r| *r <= budget);
    let top = knob.search_max.max(knob.max);
    let hi_rate = meets(top)?;
    if let Some(r) = meets(knob.min) {
        return Some(BudgetSolution {
            value: knob.min,
            per_week: r,
        });
    }
    // Invariant: `lo` fails the budget, `hi` meets it.
    let (mut lo, mut hi, mut best) = (knob.min, top, hi_rate);
    let wide = Knob { max: top, ..*knob };
    for _ in 0..40 {
        let mid = snap(&wide, (lo + hi) / 2.0);
        if mid <= lo || mid >= hi {
            break;
        }
        match meets(mid) {
            Some(r) => {
                hi = mid;
                best = r;
            }
            None => lo = mid,
        }
    }
    Some(BudgetSolution {
        value: hi,
        per_week: best,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::DETECTOR_NAMES;
    use crate::point::Point;

    #[test]
    fn every_detector_has_two_knobs_that_round_trip() {
        for name in DETECTOR_NAMES {
            let mut spec = DetectorSpec::default_for(name).unwrap();
            assert_eq!(knobs(&spec).len(), 2, "{name}");
            for knob in &knobs(&spec) {
                let default = get(&spec, knob.key).expect(knob.key);
                assert!(
                    (knob.min..=knob.max).contains(&default),
                    "{name}.{} default {default} outside its range",
                    knob.key
                );
                for value in grid(knob, 10) {
                    assert!(set(&mut spec, knob.key, value));
                    assert_eq!(get(&spec, knob.key), Some(value));
                    spec.validate()
                        .unwrap_or_else(|e| panic!("{name}.{}={value}: {e}", knob.key));
                }
            }
            assert!(!set(&mut spec, "nope", 1.0));
            assert_eq!(get(&spec, "nope"), None);
        }
    }

    fn iqr_knobs() -> Vec<Knob> {
        knobs(&DetectorSpec::default_for("iqr").unwrap())
    }

    #[test]
    fn grids_span_the_range_on_the_step() {
        let iqr = iqr_knobs();
        let a = &iqr[0];
        assert_eq!(grid(a, 3), vec![0.0, 5.0, 10.0]);
        let g = grid(a, 10);
        assert_eq!(g.len(), 10);
        assert_eq!((g[0], g[9]), (0.0, 10.0));
        assert_eq!(g[1], 1.1);
        let n = &iqr[1];
        assert!(grid(n, 10).iter().all(|v| v.fract() == 0.0));
        // More cells than whole values: duplicates go.
        let tiny = Knob::count("k", "k", 1.0, 3.0);
        assert_eq!(grid(&tiny, 10), vec![1.0, 2.0, 3.0]);
    }

    fn detection(flags: &str) -> Detection {
        flags
            .chars()
            .map(|c| Point {
                is_anomaly: c == '1',
                ..Point::default()
            })
            .collect()
    }

    #[test]
    fn alerts_rates_and_catches() {
        let d = detection("0110001000111");
        assert_eq!(
            alerts(&d),
            vec![
                AlertEvent { start: 1, end: 3 },
                AlertEvent { start: 6, end: 7 },
                AlertEvent { start: 10, end: 13 }
            ]
        );
        // 3 events in 672 buckets of 15 minutes (one week).
        assert_eq!(per_week(3, 672, 900), 3.0);
        assert_eq!(per_week(3, 0, 900), 0.0);
        let incidents = [
            IncidentSpan::new(4, 6),
            IncidentSpan::new(5, 8),
            IncidentSpan::new(12, 20),
        ];
        assert_eq!(caught(&d, &incidents), vec![false, true, true]);
    }

    #[test]
    fn budget_bisection_finds_the_most_sensitive_setting() {
        let iqr = iqr_knobs();
        let a = &iqr[0];
        // Alerts fall as the threshold rises: 20 at 0, 0 from 8 on.
        let rate = |v: f64| Some((20.0 - 2.5 * v).max(0.0));
        let s = solve_budget(a, 5.0, rate).unwrap();
        assert_eq!(s.value, 6.0);
        assert!(s.per_week <= 5.0);
        // One step lower breaks the budget.
        assert!(rate(s.value - a.step).unwrap() > 5.0);
        // Met already at the minimum.
        assert_eq!(solve_budget(a, 50.0, rate).unwrap().value, 0.0);
        // Never met.
        assert_eq!(solve_budget(a, 1.0, |_| Some(3.0)), None);
        // Searched beyond the slider's range when the knob allows it.
        let s = solve_budget(a, 5.0, |v| Some((60.0 - v).max(0.0))).unwrap();
        assert_eq!(s.value, 55.0);
        // A setting that cannot run counts as failing.
        let s = solve_budget(a, 5.0, |v| (v >= 2.0).then_some(0.0)).unwrap();
        assert_eq!(s.value, 2.0);
    }

    #[test]
    fn grid_specs_cover_both_knobs() {
        let base = DetectorSpec::default_for("iqr").unwrap();
        let specs = grid_specs(&base, 4);
        assert_eq!(specs.len(), 16);
        let a: Vec<f64> = specs.iter().map(|s| get(s, "a").unwrap()).collect();
        let n: Vec<f64> = specs.iter().map(|s| get(s, "n").unwrap()).collect();
        assert_eq!(a[0], a[3], "the first knob varies slowest");
        assert_ne!(n[0], n[1]);
        assert!(specs.iter().all(|s| s.validate().is_ok()));
    }
}
