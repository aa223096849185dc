//! Labelled benchmark families beyond the 15-minute product metric of
//! [`synthetic`](super::synthetic): the other kinds of series vigil gets
//! pointed at, so a default can be checked on them too instead of being
//! tuned to one simulator.
//!
//! Each [`Family`] is a set of traits (step, cycle, trend, benign level
//! shifts, missing buckets, over-dispersion, benign bursts) over the same
//! skeleton: an organic expected value per bucket, an injected anomaly of
//! one [`AnomalyClass`] in the scored part (a multiplier of the organic
//! value, exactly on the labelled buckets), then noise. Anomaly durations
//! are in time (a fold drop lasts 30 minutes to 2 hours whatever the
//! step); `to_zero` and `spike_up` last 1–4 points, since they are about
//! the newest points a live check sees.
//!
//! Every case comes in three [`Level`]s: low counts (~30 per bucket), high
//! counts (~3000) and a latency-like gauge (~200). Cases record their
//! family in [`LabelledSeries::family`], their class and level in `class`
//! and `scale`. Deterministic per seed (the splitmix64 of `eval::sim`).

use crate::eval::labels::{incidents_from_flags, IncidentSpan, LabelledSeries};
use crate::eval::sim::{daily_shape, Rng};
use crate::eval::synthetic::AnomalyClass;
use crate::series::Series;

const DAY_SECONDS: i64 = 86_400;
const HOUR_SECONDS: i64 = 3_600;
/// Monday 2024-01-01 00:00:00 UTC.
const START: i64 = 1_704_067_200;

/// A kind of series, other than the 15-minute product metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// A service metric (request rate or latency) at a 60 s step with a
    /// daily cycle: 3 days of history, 1 scored day.
    Service1m,
    /// A service metric at a 300 s step with daily and weekly cycles:
    /// 7 days of history, 2 scored days.
    Service5m,
    /// A product-like metric on the 15-minute grid that reports only now
    /// and then: 30–50 % of buckets missing at random (sparse events,
    /// batch exporters); 14 days of history, 7 scored.
    Irregular,
    /// A stationary noisy series without a daily cycle (queue depth, a
    /// background job's throughput) that wanders slowly around its level;
    /// 300 s step, 7 days of history, 2 scored.
    NoCycle,
    /// A strong steady trend (+50–100 % or −30–50 % over the history,
    /// continuing through the scored part) under a mild daily cycle: a
    /// launch ramping up, a feature being retired; 15-minute step, 14 days
    /// of history, 7 scored.
    Trend,
    /// A daily-cycle metric whose history holds 1–3 benign permanent level
    /// shifts of 20–40 % (a deploy, a new client), the last 1–3 days before
    /// the scored part; 15-minute step, 14 days of history, 7 scored.
    LevelShifts,
    /// A flat, high-variance plateau: negative-binomial counts (or a
    /// heavy-tailed gauge) with about two short benign bursts a day; those
    /// in the scored part are neutral. 300 s step, 7 days of history, 2
    /// scored.
    NoisyPlateau,
}

impl Family {
    /// Every family, in report order.
    pub const ALL: [Family; 7] = [
        Family::Service1m,
        Family::Service5m,
        Family::Irregular,
        Family::NoCycle,
        Family::Trend,
        Family::LevelShifts,
        Family::NoisyPlateau,
    ];

