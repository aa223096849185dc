//! The organic part of a family case: its daily and weekly cycle, trend,
//! benign level shifts and slow wander, before any anomaly or noise.

use super::{Cycle, Family, Level, Traits, DAY_SECONDS, HOUR_SECONDS};
use crate::eval::sim::{daily_shape, Rng};

/// The organic expected value of every bucket, and the part of it that is
/// the benign level shifts.
pub(super) fn organic(
    family: Family,
    traits: Traits,
    level: Level,
    rng: &mut Rng,
) -> (Vec<f64>, Vec<f64>) {
    let len = family.case_len();
    let base = level.typical() * rng.range(0.7, 1.4);
    let cycle = DayCycle::draw(traits, level, rng);
    let trend = if traits.trend { draw_trend(rng) } else { 0.0 };
    let shifts = if traits.shifts {
        draw_shifts(family, rng)
    } else {
        Vec::new()
    };
    let step_factors = shift_factors(&shifts, len, rng);
    let wander = if traits.wander {
        ar1_wander(len, family.day(), rng)
    } else {
        vec![0.0; len]
    };
    let history = family.history() as f64;
    let mean = (0..len)
        .map(|t| {
            let seconds = t as i64 * family.step();
            let growth = (1.0 + trend * t as f64 / history).max(0.2);
            base * cycle.factor(seconds) * growth * step_factors[t] * wander[t].exp()
        })
        .collect();
    (mean, step_factors)
}

/// The daily (and weekly) shape of one case.
struct DayCycle {
    cycle: Cycle,
    gauge: bool,
    night: f64,
    evening: f64,
    weekend: f64,
}

impl DayCycle {
    fn draw(traits: Traits, level: Level, rng: &mut Rng) -> DayCycle {
        let night = match traits.cycle {
            Cycle::Mild => rng.range(0.75, 0.9),
            _ => rng.range(0.15, 0.4),
        };
        DayCycle {
            cycle: traits.cycle,
            gauge: level == Level::Gauge,
            night,
            evening: rng.range(0.1, 0.5),
            weekend: if traits.weekly {
                rng.range(0.75, 1.0)
            } else {
                1.0
            },
        }
    }

    /// Multiplier of the base level at `seconds` after the (Monday) start.
    fn factor(&self, seconds: i64) -> f64 {
        if self.cycle == Cycle::None {
            return 1.0;
        }
        let hour = (seconds % DAY_SECONDS) as f64 / HOUR_SECONDS as f64;
        let shape = daily_shape(hour, self.evening);
        let weekday = (seconds / DAY_SECONDS) % 7;
        let week = if weekday >= 5 { self.weekend } else { 1.0 };
        if self.gauge {
            // Latency moves with load, but far less than traffic does.
            let depth = 1.0 - self.night;
            return (1.0 - 0.3 * depth) + 0.6 * depth * shape;
        }
        // Normalised so that the daily mean is about the base level.
        let day = self.night + (1.0 - self.night) * shape;
        week * day / (0.5 * (1.0 + self.night))
    }
}

/// Relative change over the history: +50–100 % or −30–50 %.
fn draw_trend(rng: &mut Rng) -> f64 {
    if rng.chance(0.5) {
        rng.range(0.5, 1.0)
    } else {
        -rng.range(0.3, 0.5)
    }
}

/// 1–3 shift starts in the history, sorted; the last 1–3 days before the
/// scored part, so the detectors meet it still in their lookback.
fn draw_shifts(family: Family, rng: &mut Rng) -> Vec<usize> {
    let day = family.day();
    let history = family.history();
    let last = history - rng.int(day, 3 * day);
    let mut shifts: Vec<usize> = (0..rng.int(0, 2))
        .map(|_| rng.int(day, last.saturating_sub(day)))
        .collect();
    shifts.push(last);
    shifts.sort_unstable();
    shifts
}

/// The level multiplier of every bucket after the `shifts` (each ±20–40 %,
/// the sign chosen to stay within half to twice the starting level).
fn shift_factors(shifts: &[usize], len: usize, rng: &mut Rng) -> Vec<f64> {
    let mut factors = vec![1.0; len];
    let mut level = 1.0;
    for &at in shifts {
        let size = rng.range(0.2, 0.4);
        let up = rng.chance(0.5);
        let next_up = level * (1.0 + size);
        let next_down = level * (1.0 - size);
        level = match (up, next_up <= 2.0, next_down >= 0.5) {
            (true, true, _) | (false, true, false) => next_up,
            _ => next_down,
        };
        for f in factors.iter_mut().skip(at) {
            *f = level;
        }
    }
    factors
}

/// A slow stationary AR(1) in log space: sd 5 %, correlation time of an
/// hour or two, so it has no daily peak in its autocorrelation.
fn ar1_wander(len: usize, day: usize, rng: &mut Rng) -> Vec<f64> {
    let tau = day as f64 / rng.range(12.0, 24.0);
    let rho = (-1.0 / tau).exp();
    let sd = 0.05;
    let innovation = sd * (1.0 - rho * rho).sqrt();
    let mut w = sd * rng.normal();
    (0..len)
        .map(|_| {
            w = rho * w + innovation * rng.normal();
            w
        })
        .collect()
}
