//! The units a forecast fit runs in: the fit window shifted by a central
//! value and scaled by powers of two to a spread of about 1, and the way
//! back.
//!
//! Why: AutoETS's optimiser steps and stopping rule are partly absolute
//! (a simplex step of 5 % of the initial level, `1e-8` floors), so a fit on
//! raw values carries an error relative to the series' *level*. On a
//! constant series at 5 the forecast came out as 5.000003 with a band of
//! ±1.4e-6 that excluded 5, and a steady metric at 1e6 with noise of 0.001
//! fared no better. Shifted to a central value, the error is relative to
//! the *spread* instead, far inside a band of several sds. And squares of
//! values near ±1e308 overflow inside the fit, which then failed and left
//! no band at all; at a spread of about 1 nothing overflows, and the band
//! comes back in the series' units (clamped to the finite range, so a band
//! whose true width exceeds `f64` still contains every value).
//!
//! Scaling by powers of two is exact, and the shift is a value of the
//! window, so nothing is lost for ordinary data but the rounding of
//! `x - centre`.

/// How values of one fit window map to the units the model is fitted in:
/// `y = (x * pre - centre) * post`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Units {
    /// Power of two that brings the window's largest magnitude to [1, 2).
    pre: f64,
    /// The window's middle value (after `pre`).
    centre: f64,
    /// Power of two that brings the largest shifted magnitude to [1, 2).
    post: f64,
}

/// A fit window in model units, or the value of a window with no spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Window {
    /// `values` were rewritten in these units.
    Scaled(Units),
    /// Every value equals this one: there is nothing to fit, and the
    /// forecast is the value itself (a band of width 0 around it).
    Constant(f64),
}

impl Units {
    /// Rewrites `values` (finite) into model units in place. `scratch` is
    /// reused to find the middle value.
    pub(crate) fn normalise(values: &mut [f64], scratch: &mut Vec<f64>) -> Window {
        let Some(&first) = values.first() else {
            return Window::Constant(f64::NAN);
        };
        if values.iter().all(|&x| x == first) {
            return Window::Constant(first);
        }
        let pre = unit_scale(values.iter().fold(0.0, |m: f64, x| m.max(x.abs())));
        scratch.clear();
        scratch.extend(values.iter().map(|x| x * pre));
        let middle = scratch.len() / 2;
        let (_, &mut centre, _) = scratch.select_nth_unstable_by(middle, f64::total_cmp);
        // |x * pre| < 2, so the shifted values stay below 4: no overflow.
        let spread = values
            .iter()
            .fold(0.0, |m: f64, x| m.max((x * pre - centre).abs()));
        let post = unit_scale(spread);
        for x in values.iter_mut() {
            *x = (*x * pre - centre) * post;
        }
        Window::Scaled(Units { pre, centre, post })
    }

    /// A value of the model (forecast or bound) back in the series' units,
    /// clamped to the finite range.
    pub(crate) fn restore(&self, y: f64) -> f64 {
        ((y / self.post + self.centre) / self.pre).clamp(-f64::MAX, f64::MAX)
    }
}

/// The power of two that brings `magnitude` (> 0) into [1, 2); 1 for 0 or
/// a magnitude whose scale would not be a finite power of two.
fn unit_scale(magnitude: f64) -> f64 {
    if !(magnitude.is_normal()) {
        return 1.0;
    }
    // A normal magnitude lies in [2^e, 2^(e+1)) with e in -1022..=1023.
    let biased = (magnitude.to_bits() >> 52) & 0x7ff;
    // 2^-e, built from its bits (exact on every target): biased exponent
    // 2046 - biased, or for e = 1023 the subnormal 2^-1023, exact too, as
    // is every product with it that stays normal.
    match 2046 - biased {
        0 => f64::from_bits(1 << 51),
        scaled => f64::from_bits(scaled << 52),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_scales_are_powers_of_two() {
        assert_eq!(unit_scale(1.0), 1.0);
        assert_eq!(unit_scale(5.0), 0.25);
        assert_eq!(unit_scale(0.3), 4.0);
        assert!((1.0..2.0).contains(&(unit_scale(f64::MAX) * f64::MAX)));
        assert!((1.0..2.0).contains(&(unit_scale(3e-300) * 3e-300)));
        assert_eq!(unit_scale(0.0), 1.0);
        assert_eq!(unit_scale(1e-300), 2f64.powi(997));
        assert_eq!(unit_scale(1e308), 2f64.powi(-1023));
    }

    #[test]
    fn values_round_trip_and_extremes_stay_finite() {
        let original = [10.0, 11.5, 9.25, 1e308, -1e308, 12.0];
        let mut values = original;
        let Window::Scaled(units) = Units::normalise(&mut values, &mut Vec::new()) else {
            panic!("not constant");
        };
        assert!(
            values.iter().all(|y| y.is_finite() && y.abs() < 2.0),
            "{values:?}"
        );
        for (y, x) in values.iter().zip(original) {
            let back = units.restore(*y);
            assert!(
                (back - x).abs() <= 1e-12 * x.abs().max(1e292),
                "{back} vs {x}"
            );
        }
        // A bound beyond the finite range comes back clamped, not infinite.
        assert_eq!(units.restore(1e9), f64::MAX);
        assert_eq!(units.restore(-1e9), -f64::MAX);
        // Ordinary values: exact round trip through a centre of the window.
        let mut values = [100.0, 103.0, 98.5, 101.0];
        let Window::Scaled(units) = Units::normalise(&mut values, &mut Vec::new()) else {
            panic!("not constant");
        };
        let back: Vec<f64> = values.iter().map(|&y| units.restore(y)).collect();
        assert_eq!(back, [100.0, 103.0, 98.5, 101.0]);
        let mut constant = [0.1; 5];
        assert_eq!(
            Units::normalise(&mut constant, &mut Vec::new()),
            Window::Constant(0.1)
        );
    }
}
