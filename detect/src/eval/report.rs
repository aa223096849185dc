//! [`evaluate`]: detectors × benchmark cases → per-class figures, with the
//! same figures per scale and per family.

use crate::detection::Detection;
use crate::detectors::{DetectorSpec, Ensemble};
use crate::error::DetectError;
use crate::eval::labels::LabelledSeries;
use crate::eval::score::{score, Score, DEFAULT_TOLERANCE};

/// One detector's figures on one class of cases (or overall).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ClassReport {
    /// The class (`overall` for all cases pooled).
    pub class: String,
    /// Cases of the class.
    pub cases: usize,
    /// Labelled incidents.
    pub incidents: usize,
    /// Incidents with an alert inside their window.
    pub found: usize,
    /// Alert events overlapping an incident (or its tolerance).
    pub true_events: usize,
    /// Alert events outside every incident and neutral range.
    pub false_events: usize,
    /// True / all scored alert events (`None`: no alert at all).
    pub precision: Option<f64>,
    /// Found / incidents (`None`: no incident, e.g. `clean`).
    pub recall: Option<f64>,
    /// Harmonic mean of precision and recall.
    pub f1: Option<f64>,
    /// Median delay of found incidents, in buckets.
    pub delay_median: Option<f64>,
    /// 90th percentile of the delay, in buckets.
    pub delay_p90: Option<f64>,
    /// False alert events per metric per week of scored time.
    pub false_per_week: Option<f64>,
}

impl ClassReport {
    /// The figures of pooled `score` over `cases` cases of `class`.
    pub fn from_score(class: &str, cases: usize, s: &Score) -> ClassReport {
        ClassReport {
            class: class.to_string(),
            cases,
            incidents: s.incidents,
            found: s.found,
            true_events: s.true_events,
            false_events: s.false_events,
            precision: s.precision(),
            recall: s.recall(),
            f1: s.f1(),
            delay_median: s.delay_median(),
            delay_p90: s.delay_p90(),
            false_per_week: s.false_per_week(),
        }
    }
}

/// One detector's figures.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DetectorReport {
    /// The name it was given to [`evaluate`].
    pub name: String,
    /// Its parameters: one detector, or several and their combining rule.
    pub spec: Ensemble,
    /// One entry per class, in the order classes first appear in the cases.
    pub classes: Vec<ClassReport>,
    /// One entry per [`LabelledSeries::scale`] (every class pooled; its
    /// `class` field holds the scale), in order of first appearance; empty
    /// when no case has a scale.
    pub scales: Vec<ClassReport>,
    /// One entry per [`LabelledSeries::family`] (every class and scale
    /// pooled; its `class` field holds the family), in order of first
    /// appearance; empty when no case has a family.
    pub families: Vec<ClassReport>,
    /// Every case pooled (micro-averaged).
    pub overall: ClassReport,
}

/// Figures for every detector.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Report {
    /// Number of cases.
    pub cases: usize,
    /// Buckets after an incident where an alert still counts as true.
    pub tolerance: usize,
    /// One entry per detector, in the given order.
    pub detectors: Vec<DetectorReport>,
}

/// Runs every detector over every case and scores it (tolerance
/// [`DEFAULT_TOLERANCE`]). Errors when a detector's parameters are invalid.
pub fn evaluate(
    detectors: &[(String, DetectorSpec)],
    cases: &[LabelledSeries],
) -> Result<Report, DetectError> {
    let detectors = detectors
        .iter()
        .map(|(name, spec)| evaluate_detector(name, spec, cases, DEFAULT_TOLERANCE))
        .collect::<Result<_, _>>()?;
    Ok(Report {
        cases: cases.len(),
        tolerance: DEFAULT_TOLERANCE,
        detectors,
    })
}

/// One detector of [`evaluate`] (callers with threads run these in parallel).
pub fn evaluate_detector(
    name: &str,
    spec: &DetectorSpec,
    cases: &[LabelledSeries],
    tolerance: usize,
) -> Result<DetectorReport, DetectError> {
    evaluate_ensemble(name, &Ensemble::single(spec.clone()), cases, tolerance)
}

