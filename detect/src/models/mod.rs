//! The learned detector's model: gradient-boosted trees (forust-ml) over
//! the rows of [`crate::features`], in a versioned file; how it explains a
//! judgment ([`explain`]) and how it is trained ([`train`], behind the
//! `train` feature: the browser only predicts).
//!
//! A model file is JSON: what it is (`format`, `version`), the features it
//! was trained on (`feature_version` and their names, so a model from
//! another vigil is refused rather than fed the wrong columns), the alert
//! threshold chosen for it on held-out data, how it was trained, and the
//! trees. The default model ships inside the binary and the wasm bundle
//! (`detect/models/default.json`, made by `vigil train`, see
//! `docs/learned.md`); others are registered at start-up by the server and
//! named by their id.

pub mod explain;
#[cfg(feature = "train")]
pub mod train;

use std::sync::{Mutex, OnceLock};

use forust_ml::gradientbooster::ContributionsMethod;
use forust_ml::{GradientBooster, Matrix};
use serde::{Deserialize, Serialize};

use crate::features::{Row, FEATURE_COUNT, FEATURE_NAMES, FEATURE_VERSION};

/// The `format` of a model file.
pub const MODEL_FORMAT: &str = "vigil-learned-model";
/// The model file layout this vigil reads and writes.
pub const MODEL_VERSION: u32 = 1;
/// The id of the model that ships with vigil.
pub const BUILTIN_ID: &str = "builtin";

/// Why a model file cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("not a vigil model file: {0}")]
    NotJson(String),
    #[error("not a vigil model file (format {found:?}, expected {MODEL_FORMAT:?})")]
    WrongFormat { found: String },
    #[error(
        "model file version {found}, this vigil reads version {MODEL_VERSION}: \
         retrain it with this vigil's `vigil train`"
    )]
    Version { found: u32 },
    #[error(
        "the model was trained on features version {found} ({count} features), this vigil \
         computes version {FEATURE_VERSION} ({FEATURE_COUNT}): retrain it with this vigil's `vigil train`"
    )]
    Features { found: u32, count: usize },
    #[error("threshold {0} is not a probability in (0, 1]")]
    Threshold(f64),
    #[error("provenance.sure {0} is not a probability in (0, 1]")]
    Sure(f64),
    #[error("the trees do not load: {0}")]
    Trees(String),
    #[error("model `{0}` is not loaded: name its file under [detectors] (see docs/learned.md)")]
    Unknown(String),
}

/// How a model was made, kept in its file and printed by `vigil train`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The command that made it.
    pub command: String,
    /// The synthetic benchmark's seed and cases per class and scale.
    pub seed: u64,
    pub cases: usize,
    /// Labelled series from a store, beside the synthetic ones.
    pub store_cases: usize,
    /// The false alerts per series per week the threshold was chosen for.
    pub target_false_per_week: f64,
    /// The learned detector's `confirm` the threshold was chosen with (the
    /// detector's default with this model). Files written before it mean 1.
    #[serde(default = "confirm_alone")]
    pub confirm: usize,
    /// The probability at which one bucket alerts without confirmation,
    /// chosen after the threshold for the same target (the detector's
    /// default `sure` with this model). Files written before it mean 1
    /// (never alone).
    #[serde(default = "never_alone")]
    pub sure: f64,
    /// Held-out figures at the chosen threshold.
    pub held_out: Figures,
}

impl Default for Provenance {
    /// What a file that does not say means: one bucket decides, and
    /// `sure` is never needed.
    fn default() -> Self {
        Provenance {
            command: String::new(),
            seed: 0,
            cases: 0,
            store_cases: 0,
            target_false_per_week: 0.0,
            confirm: confirm_alone(),
            sure: never_alone(),
            held_out: Figures::default(),
        }
    }
}

fn confirm_alone() -> usize {
    1
}

fn never_alone() -> f64 {
    1.0
}

