//! [`DetectorSettings`] on SQLite: the `detector_settings` table.

use detect::Ensemble;
use rusqlite::params;

use super::SqliteState;
use crate::detector_choice::DetectorChoice;
use crate::state::records::settings_sql as sql;
use crate::state::records::{ensemble_json, setting_change};
use crate::state::{DetectorSettings, SettingChange, SettingsError};

impl DetectorSettings for SqliteState {
    /// Records a change: `detector` (validated by the caller) takes effect for
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
        let text = |ensemble: &Ensemble| ensemble_json(metric, ensemble);
        let new_text = detector.map(text).transpose()?;
        self.conn
            .execute(
                "INSERT INTO detector_settings (metric, detector, previous, applied_by, applied_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![metric, new_text, text(&previous)?, applied_by, now],
            )
            .map_err(sql("apply detector"))?;
        tracing::info!(
            metric,
            detector = detector.map_or_else(|| "(config)".to_string(), Ensemble::name),
            previous = previous.name(),
            applied_by,
            "detector settings applied"
        );
        Ok(SettingChange {
            id: self.conn.last_insert_rowid(),
            metric: metric.to_string(),
            detector: detector.cloned(),
            previous,
            applied_by: applied_by.to_string(),
            applied_at: now,
        })
    }

    fn detector_history(&self, metric: Option<&str>) -> Result<Vec<SettingChange>, SettingsError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT id, metric, detector, previous, applied_by, applied_at
                 FROM detector_settings WHERE ?1 IS NULL OR metric = ?1 ORDER BY id DESC",
            )
            .map_err(sql("read detector settings"))?;
        let rows = statement
            .query_map([metric], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, i64>(5)?,
                ))
            })
            .map_err(sql("read detector settings"))?;
        rows.map(|row| setting_change(row.map_err(sql("read detector settings"))?))
            .collect()
    }
}