/// Several detectors combined by a rule, scored like one detector.
pub fn evaluate_ensemble(
    name: &str,
    spec: &Ensemble,
    cases: &[LabelledSeries],
    tolerance: usize,
) -> Result<DetectorReport, DetectError> {
    spec.validate()?;
    evaluate_with(name, spec, cases, tolerance, |_| None)
}

/// A day in `step`-second buckets: the season `vigil detect` gives the
/// seasonal detectors by default. `None` when a day is not a whole number
/// of at least 2 steps.
pub fn daily_period(step: i64) -> Option<usize> {
    const DAY: i64 = 86_400;
    if step <= 0 || DAY % step != 0 || DAY / step < 2 {
        return None;
    }
    usize::try_from(DAY / step).ok()
}

/// [`evaluate_ensemble`] on cases of several steps: each case runs with the
/// seasonal members' season set to one day of its own step
/// ([`daily_period`]; as given when there is none), the way `vigil detect`
/// defaults it. On 15-minute cases with the default season (96) this is
/// [`evaluate_ensemble`]. Errors when a member is invalid at some step.
pub fn evaluate_ensemble_daily(
    name: &str,
    spec: &Ensemble,
    cases: &[LabelledSeries],
    tolerance: usize,
) -> Result<DetectorReport, DetectError> {
    spec.validate()?;
    evaluate_with(name, spec, cases, tolerance, |case| {
        let daily = spec.with_period(daily_period(case.series.step)?);
        // Unchanged (no seasonal member, or already daily): no copy to run.
        (daily != *spec).then_some(daily)
    })
}

/// The scoring loop: `adapt` gives the spec a case runs with instead of
/// `spec` (`None`: `spec` itself), validated before it runs.
fn evaluate_with(
    name: &str,
    spec: &Ensemble,
    cases: &[LabelledSeries],
    tolerance: usize,
    adapt: impl Fn(&LabelledSeries) -> Option<Ensemble>,
) -> Result<DetectorReport, DetectError> {
    let mut classes: Vec<(String, usize, Score)> = Vec::new();
    let mut scales: Vec<(String, usize, Score)> = Vec::new();
    let mut families: Vec<(String, usize, Score)> = Vec::new();
    let mut overall = Score::default();
    let mut detection = Detection::new();
    for case in cases {
        match adapt(case) {
            Some(adapted) => {
                adapted.validate()?;
                adapted.run_into(&case.series, &mut detection)?;
            }
            None => spec.run_into(&case.series, &mut detection)?,
        }
        let s = score(&detection, case, tolerance);
        overall.merge(&s);
        if !case.scale.is_empty() {
            add(&mut scales, &case.scale, &s);
        }
        if !case.family.is_empty() {
            add(&mut families, &case.family, &s);
        }
        add(&mut classes, &case.class, &s);
    }
    let reports = |groups: &[(String, usize, Score)]| {
        groups
            .iter()
            .map(|(c, n, s)| ClassReport::from_score(c, *n, s))
            .collect()
    };
    Ok(DetectorReport {
        name: name.to_string(),
        spec: spec.clone(),
        classes: reports(&classes),
        scales: reports(&scales),
        families: reports(&families),
        overall: ClassReport::from_score("overall", cases.len(), &overall),
    })
}

