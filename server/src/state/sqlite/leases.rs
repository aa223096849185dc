//! [`Leases`] on SQLite: the `leases` table. One machine reads the file, so
//! SQLite's own clock (the process's) judges expiry.

use rusqlite::{params, OptionalExtension};

use super::{sql, SqliteState, DB_NOW};
use crate::state::leases::ttl_i64;
use crate::state::{AlertError, LeaseHolder, Leases};

impl Leases for SqliteState {
    fn acquire_lease(
        &mut self,
        name: &str,
        holder: &str,
        ttl_secs: u64,
    ) -> Result<bool, AlertError> {
        // One statement: the upsert's WHERE decides atomically whether the
        // row is taken over (free, expired or ours) or left to its holder.
        let changed = self
            .conn
            .execute(
                &format!(
                    "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, {DB_NOW} + ?3)
                     ON CONFLICT (name) DO UPDATE
                     SET holder = excluded.holder, expires_at = excluded.expires_at
                     WHERE leases.holder = excluded.holder OR leases.expires_at <= {DB_NOW}"
                ),
                params![name, holder, ttl_i64(ttl_secs)],
            )
            .map_err(sql("acquire lease"))?;
        Ok(changed == 1)
    }

    fn release_lease(&mut self, name: &str, holder: &str) -> Result<(), AlertError> {
        self.conn
            .execute(
                "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                params![name, holder],
            )
            .map_err(sql("release lease"))?;
        Ok(())
    }

    fn lease_holder(&self, name: &str) -> Result<Option<LeaseHolder>, AlertError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT holder, expires_at FROM leases WHERE name = ?1 AND expires_at > {DB_NOW}"
                ),
                params![name],
                |r| {
                    Ok(LeaseHolder {
                        holder: r.get(0)?,
                        expires_at: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(sql("lease holder"))
    }
}