    /// Short snake_case name (`service_1m`, ..., `noisy_plateau`).
    pub fn name(self) -> &'static str {
        match self {
            Family::Service1m => "service_1m",
            Family::Service5m => "service_5m",
            Family::Irregular => "irregular",
            Family::NoCycle => "no_cycle",
            Family::Trend => "trend",
            Family::LevelShifts => "level_shifts",
            Family::NoisyPlateau => "noisy_plateau",
        }
    }

    /// The family named `name` (see [`name`](Self::name)).
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Seconds between buckets.
    pub fn step(self) -> i64 {
        match self {
            Family::Service1m => 60,
            Family::Service5m | Family::NoCycle | Family::NoisyPlateau => 300,
            Family::Irregular | Family::Trend | Family::LevelShifts => 900,
        }
    }

    /// Days of unscored history (at least 3: the seasonal detectors'
    /// default `min_seasons`).
    pub fn history_days(self) -> usize {
        match self {
            Family::Service1m => 3,
            Family::Service5m | Family::NoCycle | Family::NoisyPlateau => 7,
            Family::Irregular | Family::Trend | Family::LevelShifts => 14,
        }
    }

    /// Days scored after the history.
    pub fn scored_days(self) -> usize {
        match self {
            Family::Service1m => 1,
            Family::Service5m | Family::NoCycle | Family::NoisyPlateau => 2,
            Family::Irregular | Family::Trend | Family::LevelShifts => 7,
        }
    }

    /// Buckets in a day.
    pub fn day(self) -> usize {
        (DAY_SECONDS / self.step()) as usize
    }

    /// Buckets of history: [`LabelledSeries::eval_start`].
    pub fn history(self) -> usize {
        self.history_days() * self.day()
    }

    /// Buckets of a whole case (a `to_zero` case ends earlier, at its zeros).
    pub fn case_len(self) -> usize {
        (self.history_days() + self.scored_days()) * self.day()
    }

    /// What the family's organic series is made of.
    fn traits(self) -> Traits {
        let base = Traits {
            cycle: Cycle::Daily,
            weekly: false,
            trend: false,
            shifts: false,
            wander: false,
            missing: false,
            plateau: false,
        };
        match self {
            Family::Service1m => base,
            Family::Service5m => Traits {
                weekly: true,
                ..base
            },
            Family::Irregular => Traits {
                weekly: true,
                missing: true,
                ..base
            },
            Family::NoCycle => Traits {
                cycle: Cycle::None,
                wander: true,
                ..base
            },
            Family::Trend => Traits {
                cycle: Cycle::Mild,
                trend: true,
                ..base
            },
            Family::LevelShifts => Traits {
                weekly: true,
                shifts: true,
                ..base
            },
            Family::NoisyPlateau => Traits {
                cycle: Cycle::None,
                plateau: true,
                ..base
            },
        }
    }
}

/// The size and kind of value, which sets the noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Low counts: ~30 per bucket (Poisson noise dominates).
    Low,
    /// High counts: ~3000 per bucket.
    High,
    /// A latency-like gauge around 200 with multiplicative noise; its
    /// daily cycle is shallow (latency rises a little with load).
    Gauge,
}

impl Level {
    /// Every level, in report order.
    pub const ALL: [Level; 3] = [Level::Low, Level::High, Level::Gauge];

    /// Short name (`low`, `high`, `gauge`), the cases' `scale`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::High => "high",
            Level::Gauge => "gauge",
        }
    }

    fn typical(self) -> f64 {
        match self {
            Level::Low => 30.0,
            Level::High => 3000.0,
            Level::Gauge => 200.0,
        }
    }
}

