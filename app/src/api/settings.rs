//! Detector settings: the detector judging a metric in the live checks, and
//! applying the lab's in its place.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::wire_words;

#[cfg(feature = "ssr")]
use super::{backend, find_metric, refuse, Refusal};

/// The detector judging a metric, and how it came to be.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectorSettings {
    pub metric: String,
    /// The detector in effect, as JSON in the shape of a `[detectors]` entry:
    /// `{"detector":"iqr","n":5,...}` or `{"combine":"any","members":[...]}`.
    pub in_effect: String,
    /// Its short name: `iqr`, `any(seasonal+drop)`.
    pub name: String,
    pub origin: DetectorOrigin,
    /// Changes applied from the lab, newest first.
    pub changes: Vec<SettingChangeRow>,
}

wire_words! {
    /// Where the detector in effect comes from.
    DetectorOrigin: "origin" {
        /// The config file's choice.
        Config = "config",
        /// vigil's built-in one: the config chooses nothing for this metric.
        Default = "default",
        /// Applied from the lab.
        Applied = "applied",
    } expected "config, default or applied"
}

/// What the lab applies to a metric: a detector, or a return to the config
/// file's choice.
///
/// On the wire it is one text field, the detector as JSON in the shape of a
/// `[detectors]` entry (`{"detector":"iqr","n":5,...}`, or
/// `{"combine":"any","members":[...]}` for several), blank for the config's
/// choice: a form or a script posts it like any other argument, and a
/// malformed or invalid detector is refused while the request is decoded (400).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DetectorChange {
    /// Back to the config file's choice.
    ConfigChoice,
    /// One detector: what the lab applies.
    Detector(detect::DetectorSpec),
    /// Several combined, as a script may post them. Only the server reads
    /// them: the pages never send one, so the browser build leaves this
    /// variant, and the writer of combinations, out of the bundle.
    #[cfg(not(target_arch = "wasm32"))]
    Combined(detect::Ensemble),
}

impl DetectorChange {
    /// The detectors to apply; `None` returns to the config's choice.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn into_ensemble(self) -> Option<detect::Ensemble> {
        match self {
            Self::ConfigChoice => None,
            Self::Detector(spec) => Some(detect::Ensemble::single(spec)),
            Self::Combined(ensemble) => Some(ensemble),
        }
    }
}

/// The longest detector a request may carry, as JSON.
const MAX_DETECTOR_JSON: usize = 16 * 1024;

impl TryFrom<String> for DetectorChange {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if text.len() > MAX_DETECTOR_JSON {
            return Err("the detector settings are too long".into());
        }
        if text.trim().is_empty() {
            return Ok(Self::ConfigChoice);
        }
        let ensemble: detect::Ensemble =
            serde_json::from_str(&text).map_err(|error| format!("detector settings: {error}"))?;
        ensemble
            .validate()
            .map_err(|error| format!("detector settings: {error}"))?;
        match ensemble.as_single() {
            Some(spec) => Ok(Self::Detector(spec.clone())),
            #[cfg(not(target_arch = "wasm32"))]
            None => Ok(Self::Combined(ensemble)),
            #[cfg(target_arch = "wasm32")]
            None => Err("detector settings: a combination is read on the server".into()),
        }
    }
}

impl From<DetectorChange> for String {
    fn from(change: DetectorChange) -> String {
        // Detectors are plain numbers and names: they always serialize.
        match change {
            DetectorChange::ConfigChoice => String::new(),
            DetectorChange::Detector(spec) => serde_json::to_string(&spec).unwrap_or_default(),
            #[cfg(not(target_arch = "wasm32"))]
            DetectorChange::Combined(ensemble) => {
                serde_json::to_string(&ensemble).unwrap_or_default()
            }
        }
    }
}

/// One change of a metric's detector, with the old and new values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingChangeRow {
    /// Unix seconds.
    pub at: i64,
    pub by: String,
    /// The detector applied (JSON as in [`DetectorSettings::in_effect`]);
    /// `None` went back to the config file's.
    pub detector: Option<String>,
    /// What was in effect before (JSON).
    pub previous: String,
}

#[server(endpoint = "fetch_detector")]
pub async fn fetch_detector(metric: String) -> Result<DetectorSettings, ServerFnError> {
    let backend = backend::from_context()?;
    find_metric(&backend.metrics(), &metric).map_err(|e| refuse(Refusal::NotFound, e))?;
    backend
        .detector_settings(metric)
        .await
        .map_err(backend::ApiError::into_server_fn_error)
}

/// Applies a detector to a metric from the next check on, or returns the
/// metric to the config file's choice. The change is recorded
/// with its time and the old and new values.
#[server(endpoint = "apply_detector")]
pub async fn apply_detector(
    metric: String,
    detector: DetectorChange,
    token: String,
) -> Result<DetectorSettings, ServerFnError> {
    let backend = backend::from_context()?;
    backend::authorize(backend.as_ref(), &token)?;
    find_metric(&backend.metrics(), &metric).map_err(|e| refuse(Refusal::NotFound, e))?;
    backend
        .apply_detector(metric, detector.into_ensemble())
        .await
        .map_err(backend::ApiError::into_server_fn_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detector_travels_as_its_config_entry() {
        let iqr = r#"{"detector":"iqr","n":5}"#;
        let DetectorChange::Detector(spec) = DetectorChange::try_from(iqr.to_string()).unwrap()
        else {
            panic!("one detector");
        };
        assert_eq!(spec.name(), "iqr");
        let back = String::from(DetectorChange::Detector(spec));
        assert!(back.starts_with(r#"{"detector":"iqr""#), "{back}");
        let several = r#"{"combine":"any","members":[{"detector":"iqr"},{"detector":"drop"}]}"#;
        let combined = DetectorChange::try_from(several.to_string()).unwrap();
        let ensemble = combined.clone().into_ensemble().expect("detectors");
        assert_eq!(ensemble.name(), "any(iqr+drop)");
        assert_eq!(
            DetectorChange::try_from(String::from(combined.clone())),
            Ok(combined)
        );
        assert_eq!(
            DetectorChange::try_from("  ".to_string()),
            Ok(DetectorChange::ConfigChoice)
        );
        for bad in [r#"{"detector":"iqr","n":1}"#, "not json"] {
            let error = DetectorChange::try_from(bad.to_string()).unwrap_err();
            assert!(error.starts_with("detector settings: "), "{error}");
        }
        let long = DetectorChange::try_from("x".repeat(16 * 1024 + 1)).unwrap_err();
        assert!(long.contains("too long"), "{long}");
    }
}
