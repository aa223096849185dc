//! Sample ratio mismatch: are the groups as large as the configured split
//! says? Users are assigned by a salted hash, so with a 50/50 split the
//! groups' user counts differ only by binomial noise. A larger gap means
//! assignment or logging is broken (a client that stops sending events for
//! some users, a redirect that reassigns them), and then the comparison of
//! the groups is invalid whatever it shows: the users who went missing are
//! not a random sample. Experimentation platforms check this first.
//!
//! Two tests over the same counts:
//! - Pearson's chi-square goodness of fit, `Σ (o - e)² / e` with `k - 1`
//!   degrees of freedom: the familiar single-look p-value, for reading.
//! - The sequential one the decision uses (Lindon & Malek, "Anytime-valid
//!   inference for multinomial count data", 2022): the Bayes factor of a
//!   Dirichlet-multinomial mixture (prior centred on the configured split,
//!   concentration [`PRIOR_CONCENTRATION`]) against the split itself. Like
//!   the mSPRT it is a test martingale while users arrive one by one, so
//!   `1 / BF` is an always-valid p-value and checking every 15 minutes does
//!   not inflate false alarms. The counts must therefore be users counted
//!   once since the experiment's start (users arrive over time), not users
//!   active in a sliding window.
//!
//! The decision still uses a strict level (0.001 by default): a mismatch
//! alert says "stop trusting this experiment", and the costs are lopsided
//! (a false SRM discards a good experiment and sends people hunting a
//! logging bug that is not there), while a real one is large and keeps
//! growing with every new user, so a strict level costs little delay.

use super::stats::{chi_square_sf, ln_gamma};
use super::ExperimentError;

/// Concentration of the Dirichlet prior (its pseudo-count of users): prior
/// shares spread by about `sqrt(p(1-p)/100)`, five points around a 50/50
/// split, the size of mismatch that broken assignment produces.
pub const PRIOR_CONCENTRATION: f64 = 100.0;

/// The outcome of the mismatch tests.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SrmTest {
    /// Users per group, in the order given.
    pub observed: Vec<u64>,
    /// Users per group the split expects for the same total.
    pub expected: Vec<f64>,
    /// Pearson's statistic.
    pub chi_square: f64,
    /// Its single-look p-value (`k - 1` degrees of freedom).
    pub p_value: f64,
    /// The always-valid p-value (Dirichlet-multinomial Bayes factor).
    pub sequential_p_value: f64,
}

impl SrmTest {
    /// Test user counts `observed` against the split `weights` (any positive
    /// numbers: `[1, 1]` and `[50, 50]` are the same split).
    pub fn run(observed: &[u64], weights: &[f64]) -> Result<Self, ExperimentError> {
        if observed.len() != weights.len() {
            return Err(ExperimentError::SplitLength {
                groups: observed.len(),
                weights: weights.len(),
            });
        }
        if observed.len() < 2 {
            return Err(ExperimentError::TooFewGroups(observed.len()));
        }
        if let Some(&weight) = weights.iter().find(|w| !(**w > 0.0 && w.is_finite())) {
            return Err(ExperimentError::InvalidSetting {
                name: "split weight",
                value: weight,
                expected: "a finite number > 0",
            });
        }
        let total: u64 = observed.iter().sum();
        if total == 0 {
            return Err(ExperimentError::NoUsers);
        }
        let weight_sum: f64 = weights.iter().sum();
        let shares: Vec<f64> = weights.iter().map(|w| w / weight_sum).collect();
        let n = total as f64;
        let expected: Vec<f64> = shares.iter().map(|p| p * n).collect();
        let chi_square = observed
            .iter()
            .zip(&expected)
            .map(|(&o, e)| (o as f64 - e).powi(2) / e)
            .sum();
        let p_value = chi_square_sf(chi_square, (observed.len() - 1) as f64);
        let sequential_p_value = (-log_bayes_factor(observed, &shares)).exp().min(1.0);
        Ok(Self {
            observed: observed.to_vec(),
            expected,
            chi_square,
            p_value,
            sequential_p_value,
        })
    }
}

/// `ln BF` of the Dirichlet(`A·p`)-multinomial mixture against the fixed
/// shares `p`: `ln Γ(A) - ln Γ(A + n) + Σ [ln Γ(A pᵢ + oᵢ) - ln Γ(A pᵢ)] - Σ oᵢ ln pᵢ`
/// (the multinomial coefficient cancels).
fn log_bayes_factor(observed: &[u64], shares: &[f64]) -> f64 {
    let a = PRIOR_CONCENTRATION;
    let n: f64 = observed.iter().map(|&o| o as f64).sum();
    let mut log = ln_gamma(a) - ln_gamma(a + n);
    for (&o, &p) in observed.iter().zip(shares) {
        let o = o as f64;
        log += ln_gamma(a * p + o) - ln_gamma(a * p) - o * p.ln();
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Reference, python3: chi-square by hand, p = math.erfc(math.sqrt(6.4 / 2))
        // (1 df) and math.exp(-41.66666666666667 / 2) (2 df); the sequential p
        // is exp(-lnBF) with lnBF written with math.lgamma as in log_bayes_factor.
        let two = SrmTest::run(&[460, 540], &[1.0, 1.0]).expect("valid");
        assert!((two.chi_square - 6.4).abs() < 1e-12);
        assert!(
            (two.p_value - 0.011_412_036_386_001_656).abs() < 1e-14,
            "{}",
            two.p_value
        );
        assert!((two.sequential_p_value - 0.180_307_099_363_623).abs() < 1e-12);
        let three = SrmTest::run(&[300, 700, 1000], &[20.0, 30.0, 50.0]).expect("valid");
        assert_eq!(three.expected, vec![400.0, 600.0, 1000.0]);
        assert!(
            (three.p_value - 8.957_736_717_696_698e-10).abs() < 1e-20,
            "{}",
            three.p_value
        );
        assert!((three.sequential_p_value - 2.415_747_873_716_665_6e-8).abs() < 1e-19);
        let balanced = SrmTest::run(&[400, 400], &[50.0, 50.0]).expect("valid");
        assert_eq!((balanced.p_value, balanced.sequential_p_value), (1.0, 1.0));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(
            SrmTest::run(&[1, 2], &[1.0]),
            Err(ExperimentError::SplitLength {
                groups: 2,
                weights: 1
            })
        );
        assert_eq!(
            SrmTest::run(&[5], &[1.0]),
            Err(ExperimentError::TooFewGroups(1))
        );
        assert_eq!(
            SrmTest::run(&[0, 0], &[1.0, 1.0]),
            Err(ExperimentError::NoUsers)
        );
        let error = SrmTest::run(&[3, 4], &[1.0, -2.0]).unwrap_err();
        assert!(error.to_string().contains("split weight"));
    }
}