/// The anomaly classes of the families: the product benchmark's classes
/// that make sense on any series (the two-part ones, a drop under a fraud
/// spike or several drops, are product-specific), and `clean`.
pub const CLASSES: [AnomalyClass; 6] = [
    AnomalyClass::ToZero,
    AnomalyClass::FoldDrop,
    AnomalyClass::ShiftedDown,
    AnomalyClass::SpikeUp,
    AnomalyClass::SlowDecline,
    AnomalyClass::Clean,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cycle {
    None,
    /// Night at 75–90 % of the day.
    Mild,
    /// Night at 15–40 % of the day, an evening peak.
    Daily,
}

#[derive(Debug, Clone, Copy)]
struct Traits {
    cycle: Cycle,
    /// Quieter weekends (only seen by families with a weekend in them).
    weekly: bool,
    trend: bool,
    shifts: bool,
    /// A slow AR(1) wander of the level (stationary).
    wander: bool,
    /// 30–50 % of buckets missing at random.
    missing: bool,
    /// Over-dispersed noise and benign bursts.
    plateau: bool,
}

/// Everything a case is made from before its noise (the tests check the
/// labels and values against it).
struct Plan {
    family: Family,
    level: Level,
    /// Organic expected value per bucket (cycle, trend, shifts, wander).
    mean: Vec<f64>,
    /// Anomaly multiplier: 1 except on the labelled buckets.
    mult: Vec<f64>,
    /// Benign burst multiplier: 1 except on bursts.
    burst: Vec<f64>,
    observed: Vec<bool>,
    /// Buckets of the case (shorter than `mean` for `to_zero`).
    len: usize,
    incidents: Vec<IncidentSpan>,
    neutral: Vec<IncidentSpan>,
    /// The benign level shifts' multiplier per bucket (read by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    shift_level: Vec<f64>,
    /// The noise: log-sd of a gauge, negative-binomial shape of plateau
    /// counts, over-dispersion of other counts.
    noise: f64,
    rng: Rng,
}

fn plan(family: Family, class: AnomalyClass, level: Level, seed: u64) -> Plan {
    // Decorrelate nearby seeds, families, classes and levels.
    let mix = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(((family as u64) << 40) | ((class as u64) << 32) | level as u64);
    let mut rng = Rng(mix);
    rng.next_u64();
    let traits = family.traits();
    let (mean, shift_level) = organic(family, traits, level, &mut rng);
    let anomaly = inject(family, class, &mut rng);
    let (burst, neutral) = if traits.plateau {
        bursts(family, &anomaly, &mut rng)
    } else {
        (vec![1.0; family.case_len()], Vec::new())
    };
    let observed = observed(traits, &anomaly, class, &mut rng);
    let noise = match (traits.plateau, level) {
        (true, Level::Gauge) => rng.range(0.25, 0.4),
        (false, Level::Gauge) => rng.range(0.03, 0.08),
        (true, _) => rng.range(3.0, 8.0),
        // Counts: the over-dispersion of the product benchmark (3 %).
        (false, _) => 0.03,
    };
    Plan {
        family,
        level,
        mean,
        mult: anomaly.mult,
        burst,
        observed,
        len: anomaly.len,
        incidents: anomaly.incidents,
        neutral,
        shift_level,
        noise,
        rng,
    }
}

/// The organic expected value of every bucket, and the part of it that is
/// the benign level shifts.
fn organic(family: Family, traits: Traits, level: Level, rng: &mut Rng) -> (Vec<f64>, Vec<f64>) {
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

/// The injected anomaly.
struct Anomaly {
    mult: Vec<f64>,
    len: usize,
    incidents: Vec<IncidentSpan>,
}

/// Buckets in `seconds` at `step` (at least one).
fn buckets(seconds: i64, step: i64) -> usize {
    (seconds / step).max(1) as usize
}

/// The longest the class can last, in buckets.
fn longest(class: AnomalyClass, step: i64) -> usize {
    match class {
        AnomalyClass::FoldDrop => buckets(2 * HOUR_SECONDS, step),
        AnomalyClass::ShiftedDown => buckets(12 * HOUR_SECONDS, step),
        AnomalyClass::SlowDecline => buckets(8 * HOUR_SECONDS, step),
        _ => 4,
    }
}

fn inject(family: Family, class: AnomalyClass, rng: &mut Rng) -> Anomaly {
    let step = family.step();
    let full = family.case_len();
    let mut mult = vec![1.0; full];
    // Anywhere in the scored part that leaves room for the longest anomaly
    // of the class and an hour of recovery (alerts on the recovery count).
    let room = full - family.history();
    let spare = room.saturating_sub(longest(class, step) + buckets(HOUR_SECONDS, step));
    let start = family.history() + rng.int(0, spare);
    let hours = |lo: f64, hi: f64, rng: &mut Rng| {
        buckets((rng.range(lo, hi) * HOUR_SECONDS as f64) as i64, step)
    };
    let (k, len) = match class {
        AnomalyClass::ToZero => {
            let k = rng.int(1, 4);
            fill(&mut mult[start..start + k], |_| 0.0);
            (k, start + k)
        }
        AnomalyClass::FoldDrop => {
            let k = hours(0.5, 2.0, rng);
            let f = 1.0 / rng.range(3.0, 6.0);
            fill(&mut mult[start..start + k], |_| f);
            (k, full)
        }
        AnomalyClass::ShiftedDown => {
            let k = hours(4.0, 12.0, rng);
            let f = 1.0 - rng.range(0.2, 0.4);
            fill(&mut mult[start..start + k], |_| f);
            (k, full)
        }
        AnomalyClass::SpikeUp => {
            let k = rng.int(1, 4);
            let f = rng.range(2.0, 4.0);
            fill(&mut mult[start..start + k], |_| f);
            (k, full)
        }
        AnomalyClass::SlowDecline => {
            let ramp = hours(3.0, 6.0, rng);
            let hold = buckets(2 * HOUR_SECONDS, step);
            let depth = rng.range(0.3, 0.5);
            fill(&mut mult[start..start + ramp + hold], |j| {
                1.0 - depth * ((j + 1).min(ramp) as f64 / ramp as f64)
            });
            (ramp + hold, full)
        }
        _ => (0, full),
    };
    let incidents = if k > 0 {
        vec![IncidentSpan::new(start, start + k)]
    } else {
        Vec::new()
    };
    Anomaly {
        mult,
        len,
        incidents,
    }
}

fn fill(slice: &mut [f64], value: impl Fn(usize) -> f64) {
    for (j, m) in slice.iter_mut().enumerate() {
        *m = value(j);
    }
}

/// Benign bursts (×1.5–3 for 1–3 buckets, about two a day) over the whole
/// case, none within an hour of the incident (a burst there would make the
/// labels ambiguous); the scored ones are returned as neutral spans.
fn bursts(family: Family, anomaly: &Anomaly, rng: &mut Rng) -> (Vec<f64>, Vec<IncidentSpan>) {
    let full = family.case_len();
    let margin = buckets(HOUR_SECONDS, family.step());
    let keep_out: Vec<IncidentSpan> = anomaly
        .incidents
        .iter()
        .map(|i| IncidentSpan::new(i.start.saturating_sub(margin), i.end + margin))
        .collect();
    let mut burst = vec![1.0; full];
    let count = 2 * (family.history_days() + family.scored_days());
    for _ in 0..count {
        let at = rng.int(0, full - 4);
        let span = IncidentSpan::new(at, at + rng.int(1, 3));
        let size = rng.range(1.5, 3.0);
        if keep_out.iter().any(|k| k.overlaps(&span)) {
            continue;
        }
        fill(&mut burst[span.start..span.end], |_| size);
    }
    let history = family.history();
    let scored: Vec<bool> = burst[history..anomaly.len]
        .iter()
        .map(|&b| b != 1.0)
        .collect();
    let neutral = incidents_from_flags(&scored)
        .into_iter()
        .map(|n| IncidentSpan::new(n.start + history, n.end + history))
        .collect();
    (burst, neutral)
}

/// Which buckets report a value: all, or for a sparse family each one
/// with probability 50–70 %. An incident's first bucket always reports
/// (an incident nobody could see is no detector's miss), and so do a
/// `to_zero` case's zeros (a zero is a reported value).
fn observed(traits: Traits, anomaly: &Anomaly, class: AnomalyClass, rng: &mut Rng) -> Vec<bool> {
    let len = anomaly.mult.len();
    if !traits.missing {
        return vec![true; len];
    }
    let missing = rng.range(0.3, 0.5);
    let mut observed: Vec<bool> = (0..len).map(|_| !rng.chance(missing)).collect();
    for inc in &anomaly.incidents {
        observed[inc.start] = true;
        if class == AnomalyClass::ToZero {
            fill_true(&mut observed[inc.start..inc.end]);
        }
    }
    observed
}

fn fill_true(slice: &mut [bool]) {
    for o in slice {
        *o = true;
    }
}

impl Plan {
    /// The expected value of bucket `t` with the anomaly and bursts.
    fn expected(&self, t: usize) -> f64 {
        self.mean[t] * self.mult[t] * self.burst[t]
    }

    /// One noisy observation around `mean`.
    fn draw(&mut self, mean: f64) -> f64 {
        match (self.level, self.family.traits().plateau) {
            (Level::Gauge, _) => {
                let s = self.noise;
                mean * (s * self.rng.normal() - 0.5 * s * s).exp()
            }
            (_, true) => self.rng.neg_binomial(mean, self.noise),
            (_, false) => {
                let over = 1.0 + self.noise * self.rng.normal();
                self.rng.poisson((mean * over).max(0.0))
            }
        }
    }

    /// The case's values (NaN for a missing bucket).
    fn values(&mut self) -> Vec<f64> {
        (0..self.len)
            .map(|t| match (self.observed[t], self.mult[t] == 0.0) {
                (false, _) => f64::NAN,
                (true, true) => 0.0,
                (true, false) => self.draw(self.expected(t)),
            })
            .collect()
    }
}

/// One case of `family`: `class` at `level`, drawn from `seed`. A class
/// outside [`CLASSES`] (the product-specific two-part ones) gives a `clean`
/// case, labelled so.
pub fn generate_family_case(
    family: Family,
    class: AnomalyClass,
    level: Level,
    seed: u64,
) -> LabelledSeries {
    let class = if CLASSES.contains(&class) {
        class
    } else {
        AnomalyClass::Clean
    };
    let mut p = plan(family, class, level, seed);
    let values = p.values();
    let series = Series::from_f64(START, family.step(), values).expect("valid family series");
    LabelledSeries {
        name: format!("{}/{}/{}/{seed}", family.name(), class.name(), level.name()),
        class: class.name().to_string(),
        scale: level.name().to_string(),
        family: family.name().to_string(),
        series,
        incidents: p.incidents,
        neutral: p.neutral,
        eval_start: family.history(),
    }
}

/// Every family × [`CLASSES`] × [`Level`], `cases` cases each with seeds
/// derived from `seed`. Deterministic per seed; family-major order.
pub fn generate_families(seed: u64, cases: usize) -> Vec<LabelledSeries> {
    // Grown as it fills: `cases` comes from the command line, and the
    // product of the counts could overflow a capacity.
    let mut out = Vec::new();
    for family in Family::ALL {
        for class in CLASSES {
            for level in Level::ALL {
                for i in 0..cases as u64 {
                    let case_seed = seed.wrapping_mul(1_000_003).wrapping_add(i);
                    out.push(generate_family_case(family, class, level, case_seed));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(family: Family, level: Level, seed: u64) -> LabelledSeries {
        generate_family_case(family, AnomalyClass::Clean, level, seed)
    }

    /// Autocorrelation at `lag` over the pairs where both buckets report.
    fn autocorrelation(values: &[f64], lag: usize) -> f64 {
        let seen: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let mean = seen.iter().sum::<f64>() / seen.len() as f64;
        let var = seen.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / seen.len() as f64;
        let pairs: Vec<f64> = values
            .iter()
            .zip(&values[lag..])
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|(a, b)| (a - mean) * (b - mean))
            .collect();
        pairs.iter().sum::<f64>() / pairs.len() as f64 / var
    }

    fn day_mean(case: &LabelledSeries, family: Family, day: usize) -> f64 {
        let values = case.series.raw_values();
        let d = &values[day * family.day()..(day + 1) * family.day()];
        let seen: Vec<f64> = d.iter().copied().filter(|v| v.is_finite()).collect();
        seen.iter().sum::<f64>() / seen.len() as f64
    }

    /// A case as comparable data (`Series` equality is false on gaps: NaN).
    type Fingerprint = (
        String,
        String,
        Vec<Option<f64>>,
        Vec<IncidentSpan>,
        Vec<IncidentSpan>,
    );

    fn fingerprints(cases: &[LabelledSeries]) -> Vec<Fingerprint> {
        cases
            .iter()
            .map(|c| {
                let name = format!("{} {} {} {}", c.name, c.class, c.scale, c.eval_start);
                let values = c.series.values().collect();
                (
                    name,
                    c.family.clone(),
                    values,
                    c.incidents.clone(),
                    c.neutral.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn same_seed_same_cases() {
        let a = generate_families(7, 1);
        assert_eq!(a.len(), 7 * 6 * 3);
        assert_eq!(fingerprints(&a), fingerprints(&generate_families(7, 1)));
        assert_ne!(fingerprints(&a), fingerprints(&generate_families(8, 1)));
        assert!(generate_families(7, 0).is_empty());
        let names: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
        assert!(a.iter().all(|c| names.contains(&c.family.as_str())));
    }

    #[test]
    fn lengths_steps_and_gaps_are_as_documented() {
        for family in Family::ALL {
            assert_eq!(Family::from_name(family.name()), Some(family));
            assert!(family.history_days() >= 3, "{family:?}");
            for level in Level::ALL {
                let case = clean(family, level, 1);
                assert_eq!(case.series.step, family.step());
                assert_eq!(case.series.len(), family.case_len());
                assert_eq!(case.eval_start, family.history());
                assert_eq!(
                    case.eval_start,
                    family.history_days() * 86_400 / family.step() as usize
                );
                let missing = 1.0 - case.series.observed() as f64 / case.series.len() as f64;
                if family == Family::Irregular {
                    assert!((0.25..0.55).contains(&missing), "{missing}");
                } else {
                    assert_eq!(missing, 0.0, "{family:?}");
                }
                assert!(case.series.values().flatten().all(|v| v >= 0.0));
            }
        }
        assert_eq!(Family::Service1m.day(), 1440);
        assert_eq!(Family::Service1m.case_len(), 4 * 1440);
        assert_eq!(Family::Service5m.case_len(), 9 * 288);
    }

    #[test]
    fn every_anomaly_is_inside_its_label() {
        for family in Family::ALL {
            for class in CLASSES {
                for level in Level::ALL {
                    for seed in 0..4 {
                        check_labels(family, class, level, seed);
                    }
                }
            }
        }
    }

    fn check_labels(family: Family, class: AnomalyClass, level: Level, seed: u64) {
        let p = plan(family, class, level, seed);
        let case = generate_family_case(family, class, level, seed);
        let name = &case.name;
        assert_eq!(case.series.len(), p.len, "{name}");
        assert_eq!(case.incidents, p.incidents, "{name}");
        assert_eq!(case.neutral, p.neutral, "{name}");
        for t in 0..p.len {
            let in_incident = p.incidents.iter().any(|i| i.contains(t));
            assert_eq!(p.mult[t] != 1.0, in_incident, "{name} at {t}");
            if t >= family.history() {
                let in_neutral = p.neutral.iter().any(|n| n.contains(t));
                assert_eq!(p.burst[t] != 1.0, in_neutral, "{name} at {t}");
            }
        }
        assert!(p
            .neutral
            .iter()
            .all(|n| n.start >= family.history() && n.end <= p.len));
        assert!(!p
            .incidents
            .iter()
            .any(|i| p.neutral.iter().any(|n| n.overlaps(i))));
        if class == AnomalyClass::Clean {
            assert!(
                p.incidents.is_empty() && p.len == family.case_len(),
                "{name}"
            );
            return;
        }
        assert_eq!(p.incidents.len(), 1, "{name}");
        let inc = p.incidents[0];
        assert!(inc.start >= family.history() && inc.end <= p.len, "{name}");
        assert!(
            case.series.value(inc.start).is_some(),
            "{name}: first bucket seen"
        );
        match class {
            AnomalyClass::ToZero => {
                assert_eq!(inc.end, p.len, "{name}: zeros at the end");
                assert!((inc.start..inc.end).all(|t| case.series.value(t) == Some(0.0)));
            }
            AnomalyClass::SpikeUp => assert!(p.mult[inc.start] >= 2.0, "{name}"),
            _ => assert!(
                p.mult[inc.start..inc.end].iter().all(|&m| m < 1.0),
                "{name}"
            ),
        }
        // On high counts the change shows in the values (not on the
        // plateau, whose noise is the point).
        if level == Level::High && family != Family::NoisyPlateau {
            let ratios: Vec<f64> = (inc.start..inc.end)
                .filter_map(|t| Some(case.series.value(t)? / p.mean[t]))
                .collect();
            let mean_ratio = ratios.iter().sum::<f64>() / ratios.len() as f64;
            match class {
                AnomalyClass::SpikeUp => assert!(mean_ratio > 1.5, "{name}: {mean_ratio}"),
                _ => assert!(mean_ratio < 0.9, "{name}: {mean_ratio}"),
            }
        }
    }

    #[test]
    fn durations_are_in_time_not_buckets() {
        for family in [Family::Service1m, Family::Service5m, Family::Trend] {
            for seed in 0..10 {
                let case = generate_family_case(family, AnomalyClass::FoldDrop, Level::High, seed);
                let seconds = case.incidents[0].len() as i64 * family.step();
                assert!((1800..=7200).contains(&seconds), "{}: {seconds}", case.name);
            }
        }
    }

    #[test]
    fn cycled_families_repeat_daily_and_the_others_do_not() {
        for seed in 0..3 {
            for family in Family::ALL {
                let case = clean(family, Level::High, seed);
                let values = &case.series.raw_values()[..family.history()];
                let r = autocorrelation(values, family.day());
                match family {
                    Family::NoCycle | Family::NoisyPlateau => {
                        assert!(r.abs() < 0.2, "{}: {r}", case.name)
                    }
                    // A mild cycle under a strong trend still repeats.
                    Family::Trend => assert!(r > 0.2, "{}: {r}", case.name),
                    _ => assert!(r > 0.5, "{}: {r}", case.name),
                }
            }
        }
    }

    #[test]
    fn trend_moves_the_level_and_the_service_does_not() {
        for seed in 0..10 {
            let last = |f: Family| f.history_days() - 1;
            let trend = clean(Family::Trend, Level::High, seed);
            let change = day_mean(&trend, Family::Trend, last(Family::Trend))
                / day_mean(&trend, Family::Trend, 0);
            assert!((change - 1.0).abs() > 0.25, "{}: {change}", trend.name);
            let service = clean(Family::Service1m, Level::High, seed);
            let flat = day_mean(&service, Family::Service1m, last(Family::Service1m))
                / day_mean(&service, Family::Service1m, 0);
            assert!((flat - 1.0).abs() < 0.05, "{}: {flat}", service.name);
        }
    }

    /// Buckets where the shift level changes.
    fn shift_starts(p: &Plan) -> Vec<usize> {
        (1..p.shift_level.len())
            .filter(|&t| p.shift_level[t] != p.shift_level[t - 1])
            .collect()
    }

    #[test]
    fn level_shifts_are_permanent_and_in_the_history() {
        for seed in 0..10 {
            let p = plan(Family::LevelShifts, AnomalyClass::Clean, Level::High, seed);
            let day = Family::LevelShifts.day();
            let history = Family::LevelShifts.history();
            let shifts = shift_starts(&p);
            let last = *shifts.last().expect("at least one shift");
            assert!((1..=3).contains(&(history - last).div_ceil(day)), "{last}");
            assert!(shifts.iter().all(|&s| s >= day && s < history));
            let step = p.shift_level[last] / p.shift_level[last - 1];
            assert!(
                (0.6..=0.8).contains(&step) || (1.2..=1.4).contains(&step),
                "{step}"
            );
            assert!(p.shift_level.iter().all(|l| (0.5..=2.0).contains(l)));
            // Permanent: the level holds to the end.
            assert!(p.shift_level[last..]
                .iter()
                .all(|&l| l == p.shift_level[last]));
            // No other family has one.
            let service = plan(Family::Service5m, AnomalyClass::Clean, Level::High, seed);
            assert!(shift_starts(&service).is_empty());
        }
    }

    #[test]
    fn product_only_classes_give_clean_cases() {
        let case = generate_family_case(
            Family::Service5m,
            AnomalyClass::DropDuringSpike,
            Level::Low,
            1,
        );
        assert_eq!(case.class, "clean");
        assert!(case.incidents.is_empty());
    }

    #[test]
    fn the_plateau_is_over_dispersed_and_bursty() {
        let cv = |family: Family, seed: u64| {
            let p = plan(family, AnomalyClass::Clean, Level::High, seed);
            let case = clean(family, Level::High, seed);
            let ratios: Vec<f64> = (0..family.history())
                .filter_map(|t| Some(case.series.value(t)? / p.expected(t)))
                .collect();
            let n = ratios.len() as f64;
            let m = ratios.iter().sum::<f64>() / n;
            (ratios.iter().map(|r| (r - m).powi(2)).sum::<f64>() / n).sqrt()
        };
        for seed in 0..5 {
            assert!(cv(Family::NoisyPlateau, seed) > 0.3, "seed {seed}");
            assert!(cv(Family::Service5m, seed) < 0.1, "seed {seed}");
            let p = plan(Family::NoisyPlateau, AnomalyClass::Clean, Level::High, seed);
            assert!(
                !p.neutral.is_empty(),
                "seed {seed}: bursts in the scored days"
            );
        }
    }
}
