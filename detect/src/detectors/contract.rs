//! The detector contract: what a detector states once, in its own file, and
//! everything else (the [`DetectorSpec`] dispatch, live checks, the lab's
//! knobs, `vigil tune`'s grids, `vigil detect`'s flags) reads from it.
//!
//! One trait per capability, as grafana's augurs does: [`Stream`] is the
//! causal algorithm (one bucket in, its point out), [`Detector`] the
//! parameters around it (name, validation, lookback, batch and newest-point
//! evaluation, with the state-in-a-loop batch provided), and its consts
//! describe the parameters for the edges ([`Param`] for the command line,
//! [`Tunable`] for the lab and the grid search). See `README.md` beside this
//! file for how to add a detector.

use crate::detection::Detection;
use crate::error::DetectError;
use crate::point::Point;
use crate::series::{Clock, Series};
use crate::smoothing::Smoothing;

use super::DetectorSpec;

/// How far back a live check reads for a detector's newest point:
/// [`Detector::lookback`] and [`Detector::gap_reach`] buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reach {
    pub lookback: usize,
    pub gaps: usize,
}

impl Reach {
    /// The reach of a detector that skips gaps: twice its lookback.
    pub fn skipping_gaps(lookback: usize) -> Reach {
        Reach {
            lookback,
            gaps: lookback,
        }
    }

    /// Both together, saturating.
    pub fn buckets(self) -> usize {
        self.lookback.saturating_add(self.gaps)
    }

    /// The larger of each part: what reads enough for both.
    pub fn max(self, other: Reach) -> Reach {
        Reach {
            lookback: self.lookback.max(other.lookback),
            gaps: self.gaps.max(other.gaps),
        }
    }
}

/// A causal detector state: push the next bucket's value (`None` or
/// non-finite = gap), get its point.
pub trait Stream {
    /// The next bucket's value -> its point.
    fn push(&mut self, value: Option<f64>) -> Point;
}

/// A detector's parameter struct, and through it the detector.
pub trait Detector: Copy + Default + PartialEq + Into<DetectorSpec> + 'static {
    /// Its short name: config files, the web UI, `--detector` (the serde
    /// tag of its [`DetectorSpec`] variant, checked by a test).
    const NAME: &'static str;
    /// What it is, in the lab's picker.
    const DESCRIPTION: &'static str;
    /// What it does, one line, in `vigil detect --help`.
    const SUMMARY: &'static str;
    /// Every parameter a user may set, in the order `vigil detect` lists them.
    const PARAMS: &'static [Param<Self>];
    /// The main numeric parameters, most important first: the first is its
    /// threshold (raising it makes the detector less sensitive; the alert
    /// budget bisects on it), the first two are a heatmap's axes.
    const KNOBS: &'static [Tunable<Self>];
    /// Too slow to search a grid or bisect interactively (the forecast
    /// refits a model per point).
    const SLOW: bool = false;

    /// The causal state that computes one bucket at a time.
    type State: Stream;

    /// Checks the parameters without running anything.
    fn validate(&self) -> Result<(), DetectError>;

    /// Points before the evaluated one that a live check must read.
    fn lookback(&self) -> usize;

    /// Buckets a live check reads beyond [`Detector::lookback`] so that up
    /// to `lookback` missing buckets still give the exact point. A detector
    /// that looks for its last `n` values skips gaps and needs as many
    /// again (the default); one whose history is positional (same-slot
    /// values, a fixed window) reads a missing bucket as a missing slot and
    /// needs none (the exactness tests in `live.rs` run with gaps).
    fn gap_reach(&self) -> usize {
        self.lookback()
    }

    /// A fresh state for values that start at `clock` (only a detector that
    /// reads the calendar looks at it); errors on invalid parameters.
    fn state(&self, clock: Clock) -> Result<Self::State, DetectError>;

    /// The detector over a whole series into a reused buffer (cleared first;
    /// untouched on error). Provided: the state in a loop, so batch points
    /// are exactly the newest points.
    fn run_into(&self, series: &Series, out: &mut Detection) -> Result<(), DetectError> {
        let mut state = self.state(series.clock())?;
        let values = series.raw_values();
        out.clear();
        out.reserve(values.len());
        for &x in values {
            out.push(state.push(Some(x)));
        }
        Ok(())
    }

    /// The detector over a whole series: one point per bucket.
    fn run(&self, series: &Series) -> Result<Detection, DetectError> {
        let mut out = Detection::new();
        self.run_into(series, &mut out)?;
        Ok(out)
    }

    /// The point for the last of `values` (oldest first, `None` for a gap,
    /// the first at `clock`), computed as a live check does; an empty input
    /// gives an empty point. Provided: the state fed one value at a time.
    fn newest_point(
        &self,
        values: impl IntoIterator<Item = Option<f64>>,
        clock: Clock,
    ) -> Result<Point, DetectError> {
        let mut state = self.state(clock)?;
        Ok(values
            .into_iter()
            .fold(Point::default(), |_, value| state.push(value)))
    }

    /// The season in points, for a detector with a [`Value::Period`] parameter.
    fn period(&self) -> Option<usize> {
        Self::PARAMS.iter().find_map(|p| match p.value {
            Value::Period { get, .. } => Some(get(self)),
            _ => None,
        })
    }

    /// Sets the season to `points` through the [`Value::Period`] parameter's
    /// setter (so what goes with it follows, as when a user sets it: the
    /// forecast's window); `false` for a detector without a season.
    fn set_period(&mut self, points: usize) -> bool {
        let setter = Self::PARAMS.iter().find_map(|p| match p.value {
            Value::Period { set, .. } => Some(set),
            _ => None,
        });
        match setter {
            Some(set) => {
                set(self, points);
                true
            }
            None => false,
        }
    }
}

