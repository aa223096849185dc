//! The lab's shared state: the loaded history as a labelled case, the chosen
//! detector and its last good output, and what the chart looks at. Every
//! panel of the page reads and writes these signals; nothing else is shared.

use detect::eval::{IncidentSpan, LabelledSeries};
use detect::{Detection, DetectorSpec, Series};
use leptos::prelude::*;

use crate::api::{CheckRules, LabelRole, LabelSpan, MetricHistory};
use crate::components::perf;
use crate::format::Quantity;

/// A label as bucket indices of the loaded series.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelView {
    pub span: IncidentSpan,
    /// How it counts: incidents are to be found, neutral spans are not
    /// scored, false alarms count any alert inside as false.
    pub role: LabelRole,
    pub label: LabelSpan,
}

#[derive(Clone, Copy)]
pub struct Lab {
    /// The series with its incidents (scored) and neutral spans.
    pub case: StoredValue<LabelledSeries>,
    pub labels: StoredValue<Vec<LabelView>>,
    pub spec: RwSignal<DetectorSpec>,
    /// Output of the last valid spec.
    pub detection: RwSignal<Detection>,
    /// Why the current spec cannot run (shown inline); `None` when it ran.
    pub error: RwSignal<Option<String>>,
    /// A slow detector is running (forecast): the page says so.
    pub busy: RwSignal<bool>,
    /// The chart's visible buckets `[from, to)`.
    pub view: RwSignal<(usize, usize)>,
    /// Replay position: only buckets up to it are drawn.
    pub cursor: RwSignal<Option<usize>>,
    /// A bucket to point at (a clicked alert).
    pub focus: RwSignal<Option<usize>>,
    /// How the live check judges this series (what the replay applies),
    /// with a slice's whole metric trimmed to the series' grid.
    pub check: StoredValue<Option<CheckRules>>,
    /// Which slice of its metric the series is (`None`: the whole metric).
    pub slice: StoredValue<Option<detect::SliceKey>>,
    /// What the values are: counts are written whole, and no band goes
    /// below zero (nor a share's above one).
    pub quantity: Quantity,
}

impl Lab {
    /// Builds the state and runs the first detector once, so the server
    /// renders the same figures the browser starts from. The first detector
    /// is `requested` (the URL's `?detector=` and parameters), else the one
    /// in effect in the live checks (applied settings are what the lab opens
    /// with), else the seed's band.
    pub fn new(history: &MetricHistory, requested: Option<DetectorSpec>) -> Result<Lab, String> {
        let series = trimmed_series(history)?;
        let trimmed = history.values.len() - series.len();
        let check = history.check.clone().map(|mut check| {
            if let Some(whole) = &mut check.whole {
                whole.drain(..trimmed.min(whole.len()));
            }
            check
        });
        let labels = label_views(&series, &history.labels);
        let case = LabelledSeries {
            name: history.name.clone(),
            class: String::new(),
            scale: String::new(),
            family: String::new(),
            incidents: labels
                .iter()
                .filter(|l| l.role == LabelRole::Incident)
                .map(|l| l.span)
                .collect(),
            neutral: labels
                .iter()
                .filter(|l| l.role == LabelRole::Neutral)
                .map(|l| l.span)
                .collect(),
            series,
            eval_start: 0,
        };
        let spec = requested
            .or_else(|| check.as_ref().and_then(|c| c.detector.clone()))
            .unwrap_or_else(|| DetectorSpec::Iqr(detect::IqrParams::default()));
        let detection = spec.run(&case.series).map_err(|e| e.to_string())?;
        let len = case.series.len();
        let quantity = quantity_of(history);
        Ok(Lab {
            case: StoredValue::new(case),
            labels: StoredValue::new(labels),
            spec: RwSignal::new(spec),
            detection: RwSignal::new(detection),
            error: RwSignal::new(None),
            busy: RwSignal::new(false),
            view: RwSignal::new((0, len)),
            cursor: RwSignal::new(None),
            focus: RwSignal::new(None),
            check: StoredValue::new(check),
            slice: StoredValue::new(
                history
                    .slice
                    .as_deref()
                    .and_then(|text| detect::SliceKey::parse(text).ok()),
            ),
            quantity,
        })
    }

