//! A deterministic labelled benchmark: realistic 15-minute product metrics
//! with one injected anomaly class per case.
//!
//! Every case has 4 weeks of history (the seasonal detectors' lookback)
//! followed by a scored week ([`LabelledSeries::eval_start`] = 4 weeks)
//! that holds the anomaly. The series have a daily cycle (night trough at
//! 04:00, daytime rise and an evening peak around 20:00), a weekly cycle
//! (quieter weekends whose day starts later, as people sleep in: the
//! Saturday morning ramp is then far below Friday's without being an
//! incident), slow growth, and noise that matches their scale:
//! Poisson counts around [`Scale::Tiny`] 20, [`Scale::Medium`] 400 and
//! [`Scale::Large`] 5000 per bucket (plus 3 % over-dispersion), and a
//! CTR-like [`Scale::Ratio`] around 0.2 with binomial noise.
//!
//! The generator is a splitmix64 (`eval::sim`, shared with `families`): the
//! same seed gives the same cases on every platform.

use crate::eval::labels::{IncidentSpan, LabelledSeries};
use crate::eval::sim::{daily_shape, Rng};
use crate::series::Series;

const DAY: usize = 96;
const WEEK: usize = 7 * DAY;
const HISTORY: usize = 4 * WEEK;
const LEN: usize = HISTORY + WEEK;
const STEP: i64 = 900;
/// Monday 2024-01-01 00:00:00 UTC.
const START: i64 = 1_704_067_200;
/// [`LabelledSeries::family`] of every case here.
pub const FAMILY: &str = "product_15m";

/// The anomaly classes that matter in production (plus `clean`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnomalyClass {
    /// The last 1–4 points fall to zero (the series ends there).
    ToZero,
    /// A 3–6-fold drop for 30 minutes to 2 hours.
    FoldDrop,
    /// 3–8 points falling by different amplitudes (to 20–70 %).
    MultiDrop,
    /// A drop of the organic traffic to 20–50 % while a fraud spike (+100–200 %) runs.
    DropDuringSpike,
    /// A level shift down of 20–40 % for 4–12 hours.
    ShiftedDown,
    /// A 2–4-fold spike for 1–4 points.
    SpikeUp,
    /// A linear decline of 30–50 % over 3–6 hours, held 2 hours.
    SlowDecline,
    /// No anomaly: the false-alert rate.
    Clean,
}

impl AnomalyClass {
    /// Every class, in report order.
    pub const ALL: [AnomalyClass; 8] = [
        AnomalyClass::ToZero,
        AnomalyClass::FoldDrop,
        AnomalyClass::MultiDrop,
        AnomalyClass::DropDuringSpike,
        AnomalyClass::ShiftedDown,
        AnomalyClass::SpikeUp,
        AnomalyClass::SlowDecline,
        AnomalyClass::Clean,
    ];

    /// Short snake_case name (`to_zero`, ..., `clean`).
    pub fn name(self) -> &'static str {
        match self {
            AnomalyClass::ToZero => "to_zero",
            AnomalyClass::FoldDrop => "fold_drop",
            AnomalyClass::MultiDrop => "multi_drop",
            AnomalyClass::DropDuringSpike => "drop_during_spike",
            AnomalyClass::ShiftedDown => "shifted_down",
            AnomalyClass::SpikeUp => "spike_up",
            AnomalyClass::SlowDecline => "slow_decline",
            AnomalyClass::Clean => "clean",
        }
    }
}

/// The size of a metric, which sets its noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scale {
    /// A small slice: ~20 per bucket (a few at night).
    Tiny,
    /// ~400 per bucket.
    Medium,
    /// A whole product metric: ~5000 per bucket.
    Large,
    /// A CTR-like ratio around 0.2, of 300 to 3000 impressions per bucket
    /// on a day's average (a whole product's CTR is often the former: its
    /// noise is then far from negligible).
    Ratio,
}

