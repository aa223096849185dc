//! `https://` to ClickHouse: the connector over rustls (its config comes from
//! [`crate::config::clickhouse_tls`]), and TLS failures told in words a user
//! can act on ("certificate not trusted: ... set ca_file") instead of an error
//! chain ending in `invalid peer certificate: UnknownIssuer`.

use std::error::Error;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::{CertificateError, ClientConfig};

/// HTTPS only: an `https://` URL never falls back to plain HTTP.
pub(super) fn https_connector(
    mut http: HttpConnector,
    config: ClientConfig,
) -> HttpsConnector<HttpConnector> {
    // The plain connector refuses `https` URIs unless told they are wrapped.
    http.enforce_http(false);
    HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .wrap_connector(http)
}

/// What the source can say about its TLS settings in a message: file paths
/// and whether a client certificate is sent, never any file's content.
#[derive(Debug, Default)]
pub(super) struct TlsSettings {
    /// The configured `ca_file`; `None`: the system's root certificates.
    pub(super) ca_file: Option<String>,
    pub(super) client_cert: bool,
}

/// A sentence for a request that failed in TLS, `None` for any other failure.
pub(super) fn explain(error: &(dyn Error + 'static), settings: &TlsSettings) -> Option<String> {
    rustls_error(error).map(|error| describe(error, settings))
}

/// The rustls error somewhere in the chain. tokio-rustls wraps it in an
/// `io::Error`, whose `source()` skips the wrapped error, so look inside too.
fn rustls_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let wrapped = current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        if let Some(tls) = wrapped.and_then(|inner| rustls_error(inner)) {
            return Some(tls);
        }
        next = current.source();
    }
    None
}

fn describe(error: &rustls::Error, settings: &TlsSettings) -> String {
    use CertificateError as Cert;
    let roots = match &settings.ca_file {
        Some(file) => format!("the CA in ca_file ({file})"),
        None => "a CA among the system's root certificates".to_string(),
    };
    match error {
        rustls::Error::InvalidCertificate(certificate) => match certificate {
            Cert::UnknownIssuer | Cert::BadSignature => format!(
                "certificate not trusted: the server's certificate is not signed by {roots}; \
                 set ca_file in [source] to the PEM file of the CA that signed it"
            ),
            Cert::NotValidForName => "certificate not valid for this host: the server's \
                 certificate does not name the host of the url; use a name it lists"
                .to_string(),
            Cert::NotValidForNameContext { presented, .. } => format!(
                "certificate not valid for this host: the server's certificate does not \
                 name the host of the url, it names {}; use one of those",
                presented
                    .iter()
                    .map(|name| bare_name(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Cert::Expired
            | Cert::ExpiredContext { .. }
            | Cert::NotValidYet
            | Cert::NotValidYetContext { .. } => "certificate not valid at this time \
                 (expired or not yet valid): renew the server's certificate or check this \
                 machine's clock"
                .to_string(),
            _ => format!("certificate rejected: {error}"),
        },
        rustls::Error::AlertReceived(alert) if settings.client_cert => format!(
            "the server refused the TLS connection (alert {alert:?}): check that \
             client_cert_file is signed by a CA the server trusts for clients"
        ),
        rustls::Error::AlertReceived(alert) => format!(
            "the server refused the TLS connection (alert {alert:?}); if it requires a \
             client certificate, set client_cert_file and client_key_file in [source]"
        ),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => format!(
            "TLS handshake failed ({error}): is the url's port the server's https_port, \
             not its http_port?"
        ),
        other => format!("TLS failed: {other}"),
    }
}

/// `localhost` of rustls' `DnsName("localhost")` (the names come in `Debug` form).
fn bare_name(presented: &str) -> &str {
    match (presented.find('('), presented.rfind(')')) {
        (Some(open), Some(close)) if open < close => presented[open + 1..close].trim_matches('"'),
        _ => presented,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CertificateError as Cert;

    fn wrapped(error: rustls::Error) -> Box<dyn Error + Send + Sync> {
        // As tokio-rustls reports it, behind a network error's source.
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
        Box::new(clickhouse::error::Error::Network(Box::new(io)))
    }

    #[test]
    fn an_untrusted_certificate_says_to_set_ca_file_and_names_it() {
        let error = wrapped(rustls::Error::InvalidCertificate(Cert::UnknownIssuer));
        let system = explain(error.as_ref(), &TlsSettings::default()).expect("a TLS error");
        assert!(system.starts_with("certificate not trusted"), "{system}");
        assert!(system.contains("system's root certificates"), "{system}");
        assert!(system.contains("set ca_file"), "{system}");
        let settings = TlsSettings {
            ca_file: Some("/etc/vigil/ca.pem".into()),
            client_cert: false,
        };
        let private = explain(error.as_ref(), &settings).expect("a TLS error");
        assert!(private.contains("/etc/vigil/ca.pem"), "{private}");
    }

    #[test]
    fn a_wrong_host_and_a_refused_client_are_told_apart() {
        let name = wrapped(rustls::Error::InvalidCertificate(Cert::NotValidForName));
        let name = explain(name.as_ref(), &TlsSettings::default()).expect("a TLS error");
        assert!(
            name.starts_with("certificate not valid for this host"),
            "{name}"
        );
        let context = wrapped(rustls::Error::InvalidCertificate(
            Cert::NotValidForNameContext {
                expected: "127.0.0.1".try_into().expect("a server name"),
                presented: vec![r#"DnsName("localhost")"#.into()],
            },
        ));
        let context = explain(context.as_ref(), &TlsSettings::default()).expect("a TLS error");
        assert!(
            context.ends_with("it names localhost; use one of those"),
            "{context}"
        );
        let refused = wrapped(rustls::Error::AlertReceived(
            rustls::AlertDescription::CertificateRequired,
        ));
        let refused = explain(refused.as_ref(), &TlsSettings::default()).expect("a TLS error");
        assert!(refused.contains("set client_cert_file"), "{refused}");
    }

    #[test]
    fn other_failures_are_not_tls() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = clickhouse::error::Error::Network(Box::new(io));
        assert_eq!(explain(&error, &TlsSettings::default()), None);
    }
}