fn add(groups: &mut Vec<(String, usize, Score)>, key: &str, s: &Score) {
    match groups.iter_mut().find(|(k, _, _)| k == key) {
        Some((_, n, total)) => {
            *n += 1;
            total.merge(s);
        }
        None => groups.push((key.to_string(), 1, s.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::families::{generate_families, Family};
    use crate::eval::synthetic::generate;
    use crate::IqrParams;

    #[test]
    fn evaluates_per_class_and_overall() {
        let cases = generate(3, 1);
        let spec = DetectorSpec::Iqr(IqrParams::default());
        let report = evaluate(&[("iqr".to_string(), spec)], &cases).unwrap();
        assert_eq!(report.cases, 32);
        let d = &report.detectors[0];
        assert_eq!(d.classes.len(), 8);
        assert_eq!(d.classes[0].class, "to_zero");
        assert!(d.classes.iter().all(|c| c.cases == 4));
        let scales: Vec<&str> = d.scales.iter().map(|c| c.class.as_str()).collect();
        assert_eq!(scales, ["tiny", "medium", "large", "ratio"]);
        assert!(d.scales.iter().all(|c| c.cases == 8 && c.incidents == 7));
        assert_eq!(d.families.len(), 1);
        assert_eq!(d.families[0].class, "product_15m");
        assert_eq!(d.families[0].cases, 32);
        let clean = d.classes.iter().find(|c| c.class == "clean").unwrap();
        assert_eq!((clean.incidents, clean.recall), (0, None));
        assert_eq!(d.overall.incidents, 28);
        assert_eq!(
            d.overall.found,
            d.classes.iter().map(|c| c.found).sum::<usize>()
        );
        for c in d.classes.iter().chain([&d.overall]) {
            for x in [c.precision, c.recall, c.f1].into_iter().flatten() {
                assert!((0.0..=1.0).contains(&x), "{c:?}");
            }
        }
    }

    #[test]
    fn families_are_reported_each() {
        let cases = generate_families(5, 1);
        let spec = Ensemble::single(DetectorSpec::Iqr(IqrParams::default()));
        let d = evaluate_ensemble("iqr", &spec, &cases, DEFAULT_TOLERANCE).unwrap();
        let families: Vec<&str> = d.families.iter().map(|c| c.class.as_str()).collect();
        let expected: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(families, expected);
        // 6 classes × 3 levels per family, 5 of the classes with an incident.
        assert!(d
            .families
            .iter()
            .all(|c| c.cases == 18 && c.incidents == 15));
        let scales: Vec<&str> = d.scales.iter().map(|c| c.class.as_str()).collect();
        assert_eq!(scales, ["low", "high", "gauge"]);
        assert_eq!(
            d.overall.found,
            d.families.iter().map(|c| c.found).sum::<usize>()
        );
    }

    #[test]
    fn daily_evaluation_sets_the_season_per_step() {
        assert_eq!(daily_period(900), Some(96));
        assert_eq!(daily_period(60), Some(1440));
        assert_eq!(daily_period(7), None);
        assert_eq!(daily_period(86_400), None);
        assert_eq!(daily_period(0), None);
        let seasonal = Ensemble::single(DetectorSpec::default_for("seasonal").unwrap());
        // 15-minute cases at the default season: the same figures.
        let product = generate(4, 1);
        let plain = evaluate_ensemble("s", &seasonal, &product, DEFAULT_TOLERANCE).unwrap();
        let daily = evaluate_ensemble_daily("s", &seasonal, &product, DEFAULT_TOLERANCE).unwrap();
        assert_eq!(plain, daily);
        // A 5-minute family: a season of 288 buckets, not 96.
        let five: Vec<LabelledSeries> = generate_families(4, 1)
            .into_iter()
            .filter(|c| c.family == "service_5m")
            .collect();
        let plain = evaluate_ensemble("s", &seasonal, &five, DEFAULT_TOLERANCE).unwrap();
        let daily = evaluate_ensemble_daily("s", &seasonal, &five, DEFAULT_TOLERANCE).unwrap();
        assert_ne!(plain.overall, daily.overall);
        assert_eq!(daily.spec, seasonal, "the report names the spec as given");
    }

    #[test]
    fn invalid_parameters_are_an_error() {
        let spec = DetectorSpec::Iqr(IqrParams {
            n: 1,
            ..IqrParams::default()
        });
        assert!(evaluate(&[("bad".to_string(), spec)], &[]).is_err());
    }
}
