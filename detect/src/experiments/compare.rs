//! One treatment group against control on one metric: the relative effect
//! `treatment / control - 1` and its variance, the user being the unit.
//!
//! Both metric kinds reduce to a ratio of per-user sums `Σx / Σy`: a
//! count-per-user metric is the ratio with `y = 1` per user (the mean per
//! user, Welch's per-group variance `s²/n`), a ratio metric such as CTR keeps
//! its denominator (views) and gets the delta-method variance, i.e. the
//! variance of the linearised per-user value `likes - CTR·views`. Pooling
//! events instead (a binomial test on all views) would pretend every view is
//! independent and alarm on ordinary differences between users.

use super::stats::{normal_quantile, two_sided_p};
use super::{ExperimentError, GroupSummary};

/// How a metric is built from per-user values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum MetricKind {
    /// A count per user (messages sent, views): the mean of `x` over users;
    /// the summaries' `y` sums are ignored.
    PerUser,
    /// A ratio of two per-user counts (CTR = likes / views): `Σx / Σy`.
    Ratio,
}

/// The comparison of one treatment with control, in relative terms.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Estimate {
    /// Control's value (mean per user, or ratio).
    pub control: f64,
    /// Treatment's value.
    pub treatment: f64,
    /// `treatment / control - 1` (-0.15 is 15% below control).
    pub relative: f64,
    /// Variance of `relative` (delta method, both groups' uncertainty).
    pub variance: f64,
}

impl Estimate {
    /// Standard error of [`Estimate::relative`].
    pub fn standard_error(&self) -> f64 {
        self.variance.sqrt()
    }

    /// The fixed-horizon (single look) two-sided p-value of "no effect".
    /// Valid only for one look decided in advance; the check loop uses
    /// [`super::Msprt`] instead.
    pub fn fixed_p_value(&self) -> f64 {
        two_sided_p(self.relative / self.standard_error())
    }

    /// The fixed-horizon interval at `confidence` (0.95 for 95%).
    pub fn fixed_interval(&self, confidence: f64) -> (f64, f64) {
        let z = normal_quantile(0.5 + confidence / 2.0);
        let half = z * self.standard_error();
        (self.relative - half, self.relative + half)
    }
}

/// Compare `treatment` with `control` on a metric of `kind`.
///
/// Errors: malformed sums (not finite, negative squares), and the cases
/// where there is nothing to compare yet (see
/// [`ExperimentError::is_insufficient_data`]): fewer than two users in a
/// group, no denominator, a control value of zero, no variation at all.
pub fn compare(
    kind: MetricKind,
    control: &GroupSummary,
    treatment: &GroupSummary,
) -> Result<Estimate, ExperimentError> {
    let as_kind = |summary: &GroupSummary| match kind {
        MetricKind::PerUser => GroupSummary::per_user(summary.users, summary.sum_x, summary.sum_xx),
        MetricKind::Ratio => *summary,
    };
    let (control_value, control_variance) = as_kind(control).ratio_and_variance("control")?;
    let (treatment_value, treatment_variance) =
        as_kind(treatment).ratio_and_variance("treatment")?;
    if control_value == 0.0 {
        return Err(ExperimentError::ZeroBaseline);
    }
    let ratio = treatment_value / control_value;
    // Delta method for T/C with independent groups:
    // Var(T/C) ≈ (Var T + (T/C)² Var C) / C².
    let variance =
        (treatment_variance + ratio * ratio * control_variance) / (control_value * control_value);
    if variance.is_nan() || variance <= 0.0 || variance.is_infinite() {
        return Err(ExperimentError::NoVariation);
    }
    Ok(Estimate {
        control: control_value,
        treatment: treatment_value,
        relative: ratio - 1.0,
        variance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(values: &[(f64, f64)]) -> GroupSummary {
        GroupSummary::from_users(values.iter().copied())
    }

    #[test]
    fn per_user_metric_is_welch_on_the_means() {
        // Reference, python3 with numpy:
        // c = [2, 4, 4, 5, 7, 8]; t = [5, 6, 9, 9, 10, 12, 13]
        // vc = var(c, ddof=1)/6; vt = var(t, ddof=1)/7; r = mean(t)/mean(c)
        // relative = r - 1 = 0.8285714285714285
        // variance = (vt + r**2 * vc) / mean(c)**2 = 0.15543292517006801
        let c: Vec<(f64, f64)> = [2.0, 4.0, 4.0, 5.0, 7.0, 8.0].map(|x| (x, 99.0)).to_vec();
        let t: Vec<(f64, f64)> = [5.0, 6.0, 9.0, 9.0, 10.0, 12.0, 13.0]
            .map(|x| (x, 1.0))
            .to_vec();
        // PerUser ignores the denominators (99 views above): only x counts.
        let estimate = compare(MetricKind::PerUser, &users(&c), &users(&t)).expect("valid");
        assert!((estimate.control - 5.0).abs() < 1e-15);
        assert!((estimate.relative - 0.828_571_428_571_428_5).abs() < 1e-14);
        assert!(
            (estimate.variance - 0.155_432_925_170_068_01).abs() < 1e-14,
            "{}",
            estimate.variance
        );
    }

    #[test]
    fn ratio_metric_uses_the_delta_method() {
        // Reference, python3 with numpy, per group: R = x.sum()/y.sum(),
        // var_R = (x - R*y).var(ddof=1) / (n * y.mean()**2); then
        // relative = Rt/Rc - 1 = -0.42806267806267806,
        // variance = (var_Rt + (Rt/Rc)**2 var_Rc) / Rc**2 = 0.006264520581679872.
        let c = [
            (3.0, 10.0),
            (0.0, 4.0),
            (5.0, 20.0),
            (2.0, 9.0),
            (8.0, 30.0),
        ];
        let t = [
            (1.0, 12.0),
            (2.0, 10.0),
            (4.0, 25.0),
            (0.0, 3.0),
            (3.0, 20.0),
            (1.0, 8.0),
        ];
        let estimate = compare(MetricKind::Ratio, &users(&c), &users(&t)).expect("valid");
        assert!(
            (estimate.relative + 0.428_062_678_062_678_06).abs() < 1e-14,
            "{}",
            estimate.relative
        );
        assert!(
            (estimate.variance - 0.006_264_520_581_679_872).abs() < 1e-14,
            "{}",
            estimate.variance
        );
        let (low, high) = estimate.fixed_interval(0.95);
        let se = estimate.standard_error();
        assert!((high - low - 2.0 * 1.959_963_984_540_054 * se).abs() < 1e-12);
    }

    #[test]
    fn nothing_to_compare_is_an_insufficient_data_error() {
        let zero = users(&[(0.0, 5.0), (0.0, 3.0)]);
        let some = users(&[(1.0, 5.0), (2.0, 3.0)]);
        let error = compare(MetricKind::Ratio, &zero, &some).unwrap_err();
        assert_eq!(error, ExperimentError::ZeroBaseline);
        assert!(error.is_insufficient_data());
        let flat = users(&[(1.0, 1.0), (1.0, 1.0)]);
        let error = compare(MetricKind::PerUser, &flat, &flat).unwrap_err();
        assert_eq!(error, ExperimentError::NoVariation);
        let lone = users(&[(1.0, 1.0)]);
        let error = compare(MetricKind::PerUser, &some, &lone).unwrap_err();
        assert!(error.is_insufficient_data() && error.to_string().contains("treatment"));
    }
}