/// One parameter as a user sets it (a config key, a `vigil detect` flag).
#[derive(Debug)]
pub struct Param<P> {
    /// The field name (`min_seasons`; the flag is `--min-seasons`).
    pub key: &'static str,
    /// What it means, with its valid range (`vigil detect --help`).
    pub help: &'static str,
    /// How the default reads when not the plain default value.
    pub default_note: Option<&'static str>,
    /// Its type and typed access.
    pub value: Value<P>,
}

/// A parameter's type with its typed getter and setter.
#[derive(Debug)]
pub enum Value<P> {
    /// A whole number.
    Count {
        get: fn(&P) -> usize,
        set: fn(&mut P, usize),
    },
    /// A number.
    Number {
        get: fn(&P) -> f64,
        set: fn(&mut P, f64),
    },
    /// A number that may be off.
    Optional {
        get: fn(&P) -> Option<f64>,
        set: fn(&mut P, Option<f64>),
    },
    /// A band smoothing.
    Smoothing {
        get: fn(&P) -> Smoothing,
        set: fn(&mut P, Smoothing),
    },
    /// The season in points (the command line also takes a duration or `auto`).
    Period {
        get: fn(&P) -> usize,
        set: fn(&mut P, usize),
    },
}

impl<P> Param<P> {
    /// The default value as text (`5`, `0.05`, `off`, `asof`).
    pub fn default_text(&self, defaults: &P) -> String {
        if let Some(note) = self.default_note {
            return note.to_string();
        }
        match self.value {
            Value::Count { get, .. } | Value::Period { get, .. } => get(defaults).to_string(),
            Value::Number { get, .. } => get(defaults).to_string(),
            Value::Optional { get, .. } => get(defaults).map_or("off".into(), |v| v.to_string()),
            Value::Smoothing { get, .. } => get(defaults).to_string(),
        }
    }
}

/// A parameter's value given untyped (from a command line).
#[derive(Debug, Clone, PartialEq)]
pub enum Given {
    Count(usize),
    Number(f64),
    Smoothing(Smoothing),
}

