//! One `[detectors]` entry of the config: a detector or several combined,
//! with durations for periods and model files beside the config.

use std::path::Path;

use detect::{CombineRule, DetectorSpec, Ensemble};
use serde::Deserialize;

/// Several detectors in one entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnsemble {
    #[serde(default)]
    combine: Option<String>,
    members: Vec<DetectorSpec>,
}

/// One `[detectors]` entry: `{ detector = "iqr", ... }`, or
/// `{ combine = "any", members = [ { detector = "seasonal" }, ... ] }`.
/// The reason is one line: every problem of a config is one line of its report.
pub(super) fn detector_entry(value: toml::Value, config_dir: &Path) -> Result<Ensemble, String> {
    parse_detector_entry(value, config_dir).map_err(|reason| {
        reason
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn parse_detector_entry(mut value: toml::Value, config_dir: &Path) -> Result<Ensemble, String> {
    periods_to_points(&mut value)?;
    load_models(&mut value, config_dir)?;
    let several = value.as_table().is_some_and(|t| t.contains_key("members"));
    let ensemble = if several {
        let raw: RawEnsemble = value.try_into().map_err(|e| e.to_string())?;
        let rule = match raw.combine.as_deref() {
            None => CombineRule::Any,
            Some(text) => CombineRule::parse(text).ok_or_else(|| {
                format!("combine = {text:?}: expected \"any\", \"all\" or \"majority\"")
            })?,
        };
        Ensemble::new(raw.members, rule)
    } else {
        Ensemble::single(
            value
                .try_into()
                .map_err(|e: toml::de::Error| e.to_string())?,
        )
    };
    ensemble.validate().map_err(|e| e.to_string())?;
    Ok(ensemble)
}

/// Rewrites every `period = "1d"` (a duration, as `vigil detect --period`
/// takes it) in a detector entry to its number of 15-minute buckets, which is
/// what the detectors deserialize; numbers stay as they are.
fn periods_to_points(entry: &mut toml::Value) -> Result<(), String> {
    let Some(table) = entry.as_table_mut() else {
        return Ok(());
    };
    if let Some(toml::Value::Array(members)) = table.get_mut("members") {
        for (index, member) in members.iter_mut().enumerate() {
            periods_to_points(member).map_err(|reason| format!("members[{index}]: {reason}"))?;
        }
        return Ok(());
    }
    let Some(toml::Value::String(text)) = table.get("period").cloned() else {
        return Ok(());
    };
    if text.trim() == "auto" {
        // A check reads only the history its detector looks back over, so the
        // period must be known before any data is read.
        return Err("period = \"auto\" works only with `vigil detect`; \
                    here use a number of points or a duration like \"1d\" or \"1w\""
            .into());
    }
    let points = crate::period::period_points(&text, crate::metrics::model::BUCKET_SECONDS)
        .map_err(|reason| format!("period {reason}"))?;
    let points = i64::try_from(points).map_err(|_| format!("period {text:?} is too long"))?;
    table.insert("period".into(), toml::Value::Integer(points));
    Ok(())
}

/// Loads every `model = "team-model.json"` of a `learned` entry (a path
/// relative to the config file's directory) and registers it under that
/// name, which is what the detector deserializes; without a `threshold` or
/// `confirm` the entry takes the ones chosen for the model when it was
/// trained.
fn load_models(entry: &mut toml::Value, config_dir: &Path) -> Result<(), String> {
    let Some(table) = entry.as_table_mut() else {
        return Ok(());
    };
    if let Some(toml::Value::Array(members)) = table.get_mut("members") {
        for (index, member) in members.iter_mut().enumerate() {
            load_models(member, config_dir)
                .map_err(|reason| format!("members[{index}]: {reason}"))?;
        }
        return Ok(());
    }
    let Some(toml::Value::String(name)) = table.get("model").cloned() else {
        return Ok(());
    };
    if name == detect::models::BUILTIN_ID {
        return Ok(());
    }
    let path = config_dir.join(&name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("model {name:?}: cannot read {}: {e}", path.display()))?;
    let model = detect::models::Model::from_json(&text, name.clone())
        .map_err(|e| format!("model {name:?} ({}): {e}", path.display()))?;
    let (threshold, confirm, sure) = (
        model.threshold,
        model.provenance.confirm,
        model.provenance.sure,
    );
    detect::models::ModelRef::register(model);
    table
        .entry("threshold")
        .or_insert(toml::Value::Float(threshold));
    table
        .entry("confirm")
        .or_insert(toml::Value::Integer(confirm as i64));
    table.entry("sure").or_insert(toml::Value::Float(sure));
    Ok(())
}
