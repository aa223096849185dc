//! Detector settings applied from the web lab: for one metric, a detector (or
//! several combined) that overrides the config file's `[detectors]` from the
//! next check on, until reverted. Kept as a history by the state
//! ([`crate::state::DetectorSettings`]); this module says which detectors are
//! in effect.

use crate::detector_choice::DetectorChoice;
use crate::state::{State, StateLocation, StateStore};

pub use crate::state::{SettingChange, SettingsError};

/// The detectors in effect now: the config's choice with the settings applied
/// in `state` on top. Checks and alert charts use this.
pub async fn in_effect(state: &State, configured: &DetectorChoice) -> DetectorChoice {
    let owned = configured.clone();
    let result = state
        .call(move |store| store.effective_detectors(&owned))
        .await;
    or_configured(result.map_err(|e| e.to_string()), configured)
}

/// [`in_effect`] for the state at `location`, opened for this one read on
/// the blocking pool (`vigil check --dry-run`).
pub async fn effective_at(location: StateLocation, configured: &DetectorChoice) -> DetectorChoice {
    let owned = configured.clone();
    let result = tokio::task::spawn_blocking(move || {
        let store = crate::state::open(&location).map_err(|e| e.to_string())?;
        Ok(effective_in(store.as_ref(), &owned))
    })
    .await
    .unwrap_or_else(|e| Err(format!("the settings task failed: {e}")));
    or_configured(result, configured)
}

/// [`in_effect`] read from a store a command already opened (`vigil
/// replay`, which also reads its silences).
pub fn effective_in(store: &dyn StateStore, configured: &DetectorChoice) -> DetectorChoice {
    let result = store.effective_detectors(configured);
    or_configured(result.map_err(|e| e.to_string()), configured)
}

/// A state that cannot be read leaves the config's choice in effect (logged):
/// a broken settings table must not stop checks.
fn or_configured(
    result: Result<DetectorChoice, String>,
    configured: &DetectorChoice,
) -> DetectorChoice {
    result.unwrap_or_else(|error| {
        tracing::warn!(%error, "applied detector settings unreadable; using the config's");
        configured.clone()
    })
}
