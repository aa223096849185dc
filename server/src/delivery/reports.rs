//! The morning reports, delivered by the same sender after each pass's
//! alerts (see [`crate::report::send`]).

use std::sync::Arc;

use super::{Blocked, Deliverer, DeliveryReport};
use crate::report::send::MorningReports;
use crate::state::AlertError;

impl Deliverer {
    /// Delivers `reports` too, after the alerts of each pass.
    pub fn with_reports(mut self, reports: Arc<MorningReports>) -> Self {
        self.reports = Some(reports);
        self
    }

    /// The reports due, unless the alerts' pass stopped at a failure (the
    /// reports wait for the next pass then).
    pub(super) async fn deliver_reports(
        &self,
        now: i64,
        ignore_backoff: bool,
        report: &mut DeliveryReport,
    ) -> Result<(), AlertError> {
        let (Some(reports), None) = (&self.reports, &report.blocked) else {
            return Ok(());
        };
        let sent = reports
            .deliver_due(now, ignore_backoff, &self.claimant)
            .await?;
        report.delivered += sent.delivered;
        report.abandoned += sent.abandoned;
        report.blocked = sent
            .blocked
            .map(|(error, retry_after_secs, retry_at)| Blocked {
                error,
                retry_after_secs,
                retry_at,
            });
        Ok(())
    }
}
