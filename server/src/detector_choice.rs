//! Which detector judges each metric: one default and per-metric choices.
//! Read from the config, changed by settings applied in the web lab; used by
//! the check. It lives below all three so none depends on another for it.

use std::collections::BTreeMap;

use detect::{DetectorSpec, Ensemble, LearnedParams};

/// Which detector, or which detectors combined by which rule, judge each metric.
#[derive(Clone, Debug, PartialEq)]
pub struct DetectorChoice {
    pub default: Ensemble,
    pub per_metric: BTreeMap<String, Ensemble>,
    /// Set by a command-line override (`vigil check --a --n`): settings applied
    /// from the web lab (see `crate::settings`) do not replace this choice.
    pub fixed: bool,
}

impl Default for DetectorChoice {
    /// A fresh install's judgment: the learned detector with the built-in
    /// model, its threshold and confirmation. Measured against the seed's
    /// IQR band (`detector = "iqr"`, one config line away) and the other
    /// detectors in `docs/benchmarks.md`, "A default a team can live with".
    fn default() -> Self {
        Self {
            default: Ensemble::single(DetectorSpec::Learned(LearnedParams::default())),
            per_metric: BTreeMap::new(),
            fixed: false,
        }
    }
}

impl DetectorChoice {
    /// True when the config picks `metric`'s detector (its own entry, or a
    /// default other than vigil's built-in one).
    pub fn chooses(&self, metric: &str) -> bool {
        self.per_metric.contains_key(metric) || self.default != DetectorChoice::default().default
    }

    pub fn for_metric(&self, metric: &str) -> &Ensemble {
        self.per_metric.get(metric).unwrap_or(&self.default)
    }
}
