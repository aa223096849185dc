//! The TLS keys of `[source]` through `Config::load`, as `vigil config check`
//! reads them: real PEM files (made by `openssl` at run time) and broken ones.

use std::path::Path;

use crate::config::{Config, ConfigError, SecretEnv, SourceConfig};
use crate::test_pki as pki;

/// A config file in `dir` for an https ClickHouse with the given extra keys.
fn load(dir: &Path, url: &str, extra: &str) -> Result<Config, ConfigError> {
    let path = dir.join("vigil.toml");
    let text = format!("[source]\nkind = \"clickhouse\"\nurl = \"{url}\"\n{extra}");
    std::fs::write(&path, text).expect("config written");
    Config::load(&path)
}

fn problems(dir: &Path, url: &str, extra: &str) -> Vec<String> {
    let error = load(dir, url, extra).expect_err("an invalid config");
    error.problems().iter().map(ToString::to_string).collect()
}

/// The PKI, or `None` (said loudly) where no `openssl` CLI is installed.
fn pki(dir: &Path, test: &str) -> Option<pki::TestPki> {
    if !pki::openssl_installed() {
        eprintln!("=== SKIPPED {test}: the openssl CLI is not installed ===");
        return None;
    }
    Some(pki::TestPki::generate(dir))
}

#[test]
fn a_missing_ca_file_is_a_config_error_naming_key_file_and_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let all = problems(
        dir.path(),
        "https://ch.example:8443",
        "ca_file = \"certs/nope.pem\"\n",
    );
    assert_eq!(all.len(), 1, "{all:?}");
    let message = &all[0];
    assert!(message.contains("vigil.toml"), "{message}");
    assert!(message.contains("`source.ca_file`"), "{message}");
    // Relative to the config file's directory, like `[source] path`.
    let expected = dir.path().join("certs/nope.pem");
    assert!(
        message.contains(&expected.display().to_string()),
        "{message}"
    );
    assert!(message.contains("cannot read"), "{message}");
    assert!(message.contains("line 4"), "{message}");
}

#[test]
fn a_file_that_is_not_pem_is_refused_with_what_was_expected() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("ca.pem"), "not a certificate\n").expect("written");
    let all = problems(
        dir.path(),
        "https://ch.example:8443",
        "ca_file = \"ca.pem\"\n",
    );
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].contains("`source.ca_file`"), "{}", all[0]);
    assert!(all[0].contains("BEGIN CERTIFICATE"), "{}", all[0]);
}

#[test]
fn tls_keys_need_an_https_url_and_a_cert_needs_its_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let all = problems(
        dir.path(),
        "http://ch.example:8123",
        "ca_file = \"ca.pem\"\n",
    );
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].contains("`source.ca_file`"), "{}", all[0]);
    assert!(all[0].contains("only with an https:// url"), "{}", all[0]);

    let all = problems(
        dir.path(),
        "https://ch.example:8443",
        "client_cert_file = \"client.pem\"\n",
    );
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].contains("`source.client_key_file`"), "{}", all[0]);

    let sqlite = "[source]\nkind = \"sqlite\"\nca_file = \"ca.pem\"\n";
    let error = Config::parse(sqlite, "vigil.toml", &SecretEnv::default()).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("`source.ca_file`"), "{message}");
    assert!(message.contains("kind = \"clickhouse\""), "{message}");
}

#[test]
fn valid_files_load_relative_to_the_config_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(pki) = pki(dir.path(), "valid_files_load_relative_to_the_config_file") else {
        return;
    };
    let config = load(
        dir.path(),
        "https://127.0.0.1:8443",
        "ca_file = \"ca.pem\"\nclient_cert_file = \"client.pem\"\nclient_key_file = \"client.key\"\n",
    )
    .expect("a valid config");
    let SourceConfig::ClickHouse(clickhouse) = config.source else {
        panic!("a ClickHouse source");
    };
    assert_eq!(clickhouse.tls.ca_file.as_deref(), Some(pki.ca.as_path()));
    let client = clickhouse.tls.client_cert.expect("a client certificate");
    assert_eq!(client.cert_file, pki.client_cert);
    assert_eq!(client.key_file, pki.client_key);
}

#[test]
fn a_key_of_another_certificate_or_no_key_is_refused_without_its_content() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(pki) = pki(dir.path(), "a_key_of_another_certificate_is_refused") else {
        return;
    };
    let all = problems(
        dir.path(),
        "https://127.0.0.1:8443",
        "client_cert_file = \"client.pem\"\nclient_key_file = \"stranger.key\"\n",
    );
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].contains("`source.client_key_file`"), "{}", all[0]);
    assert!(
        all[0].contains("is not the private key of the certificate"),
        "{}",
        all[0]
    );
    assert!(
        all[0].contains(&pki.stranger_key.display().to_string()),
        "{}",
        all[0]
    );

    // A certificate where the key should be: no key found, and none of the file's text.
    let all = problems(
        dir.path(),
        "https://127.0.0.1:8443",
        "client_cert_file = \"client.pem\"\nclient_key_file = \"client.pem\"\n",
    );
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].contains("PRIVATE KEY"), "{}", all[0]);
    let pem = std::fs::read_to_string(&pki.client_cert).expect("readable");
    let body = pem.lines().nth(1).expect("a base64 line");
    assert!(!all[0].contains(body), "{}", all[0]);
}