impl Scale {
    /// Every scale.
    pub const ALL: [Scale; 4] = [Scale::Tiny, Scale::Medium, Scale::Large, Scale::Ratio];

    /// Short name (`tiny`, `medium`, `large`, `ratio`).
    pub fn name(self) -> &'static str {
        match self {
            Scale::Tiny => "tiny",
            Scale::Medium => "medium",
            Scale::Large => "large",
            Scale::Ratio => "ratio",
        }
    }
}

/// Per-case parameters of the organic series.
struct Shape {
    level: f64,
    night: f64,
    evening: f64,
    weekend: f64,
    /// Hours the weekend's daily cycle runs behind the weekdays'.
    weekend_shift: f64,
    /// A ratio's impressions per bucket on a day's average.
    audience: f64,
    growth: f64,
    dispersion: f64,
}

impl Shape {
    fn draw(scale: Scale, rng: &mut Rng) -> Shape {
        let level = match scale {
            Scale::Tiny => 20.0,
            Scale::Medium => 400.0,
            Scale::Large => 5000.0,
            Scale::Ratio => 0.2,
        } * rng.range(0.7, 1.4);
        Shape {
            level,
            night: rng.range(0.1, 0.3),
            evening: rng.range(0.1, 0.5),
            weekend: rng.range(0.75, 1.0),
            weekend_shift: rng.range(0.0, 2.0),
            audience: 300.0 * 10f64.powf(rng.range(0.0, 1.0)),
            // Over the 5 weeks.
            growth: rng.range(-0.02, 0.15),
            dispersion: 0.03,
        }
    }

    /// Expected value at bucket `t` (ratios: the CTR, with a mild cycle).
    fn expected(&self, t: usize, scale: Scale) -> f64 {
        let cycle = self.cycle(t);
        let week = if is_weekend(t) { self.weekend } else { 1.0 };
        let growth = 1.0 + self.growth * t as f64 / LEN as f64;
        match scale {
            // Normalised so that the daily mean is about `level`.
            Scale::Ratio => self.level * (0.9 + 0.2 * cycle) * growth,
            _ => self.level * 2.0 * cycle * week * growth,
        }
    }

    /// Impressions behind the ratio at bucket `t`.
    fn impressions(&self, t: usize) -> f64 {
        self.audience * 2.0 * self.cycle(t)
    }

    /// The daily cycle at bucket `t`, between `night` and 1.
    fn cycle(&self, t: usize) -> f64 {
        let shift = if is_weekend(t) {
            self.weekend_shift
        } else {
            0.0
        };
        let hour = ((t % DAY) as f64 / 4.0 - shift).rem_euclid(24.0);
        self.night + (1.0 - self.night) * daily_shape(hour, self.evening)
    }
}

/// Saturday or Sunday (the series start on a Monday).
fn is_weekend(t: usize) -> bool {
    (t / DAY) % 7 >= 5
}

/// What a case injects: per-bucket multiplier of the organic level,
/// additive fraud (as a multiple of the organic level; zero multiplier means
/// an exact zero), the series length and the labels.
struct Plan {
    shape: Shape,
    mult: Vec<f64>,
    fraud: Vec<f64>,
    len: usize,
    incidents: Vec<IncidentSpan>,
    neutral: Vec<IncidentSpan>,
    rng: Rng,
}

