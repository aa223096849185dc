//! The checks every URL in the config gets (ClickHouse, the Telegram API,
//! vigil's public address, dashboard links): a scheme, a host, a port that
//! exists, and no `user:password@`. A URL is logged and rendered, so it must
//! not carry a credential; and a reason never echoes the URL, which may.

/// Why a configured URL is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlProblem {
    Scheme,
    Whitespace,
    NoHost,
    Port,
    Credentials,
}

impl UrlProblem {
    /// The reason, with `credentials` saying where a credential belongs instead.
    pub fn reason(self, credentials: &str) -> String {
        match self {
            UrlProblem::Scheme => "expected an http:// or https:// URL".into(),
            UrlProblem::Whitespace => "a URL cannot contain spaces".into(),
            UrlProblem::NoHost => "the URL has no host".into(),
            UrlProblem::Port => "the URL's port must be a number from 1 to 65535".into(),
            UrlProblem::Credentials => format!(
                "the URL must not contain user:password@ (it would be logged and shown); {credentials}"
            ),
        }
    }
}

/// `http://` or `https://`, then [`check_authority`].
pub fn check(url: &str) -> Result<(), UrlProblem> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or(UrlProblem::Scheme)?;
    if url.chars().any(char::is_whitespace) {
        return Err(UrlProblem::Whitespace);
    }
    check_authority(authority(rest))
}

/// The authority of what follows `scheme://`: up to the path, query or fragment.
pub fn authority(rest: &str) -> &str {
    &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())]
}

/// `host[:port]` with a host, an existing port and no userinfo.
pub fn check_authority(authority: &str) -> Result<(), UrlProblem> {
    if authority.contains('@') {
        return Err(UrlProblem::Credentials);
    }
    // `[::1]:8123`: the port follows the bracket of an IPv6 host.
    let host_end = if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |end| end + 1)
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    let (host, port) = authority.split_at(host_end);
    if host.is_empty() || host == "[]" {
        return Err(UrlProblem::NoHost);
    }
    if let Some(port) = port.strip_prefix(':') {
        let valid = port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|number| number > 0);
        if !valid {
            return Err(UrlProblem::Port);
        }
    } else if !port.is_empty() {
        return Err(UrlProblem::NoHost);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_ports_and_credentials() {
        assert_eq!(check("https://api.telegram.org"), Ok(()));
        assert_eq!(check("http://127.0.0.1:8123/x?y=1"), Ok(()));
        assert_eq!(check("http://[::1]:3000/"), Ok(()));
        assert_eq!(check("https://bi.example:99999/d"), Err(UrlProblem::Port));
        assert_eq!(check("https://bi.example:0"), Err(UrlProblem::Port));
        assert_eq!(check("https://bi.example:+80"), Err(UrlProblem::Port));
        assert_eq!(check("https://bi.example:/d"), Err(UrlProblem::Port));
        assert_eq!(
            check("https://bob:hunter2@bi.example"),
            Err(UrlProblem::Credentials)
        );
        assert_eq!(check("https://:80"), Err(UrlProblem::NoHost));
        assert_eq!(check("https:///d"), Err(UrlProblem::NoHost));
        assert_eq!(check("ftp://x"), Err(UrlProblem::Scheme));
        assert_eq!(check("https://a b"), Err(UrlProblem::Whitespace));
        let reason = UrlProblem::Credentials.reason("set `token`");
        assert!(reason.contains("set `token`"), "{reason}");
    }
}
