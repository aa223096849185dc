//! Peeking-proof significance: the mixture sequential probability ratio
//! test (mSPRT) of Johari, Koomen, Pekelis and Walsh ("Always valid
//! inference", 2017/2022), with a normal mixture over the effect.
//!
//! Why: vigil looks at every running experiment every 15 minutes. A
//! fixed-horizon test (t-test, z-test) looked at 96 times a day crosses
//! p < 0.05 by chance far more often than 5% of the time: over a few days of
//! A/A data most experiments would "diverge" at some look. The mSPRT's
//! likelihood ratio `Λ_n` is a non-negative martingale under "no effect", so
//! by Ville's inequality `P(Λ_n ≥ 1/α at any look) ≤ α`: alerting when the
//! always-valid p-value `1/Λ_n` is below α keeps the false-alarm rate at α
//! however often and however long we look, without planning the looks in
//! advance (alpha spending needs the number and timing of looks, which a
//! monitoring loop does not have). Inverting the test gives a confidence
//! sequence: intervals that cover the true effect at every look at once.
//!
//! With the estimate `θ̂ ~ N(θ, V)` and a mixing prior `θ ~ N(0, τ²)`:
//! `Λ = sqrt(V / (V + τ²)) · exp(θ̂² τ² / (2 V (V + τ²)))`. `τ` sets which
//! effects the test is quickest on; vigil uses the configured minimum effect.
//! The price is width: at one look the interval is wider than the
//! fixed-horizon one (about 1.5-2x), which is why the decision also reports
//! the fixed interval for reading, never for deciding.
//!
//! The guarantee needs the running estimate to behave like a sum of
//! independent increments (new users arriving); per-user totals that grow
//! over time make consecutive looks more alike, which only makes the test
//! more conservative (the A/A test in `tests.rs` checks it on such data).
//! Each look alone is valid, so a check needs no stored state; keeping the
//! smallest p-value so far (and intersecting the intervals) is optional.

use super::{Estimate, ExperimentError};

/// The mSPRT with a normal mixture: level `alpha`, mixing scale `tau` (in
/// the units of the estimate: relative effect).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Msprt {
    alpha: f64,
    tau: f64,
}

impl Msprt {
    /// `alpha` in (0, 1), `tau` finite and > 0.
    pub fn new(alpha: f64, tau: f64) -> Result<Self, ExperimentError> {
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(ExperimentError::InvalidSetting {
                name: "alpha",
                value: alpha,
                expected: "a probability strictly between 0 and 1",
            });
        }
        if !(tau > 0.0 && tau.is_finite()) {
            return Err(ExperimentError::InvalidSetting {
                name: "tau",
                value: tau,
                expected: "a finite number > 0",
            });
        }
        Ok(Self { alpha, tau })
    }

    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    pub fn tau(&self) -> f64 {
        self.tau
    }

    /// `ln Λ` against the null `θ = null`.
    fn log_ratio(&self, estimate: &Estimate, null: f64) -> f64 {
        let v = estimate.variance;
        let t2 = self.tau * self.tau;
        let distance = estimate.relative - null;
        0.5 * (v / (v + t2)).ln() + distance * distance * t2 / (2.0 * v * (v + t2))
    }

    /// The always-valid p-value of "no effect" at this look: `min(1, 1/Λ)`.
    pub fn p_value(&self, estimate: &Estimate) -> f64 {
        (-self.log_ratio(estimate, 0.0)).exp().min(1.0)
    }

    /// The confidence sequence at level `1 - alpha` at this look: every
    /// effect `θ₀` the test would not reject. Contains 0 exactly when
    /// [`Msprt::p_value`] is at least `alpha`.
    pub fn interval(&self, estimate: &Estimate) -> (f64, f64) {
        let v = estimate.variance;
        let t2 = self.tau * self.tau;
        let half = (v * (v + t2) / t2 * (((v + t2) / v).ln() - 2.0 * self.alpha.ln())).sqrt();
        (estimate.relative - half, estimate.relative + half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(relative: f64, variance: f64) -> Estimate {
        Estimate {
            control: 1.0,
            treatment: 1.0 + relative,
            relative,
            variance,
        }
    }

    #[test]
    fn known_values() {
        // Reference, python3: V = 0.0004; tau = 0.05; th = 0.06; a = 0.05
        // lnL = 0.5*log(V/(V+tau**2)) + th**2*tau**2/(2*V*(V+tau**2)); exp(-lnL) = 0.0556424093494378
        // half = sqrt(V*(V+tau**2)/tau**2*(log((V+tau**2)/V) - 2*log(a))): (-0.00082124819018596, 0.12082124819018596)
        let test = Msprt::new(0.05, 0.05).expect("valid");
        let at = estimate(0.06, 0.0004);
        assert!((test.p_value(&at) - 0.055_642_409_349_437_8).abs() < 1e-14);
        let (low, high) = test.interval(&at);
        assert!((low + 0.000_821_248_190_185_960_8).abs() < 1e-14, "{low}");
        assert!((high - 0.120_821_248_190_185_96).abs() < 1e-14, "{high}");
        // A 3-sigma effect: 0.0027 at a single look, not significant here.
        assert!(at.fixed_p_value() < 0.003);
        assert_eq!(test.p_value(&estimate(0.03, 0.0004)), 1.0);
    }

    #[test]
    fn interval_excludes_zero_exactly_when_significant() {
        let test = Msprt::new(0.05, 0.1).expect("valid");
        for relative in [-0.2, -0.09, -0.01, 0.0, 0.02, 0.07, 0.15] {
            for variance in [1e-4, 1e-3, 4e-3] {
                let at = estimate(relative, variance);
                let (low, high) = test.interval(&at);
                let excludes = low > 0.0 || high < 0.0;
                assert_eq!(excludes, test.p_value(&at) < 0.05, "{relative} {variance}");
            }
        }
    }

    #[test]
    fn settings_are_checked() {
        assert!(Msprt::new(0.0, 0.1).is_err());
        assert!(Msprt::new(1.0, 0.1).is_err());
        let error = Msprt::new(0.05, f64::NAN).unwrap_err();
        assert!(error.to_string().contains("tau"));
    }
}