fn plan(class: AnomalyClass, scale: Scale, seed: u64) -> Plan {
    // Decorrelate nearby seeds and the class/scale.
    let mix = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(((class as u64) << 32) | scale as u64);
    let mut rng = Rng(mix);
    rng.next_u64();
    let shape = Shape::draw(scale, &mut rng);

    // Anomaly: per-bucket multiplier of the organic level, additive fraud
    // (as a multiple of the organic level), forced zeros.
    let mut mult = vec![1.0; LEN];
    let mut fraud = vec![0.0; LEN];
    let mut len = LEN;
    let mut incidents = Vec::new();
    let mut neutral = Vec::new();
    // Start anywhere in the scored week that leaves room for the longest
    // anomaly (14 hours) and its recovery.
    let start = HISTORY + rng.int(0, WEEK - 60);
    match class {
        AnomalyClass::ToZero => {
            let k = rng.int(1, 4);
            for m in &mut mult[start..start + k] {
                *m = 0.0;
            }
            len = start + k;
            incidents.push(IncidentSpan::new(start, start + k));
        }
        AnomalyClass::FoldDrop => {
            let k = rng.int(2, 8);
            let f = 1.0 / rng.range(3.0, 6.0);
            for m in &mut mult[start..start + k] {
                *m = f;
            }
            incidents.push(IncidentSpan::new(start, start + k));
        }
        AnomalyClass::MultiDrop => {
            let k = rng.int(3, 8);
            for m in &mut mult[start..start + k] {
                *m = rng.range(0.2, 0.7);
            }
            incidents.push(IncidentSpan::new(start, start + k));
        }
        AnomalyClass::DropDuringSpike => {
            let lead = rng.int(4, 16);
            let k = rng.int(2, 8);
            let tail = rng.int(4, 16);
            let spike_start = start - lead;
            let spike_end = start + k + tail;
            let size = rng.range(1.0, 2.0);
            for a in &mut fraud[spike_start..spike_end] {
                *a = size;
            }
            for m in &mut mult[start..start + k] {
                *m = rng.range(0.2, 0.5);
            }
            incidents.push(IncidentSpan::new(start, start + k));
            neutral.push(IncidentSpan::new(spike_start, spike_end));
        }
        AnomalyClass::ShiftedDown => {
            let k = rng.int(16, 48);
            let f = 1.0 - rng.range(0.2, 0.4);
            for m in &mut mult[start..start + k] {
                *m = f;
            }
            incidents.push(IncidentSpan::new(start, start + k));
        }
        AnomalyClass::SpikeUp => {
            let k = rng.int(1, 4);
            let f = rng.range(2.0, 4.0);
            for m in &mut mult[start..start + k] {
                *m = f;
            }
            incidents.push(IncidentSpan::new(start, start + k));
        }
        AnomalyClass::SlowDecline => {
            let ramp = rng.int(12, 24);
            let hold = 8;
            let depth = rng.range(0.3, 0.5);
            for (j, m) in mult[start..start + ramp + hold].iter_mut().enumerate() {
                *m = 1.0 - depth * ((j + 1).min(ramp) as f64 / ramp as f64);
            }
            incidents.push(IncidentSpan::new(start, start + ramp + hold));
        }
        AnomalyClass::Clean => {}
    }
    Plan {
        shape,
        mult,
        fraud,
        len,
        incidents,
        neutral,
        rng,
    }
}

/// One case: `class` at `scale`, drawn from `seed`.
pub fn generate_case(class: AnomalyClass, scale: Scale, seed: u64) -> LabelledSeries {
    let Plan {
        shape,
        mult,
        fraud,
        len,
        incidents,
        neutral,
        mut rng,
    } = plan(class, scale, seed);
    let values: Vec<f64> = (0..len)
        .map(|t| {
            let organic = shape.expected(t, scale);
            let mean = organic * (mult[t] + fraud[t]);
            if mult[t] == 0.0 {
                return 0.0;
            }
            match scale {
                Scale::Ratio => {
                    let n = shape.impressions(t);
                    let p = mean.min(0.95);
                    let sd = (p * (1.0 - p) / n).sqrt();
                    let over = shape.dispersion * p * rng.normal();
                    (p + sd * rng.normal() + over).clamp(0.0, 1.0)
                }
                _ => {
                    let over = 1.0 + shape.dispersion * rng.normal();
                    rng.poisson((mean * over).max(0.0))
                }
            }
        })
        .collect();
    let series = Series::from_f64(START, STEP, values).expect("valid synthetic series");
    LabelledSeries {
        name: format!("{}/{}/{seed}", class.name(), scale.name()),
        class: class.name().to_string(),
        scale: scale.name().to_string(),
        family: FAMILY.to_string(),
        series,
        incidents,
        neutral,
        eval_start: HISTORY,
    }
}

