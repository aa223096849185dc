//! Leases: a named role (the leader that runs the checks) held by one vigil
//! instance at a time, for a time-to-live it renews ([`Leases`]). Expiry is
//! judged by the database's clock, so instances on machines whose clocks
//! disagree still agree on who holds it.

use super::AlertError;

/// Who holds a lease and until when (unix seconds, by the database's clock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseHolder {
    pub holder: String,
    pub expires_at: i64,
}

/// Named leases shared by the instances on one state.
pub trait Leases {
    /// Takes lease `name` for `holder` for `ttl_secs` if it is free, expired,
    /// or already `holder`'s (then it is renewed), atomically. Returns whether
    /// `holder` holds it now.
    fn acquire_lease(
        &mut self,
        name: &str,
        holder: &str,
        ttl_secs: u64,
    ) -> Result<bool, AlertError>;

    /// Gives lease `name` up if `holder` holds it (otherwise changes nothing),
    /// so another instance can take it at once instead of waiting for expiry.
    fn release_lease(&mut self, name: &str, holder: &str) -> Result<(), AlertError>;

    /// The current, unexpired holder of lease `name`.
    fn lease_holder(&self, name: &str) -> Result<Option<LeaseHolder>, AlertError>;
}

/// `ttl_secs` as seconds to add to a unix time, saturating instead of wrapping.
pub(crate) fn ttl_i64(ttl_secs: u64) -> i64 {
    i64::try_from(ttl_secs)
        .unwrap_or(i64::MAX / 4)
        .min(i64::MAX / 4)
}
