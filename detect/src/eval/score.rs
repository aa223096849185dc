//! Event-level scoring of a [`Detection`] against labelled incidents.
//!
//! * An *alert event* is a run of consecutive anomalous buckets (from
//!   [`LabelledSeries::eval_start`] on).
//! * An event is *true* when it overlaps an incident window extended by
//!   `tolerance` buckets after its end (a detector noticing the recovery is
//!   not wrong); otherwise it is *neutral* when it overlaps a neutral range,
//!   else *false*.
//! * An incident is *found* when an anomalous bucket lies inside
//!   `[start, end)`; its delay is the first such index − `start`.
//! * precision = true events / (true + false events); recall = found /
//!   incidents; F1 their harmonic mean.
//! * False alerts per week = false events × (7 days) / (scored buckets ×
//!   step).

use crate::detection::Detection;
use crate::eval::labels::{IncidentSpan, LabelledSeries};

/// Buckets after an incident's end where an alert is not false (an hour of
/// 15-minute buckets).
pub const DEFAULT_TOLERANCE: usize = 4;

const WEEK_SECONDS: f64 = 7.0 * 86_400.0;

/// Counts from scoring one or more series; [`merge`](Self::merge) pools them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Score {
    /// Labelled incidents.
    pub incidents: usize,
    /// Incidents with an alert inside their window.
    pub found: usize,
    /// Delay in buckets of each found incident.
    pub delays: Vec<usize>,
    /// Alert events overlapping an incident (or its tolerance).
    pub true_events: usize,
    /// Alert events outside every incident, tolerance and neutral range.
    pub false_events: usize,
    /// Alert events touching only neutral ranges (not scored).
    pub neutral_events: usize,
    /// Scored time in seconds (buckets from `eval_start` × step).
    pub seconds: f64,
}

/// Runs of consecutive `true` flags as `[start, end)` ranges.
pub fn alert_events(flags: &[bool]) -> Vec<IncidentSpan> {
    crate::eval::labels::incidents_from_flags(flags)
}

/// Scores `detection` (of `case.series`) against the case's labels.
///
/// Panics when the detection and the series differ in length.
pub fn score(detection: &Detection, case: &LabelledSeries, tolerance: usize) -> Score {
    score_flags(detection.anomalies(), case, tolerance)
}

/// [`score`] of per-bucket anomaly flags (what a threshold sweep has).
///
/// Panics when the flags and the series differ in length.
pub fn score_flags(all: &[bool], case: &LabelledSeries, tolerance: usize) -> Score {
    let len = case.series.len();
    assert_eq!(all.len(), len, "flags and series lengths differ");
    let from = case.eval_start.min(len);
    let flags = &all[from..];
    let mut s = Score {
        incidents: case.incidents.len(),
        seconds: (len - from) as f64 * case.series.step as f64,
        ..Score::default()
    };
    for event in alert_events(flags) {
        let event = IncidentSpan::new(event.start + from, event.end + from);
        let matched = case
            .incidents
            .iter()
            .any(|inc| event.overlaps(&IncidentSpan::new(inc.start, inc.end + tolerance)));
        if matched {
            s.true_events += 1;
        } else if case.neutral.iter().any(|n| event.overlaps(n)) {
            s.neutral_events += 1;
        } else {
            s.false_events += 1;
        }
    }
    for inc in &case.incidents {
        let first = (inc.start.max(from)..inc.end.min(len)).find(|&i| all[i]);
        if let Some(i) = first {
            s.found += 1;
            s.delays.push(i - inc.start);
        }
    }
    s
}

