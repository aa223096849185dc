//! The chart's scales: where the plot sits in the canvas, which values and
//! times its axes span, and which ticks they show: round times and round
//! numbers, as many as fit the width without overlapping or being cut at an
//! edge. Pure, so the canvas drawing, the axis labels and the tooltip agree
//! (and it runs in unit tests).
// The server draws no chart: there only the band clamp is used.
#![cfg_attr(not(feature = "hydrate"), allow(dead_code))]

use detect::Point;

use crate::format::{self, Quantity, When};

/// CSS pixels around the plot: the margin, the y labels' column and the x
/// labels' row.
pub const MARGIN: f64 = 12.0;
pub const Y_LABELS: f64 = 48.0;
pub const X_LABELS: f64 = 24.0;

/// Width of one character of an axis label (12 px sans-serif), generously.
const CHAR_PX: f64 = 7.0;
/// Widest time label: `05 Dec`.
const TIME_LABEL_PX: f64 = 6.0 * CHAR_PX;
/// Space kept free between two time labels.
const LABEL_GAP_PX: f64 = 10.0;

const HOUR: i64 = 3_600;
const DAY: i64 = 24 * HOUR;
/// Time steps the x axis may take; weeks start on Mondays. Three days fit
/// two weeks on a phone with more than two labels.
const TIME_STEPS: [i64; 11] = [
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    3 * DAY,
    7 * DAY,
    14 * DAY,
    28 * DAY,
];
/// 1970-01-05, the first Monday after the epoch.
const MONDAY: i64 = 4 * DAY;

/// The canvas's CSS size; the plot is what the margins and labels leave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plot {
    pub width: f64,
    pub height: f64,
}

impl Plot {
    pub fn left(&self) -> f64 {
        MARGIN + Y_LABELS
    }
    pub fn right(&self) -> f64 {
        (self.width - MARGIN).max(self.left() + 1.0)
    }
    pub fn top(&self) -> f64 {
        MARGIN
    }
    pub fn bottom(&self) -> f64 {
        (self.height - MARGIN - X_LABELS).max(self.top() + 1.0)
    }
}

/// A tick at `at` on its axis, `px` CSS pixels from the canvas's left (x) or
/// top (y), written `text`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick<T> {
    pub at: T,
    pub px: f64,
    pub text: String,
}

/// Both axes of one drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct Axes {
    pub plot: Plot,
    /// Unix seconds `[from, to]` across the plot.
    pub x: (i64, i64),
    /// Values bottom to top.
    pub y: (f64, f64),
    pub x_ticks: Vec<Tick<i64>>,
    pub y_ticks: Vec<Tick<f64>>,
}

impl Axes {
    /// Axes for `points` spanning the times `x` in a canvas of `plot`'s size.
    pub fn new(plot: Plot, x: (i64, i64), points: &[Point], quantity: Quantity) -> Axes {
        let (low, high) = value_extent(points, quantity);
        let ((y0, y1), step) = round_range(low, high, &plot, quantity == Quantity::Count);
        let mut axes = Axes {
            plot,
            x: (x.0, x.1.max(x.0 + 1)),
            y: (y0, y1),
            x_ticks: Vec::new(),
            y_ticks: Vec::new(),
        };
        let count = ((y1 - y0) / step).round() as usize;
        axes.y_ticks = (0..=count)
            .map(|k| y0 + k as f64 * step)
            .map(|at| Tick {
                at,
                px: axes.y_px(at),
                text: format::quantity_tick(at, step, quantity),
            })
            .collect();
        axes.x_ticks = axes.time_ticks();
        axes
    }

    /// The value axis's (`y`) or the time axis's labels: where, and what.
    pub fn labels(&self, y: bool) -> Vec<(f64, String)> {
        if y {
            self.y_ticks
                .iter()
                .map(|t| (t.px, t.text.clone()))
                .collect()
        } else {
            self.x_ticks
                .iter()
                .map(|t| (t.px, t.text.clone()))
                .collect()
        }
    }