    pub fn len(&self) -> usize {
        self.case.with_value(|c| c.series.len())
    }

    pub fn step(&self) -> i64 {
        self.case.with_value(|c| c.series.step)
    }

    /// Shows the day around bucket `i` and points at it (a clicked alert).
    pub fn focus_bucket(&self, i: usize) {
        let len = self.len();
        let half = (86_400 / self.step().max(1)) as usize / 2;
        let from = i.saturating_sub(half);
        self.view.set((from, (i + half).min(len).max(from + 1)));
        self.focus.set(Some(i));
    }

    /// [`focus_bucket`](Self::focus_bucket) for a time (`?at=` in links from
    /// alerts); a time outside the loaded history changes nothing.
    pub fn show_day_around(&self, at: i64) {
        let start = self.time(0);
        let index = (at - start).div_euclid(self.step().max(1));
        if let Ok(index) = usize::try_from(index) {
            if index < self.len() {
                self.focus_bucket(index);
            }
        }
    }

    /// Shows the buckets from unix second `from` up to `to` (a range from
    /// the URL), clamped to the loaded history.
    pub fn show_range(&self, from: i64, to: i64) {
        let len = self.len() as i64;
        let step = self.step().max(1);
        let start = self.time(0);
        let first = (from - start).div_euclid(step).clamp(0, len - 1);
        let end = (to - start + step - 1)
            .div_euclid(step)
            .clamp(first + 1, len);
        self.view.set((first as usize, end as usize));
    }

    /// The visible range in unix seconds (`to` exclusive); `None` when the
    /// whole history is shown.
    pub fn range_times(&self, (from, to): (usize, usize)) -> Option<(i64, i64)> {
        let whole = from == 0 && to >= self.len();
        (!whole).then(|| {
            (
                self.time(from),
                self.time(to.saturating_sub(1)) + self.step(),
            )
        })
    }

    /// Sets knob `key` of the current detector to `value` when the knob's
    /// range and the detector accept it; else nothing changes (the chart
    /// keeps the previous value) and the reason comes back for the field.
    pub fn set_knob(&self, key: &str, value: f64) -> Result<(), String> {
        let spec = self
            .spec
            .with_untracked(|s| super::url::checked_knob(s, key, value))?;
        self.apply(spec);
        Ok(())
    }

    /// The slice the series is, if it is one.
    pub fn slice(&self) -> Option<detect::SliceKey> {
        self.slice.get_value()
    }

    /// The bucket starting at unix second `time`, if it is in the history.
    pub fn index_of(&self, time: i64) -> Option<usize> {
        let offset = time - self.time(0);
        let step = self.step().max(1);
        let index = usize::try_from(offset.div_euclid(step)).ok()?;
        (offset.rem_euclid(step) == 0 && index < self.len()).then_some(index)
    }

    /// Unix seconds of bucket `i`.
    pub fn time(&self, i: usize) -> i64 {
        self.case.with_value(|c| c.series.timestamp(i))
    }

    /// Applies `spec` when it is valid (an invalid one changes nothing and
    /// says why inline), then recomputes: at once for the fast detectors,
    /// after a paint for a slow one (the forecast), so its "computing" note
    /// shows first.
    pub fn apply(&self, spec: DetectorSpec) {
        if let Err(error) = spec.validate() {
            self.error.set(Some(error.to_string()));
            return;
        }
        self.spec.set(spec.clone());
        self.error.set(None);
        let lab = *self;
        if spec.is_slow() {
            self.busy.set(true);
            #[cfg(feature = "hydrate")]
            set_timeout(
                move || lab.recompute(&spec),
                std::time::Duration::from_millis(30),
            );
            #[cfg(not(feature = "hydrate"))]
            lab.recompute(&spec);
        } else {
            lab.recompute(&spec);
        }
    }

