//! The registry: [`registry!`] turns the list of detectors in `mod.rs` into
//! [`DetectorSpec`](super::DetectorSpec) and its dispatch, and into
//! [`Entry`]s, the untyped view of each detector's contract that the edges
//! (the command line, the lab's picker) read without an instance.

use super::contract::{Detector, Given, Knob, Value};
use super::DetectorSpec;

/// One registered detector, untyped.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// [`Detector::NAME`].
    pub name: &'static str,
    /// [`Detector::DESCRIPTION`].
    pub description: &'static str,
    /// [`Detector::SUMMARY`].
    pub summary: &'static str,
    /// [`Detector::SLOW`].
    pub slow: bool,
    /// The detector with its default parameters.
    pub default: fn() -> DetectorSpec,
    /// [`Detector::PARAMS`], untyped, with their defaults as text.
    pub params: fn() -> Vec<ParamDoc>,
    /// [`Detector::KNOBS`] without their accessors.
    pub knobs: fn() -> Vec<Knob>,
    /// The detector with the defaults, then each parameter the lookup gives
    /// set (in [`Detector::PARAMS`] order); a value of the wrong type is
    /// skipped (the caller parses by [`ParamDoc::kind`]).
    pub build: fn(&mut dyn FnMut(&'static str) -> Option<Given>) -> DetectorSpec,
}

/// A parameter's type, untyped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Count,
    Number,
    Optional,
    Smoothing,
    Period,
}

/// One parameter of a registered detector, untyped.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDoc {
    pub key: &'static str,
    pub help: &'static str,
    /// The default value as text.
    pub default: String,
    pub kind: ParamKind,
}

impl Entry {
    /// The entry of detector `D`.
    pub const fn of<D: Detector>() -> Entry {
        Entry {
            name: D::NAME,
            description: D::DESCRIPTION,
            summary: D::SUMMARY,
            slow: D::SLOW,
            default: default_spec::<D>,
            params: param_docs::<D>,
            knobs: knobs::<D>,
            build: build::<D>,
        }
    }

    /// The registered detector named `name`.
    pub fn find(name: &str) -> Option<&'static Entry> {
        super::DETECTORS.iter().find(|e| e.name == name)
    }
}

fn default_spec<D: Detector>() -> DetectorSpec {
    D::default().into()
}

fn param_docs<D: Detector>() -> Vec<ParamDoc> {
    let defaults = D::default();
    D::PARAMS
        .iter()
        .map(|p| ParamDoc {
            key: p.key,
            help: p.help,
            default: p.default_text(&defaults),
            kind: match p.value {
                Value::Count { .. } => ParamKind::Count,
                Value::Number { .. } => ParamKind::Number,
                Value::Optional { .. } => ParamKind::Optional,
                Value::Smoothing { .. } => ParamKind::Smoothing,
                Value::Period { .. } => ParamKind::Period,
            },
        })
        .collect()
}

pub(crate) fn knobs<D: Detector>() -> Vec<Knob> {
    D::KNOBS.iter().map(|t| t.knob).collect()
}