    /// CSS pixels from the canvas's left of time `t`.
    pub fn x_px(&self, t: i64) -> f64 {
        let (l, r) = (self.plot.left(), self.plot.right());
        l + (t - self.x.0) as f64 / (self.x.1 - self.x.0) as f64 * (r - l)
    }

    /// CSS pixels from the canvas's top of value `v`.
    pub fn y_px(&self, v: f64) -> f64 {
        let (t, b) = (self.plot.top(), self.plot.bottom());
        t + (self.y.1 - v) / (self.y.1 - self.y.0) * (b - t)
    }

    /// The time under CSS pixel `px` from the canvas's left, if it is over the plot.
    pub fn time_at(&self, px: f64) -> Option<i64> {
        let (l, r) = (self.plot.left(), self.plot.right());
        (l..=r)
            .contains(&px)
            .then(|| self.x.0 + ((px - l) / (r - l) * (self.x.1 - self.x.0) as f64).floor() as i64)
    }

    /// Ticks on round times, the smallest step whose labels do not touch,
    /// leaving out any label the canvas's edges would cut.
    fn time_ticks(&self) -> Vec<Tick<i64>> {
        let span = (self.x.1 - self.x.0) as f64;
        let width = self.plot.right() - self.plot.left();
        let step = TIME_STEPS
            .into_iter()
            .find(|&s| s as f64 / span * width >= TIME_LABEL_PX + LABEL_GAP_PX)
            .unwrap_or(TIME_STEPS[TIME_STEPS.len() - 1]);
        let origin = if step % (7 * DAY) == 0 { MONDAY } else { 0 };
        let mut t = (self.x.0 - origin).div_euclid(step) * step + origin;
        if t < self.x.0 {
            t += step;
        }
        let half = TIME_LABEL_PX / 2.0;
        let mut ticks = Vec::new();
        while t <= self.x.1 {
            let px = self.x_px(t);
            if px - half >= 0.0 && px + half <= self.plot.width {
                let when = if t % DAY == 0 { When::Date } else { When::Hour };
                ticks.push(Tick {
                    at: t,
                    px,
                    text: format::time(t, when),
                });
            }
            t += step;
        }
        ticks
    }
}

/// The band of `point` inside what `quantity` can take: a count's band
/// never goes below zero, a share's never above one.
pub fn band(point: &Point, quantity: Quantity) -> Option<(f64, f64)> {
    point
        .lower
        .zip(point.upper)
        .map(|(low, high)| (quantity.clamp(low), quantity.clamp(high)))
}

/// The values' extent, widened for the (clamped) band by at most half the
/// values' span: one wild band edge must not flatten the whole series.
fn value_extent(points: &[Point], quantity: Quantity) -> (f64, f64) {
    let (low, high) = extent(points.iter().filter_map(|p| p.value));
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    let span = (high - low).max(high.abs() * 0.01).max(1e-9);
    let (band_low, band_high) = extent(
        points
            .iter()
            .filter_map(|p| band(p, quantity))
            .flat_map(|(l, h)| [l, h]),
    );
    let low = low.min(band_low.max(low - span * 0.5));
    let high = high.max(band_high.min(high + span * 0.5));
    (quantity.clamp(low), quantity.clamp(high).max(low))
}

