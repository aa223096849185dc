//! Labelled incidents on a series.

use crate::series::Series;

/// A labelled incident: the half-open bucket index range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct IncidentSpan {
    /// First bucket of the incident.
    pub start: usize,
    /// One past the last bucket of the incident (`> start`).
    pub end: usize,
}

impl IncidentSpan {
    /// The incident `[start, end)`. Panics when `end <= start`.
    pub fn new(start: usize, end: usize) -> IncidentSpan {
        assert!(end > start, "empty incident [{start}, {end})");
        IncidentSpan { start, end }
    }

    /// Number of buckets.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Always false (an incident has at least one bucket); for clippy.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// True when bucket `i` is inside.
    pub fn contains(&self, i: usize) -> bool {
        self.start <= i && i < self.end
    }

    /// True when `[start, end)` and `other` share a bucket.
    pub fn overlaps(&self, other: &IncidentSpan) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// Runs of consecutive `true` flags, as incidents (labels 0/1 per bucket).
pub fn incidents_from_flags(flags: &[bool]) -> Vec<IncidentSpan> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &f) in flags.iter().enumerate() {
        match (f, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(IncidentSpan::new(s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(IncidentSpan::new(s, flags.len()));
    }
    out
}

/// A series with its labelled incidents: one benchmark case.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledSeries {
    /// A name for the case (e.g. `fold_drop/medium/7`).
    pub name: String,
    /// The class the case is reported under (e.g. `fold_drop`, `clean`).
    pub class: String,
    /// A second grouping, e.g. the synthetic benchmark's scale (`tiny`,
    /// `medium`, `large`, `ratio`); empty for none.
    pub scale: String,
    /// A third grouping: the kind of series the case stands for
    /// (`product_15m` for the synthetic benchmark, `service_1m`,
    /// `irregular`, ... for [`families`](crate::eval::families)), so a
    /// report can tell a detector that only suits one kind; empty for none.
    pub family: String,
    /// The series the detectors run over.
    pub series: Series,
    /// Labelled incidents, sorted, not overlapping.
    pub incidents: Vec<IncidentSpan>,
    /// Ranges where an alert is neither right nor wrong (e.g. a fraud spike
    /// around a labelled drop): alert events that touch only these are ignored.
    pub neutral: Vec<IncidentSpan>,
    /// Buckets before this index are history: alerts there are not scored
    /// and the false-alert rate is over `series.len() - eval_start` buckets.
    pub eval_start: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_to_incidents() {
        let f = |s: &str| s.chars().map(|c| c == '1').collect::<Vec<_>>();
        assert_eq!(incidents_from_flags(&f("")), vec![]);
        assert_eq!(incidents_from_flags(&f("000")), vec![]);
        assert_eq!(
            incidents_from_flags(&f("110011101")),
            vec![
                IncidentSpan::new(0, 2),
                IncidentSpan::new(4, 7),
                IncidentSpan::new(8, 9)
            ]
        );
        assert!(IncidentSpan::new(2, 4).overlaps(&IncidentSpan::new(3, 9)));
        assert!(!IncidentSpan::new(2, 4).overlaps(&IncidentSpan::new(4, 9)));
        assert!(IncidentSpan::new(2, 4).contains(3) && !IncidentSpan::new(2, 4).contains(4));
    }
}