impl<P> Param<P> {
    /// Sets the parameter from `given`; `false` when the type does not fit.
    pub fn set(&self, params: &mut P, given: &Given) -> bool {
        match (self.value, given) {
            (Value::Count { set, .. } | Value::Period { set, .. }, Given::Count(v)) => {
                set(params, *v)
            }
            (Value::Number { set, .. }, Given::Number(v)) => set(params, *v),
            (Value::Optional { set, .. }, Given::Number(v)) => set(params, Some(*v)),
            (Value::Smoothing { set, .. }, Given::Smoothing(v)) => set(params, *v),
            _ => return false,
        }
        true
    }
}

/// A whole-number parameter.
pub const fn count<P>(
    key: &'static str,
    help: &'static str,
    get: fn(&P) -> usize,
    set: fn(&mut P, usize),
) -> Param<P> {
    Param {
        key,
        help,
        default_note: None,
        value: Value::Count { get, set },
    }
}

/// A numeric parameter.
pub const fn number<P>(
    key: &'static str,
    help: &'static str,
    get: fn(&P) -> f64,
    set: fn(&mut P, f64),
) -> Param<P> {
    Param {
        key,
        help,
        default_note: None,
        value: Value::Number { get, set },
    }
}

/// The `period` parameter (points per season).
pub const fn period<P>(get: fn(&P) -> usize, set: fn(&mut P, usize)) -> Param<P> {
    Param {
        key: "period",
        help: "the season, as a number of points, a duration (`90m`, `6h`, `1d`, `1w`) that must \
               be a whole number of the series' steps, or `auto` (detected in the input)",
        default_note: Some("1d"),
        value: Value::Period { get, set },
    }
}

impl<P> Param<P> {
    /// The same parameter with its default described as `note`.
    pub const fn default_reads(mut self, note: &'static str) -> Param<P> {
        self.default_note = Some(note);
        self
    }
}

/// One numeric parameter as the lab's slider shows it and searches go over it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knob {
    /// The parameter's field name (as in the config and `vigil tune`).
    pub key: &'static str,
    /// What it means, for the control's label.
    pub label: &'static str,
    pub min: f64,
    pub max: f64,
    pub step: f64,
    /// Whole numbers only (window lengths, counts).
    pub integer: bool,
    /// The largest value a search may try: beyond the slider's range where
    /// the detector allows it (a noisy metric may need a band far wider than
    /// a slider usefully shows).
    pub search_max: f64,
}

/// A [`Knob`] with typed access to the parameter it turns. The setter of
/// an integer knob gets the value rounded (negative as 0, so that
/// validation reports it).
#[derive(Debug)]
pub struct Tunable<P> {
    pub knob: Knob,
    pub get: fn(&P) -> f64,
    pub set: fn(&mut P, f64),
}

impl Knob {
    /// A continuous knob.
    pub const fn number(
        key: &'static str,
        label: &'static str,
        min: f64,
        max: f64,
        step: f64,
    ) -> Knob {
        Knob {
            key,
            label,
            min,
            max,
            step,
            integer: false,
            search_max: max,
        }
    }

    /// A whole-number knob.
    pub const fn count(key: &'static str, label: &'static str, min: f64, max: f64) -> Knob {
        Knob {
            key,
            label,
            min,
            max,
            step: 1.0,
            integer: true,
            search_max: max,
        }
    }

    /// The same knob with `search_max` set.
    pub const fn searching_to(mut self, search_max: f64) -> Knob {
        self.search_max = search_max;
        self
    }

    /// The knob turning a parameter through `get` and `set`.
    pub const fn on<P>(self, get: fn(&P) -> f64, set: fn(&mut P, f64)) -> Tunable<P> {
        Tunable {
            knob: self,
            get,
            set,
        }
    }
}

impl<P> Tunable<P> {
    /// Sets the knob's parameter (rounded for an integer knob).
    pub fn apply(&self, params: &mut P, value: f64) {
        let value = if self.knob.integer {
            value.round().max(0.0)
        } else {
            value
        };
        (self.set)(params, value)
    }
}

// By hand: a derive would ask `P: Copy`, but only fn pointers are held.
macro_rules! copy_without_bound {
    ($($t:ident),*) => {$(
        impl<P> Clone for $t<P> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<P> Copy for $t<P> {}
    )*};
}
copy_without_bound!(Param, Value, Tunable);
