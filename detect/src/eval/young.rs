//! Product metrics on a young store: the cases of
//! [`synthetic`](super::synthetic) cut so that only half a day to 6 days
//! of history come before the incident (or, for `clean`, before a point in
//! the week).
//!
//! A team that runs `vigil ingest` on a few days of its own data, or starts
//! `vigil serve` on a young store, is judged on series whose same slot last
//! week (and, before the third day, whose seasonal baseline; before the
//! second, whose same slot yesterday) does not exist yet: the simulator
//! places its first incident after 18 hours of a 3-day store. The full benchmark never shows that: its cases all have 4 weeks of
//! history. These cases do, so training can learn what a fall looks like
//! without the weekly features, and `vigil eval --benchmark young` measures
//! it.
//!
//! Each case is the full case's values from `history` buckets before its
//! anchor (the incident's start) to a day after it (or its end, for a
//! `to_zero` case that ends at its zeros): it is never a week long, so the
//! week-ago features are always missing. The first half day is history
//! ([`LabelledSeries::eval_start`]: the features' windows fill); the rest
//! is scored. The cut is
//! drawn from its own random stream, so the full cases are unchanged.

use crate::eval::labels::{IncidentSpan, LabelledSeries};
use crate::eval::sim::Rng;
use crate::eval::synthetic::{generate_case, generate_with, AnomalyClass, Scale};
use crate::series::Series;

/// [`LabelledSeries::family`] of every young case.
pub const FAMILY: &str = "product_young";
/// Buckets in a day of the product benchmark's 15-minute step.
const DAY: usize = 96;
/// Buckets of history before the anchor: half a day to 6 days (with the
/// day after the anchor, a case is at most a week: never a same slot a
/// week before).
pub const MIN_HISTORY: usize = DAY / 2;
pub const MAX_HISTORY: usize = 6 * DAY;

/// One young case: `class` at `scale`, drawn from `seed` (the full case of
/// the same arguments, cut).
pub fn generate_young_case(class: AnomalyClass, scale: Scale, seed: u64) -> LabelledSeries {
    let full = generate_case(class, scale, seed);
    // Mixed with the class and scale, as the full cases are: one seed's
    // cases would otherwise all be cut at the same history.
    let mix = seed
        .wrapping_mul(0xD1B5_4A32_D192_ED03)
        .wrapping_add(((class as u64) << 32) | scale as u64);
    let mut rng = Rng(mix ^ 0x5955_4E47);
    rng.next_u64();
    // A clean case has no incident: its anchor is anywhere in the scored
    // week that leaves a day after it.
    let anchor = match full.incidents.first() {
        Some(incident) => incident.start,
        None => full.eval_start + rng.int(0, full.series.len() - full.eval_start - DAY),
    };
    let history = rng.int(MIN_HISTORY, MAX_HISTORY);
    let from = anchor - history;
    let end = (anchor + DAY).min(full.series.len());
    let shift = |span: &IncidentSpan| {
        let start = span.start.max(from) - from;
        let end = span.end.min(end) - from;
        (end > start).then(|| IncidentSpan::new(start, end))
    };
    let series = Series::from_f64(
        full.series.timestamp(from),
        full.series.step,
        full.series.raw_values()[from..end].to_vec(),
    )
    .expect("a cut of a valid synthetic series");
    LabelledSeries {
        name: format!("{}/{}/{seed}/young", class.name(), scale.name()),
        class: full.class,
        scale: full.scale,
        family: FAMILY.to_string(),
        series,
        incidents: full.incidents.iter().filter_map(shift).collect(),
        neutral: full.neutral.iter().filter_map(shift).collect(),
        eval_start: MIN_HISTORY,
    }
}

/// The young benchmark: for every class and scale, `cases` cases with the
/// seeds [`generate`](super::synthetic::generate) uses for the same `seed`
/// (so a young case is a cut of the full case of the same name).
pub fn generate_young(seed: u64, cases: usize) -> Vec<LabelledSeries> {
    generate_with(seed, cases, generate_young_case)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_young_case_is_a_cut_of_the_full_one_with_half_a_day_to_6_days_before_its_incident() {
        for class in AnomalyClass::ALL {
            for scale in Scale::ALL {
                for seed in 0..10 {
                    let full = generate_case(class, scale, seed);
                    let young = generate_young_case(class, scale, seed);
                    let name = &young.name;
                    assert_eq!(young.family, FAMILY);
                    assert_eq!(young.class, full.class);
                    assert!(young.series.len() <= 7 * DAY, "{name}: more than a week");
                    let from =
                        ((young.series.start - full.series.start) / full.series.step) as usize;
                    assert_eq!(
                        young.series.raw_values(),
                        &full.series.raw_values()[from..from + young.series.len()],
                        "{name}"
                    );
                    assert_eq!(young.eval_start, MIN_HISTORY);
                    if class == AnomalyClass::Clean {
                        assert!(young.incidents.is_empty(), "{name}");
                        continue;
                    }
                    let (inc, was) = (young.incidents[0], full.incidents[0]);
                    assert_eq!(inc.start + from, was.start, "{name}");
                    assert_eq!(inc.len(), was.len(), "{name}: the whole incident is kept");
                    assert!(
                        (MIN_HISTORY..=MAX_HISTORY).contains(&inc.start),
                        "{name}: {} buckets of history",
                        inc.start
                    );
                    for n in &young.neutral {
                        assert!(n.end <= young.series.len(), "{name}");
                    }
                }
            }
        }
    }

    #[test]
    fn same_seed_same_young_cases() {
        let a = generate_young(5, 2);
        assert_eq!(a, generate_young(5, 2));
        assert_eq!(a.len(), AnomalyClass::ALL.len() * Scale::ALL.len() * 2);
        let histories: Vec<usize> = a
            .iter()
            .filter_map(|c| c.incidents.first())
            .map(|i| i.start / DAY)
            .collect();
        assert!(histories.iter().any(|&d| d <= 1) && histories.iter().any(|&d| d >= 4));
    }
}
