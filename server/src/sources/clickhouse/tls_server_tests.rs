//! HTTPS to a real ClickHouse (Debian's 18.16 in CI) serving a certificate
//! from a CA the test makes at run time (`tests/support/test_pki.rs`): series
//! read over https equal those over http, a client certificate is sent, and
//! every way the handshake can fail is a clear sentence without secrets.
//! Skipped, like the other real-server tests, unless `clickhouse-server` is
//! installed or `VIGIL_REQUIRE_CLICKHOUSE` is set.

use std::path::{Path, PathBuf};

use super::real_server_tests::support::{ServerTls, TestServer, TEST_PASSWORD, TEST_USER};
use super::*;
use crate::config::{ClickHouseTls, ClientCertFiles, Secret, SimulatorConfig};
use crate::metrics::catalogue;
use crate::simulator::Simulator;
use crate::test_pki::{self as pki, TestPki};

/// 2024-03-04 00:00 UTC (a Monday); one day of events.
const START: i64 = 1_709_510_400;
const END: i64 = START + 86_400;
const DAY: TimeRange = TimeRange {
    from: START,
    to: END,
};

/// A server serving HTTPS with the test CA's certificate for `localhost`, and
/// checking client certificates against that CA; `None` when skipped.
fn start(test: &str, dir: &Path) -> Option<(TestServer, TestPki)> {
    let required = std::env::var_os("VIGIL_REQUIRE_CLICKHOUSE").is_some_and(|v| !v.is_empty());
    if !pki::openssl_installed() && !required {
        eprintln!("\n=== SKIPPED {test}: the openssl CLI is not installed ===\n");
        return None;
    }
    let pki = TestPki::generate(dir);
    let tls = ServerTls {
        cert: &pki.server_cert,
        key: &pki.server_key,
        client_ca: Some(&pki.ca),
    };
    let server = TestServer::start_with_tls(test, &tls)?;
    Some((server, pki))
}

/// `https://localhost:PORT`: the name the server's certificate lists.
fn https_url(server: &TestServer, host: &str) -> String {
    let url = server.https_url.as_deref().expect("started with TLS");
    url.replacen("127.0.0.1", host, 1)
}

fn config(url: &str, database: &str, tls: ClickHouseTls) -> ClickHouseConfig {
    ClickHouseConfig {
        url: url.into(),
        database: database.into(),
        user: TEST_USER.into(),
        password: Some(Secret::new(TEST_PASSWORD)),
        tables: TableNames::default(),
        tls,
    }
}

fn ca(file: &Path) -> ClickHouseTls {
    ClickHouseTls {
        ca_file: Some(file.to_path_buf()),
        client_cert: None,
    }
}

fn with_client(ca_file: &Path, cert_file: &Path, key_file: &Path) -> ClickHouseTls {
    ClickHouseTls {
        ca_file: Some(ca_file.to_path_buf()),
        client_cert: Some(ClientCertFiles {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
        }),
    }
}

/// The message of the error a first read over `tls` gets.
async fn failure(url: &str, tls: ClickHouseTls) -> String {
    let source = ClickHouseSource::new(&config(url, "default", tls)).expect("client");
    let views = catalogue::builtin_metric("feed_views").expect("built in");
    let error = source.series(&views, DAY, None).await.unwrap_err();
    assert!(
        matches!(error, SourceError::Unreachable { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(!message.contains(TEST_PASSWORD), "{message}");
    assert!(message.contains(url), "names the server: {message}");
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_reads_the_same_series_as_http() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some((server, pki)) = start("https_reads_the_same_series_as_http", dir.path()) else {
        return;
    };
    let database = "vigil_https";
    let http = ClickHouseSource::new(&config(&server.url, database, ClickHouseTls::default()))
        .expect("http client");
    http.ensure_tables().await.expect("tables created");
    let simulator = SimulatorConfig {
        users: 200,
        days: 1,
        seed: 5,
    };
    let batch = Simulator::new(&simulator, END, Some((START, END))).generate(START, END);
    http.write_events(&batch).await.expect("events written");

    let url = https_url(&server, "localhost");
    let https = ClickHouseSource::new(&config(&url, database, ca(&pki.ca))).expect("https client");
    assert!(https
        .describe()
        .starts_with("clickhouse https://localhost:"));
    let mut compared = 0usize;
    for metric in catalogue::builtin() {
        let over_http = http.series(&metric, DAY, None).await.expect("http series");
        let over_https = https
            .series(&metric, DAY, None)
            .await
            .expect("https series");
        assert!(!over_http.is_empty(), "{}: no data", metric.name);
        assert_eq!(over_https, over_http, "{}", metric.name);
        compared += over_http.len();
        if let Some(dimension) = metric.slices.first() {
            let by_http = http.series_by_slice(&metric, DAY, dimension).await;
            let by_https = https.series_by_slice(&metric, DAY, dimension).await;
            let by_http = by_http.expect("http by slice");
            assert!(by_http.len() > 1, "{} by {dimension}", metric.name);
            assert_eq!(by_https.expect("https by slice"), by_http);
        }
    }
    assert!(compared > 6 * 90, "{compared} buckets compared");

    // A client certificate the server's client CA signed is accepted.
    let tls = with_client(&pki.ca, &pki.client_cert, &pki.client_key);
    let mutual = ClickHouseSource::new(&config(&url, database, tls)).expect("mTLS client");
    let views = catalogue::builtin_metric("feed_views").expect("built in");
    assert_eq!(
        mutual.series(&views, DAY, None).await.expect("mTLS series"),
        http.series(&views, DAY, None).await.expect("http series")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_failures_are_clear_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some((server, pki)) = start("tls_failures_are_clear_errors", dir.path()) else {
        return;
    };
    let url = https_url(&server, "localhost");
    let path = |file: &PathBuf| file.display().to_string();

    // A CA that did not sign the server's certificate.
    let wrong = failure(&url, ca(&pki.other_ca)).await;
    assert!(wrong.contains("certificate not trusted"), "{wrong}");
    assert!(wrong.contains("set ca_file"), "{wrong}");
    assert!(wrong.contains(&path(&pki.other_ca)), "{wrong}");

    // No ca_file: the system's roots do not know the test CA.
    match ClickHouseSource::new(&config(&url, "default", ClickHouseTls::default())) {
        Ok(_) => {
            let system = failure(&url, ClickHouseTls::default()).await;
            assert!(system.contains("certificate not trusted"), "{system}");
            assert!(system.contains("system's root certificates"), "{system}");
        }
        // A machine without ca-certificates says so when the source opens.
        Err(error) => assert!(error.to_string().contains("ca_file"), "{error}"),
    }

    // The right CA, but the certificate names `localhost`, not 127.0.0.1.
    let by_address = https_url(&server, "127.0.0.1");
    let mismatch = failure(&by_address, ca(&pki.ca)).await;
    assert!(mismatch.contains("not valid for this host"), "{mismatch}");
    assert!(mismatch.contains("localhost"), "{mismatch}");

    // https:// to the plain HTTP port.
    let plain = server.url.replacen("http://", "https://", 1);
    let plain = failure(&plain, ca(&pki.ca)).await;
    assert!(plain.contains("https_port"), "{plain}");

    // A client certificate from a CA the server does not trust for clients.
    let stranger = with_client(&pki.ca, &pki.stranger_cert, &pki.stranger_key);
    let refused = failure(&url, stranger).await;
    assert!(refused.contains("refused the TLS connection"), "{refused}");
    assert!(refused.contains("client_cert_file"), "{refused}");
}
