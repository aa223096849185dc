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
use crate::eval::sim::Rng;
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

mod organic;
use organic::organic;

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
mod tests;
