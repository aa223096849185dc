//! [`DetectorSettings`] on PostgreSQL: the `detector_settings` table.

use detect::Ensemble;

use super::PostgresState;
use crate::detector_choice::DetectorChoice;
use crate::state::records::settings_sql as sql;
use crate::state::records::{ensemble_json, setting_change};
use crate::state::{DetectorSettings, SettingChange, SettingsError};

impl DetectorSettings for PostgresState {
    fn apply_detector(
        &mut self,
        metric: &str,
        detector: Option<&Ensemble>,
        configured: &DetectorChoice,
        applied_by: &str,
        now: i64,
    ) -> Result<SettingChange, SettingsError> {
        let previous = self
            .effective_detectors(configured)?
            .for_metric(metric)
            .clone();
        let new_text = detector.map(|d| ensemble_json(metric, d)).transpose()?;
        let previous_text = ensemble_json(metric, &previous)?;
        let id: i64 = self.with_client(|client| {
            client
                .query_one(
                    "INSERT INTO detector_settings (metric, detector, previous, applied_by, applied_at)
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    &[&metric, &new_text, &previous_text, &applied_by, &now],
                )
                .and_then(|r| r.try_get(0))
                .map_err(sql("apply detector"))
        })?;
        tracing::info!(
            metric,
            detector = detector.map_or_else(|| "(config)".to_string(), Ensemble::name),
            previous = previous.name(),
            applied_by,
            "detector settings applied"
        );
        Ok(SettingChange {
            id,
            metric: metric.to_string(),
            detector: detector.cloned(),
            previous,
            applied_by: applied_by.to_string(),
            applied_at: now,
        })
    }

    fn detector_history(&self, metric: Option<&str>) -> Result<Vec<SettingChange>, SettingsError> {
        let rows = self.with_client(|client| {
            client
                .query(
                    "SELECT id, metric, detector, previous, applied_by, applied_at
                     FROM detector_settings WHERE $1::TEXT IS NULL OR metric = $1 ORDER BY id DESC",
                    &[&metric],
                )
                .map_err(sql("read detector settings"))
        })?;
        rows.iter()
            .map(|r| {
                let read = || -> Result<_, postgres::Error> {
                    Ok((
                        r.try_get(0)?,
                        r.try_get(1)?,
                        r.try_get(2)?,
                        r.try_get(3)?,
                        r.try_get(4)?,
                        r.try_get(5)?,
                    ))
                };
                setting_change(read().map_err(sql("read detector settings"))?)
            })
            .collect()
    }
}