impl Score {
    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Score) {
        self.incidents += other.incidents;
        self.found += other.found;
        self.delays.extend_from_slice(&other.delays);
        self.true_events += other.true_events;
        self.false_events += other.false_events;
        self.neutral_events += other.neutral_events;
        self.seconds += other.seconds;
    }

    /// True / (true + false) alert events; `None` without any alert event.
    pub fn precision(&self) -> Option<f64> {
        let all = self.true_events + self.false_events;
        (all > 0).then(|| self.true_events as f64 / all as f64)
    }

    /// Found / incidents; `None` without incidents.
    pub fn recall(&self) -> Option<f64> {
        (self.incidents > 0).then(|| self.found as f64 / self.incidents as f64)
    }

    /// Harmonic mean of precision and recall; `None` when either is
    /// undefined, 0 when both are 0.
    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        Some(if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        })
    }

    /// Median delay in buckets (mean of the two middle ones for an even
    /// count); `None` when nothing was found.
    pub fn delay_median(&self) -> Option<f64> {
        let d = self.sorted_delays();
        let n = d.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(d[n / 2] as f64),
            _ => Some((d[n / 2 - 1] + d[n / 2]) as f64 / 2.0),
        }
    }

    /// 90th percentile of the delays in buckets (nearest rank: the
    /// ⌈0.9·n⌉-th smallest); `None` when nothing was found.
    pub fn delay_p90(&self) -> Option<f64> {
        let d = self.sorted_delays();
        if d.is_empty() {
            return None;
        }
        let rank = (d.len() * 9).div_ceil(10).max(1);
        Some(d[rank - 1] as f64)
    }

    /// False alert events per week of scored time; `None` without any.
    pub fn false_per_week(&self) -> Option<f64> {
        (self.seconds > 0.0).then(|| self.false_events as f64 * WEEK_SECONDS / self.seconds)
    }

    fn sorted_delays(&self) -> Vec<usize> {
        let mut d = self.delays.clone();
        d.sort_unstable();
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::Point;
    use crate::series::Series;

    fn detection(flags: &str) -> Detection {
        flags
            .chars()
            .map(|c| Point {
                is_anomaly: c == '1',
                ..Point::default()
            })
            .collect()
    }

    fn case(
        len: usize,
        incidents: &[(usize, usize)],
        neutral: &[(usize, usize)],
    ) -> LabelledSeries {
        LabelledSeries {
            name: "t".into(),
            class: "t".into(),
            scale: String::new(),
            family: String::new(),
            series: Series::new(0, 900, vec![Some(1.0); len]).unwrap(),
            incidents: incidents
                .iter()
                .map(|&(s, e)| IncidentSpan::new(s, e))
                .collect(),
            neutral: neutral
                .iter()
                .map(|&(s, e)| IncidentSpan::new(s, e))
                .collect(),
            eval_start: 0,
        }
    }

    #[test]
    fn events_are_merged_runs() {
        assert_eq!(
            alert_events(&[true, true, false, true]),
            vec![IncidentSpan::new(0, 2), IncidentSpan::new(3, 4)]
        );
    }

    #[test]
    fn hand_made_case() {
        //            0         1         2
        //            0123456789012345678901234567
        let d = detection("0110000011100000100000010001");
        // Incidents [7, 12) and [20, 22) and [25, 26).
        let c = case(28, &[(7, 12), (20, 22), (25, 26)], &[]);
        let s = score(&d, &c, 2);
        // Events: [1,3) false; [8,11) true (delay 1); [16,17) false;
        // [23,24) true via tolerance (22 + 2 > 23) but does not find [20,22);
        // [27,28) true via tolerance of [25,26) (26 + 2 > 27), not found.
        assert_eq!(s.true_events, 3);
        assert_eq!(s.false_events, 2);
        assert_eq!(s.found, 1);
        assert_eq!(s.delays, vec![1]);
        assert_eq!(s.precision(), Some(0.6));
        assert_eq!(s.recall(), Some(1.0 / 3.0));
        let f1 = 2.0 * 0.6 * (1.0 / 3.0) / (0.6 + 1.0 / 3.0);
        assert_eq!(s.f1(), Some(f1));
        // 2 false events over 28 buckets of 15 minutes: 2 × 672 / 28 = 48 per week.
        assert_eq!(s.false_per_week(), Some(48.0));
        // No tolerance: the last two events become false.
        let s0 = score(&d, &c, 0);
        assert_eq!((s0.true_events, s0.false_events), (1, 4));
    }

    #[test]
    fn event_spanning_the_start_counts_and_neutral_is_ignored() {
        let d = detection("0011110000110");
        let c = case(13, &[(4, 8)], &[(9, 13)]);
        let s = score(&d, &c, 0);
        assert_eq!((s.true_events, s.false_events, s.neutral_events), (1, 0, 1));
        assert_eq!(s.delays, vec![0]);
        assert_eq!(s.precision(), Some(1.0));
        assert_eq!(s.false_per_week(), Some(0.0));
    }

    #[test]
    fn eval_start_skips_history() {
        let d = detection("1100000100");
        let mut c = case(10, &[], &[]);
        c.eval_start = 4;
        let s = score(&d, &c, 4);
        assert_eq!(s.false_events, 1);
        assert_eq!(s.precision(), Some(0.0));
        assert_eq!(s.recall(), None);
        assert_eq!(s.f1(), None);
        // 1 event over 6 buckets: 672 / 6 = 112 per week.
        assert_eq!(s.false_per_week(), Some(112.0));
    }

    #[test]
    fn delay_statistics_and_merge() {
        let mut s = Score::default();
        assert_eq!(s.delay_median(), None);
        assert_eq!(s.delay_p90(), None);
        assert_eq!(s.precision(), None);
        let part = Score {
            incidents: 10,
            found: 10,
            delays: vec![9, 0, 1, 2, 3, 4, 5, 6, 7, 30],
            seconds: 604_800.0,
            ..Score::default()
        };
        s.merge(&part);
        assert_eq!(s.delay_median(), Some(4.5));
        // ceil(0.9 × 10) = 9th smallest.
        assert_eq!(s.delay_p90(), Some(9.0));
        s.merge(&Score {
            incidents: 1,
            delays: vec![100],
            found: 1,
            false_events: 3,
            seconds: 604_800.0,
            ..Score::default()
        });
        assert_eq!(s.delay_median(), Some(5.0));
        // ceil(9.9) = 10th of 11.
        assert_eq!(s.delay_p90(), Some(30.0));
        assert_eq!(s.false_per_week(), Some(1.5));
        assert_eq!(s.recall(), Some(1.0));
    }
}
