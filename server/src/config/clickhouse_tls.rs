//! TLS to ClickHouse (`https://` URLs): the CA and client-certificate files of
//! `[source]`, read and turned into a rustls client config here, by `vigil
//! config check` and by the source when it opens, so both apply the same rule
//! and a file `config check` accepts is one `vigil check` can use.
//!
//! Without `ca_file` the server's certificate is verified against the system's
//! root certificates (as the Telegram client does); with it, against that CA
//! only: a private CA is then the one authority for this connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

/// The TLS files a ClickHouse source names (paths already resolved against the
/// config file's directory). All empty means: system roots, no client certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClickHouseTls {
    /// PEM file of the CA (or CAs) that signed the server's certificate.
    pub ca_file: Option<PathBuf>,
    /// A client certificate for servers that require one (mutual TLS).
    pub client_cert: Option<ClientCertFiles>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertFiles {
    /// PEM certificate chain, the client's own certificate first.
    pub cert_file: PathBuf,
    /// PEM private key of that certificate (never read into any message).
    pub key_file: PathBuf,
}

/// Why the TLS settings cannot be used: the `[source]` key at fault and a
/// reason naming its file. Never contains any file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSetupError {
    pub key: &'static str,
    pub reason: String,
}

pub const CA_FILE_KEY: &str = "source.ca_file";
pub const CLIENT_CERT_KEY: &str = "source.client_cert_file";
pub const CLIENT_KEY_KEY: &str = "source.client_key_file";

/// The rustls config for an `https://` ClickHouse URL: reads and checks every
/// file (a CA that is no certificate, a key that does not match its
/// certificate are errors here, not at the first query).
pub fn client_config(tls: &ClickHouseTls) -> Result<ClientConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsSetupError {
            key: CA_FILE_KEY,
            reason: format!("TLS setup failed: {error}"),
        })?;
    let builder = match &tls.ca_file {
        Some(ca_file) => builder.with_root_certificates(private_roots(ca_file)?),
        None => {
            let verifier = rustls_platform_verifier::Verifier::new(provider).map_err(|error| {
                TlsSetupError {
                    key: CA_FILE_KEY,
                    reason: format!(
                        "not set, and the system's root certificates cannot be used ({error}): \
                         install ca-certificates or set ca_file to the PEM file of the \
                         server's CA"
                    ),
                }
            })?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
        }
    };
    let Some(client) = &tls.client_cert else {
        return Ok(builder.with_no_client_auth());
    };
    let chain = certificates(CLIENT_CERT_KEY, &client.cert_file)?;
    let key = private_key(&client.key_file)?;
    builder
        .with_client_auth_cert(chain, key)
        .map_err(|error| TlsSetupError {
            key: CLIENT_KEY_KEY,
            reason: match error {
                rustls::Error::InconsistentKeys(_) => format!(
                    "{} is not the private key of the certificate in {}",
                    client.key_file.display(),
                    client.cert_file.display()
                ),
                other => format!(
                    "{}: cannot use this key: {other}",
                    client.key_file.display()
                ),
            },
        })
}

/// The CA file as the only trusted roots.
fn private_roots(ca_file: &Path) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for (index, certificate) in certificates(CA_FILE_KEY, ca_file)?.into_iter().enumerate() {
        roots.add(certificate).map_err(|error| TlsSetupError {
            key: CA_FILE_KEY,
            reason: format!(
                "{}: certificate {} is not a usable CA certificate: {error}",
                ca_file.display(),
                index + 1
            ),
        })?;
    }
    Ok(roots)
}

/// Every `CERTIFICATE` block of a PEM file; at least one.
fn certificates(
    key: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let text = read(key, path)?;
    let certificates = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| pem_error(key, path, &error))?;
    if certificates.is_empty() {
        return Err(pem_error(key, path, &pem::Error::NoItemsFound));
    }
    Ok(certificates)
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 RSA or SEC1 EC).
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    let text = read(CLIENT_KEY_KEY, path)?;
    PrivateKeyDer::from_pem_slice(&text).map_err(|error| pem_error(CLIENT_KEY_KEY, path, &error))
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, TlsSetupError> {
    std::fs::read(path).map_err(|error| TlsSetupError {
        key,
        reason: format!("cannot read {}: {error}", path.display()),
    })
}

/// A PEM problem in words of our own: pki-types' messages may quote the
/// file's bytes, and a key file's bytes are a secret.
fn pem_error(key: &'static str, path: &Path, error: &pem::Error) -> TlsSetupError {
    let expected = if key == CLIENT_KEY_KEY {
        "a PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)"
    } else {
        "PEM certificates (-----BEGIN CERTIFICATE-----)"
    };
    let problem = match error {
        pem::Error::NoItemsFound => "nothing of that kind found in it".into(),
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no -----END line".into(),
        pem::Error::IllegalSectionStart { .. } => "a malformed -----BEGIN line".into(),
        pem::Error::Base64Decode(_) => "invalid base64 inside a PEM section".into(),
        pem::Error::Io(error) => format!("cannot read it: {error}"),
        _ => "not readable as PEM".into(),
    };
    TlsSetupError {
        key,
        reason: format!("{}: {problem}; expected {expected}", path.display()),
    }
}

#[cfg(test)]
mod tests;