fn build<D: Detector>(lookup: &mut dyn FnMut(&'static str) -> Option<Given>) -> DetectorSpec {
    let mut params = D::default();
    for param in D::PARAMS {
        if let Some(given) = lookup(param.key) {
            let fits = param.set(&mut params, &given);
            debug_assert!(fits, "{}.{}: {given:?}", D::NAME, param.key);
        }
    }
    params.into()
}

/// The value of knob `key` of `params`.
pub(crate) fn knob_get<D: Detector>(params: &D, key: &str) -> Option<f64> {
    D::KNOBS
        .iter()
        .find(|t| t.knob.key == key)
        .map(|t| (t.get)(params))
}

/// Sets knob `key` of `params`; `false` when it has none.
pub(crate) fn knob_set<D: Detector>(params: &mut D, key: &str, value: f64) -> bool {
    match D::KNOBS.iter().find(|t| t.knob.key == key) {
        Some(t) => {
            t.apply(params, value);
            true
        }
        None => false,
    }
}

/// The detectors: `Variant(Params)` per line, each `Params` a [`Detector`]
/// (optionally after `#[cfg(...)]`, then doc comments).
/// Derives the [`DetectorSpec`] enum (serde: `{"detector": "<snake_case
/// variant>", ...params}`), its dispatch, the `From` impls,
/// [`DETECTOR_NAMES`](super::DETECTOR_NAMES) and
/// [`DETECTORS`](super::DETECTORS).
macro_rules! registry {
    ($($(#[cfg($cfg:meta)])? $(#[doc = $doc:expr])* $variant:ident($params:ty),)*) => {
        /// A detector and its parameters: one variant per registered detector.
        #[derive(Debug, Clone, PartialEq)]
        #[cfg_attr(
            feature = "serde",
            derive(serde::Serialize, serde::Deserialize),
            serde(tag = "detector", rename_all = "snake_case")
        )]
        #[non_exhaustive]
        pub enum DetectorSpec {
            $($(#[cfg($cfg)])? $(#[doc = $doc])* $variant($params),)*
        }

        /// Every detector name, as [`DetectorSpec::name`] gives them.
        pub const DETECTOR_NAMES: [&str; [$($(#[cfg($cfg)])? stringify!($variant)),*].len()] =
            [$($(#[cfg($cfg)])? <$params as Detector>::NAME),*];

        /// The variant names, for the test that their snake_case (the serde
        /// tag) is the detector's name.
        #[cfg(test)]
        const VARIANTS: [&str; [$($(#[cfg($cfg)])? stringify!($variant)),*].len()] =
            [$($(#[cfg($cfg)])? stringify!($variant)),*];

        /// Every detector's [`Entry`], in registration order.
        pub static DETECTORS: [Entry; [$($(#[cfg($cfg)])? stringify!($variant)),*].len()] =
            [$($(#[cfg($cfg)])? Entry::of::<$params>()),*];

        $($(#[cfg($cfg)])? impl From<$params> for DetectorSpec {
            fn from(p: $params) -> Self {
                DetectorSpec::$variant(p)
            }
        })*

        impl DetectorSpec {
            /// The detector's short name ([`Detector::NAME`]: `iqr`,
            /// `seasonal_iqr`, ...), as on the command line.
            pub fn name(&self) -> &'static str {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(_) => <$params as Detector>::NAME,)*
                }
            }

            /// The detector named `name` (see [`name`](Self::name)) with its
            /// default parameters. (A match, not a lookup in
            /// [`DETECTORS`](super::DETECTORS), so the browser bundle does
            /// not carry the command line's parameter tables.)
            pub fn default_for(name: &str) -> Result<DetectorSpec, DetectError> {
                $($(#[cfg($cfg)])?
                if name == <$params as Detector>::NAME {
                    return Ok(<$params>::default().into());
                })*
                Err(DetectError::UnknownDetector(name.to_string()))
            }

            /// What the detector is, in the lab's picker ([`Detector::DESCRIPTION`]).
            pub fn description(&self) -> &'static str {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(_) => <$params as Detector>::DESCRIPTION,)*
                }
            }

            /// Checks the parameters without running anything.
            pub fn validate(&self) -> Result<(), DetectError> {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(p) => Detector::validate(p),)*
                }
            }

            /// [`run`](Self::run) into a reused buffer (cleared first).
            pub fn run_into(&self, series: &Series, out: &mut Detection) -> Result<(), DetectError> {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(p) => Detector::run_into(p, series, out),)*
                }
            }

            /// How many points before the evaluated one a live check must
            /// read ([`Detector::lookback`]). Exact (the newest point from
            /// `lookback()` earlier points equals the batch point over the
            /// whole history) for every detector but `changepoint`, whose
            /// sums carry the whole past: there it adds one period of warm-up.
            pub fn lookback(&self) -> usize {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(p) => Detector::lookback(p),)*
                }
            }

            /// How far back a live check reads: the lookback and
            /// [`Detector::gap_reach`] more.
            pub fn reach(&self) -> $crate::detectors::Reach {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(p) => $crate::detectors::Reach {
                        lookback: Detector::lookback(p),
                        gaps: Detector::gap_reach(p),
                    },)*
                }
            }

            /// The detector's point for the last of `values` (oldest first,
            /// `None` for a gap, the first at `clock`), computed in
            /// newest-point mode: the same code as batch detection, fed one
            /// value at a time. An empty input gives an empty point.
            pub fn newest_point(
                &self,
                values: impl IntoIterator<Item = Option<f64>>,
                clock: Clock,
            ) -> Result<Point, DetectError> {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(p) => Detector::newest_point(p, values, clock),)*
                }
            }

            /// Too slow to search a grid or bisect interactively ([`Detector::SLOW`]).
            pub fn is_slow(&self) -> bool {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(_) => <$params as Detector>::SLOW,)*
                }
            }

            /// The season in points, for the seasonal detectors.
            pub fn period(&self) -> Option<usize> {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(p) => Detector::period(p),)*
                }
            }

            /// Sets the season to `points` ([`Detector::set_period`]);
            /// `false` (and unchanged) for a detector without one.
            pub fn set_period(&mut self, points: usize) -> bool {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(p) => Detector::set_period(p, points),)*
                }
            }

            /// The detector's main parameters ([`Detector::KNOBS`]).
            pub fn knobs(&self) -> Vec<Knob> {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(_) => registry::knobs::<$params>(),)*
                }
            }

            /// The value of knob `key`; `None` for a key the detector lacks.
            pub fn knob(&self, key: &str) -> Option<f64> {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(p) => registry::knob_get(p, key),)*
                }
            }

            /// Sets knob `key` to `value` (rounded for an integer knob);
            /// `false` for a key the detector lacks.
            pub fn set_knob(&mut self, key: &str, value: f64) -> bool {
                match self {
                    $($(#[cfg($cfg)])? DetectorSpec::$variant(p) => registry::knob_set(p, key, value),)*
                }
            }
        }
    };
}
