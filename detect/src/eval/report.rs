//! [`evaluate`]: detectors × benchmark cases → per-class figures.

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
    let mut classes: Vec<(String, usize, Score)> = Vec::new();
    let mut scales: Vec<(String, usize, Score)> = Vec::new();
    let mut overall = Score::default();
    let mut detection = Detection::new();
    for case in cases {
        spec.run_into(&case.series, &mut detection)?;
        let s = score(&detection, case, tolerance);
        overall.merge(&s);
        if !case.scale.is_empty() {
            add(&mut scales, &case.scale, &s);
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
    fn invalid_parameters_are_an_error() {
        let spec = DetectorSpec::Iqr(IqrParams {
            n: 1,
            ..IqrParams::default()
        });
        assert!(evaluate(&[("bad".to_string(), spec)], &[]).is_err());
    }
}