/// `[low, high]` widened to round numbers 1, 2 or 5 × 10ⁿ apart (whole ones
/// for counts), about one tick per 40 px of height; and that step.
fn round_range(low: f64, high: f64, plot: &Plot, whole: bool) -> ((f64, f64), f64) {
    let ticks = ((plot.bottom() - plot.top()) / 40.0).clamp(3.0, 6.0);
    let rough = ((high - low) / ticks).max(high.abs() * 1e-6).max(1e-9);
    let magnitude = 10f64.powf(rough.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    if whole {
        step = step.max(1.0);
    }
    let from = (low / step).floor() * step;
    let to = ((high / step).ceil() * step).max(from + step);
    ((from, to), step)
}

/// (min, max) of finite values; (inf, -inf) when there are none.
fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(value: f64, lower: f64, upper: f64) -> Point {
        Point {
            value: Some(value),
            lower: Some(lower),
            upper: Some(upper),
            expected: Some(value),
            is_anomaly: false,
            score: 0.0,
            deviation: None,
        }
    }

    /// Noon, 30 Nov 2026.
    const T0: i64 = 1_796_040_000;

    #[test]
    fn count_axes_start_at_zero_on_round_numbers() {
        let points = [point(2.0, -3.67, 86.33), point(80.0, -3.0, 80.0)];
        let plot = Plot {
            width: 900.0,
            height: 340.0,
        };
        let axes = Axes::new(plot, (T0, T0 + DAY), &points, Quantity::Count);
        assert_eq!(axes.y.0, 0.0, "a count's axis does not go below zero");
        assert!(axes.y.1 >= 86.33);
        let texts: Vec<&str> = axes.y_ticks.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts.first(), Some(&"0"));
        let step = axes.y_ticks[1].at - axes.y_ticks[0].at;
        assert!([10.0, 20.0, 50.0].contains(&step), "round step, got {step}");
        assert_eq!(band(&points[0], Quantity::Count), Some((0.0, 86.33)));
        assert_eq!(
            band(&point(0.5, -0.2, 1.3), Quantity::Ratio { share: true }),
            Some((0.0, 1.0))
        );
    }

    #[test]
    fn time_ticks_are_round_apart_and_inside_at_any_width() {
        let points = [point(1.0, 0.0, 2.0)];
        // 320 px: the chart's canvas on a 375 px phone.
        for (width, span) in [
            (900.0, 30 * DAY),
            (900.0, DAY),
            (320.0, 30 * DAY),
            (320.0, DAY),
        ] {
            // A view starting at an odd minute, as zoom and pan leave it.
            let x = (T0 + 53 * 60, T0 + 53 * 60 + span);
            let plot = Plot {
                width,
                height: 240.0,
            };
            let axes = Axes::new(plot, x, &points, Quantity::Count);
            let ticks = &axes.x_ticks;
            assert!(ticks.len() >= 3, "{width} px, {span} s: {ticks:?}");
            for t in ticks {
                assert_eq!(t.at % HOUR, 0, "{} is on the hour", t.text);
                assert!(t.px - TIME_LABEL_PX / 2.0 >= 0.0 && t.px + TIME_LABEL_PX / 2.0 <= width);
            }
            for pair in ticks.windows(2) {
                assert!(pair[1].px - pair[0].px >= TIME_LABEL_PX + LABEL_GAP_PX);
            }
        }
        let day = Axes::new(
            Plot {
                width: 900.0,
                height: 240.0,
            },
            (T0, T0 + DAY),
            &points,
            Quantity::Count,
        );
        let texts: Vec<&str> = day.x_ticks.iter().map(|t| t.text.as_str()).collect();
        assert!(
            texts.contains(&"01 Dec"),
            "midnight is written as the date: {texts:?}"
        );
        assert!(texts.contains(&"18:00"), "{texts:?}");
    }

    #[test]
    fn time_at_maps_back_from_pixels() {
        let plot = Plot {
            width: 500.0,
            height: 200.0,
        };
        let axes = Axes::new(plot, (0, 1000), &[], Quantity::Count);
        assert_eq!(axes.time_at(plot.left()), Some(0));
        assert_eq!(axes.time_at(plot.right()), Some(1000));
        assert_eq!(axes.time_at(plot.left() - 1.0), None);
        assert!((axes.x_px(500) - (plot.left() + plot.right()) / 2.0).abs() < 1e-9);
    }
}