/// Event-level figures (as `vigil eval` scores them).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Figures {
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    pub false_per_week: Option<f64>,
    pub delay_median: Option<f64>,
}

/// The file's layout.
#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: String,
    version: u32,
    feature_version: u32,
    features: Vec<String>,
    threshold: f64,
    provenance: Provenance,
    /// Gain importance per feature name, for `vigil train` and the docs.
    importance: Vec<(String, f64)>,
    /// forust-ml's own JSON of the trees.
    trees: serde_json::Value,
}

/// A loaded model.
pub struct Model {
    /// Its name: [`BUILTIN_ID`] or what the config calls it.
    pub id: String,
    /// The alert threshold on the probability chosen when it was trained.
    pub threshold: f64,
    pub provenance: Provenance,
    /// Gain importance per feature, largest first.
    pub importance: Vec<(String, f64)>,
    booster: GradientBooster,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// A model from trained trees (what `vigil train` writes).
    pub fn new(
        id: impl Into<String>,
        booster: GradientBooster,
        threshold: f64,
        provenance: Provenance,
    ) -> Model {
        let mut importance: Vec<(String, f64)> = booster
            .calculate_feature_importance(
                forust_ml::gradientbooster::ImportanceMethod::TotalGain,
                true,
            )
            .into_iter()
            .filter_map(|(i, gain)| Some((FEATURE_NAMES.get(i)?.to_string(), f64::from(gain))))
            .collect();
        importance.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Model {
            id: id.into(),
            threshold,
            provenance,
            importance,
            booster,
        }
    }

    /// Reads a model file's text; `id` is what it will be called.
    pub fn from_json(text: &str, id: impl Into<String>) -> Result<Model, ModelError> {
        let head: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ModelError::NotJson(e.to_string()))?;
        let format = head.get("format").and_then(|f| f.as_str()).unwrap_or("");
        if format != MODEL_FORMAT {
            return Err(ModelError::WrongFormat {
                found: format.to_string(),
            });
        }
        let version = head.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(MODEL_VERSION) {
            return Err(ModelError::Version {
                found: u32::try_from(version).unwrap_or(u32::MAX),
            });
        }
        let file: ModelFile =
            serde_json::from_value(head).map_err(|e| ModelError::NotJson(e.to_string()))?;
        if file.feature_version != FEATURE_VERSION || file.features != FEATURE_NAMES {
            return Err(ModelError::Features {
                found: file.feature_version,
                count: file.features.len(),
            });
        }
        if !(file.threshold > 0.0 && file.threshold <= 1.0) {
            return Err(ModelError::Threshold(file.threshold));
        }
        let sure = file.provenance.sure;
        if !(sure > 0.0 && sure <= 1.0) {
            return Err(ModelError::Sure(sure));
        }
        let booster = GradientBooster::from_json(&file.trees.to_string())
            .map_err(|e| ModelError::Trees(e.to_string()))?;
        Ok(Model {
            id: id.into(),
            threshold: file.threshold,
            provenance: file.provenance,
            importance: file.importance,
            booster,
        })
    }

    /// The model file's text (stable for the same model: `vigil train`
    /// twice with one seed writes the same bytes).
    pub fn to_json(&self) -> String {
        let trees = self
            .booster
            .json_dump()
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null);
        let file = ModelFile {
            format: MODEL_FORMAT.to_string(),
            version: MODEL_VERSION,
            feature_version: FEATURE_VERSION,
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            threshold: self.threshold,
            provenance: self.provenance.clone(),
            importance: self.importance.clone(),
            trees,
        };
        let mut text = serde_json::to_string(&file).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The anomaly probability of each row.
    pub fn probabilities(&self, rows: &[Row]) -> Vec<f64> {
        if rows.is_empty() {
            return Vec::new();
        }
        let columns = column_major(rows);
        let matrix = Matrix::new(&columns, rows.len(), FEATURE_COUNT);
        self.booster
            .predict(&matrix, false)
            .into_iter()
            .map(sigmoid)
            .collect()
    }

    /// The anomaly probability of one row.
    pub fn probability(&self, row: &Row) -> f64 {
        let matrix = Matrix::new(row, 1, FEATURE_COUNT);
        self.booster
            .predict(&matrix, false)
            .first()
            .copied()
            .map_or(0.0, sigmoid)
    }

    /// Each feature's share of the row's log-odds (Shapley values), in
    /// feature order.
    pub fn contributions(&self, row: &Row) -> Vec<f64> {
        let matrix = Matrix::new(row, 1, FEATURE_COUNT);
        let mut out =
            self.booster
                .predict_contributions(&matrix, ContributionsMethod::Shapley, false);
        out.truncate(FEATURE_COUNT);
        out
    }
}