/// The benchmark: for every class and scale, `cases` cases with seeds
/// derived from `seed`. Deterministic per seed; class-major order.
pub fn generate(seed: u64, cases: usize) -> Vec<LabelledSeries> {
    generate_with(seed, cases, generate_case)
}

/// `case(class, scale, case seed)` for every class and scale, `cases`
/// seeds each derived from `seed` (the benchmark's order and seeds, shared
/// with [`generate_young`](super::young::generate_young)).
pub(crate) fn generate_with(
    seed: u64,
    cases: usize,
    case: fn(AnomalyClass, Scale, u64) -> LabelledSeries,
) -> Vec<LabelledSeries> {
    let mut out = Vec::with_capacity(AnomalyClass::ALL.len() * Scale::ALL.len() * cases);
    for class in AnomalyClass::ALL {
        for scale in Scale::ALL {
            for i in 0..cases as u64 {
                out.push(case(
                    class,
                    scale,
                    seed.wrapping_mul(1_000_003).wrapping_add(i),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_cases() {
        let a = generate(7, 2);
        let b = generate(7, 2);
        assert_eq!(a, b);
        assert_eq!(a.len(), 8 * 4 * 2);
        assert_ne!(generate(8, 2), a);
    }

    #[test]
    fn every_anomaly_is_inside_its_label_window() {
        for class in AnomalyClass::ALL {
            for scale in Scale::ALL {
                for seed in 0..20 {
                    let p = plan(class, scale, seed);
                    let case = generate_case(class, scale, seed);
                    let name = &case.name;
                    assert_eq!(case.series.len(), p.len, "{name}");
                    assert_eq!(case.eval_start, HISTORY);
                    assert_eq!(case.incidents, p.incidents);
                    if class == AnomalyClass::Clean {
                        assert!(p.incidents.is_empty() && p.len == LEN, "{name}");
                        assert!(p.mult.iter().all(|&m| m == 1.0), "{name}");
                        continue;
                    }
                    assert_eq!(p.incidents.len(), 1, "{name}");
                    let inc = p.incidents[0];
                    assert!(inc.start >= HISTORY && inc.end <= p.len, "{name}");
                    // Exactly the labelled buckets are changed.
                    for t in 0..p.len {
                        assert_eq!(p.mult[t] != 1.0, inc.contains(t), "{name} at {t}");
                        let in_neutral = p.neutral.iter().any(|n| n.contains(t));
                        assert_eq!(p.fraud[t] != 0.0, in_neutral, "{name} at {t}");
                    }
                    let window = (inc.start..inc.end).map(|t| case.series.value(t).unwrap());
                    match class {
                        AnomalyClass::ToZero => {
                            assert!(window.clone().all(|v| v == 0.0), "{name}");
                            assert_eq!(inc.end, p.len, "{name}: zeros at the end");
                        }
                        AnomalyClass::SpikeUp => assert!(p.mult[inc.start] >= 2.0),
                        _ => assert!(p.mult[inc.start..inc.end].iter().all(|&m| m < 1.0)),
                    }
                    // On a whole metric the change is visible in the values.
                    if scale == Scale::Large {
                        let mean_ratio = (inc.start..inc.end)
                            .map(|t| {
                                case.series.value(t).unwrap()
                                    / (p.shape.expected(t, scale) * (1.0 + p.fraud[t]))
                            })
                            .sum::<f64>()
                            / inc.len() as f64;
                        if class == AnomalyClass::SpikeUp {
                            assert!(mean_ratio > 1.5, "{name}: {mean_ratio}");
                        } else {
                            assert!(mean_ratio < 0.9, "{name}: {mean_ratio}");
                        }
                    }
                }
            }
        }
    }
}
