//! The ClickHouse URL as configured: checked once here, by `vigil config
//! check` and by the source when it opens, so both apply the same rule.

/// `scheme://host:port/path` of a configured URL, without credentials or query;
/// for anything the HTTP client cannot use, the reason. `vigil config check`
/// runs the same check, so a URL it accepts is one `vigil check` can use.
pub fn public_url(url: &str) -> Result<String, &'static str> {
    // The reason echoes nothing of the URL, which may embed a password.
    let invalid = |reason: &'static str| reason;
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
        ("http", rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        ("https", rest)
    } else {
        return Err(invalid("it must start with http:// or https://"));
    };
    let authority = super::http_url::authority(rest);
    let path = &rest[authority.len()..];
    match super::http_url::check_authority(authority) {
        Ok(()) => {}
        Err(super::http_url::UrlProblem::Credentials) => {
            return Err(invalid(
                "put the user and password in the config or environment, not in the URL",
            ))
        }
        Err(super::http_url::UrlProblem::Port) => {
            return Err(invalid("its port must be a number from 1 to 65535"))
        }
        Err(_) => return Err(invalid("it has no host")),
    }
    let host = authority;
    let path = path.split(['?', '#']).next().unwrap_or("");
    Ok(format!("{scheme}://{host}{}", path.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_strips_path_noise_and_refuses_credentials() {
        assert_eq!(
            public_url("http://127.0.0.1:8123/").ok().as_deref(),
            Some("http://127.0.0.1:8123")
        );
        assert_eq!(
            public_url("http://ch.local:8123/?x=1").ok().as_deref(),
            Some("http://ch.local:8123")
        );
        let error = public_url("http://bob:s3cret@ch.local:8123").unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert!(public_url("ch.local:8123").is_err());
        assert_eq!(
            public_url("https://ch.local:8443/").ok().as_deref(),
            Some("https://ch.local:8443")
        );
        let error = public_url("https://bob:s3cret@ch.local").unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert!(public_url("ftp://ch.local").is_err());
        assert!(public_url("https://").is_err());
        assert!(public_url("http://").is_err());
        assert!(public_url("http://ch.local:99999").is_err());
    }
}
