//! `https://` ClickHouse end to end through the `vigil` binary: a real server
//! (Debian's 18.16 in CI) serving a certificate from a CA this test makes with
//! `openssl`; `vigil series` over https with `ca_file` prints what it prints
//! over http, and a wrong or missing CA file is a clear error from `vigil
//! series` and `vigil config check` alike. The source-level cases (every
//! metric, client certificates, each handshake failure) live in
//! `src/sources/clickhouse/tls_server_tests.rs`.

#[path = "support/cli.rs"]
mod cli;

#[path = "support/clickhouse.rs"]
mod clickhouse_support;

#[path = "support/test_pki.rs"]
mod test_pki;

use std::path::Path;
use std::process::Output;

use cli::stdout_of;
use clickhouse_support::{ServerTls, TestServer, TEST_PASSWORD, TEST_USER};
use test_pki::TestPki;

const DATABASE: &str = "vigil_https_cli";

fn vigil(args: &[&str]) -> Output {
    cli::vigil_with_env(args, &[("VIGIL_CLICKHOUSE_PASSWORD", TEST_PASSWORD)])
}

/// `dir/name.toml` for the server at `url`; `tls` are extra `[source]` keys
/// (file names relative to `dir`, where the PEM files are).
fn write_config(dir: &Path, name: &str, url: &str, tls: &str) -> String {
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        "[source]\nkind = \"clickhouse\"\nurl = \"{url}\"\ndatabase = \"{DATABASE}\"\nuser = \"{TEST_USER}\"\n{tls}"
    );
    std::fs::write(&path, text).expect("config written");
    path.to_str().expect("utf-8 path").to_string()
}

fn stderr_of_failure(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!output.status.success(), "expected a failure: {stderr}");
    assert!(!stderr.contains(TEST_PASSWORD), "{stderr}");
    stderr
}

#[test]
fn series_over_https_equal_http_and_a_bad_ca_file_is_a_clear_error() {
    let test = "series_over_https_equal_http";
    let required = std::env::var_os("VIGIL_REQUIRE_CLICKHOUSE").is_some_and(|v| !v.is_empty());
    if !test_pki::openssl_installed() && !required {
        eprintln!("\n=== SKIPPED {test}: the openssl CLI is not installed ===\n");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = TestPki::generate(dir.path());
    let tls = ServerTls {
        cert: &pki.server_cert,
        key: &pki.server_key,
        client_ca: None,
    };
    let Some(server) = TestServer::start_with_tls(test, &tls) else {
        return;
    };
    stdout_of(&vigil(&[
        "simulate",
        "--clickhouse-url",
        &server.url,
        "--database",
        DATABASE,
        "--user",
        TEST_USER,
        "--password-env",
        "VIGIL_CLICKHOUSE_PASSWORD",
        "--days",
        "1",
        "--users",
        "80",
    ]));
    // The certificate names `localhost`; the script prints the address.
    let https = server
        .https_url
        .as_deref()
        .expect("started with TLS")
        .replacen("127.0.0.1", "localhost", 1);
    let plain = write_config(dir.path(), "http", &server.url, "");
    let secure = write_config(dir.path(), "https", &https, "ca_file = \"ca.pem\"\n");

    let checked = stdout_of(&vigil(&["config", "check", "--config", &secure]));
    assert!(checked.contains(&https), "{checked}");
    for metric in cli::BUILTIN_METRICS {
        let series =
            |config: &str| stdout_of(&vigil(&["series", "--metric", metric, "--config", config]));
        let over_http = series(&plain);
        assert!(over_http.lines().count() > 50, "{metric}: {over_http}");
        assert_eq!(series(&secure), over_http, "{metric}");
    }

    // The wrong CA: the first query says what to fix.
    let wrong = write_config(dir.path(), "wrong", &https, "ca_file = \"other_ca.pem\"\n");
    let stderr = stderr_of_failure(&vigil(&[
        "series",
        "--metric",
        "feed_views",
        "--config",
        &wrong,
    ]));
    assert!(stderr.contains("certificate not trusted"), "{stderr}");
    assert!(stderr.contains("set ca_file"), "{stderr}");

    // A CA file that is not there: a config error, before any connection.
    let missing = write_config(dir.path(), "missing", &https, "ca_file = \"nope/ca.pem\"\n");
    let missing_file = dir.path().join("nope/ca.pem").display().to_string();
    for args in [
        vec!["config", "check", "--config", &missing],
        vec!["series", "--metric", "feed_views", "--config", &missing],
    ] {
        let stderr = stderr_of_failure(&vigil(&args));
        assert!(stderr.contains("`source.ca_file`"), "{args:?}: {stderr}");
        assert!(stderr.contains(&missing_file), "{args:?}: {stderr}");
        assert!(stderr.contains("cannot read"), "{args:?}: {stderr}");
    }
}
