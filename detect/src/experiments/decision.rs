//! The verdict for one treatment against control: diverged, sample ratio
//! mismatch, or inconclusive, with the figures an alert quotes.

use super::{compare, Estimate, ExperimentError, GroupSummary, MetricKind, Msprt, SrmTest};

/// The levels and threshold a verdict uses. `vigil` fills them from an
/// experiment's config.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Rules {
    /// Level of the sequential effect test; the interval is at `1 - alpha`.
    pub alpha: f64,
    /// Smallest relative effect worth an alert (0.05 = 5%); also the scale
    /// of the mSPRT's mixture when positive.
    pub min_effect: f64,
    /// Level of the sequential mismatch test (strict: see [`super::srm`]).
    pub srm_alpha: f64,
}

/// The mSPRT's mixture scale when `min_effect` is 0 (alert on any
/// significant effect): tuned for effects of about 5%.
const FALLBACK_TAU: f64 = 0.05;

impl Default for Rules {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            min_effect: 0.05,
            srm_alpha: 0.001,
        }
    }
}

impl Rules {
    /// The sequential test these rules describe, or an error naming the bad
    /// setting.
    pub fn msprt(&self) -> Result<Msprt, ExperimentError> {
        if !(self.min_effect >= 0.0 && self.min_effect.is_finite()) {
            return Err(ExperimentError::InvalidSetting {
                name: "min_effect",
                value: self.min_effect,
                expected: "a finite relative effect >= 0 (0.05 is 5%)",
            });
        }
        if !(self.srm_alpha > 0.0 && self.srm_alpha < 1.0) {
            return Err(ExperimentError::InvalidSetting {
                name: "srm_alpha",
                value: self.srm_alpha,
                expected: "a probability strictly between 0 and 1",
            });
        }
        let tau = if self.min_effect > 0.0 {
            self.min_effect
        } else {
            FALLBACK_TAU
        };
        Msprt::new(self.alpha, tau)
    }
}

/// The effect with its sequential and single-look figures.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Effect {
    pub estimate: Estimate,
    /// Always-valid p-value (mSPRT): what the verdict uses.
    pub p_value: f64,
    /// Confidence sequence at `1 - alpha` (relative effect): what an alert quotes.
    pub interval: (f64, f64),
    /// Single-look p-value, for reading only.
    pub fixed_p_value: f64,
    /// Single-look interval at `1 - alpha`, for reading only.
    pub fixed_interval: (f64, f64),
}

/// What the comparison says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Verdict {
    /// Significant (sequentially) and at least the minimum effect.
    Diverged,
    /// The groups' sizes do not match the split: the comparison is invalid.
    SampleRatioMismatch,
    /// Neither (or not enough data yet).
    Inconclusive,
}

/// A verdict and the figures behind it.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Decision {
    pub verdict: Verdict,
    /// `None` while there is nothing to compare (see `waiting`).
    pub effect: Option<Effect>,
    /// The mismatch test, when user counts were given.
    pub srm: Option<SrmTest>,
    /// Why there is no effect yet (too few users, no views, ...).
    pub waiting: Option<String>,
}

/// Judge `treatment` against `control` on a metric of `kind`; `srm` is the
/// experiment's mismatch test over all its groups (one per experiment, shared
/// by its comparisons). A mismatch wins over an effect: the effect of a
/// broken split means nothing.
///
/// Errors only for bad rules or malformed sums; "not enough data yet" is an
/// inconclusive verdict with `waiting` set.
pub fn judge(
    rules: &Rules,
    kind: MetricKind,
    control: &GroupSummary,
    treatment: &GroupSummary,
    srm: Option<&SrmTest>,
) -> Result<Decision, ExperimentError> {
    let test = rules.msprt()?;
    let (effect, waiting) = match compare(kind, control, treatment) {
        Ok(estimate) => (Some(effect(&test, estimate)), None),
        Err(error) if error.is_insufficient_data() => (None, Some(error.to_string())),
        Err(error) => return Err(error),
    };
    let mismatch = srm.is_some_and(|srm| srm.sequential_p_value < rules.srm_alpha);
    let diverged = effect.is_some_and(|effect| {
        effect.p_value < rules.alpha && effect.estimate.relative.abs() >= rules.min_effect
    });
    let verdict = if mismatch {
        Verdict::SampleRatioMismatch
    } else if diverged {
        Verdict::Diverged
    } else {
        Verdict::Inconclusive
    };
    Ok(Decision {
        verdict,
        effect,
        srm: srm.cloned(),
        waiting,
    })
}

fn effect(test: &Msprt, estimate: Estimate) -> Effect {
    Effect {
        estimate,
        p_value: test.p_value(&estimate),
        interval: test.interval(&estimate),
        fixed_p_value: estimate.fixed_p_value(),
        fixed_interval: estimate.fixed_interval(1.0 - test.alpha()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `users` users whose counts are `base + (i % 5)`: mean `base + 2`,
    /// a small and known spread.
    fn group(users: u64, base: f64) -> GroupSummary {
        GroupSummary::from_users((0..users).map(|i| (base + (i % 5) as f64, 1.0)))
    }

    #[test]
    fn a_clear_large_effect_diverges_and_a_small_one_does_not() {
        let rules = Rules::default();
        let control = group(2_000, 8.0); // mean 10
        let lower = group(2_000, 6.5); // mean 8.5: -15%
        let decision = judge(&rules, MetricKind::PerUser, &control, &lower, None).expect("valid");
        assert_eq!(decision.verdict, Verdict::Diverged);
        let effect = decision.effect.expect("effect");
        assert!((effect.estimate.relative + 0.15).abs() < 1e-12);
        assert!(effect.interval.0 < -0.15 && effect.interval.1 > -0.15 && effect.interval.1 < 0.0);
        // The sequential interval is the wider one.
        assert!(effect.interval.0 < effect.fixed_interval.0);

        // -2%: very significant with these tiny spreads, but under the minimum effect.
        let slightly = group(2_000, 7.8);
        let decision =
            judge(&rules, MetricKind::PerUser, &control, &slightly, None).expect("valid");
        assert!(decision.effect.expect("effect").p_value < rules.alpha);
        assert_eq!(decision.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn a_mismatch_wins_and_waiting_is_not_an_error() {
        let rules = Rules::default();
        let control = group(2_000, 8.0);
        let lower = group(2_000, 6.5);
        let srm = SrmTest::run(&[2_000, 1_600], &[1.0, 1.0]).expect("valid");
        let decision =
            judge(&rules, MetricKind::PerUser, &control, &lower, Some(&srm)).expect("valid");
        assert_eq!(decision.verdict, Verdict::SampleRatioMismatch);
        assert!(decision.effect.is_some());

        let empty = GroupSummary::default();
        let decision = judge(&rules, MetricKind::Ratio, &empty, &lower, None).expect("valid");
        assert_eq!(decision.verdict, Verdict::Inconclusive);
        assert!(decision.effect.is_none());
        assert!(decision.waiting.expect("reason").contains("control"));

        let bad = Rules {
            min_effect: -0.1,
            ..Rules::default()
        };
        assert!(judge(&bad, MetricKind::PerUser, &control, &lower, None).is_err());
        let broken = GroupSummary {
            sum_x: f64::INFINITY,
            ..control
        };
        assert!(judge(&rules, MetricKind::PerUser, &broken, &lower, None).is_err());
    }
}
