//! What a group of users amounts to for the tests: the count of users and the
//! sums over users of a numerator `x`, a denominator `y`, their squares and
//! their product. Those six numbers are all the delta method needs, and a
//! server gets them with one grouped query over per-user aggregates:
//!
//! ```sql
//! SELECT exp_group, count() AS users,
//!        sum(x) AS sum_x, sum(y) AS sum_y,
//!        sum(x * x) AS sum_xx, sum(y * y) AS sum_yy, sum(x * y) AS sum_xy
//! FROM (SELECT user_id, exp_group,
//!              countIf(action = 'like') AS x, countIf(action = 'view') AS y
//!       FROM feed_actions WHERE time >= {start} GROUP BY user_id, exp_group)
//! GROUP BY exp_group
//! ```

use super::ExperimentError;

/// Per-user sums of one group. For a count-per-user metric only `users`,
/// `sum_x` and `sum_xx` matter (the denominator is the user, see
/// [`GroupSummary::per_user`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GroupSummary {
    /// Users in the group (each counted once).
    pub users: u64,
    /// Σ x over users (likes, messages, ...).
    pub sum_x: f64,
    /// Σ y over users (views for CTR).
    pub sum_y: f64,
    /// Σ x².
    pub sum_xx: f64,
    /// Σ y².
    pub sum_yy: f64,
    /// Σ x·y.
    pub sum_xy: f64,
}

impl GroupSummary {
    /// A count-per-user metric's summary: the denominator of every user is 1,
    /// so the ratio `Σx / Σy` is the mean per user.
    pub fn per_user(users: u64, sum_x: f64, sum_xx: f64) -> Self {
        let n = users as f64;
        Self {
            users,
            sum_x,
            sum_y: n,
            sum_xx,
            sum_yy: n,
            sum_xy: sum_x,
        }
    }

    /// The summary of `(x, y)` pairs, one per user.
    pub fn from_users(pairs: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let mut summary = Self::default();
        for (x, y) in pairs {
            summary.add_user(x, y);
        }
        summary
    }

    /// Add one user's numerator and denominator.
    pub fn add_user(&mut self, x: f64, y: f64) {
        self.users += 1;
        self.sum_x += x;
        self.sum_y += y;
        self.sum_xx += x * x;
        self.sum_yy += y * y;
        self.sum_xy += x * y;
    }

    /// Two disjoint sets of users together (groups pooled into one arm).
    pub fn merged(&self, other: &Self) -> Self {
        Self {
            users: self.users + other.users,
            sum_x: self.sum_x + other.sum_x,
            sum_y: self.sum_y + other.sum_y,
            sum_xx: self.sum_xx + other.sum_xx,
            sum_yy: self.sum_yy + other.sum_yy,
            sum_xy: self.sum_xy + other.sum_xy,
        }
    }

    /// Every sum finite and the squares non-negative, or an error naming the
    /// group and the field.
    pub fn validate(&self, group: &str) -> Result<(), ExperimentError> {
        let fields = [
            ("sum_x", self.sum_x),
            ("sum_y", self.sum_y),
            ("sum_xx", self.sum_xx),
            ("sum_yy", self.sum_yy),
            ("sum_xy", self.sum_xy),
        ];
        for (field, value) in fields {
            if !value.is_finite() {
                return Err(ExperimentError::NotFinite {
                    group: group.to_string(),
                    field,
                    value,
                });
            }
        }
        for (field, value) in [("sum_xx", self.sum_xx), ("sum_yy", self.sum_yy)] {
            if value < 0.0 {
                return Err(ExperimentError::NegativeSquares {
                    group: group.to_string(),
                    field,
                    value,
                });
            }
        }
        Ok(())
    }

    /// The group's ratio `Σx / Σy` and the variance of that estimate by the
    /// delta method: the sample variance of the linearised per-user value
    /// `x - R·y` over `n·ȳ²`. For a count-per-user metric (`y = 1`) this is
    /// the mean and `s²/n`, Welch's per-group term.
    pub(crate) fn ratio_and_variance(&self, group: &str) -> Result<(f64, f64), ExperimentError> {
        self.validate(group)?;
        if self.users < 2 {
            return Err(ExperimentError::TooFewUsers {
                group: group.to_string(),
                users: self.users,
            });
        }
        if self.sum_y <= 0.0 {
            return Err(ExperimentError::EmptyDenominator {
                group: group.to_string(),
                sum_y: self.sum_y,
            });
        }
        let n = self.users as f64;
        let ratio = self.sum_x / self.sum_y;
        let mean_y = self.sum_y / n;
        // Σ(x - R·y)² = Σx² - 2RΣxy + R²Σy²; its mean is 0 for the group's own R.
        let linearised_squares =
            (self.sum_xx - 2.0 * ratio * self.sum_xy + ratio * ratio * self.sum_yy).max(0.0);
        let variance = linearised_squares / (n - 1.0) / (n * mean_y * mean_y);
        Ok((ratio, variance))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_user_variance_is_the_squared_standard_error() {
        // Values 1, 2, 3, 6: mean 3, sample variance 14/3, s²/n = 7/6.
        let summary = GroupSummary::from_users([1.0, 2.0, 3.0, 6.0].map(|x| (x, 1.0)));
        let (mean, variance) = summary.ratio_and_variance("g").expect("valid");
        assert_eq!(mean, 3.0);
        assert!((variance - 7.0 / 6.0).abs() < 1e-12, "{variance}");
        let same = GroupSummary::per_user(4, 12.0, 50.0);
        assert_eq!(same, summary);
    }

    #[test]
    fn ratio_variance_matches_the_linearised_values() {
        // Reference, python3 with numpy: x = [3, 0, 5, 2, 8], y = [10, 4, 20, 9, 30];
        // R = x.sum() / y.sum(); L = x - R * y;
        // L.var(ddof=1) / (5 * y.mean()**2) = 0.00039271798559636163
        let summary = GroupSummary::from_users([
            (3.0, 10.0),
            (0.0, 4.0),
            (5.0, 20.0),
            (2.0, 9.0),
            (8.0, 30.0),
        ]);
        let (ratio, variance) = summary.ratio_and_variance("g").expect("valid");
        assert!((ratio - 18.0 / 73.0).abs() < 1e-15);
        assert!(
            (variance - 0.000_392_717_985_596_361_63).abs() < 1e-16,
            "{variance}"
        );
    }

    #[test]
    fn bad_sums_are_errors_that_name_the_group_and_field() {
        let mut summary = GroupSummary::per_user(10, 5.0, 9.0);
        summary.sum_xy = f64::NAN;
        let error = summary.ratio_and_variance("treatment 2").unwrap_err();
        assert!(error.to_string().contains("treatment 2") && error.to_string().contains("sum_xy"));
        let negative = GroupSummary {
            sum_xx: -1.0,
            ..GroupSummary::per_user(10, 5.0, 9.0)
        };
        assert!(matches!(
            negative.validate("c"),
            Err(ExperimentError::NegativeSquares { .. })
        ));
        let lone = GroupSummary::per_user(1, 5.0, 25.0);
        assert!(matches!(
            lone.ratio_and_variance("c"),
            Err(ExperimentError::TooFewUsers { users: 1, .. })
        ));
        let no_views = GroupSummary::from_users([(0.0, 0.0), (0.0, 0.0)]);
        assert!(matches!(
            no_views.ratio_and_variance("c"),
            Err(ExperimentError::EmptyDenominator { .. })
        ));
    }
}
