//! Who this process is among the vigil processes sharing one state: the name
//! its leader lease and its outbox claims carry. Names are stable across
//! restarts on the same host, so a restarted process takes its own lease and
//! claims back at once instead of waiting for them to run out.

/// This machine's host name (`localhost` when it has none).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The default holder name: this host and the port it serves on, so two
/// instances on one machine differ and a restarted one reclaims its lease.
pub fn default_holder(port: u16) -> String {
    format!("{}:{port}", host_name())
}

/// The claimant of a one-off command (`vigil check`, `vigil report`): the
/// same on every run on this host, so a run killed mid-send leaves claims
/// the next run takes back at once rather than after they run out.
pub fn command_claimant(command: &str) -> String {
    format!("vigil {command}@{}", host_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_differ_by_port() {
        assert_ne!(default_holder(3000), default_holder(3001));
        assert!(default_holder(3000).ends_with(":3000"));
    }
}
