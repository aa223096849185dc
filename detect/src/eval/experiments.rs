//! Scoring experiment alerts (`vigil eval --experiments`): how soon after a
//! labelled effect starts the check's verdict alerts, and what share of A/A
//! runs ever alarm, with an interval. A share of a few hundred runs is a
//! figure only with its interval: 0 alarms in 200 runs says "at most about
//! 2%", not "0%".

use crate::experiments::stats::normal_quantile;

/// `hits` of `runs`: runs that ever alarmed, effects that were found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Share {
    pub hits: usize,
    pub runs: usize,
}

impl Share {
    /// Count one run.
    pub fn add(&mut self, hit: bool) {
        self.hits += usize::from(hit);
        self.runs += 1;
    }

    /// `hits / runs`; `None` without runs.
    pub fn rate(&self) -> Option<f64> {
        (self.runs > 0).then(|| self.hits as f64 / self.runs as f64)
    }

    /// The Wilson score interval at `confidence` (0.95 for 95%); `None`
    /// without runs. Wilson rather than the textbook `p ± z·sqrt(p(1-p)/n)`:
    /// that one is the single point 0 for 0 hits, which is exactly the
    /// case an A/A false-alarm rate is about.
    pub fn interval(&self, confidence: f64) -> Option<(f64, f64)> {
        let p = self.rate()?;
        let n = self.runs as f64;
        let z = normal_quantile(0.5 + confidence / 2.0);
        let z2 = z * z;
        let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
        let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
        Some(((centre - half).max(0.0), (centre + half).min(1.0)))
    }
}

/// Delays from the start of a labelled effect to the first alert, over runs.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Delays {
    /// Runs scored, and how many alerted at all.
    pub found: Share,
    /// Runs that alerted within the target.
    pub within_target: Share,
    pub target: f64,
    /// Of the runs that alerted (nearest rank, as the detectors' delays).
    pub median: Option<f64>,
    pub p90: Option<f64>,
    pub max: Option<f64>,
}

impl Delays {
    /// Summarises one delay per run (`None`: never alerted), in any unit
    /// (`vigil eval` uses minutes), against `target` in the same unit.
    pub fn new(delays: &[Option<f64>], target: f64) -> Self {
        let mut found: Vec<f64> = delays.iter().flatten().copied().collect();
        found.sort_by(f64::total_cmp);
        let rank = |q: f64| {
            let index = ((found.len() as f64 * q).ceil() as usize).max(1) - 1;
            found.get(index).copied()
        };
        let mut within = Share::default();
        for delay in delays {
            within.add(delay.is_some_and(|d| d <= target));
        }
        Self {
            found: Share {
                hits: found.len(),
                runs: delays.len(),
            },
            within_target: within,
            target,
            median: rank(0.5),
            p90: rank(0.9),
            max: found.last().copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval_known_values() {
        // Reference, python3: z = 1.959963984540054; p = k / n
        // c = (p + z*z/(2*n)) / (1 + z*z/n); h = z / (1 + z*z/n) * sqrt(p*(1-p)/n + z*z/(4*n*n))
        // (c - h, c + h): k = 0, n = 200: (0.0, 0.0188453); k = 7: (0.0170555, 0.0704706)
        let none = Share { hits: 0, runs: 200 };
        let (low, high) = none.interval(0.95).expect("runs");
        assert_eq!(low, 0.0);
        assert!((high - 0.018_845_3).abs() < 1e-6, "{high}");
        let some = Share { hits: 7, runs: 200 };
        let (low, high) = some.interval(0.95).expect("runs");
        assert!((low - 0.017_055_5).abs() < 1e-6, "{low}");
        assert!((high - 0.070_470_6).abs() < 1e-6, "{high}");
        assert_eq!(some.rate(), Some(0.035));
        assert_eq!(Share::default().interval(0.95), None);
    }

    #[test]
    fn delays_count_the_misses_and_the_target() {
        let delays = Delays::new(
            &[Some(30.0), None, Some(15.0), Some(90.0), Some(60.0)],
            60.0,
        );
        assert_eq!(delays.found, Share { hits: 4, runs: 5 });
        assert_eq!(delays.within_target, Share { hits: 3, runs: 5 });
        assert_eq!(delays.median, Some(30.0));
        assert_eq!(delays.p90, Some(90.0));
        assert_eq!(delays.max, Some(90.0));
        let never = Delays::new(&[None, None], 60.0);
        assert_eq!((never.median, never.max), (None, None));
        assert_eq!(never.within_target, Share { hits: 0, runs: 2 });
    }
}
