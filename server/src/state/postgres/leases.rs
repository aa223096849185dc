//! [`Leases`] on PostgreSQL: the `leases` table, expiry by the database's
//! clock so instances whose own clocks disagree still agree.

use super::{sql, PostgresState, DB_NOW};
use crate::state::leases::ttl_i64;
use crate::state::{AlertError, LeaseHolder, Leases};

impl Leases for PostgresState {
    fn acquire_lease(
        &mut self,
        name: &str,
        holder: &str,
        ttl_secs: u64,
    ) -> Result<bool, AlertError> {
        // One statement: the upsert's WHERE decides atomically (the row is
        // locked while it does) whether the lease is taken over or kept.
        let changed = self.execute(
            &format!(
                "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, {DB_NOW} + $3)
                 ON CONFLICT (name) DO UPDATE
                 SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                 WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= {DB_NOW}"
            ),
            &[&name, &holder, &ttl_i64(ttl_secs)],
            "acquire lease",
        )?;
        Ok(changed == 1)
    }

    fn release_lease(&mut self, name: &str, holder: &str) -> Result<(), AlertError> {
        self.execute(
            "DELETE FROM leases WHERE name = $1 AND holder = $2",
            &[&name, &holder],
            "release lease",
        )?;
        Ok(())
    }

    fn lease_holder(&self, name: &str) -> Result<Option<LeaseHolder>, AlertError> {
        self.with_client(|client| {
            let row = client
                .query_opt(
                    &format!(
                        "SELECT holder, expires_at FROM leases
                         WHERE name = $1 AND expires_at > {DB_NOW}"
                    ),
                    &[&name],
                )
                .map_err(sql("lease holder"))?;
            row.map(|r| {
                Ok(LeaseHolder {
                    holder: r.try_get(0)?,
                    expires_at: r.try_get(1)?,
                })
            })
            .transpose()
            .map_err(sql("lease holder"))
        })
    }
}