fn sigmoid(log_odds: f64) -> f64 {
    1.0 / (1.0 + (-log_odds).exp())
}

/// Rows as forust's column-major matrix.
pub(crate) fn column_major(rows: &[Row]) -> Vec<f64> {
    let mut columns = vec![0.0; rows.len() * FEATURE_COUNT];
    for (r, row) in rows.iter().enumerate() {
        for (c, x) in row.iter().enumerate() {
            columns[c * rows.len() + r] = *x;
        }
    }
    columns
}

/// A loaded model, by reference: cheap to copy, compared by id, so that a
/// detector's parameters stay plain values.
#[derive(Clone, Copy)]
pub struct ModelRef(&'static Model);

impl ModelRef {
    /// The model that ships with vigil.
    pub fn builtin() -> ModelRef {
        static BUILTIN: OnceLock<&'static Model> = OnceLock::new();
        ModelRef(BUILTIN.get_or_init(|| {
            let text = include_str!("../../models/default.json");
            let model = Model::from_json(text, BUILTIN_ID)
                .expect("the built-in model is checked by the tests");
            Box::leak(Box::new(model))
        }))
    }

    /// The model registered as `id` ([`BUILTIN_ID`] is always there).
    pub fn find(id: &str) -> Result<ModelRef, ModelError> {
        if id == BUILTIN_ID {
            return Ok(ModelRef::builtin());
        }
        registry()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|m| m.id == id)
            .map(|m| ModelRef(m))
            .ok_or_else(|| ModelError::Unknown(id.to_string()))
    }

    /// Makes `model` findable by its id. Registering the same id again
    /// replaces what later lookups find (a reloaded config); the old model
    /// stays alive for detectors that still hold it.
    pub fn register(model: Model) -> ModelRef {
        let model: &'static Model = Box::leak(Box::new(model));
        let mut models = registry().lock().unwrap_or_else(|e| e.into_inner());
        models.retain(|m| m.id != model.id);
        models.push(model);
        ModelRef(model)
    }

    /// The model.
    pub fn model(self) -> &'static Model {
        self.0
    }
}

fn registry() -> &'static Mutex<Vec<&'static Model>> {
    static MODELS: OnceLock<Mutex<Vec<&'static Model>>> = OnceLock::new();
    MODELS.get_or_init(|| Mutex::new(Vec::new()))
}

impl Default for ModelRef {
    fn default() -> Self {
        ModelRef::builtin()
    }
}

impl PartialEq for ModelRef {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0) || self.0.id == other.0.id
    }
}

impl std::fmt::Debug for ModelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModelRef({:?})", self.0.id)
    }
}

impl std::ops::Deref for ModelRef {
    type Target = Model;
    fn deref(&self) -> &Model {
        self.0
    }
}

/// In a config and on the wire a model is its id.
impl Serialize for ModelRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.id)
    }
}

impl<'de> Deserialize<'de> for ModelRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        ModelRef::find(&id).map_err(serde::de::Error::custom)
    }
}

pub use explain::{Driver, Explanation};