    fn recompute(&self, spec: &DetectorSpec) {
        // A newer change superseded this one while it waited.
        if self.spec.with_untracked(|current| current != spec) {
            return;
        }
        perf::start(perf::CHANGE_MARK);
        let series = self.case;
        let mut failed = None;
        self.detection.update(|out| {
            series.with_value(|c| {
                if let Err(error) = spec.run_into(&c.series, out) {
                    failed = Some(error.to_string());
                }
            })
        });
        self.error.set(failed);
        self.busy.set(false);
    }
}

/// The history's series without the leading buckets that have no data (the
/// page asks for a month; a younger metric starts later).
pub fn trimmed_series(history: &MetricHistory) -> Result<Series, String> {
    let first = history
        .values
        .iter()
        .position(Option::is_some)
        .ok_or_else(|| format!("{} has no data in this range", history.name))?;
    Series::new(
        history.start + first as i64 * history.step,
        history.step,
        history.values[first..].to_vec(),
    )
    .map_err(|e| e.to_string())
}

/// What the history's values are: the check's measure when the server says
/// it, by the one rule of [`Quantity::of`].
pub fn quantity_of(history: &MetricHistory) -> Quantity {
    Quantity::of(
        history.check.as_ref().map(|c| c.measure),
        history.values.iter().flatten().copied(),
    )
}

/// Labels that overlap the series, as bucket ranges (at least one bucket).
pub fn label_views(series: &Series, labels: &[LabelSpan]) -> Vec<LabelView> {
    let len = series.len() as i64;
    let slot = |t: i64| (t - series.start).div_euclid(series.step);
    labels
        .iter()
        .filter_map(|label| {
            let start = slot(label.from).max(0);
            let end = (slot(label.to + series.step - 1)).min(len).max(start + 1);
            (start < len && label.to > series.start).then(|| LabelView {
                span: IncidentSpan::new(start as usize, end as usize),
                role: label.role,
                label: label.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(from: i64, to: i64, slice: Option<&str>) -> LabelSpan {
        LabelSpan {
            from,
            to,
            kind: "outage".into(),
            description: String::new(),
            slice: slice.map(String::from),
            role: if slice.is_some() {
                LabelRole::Neutral
            } else {
                LabelRole::Incident
            },
            origin: crate::api::LabelOrigin::Source,
            id: None,
        }
    }

    #[test]
    fn leading_gaps_are_trimmed_and_labels_map_to_buckets() {
        let history = MetricHistory {
            name: "m".into(),
            title: "M".into(),
            start: 0,
            step: 900,
            values: vec![None, None, Some(1.0), None, Some(2.0), Some(3.0)],
            labels: vec![],
            slice: None,
            check: None,
        };
        let series = trimmed_series(&history).unwrap();
        assert_eq!((series.start, series.len()), (1800, 4));
        let views = label_views(
            &series,
            &[
                label(0, 900, None),               // before the series: dropped
                label(2700, 3600, None),           // bucket 1
                label(2800, 4000, Some("os=iOS")), // buckets 1..3, neutral
                label(5000, 99_000, None),         // clipped to the end
            ],
        );
        let spans: Vec<_> = views
            .iter()
            .map(|v| (v.span.start, v.span.end, v.role))
            .collect();
        assert_eq!(
            spans,
            vec![
                (1, 2, LabelRole::Incident),
                (1, 3, LabelRole::Neutral),
                (3, 4, LabelRole::Incident)
            ]
        );
        assert_eq!(quantity_of(&history), Quantity::Count);
        let ctr = MetricHistory {
            values: vec![Some(0.04), None, Some(0.05)],
            ..history.clone()
        };
        assert_eq!(quantity_of(&ctr), Quantity::Ratio { share: true });
        let empty = MetricHistory {
            values: vec![None; 3],
            ..history
        };
        assert!(trimmed_series(&empty).unwrap_err().contains("no data"));
    }
}
