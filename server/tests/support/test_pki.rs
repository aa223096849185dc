//! A throwaway PKI for the TLS tests, made at run time with the `openssl` CLI
//! (nothing checked in, nothing downloaded): a CA, a server certificate for
//! `localhost` signed by it, a client certificate signed by it, and a second,
//! unrelated CA (the wrong one). The server certificate names only the host
//! name, so the same server reached as `127.0.0.1` is a host-name mismatch.
//!
//! Also included by the in-crate tests, so it only uses std.

#![allow(dead_code)] // each test binary uses a different part of this helper

use std::path::{Path, PathBuf};
use std::process::Command;

const CA_EXTENSIONS: &str = "basicConstraints=critical,CA:TRUE\n\
                             keyUsage=critical,keyCertSign,cRLSign\n\
                             subjectKeyIdentifier=hash\n";
const SERVER_EXTENSIONS: &str = "basicConstraints=CA:FALSE\n\
                                 keyUsage=critical,digitalSignature,keyEncipherment\n\
                                 extendedKeyUsage=serverAuth\n\
                                 subjectAltName=DNS:localhost\n";
const CLIENT_EXTENSIONS: &str = "basicConstraints=CA:FALSE\n\
                                 keyUsage=critical,digitalSignature,keyEncipherment\n\
                                 extendedKeyUsage=clientAuth\n";

/// PEM files under one directory; `.pem` certificates, `.key` private keys.
pub struct TestPki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA that signed none of the above.
    pub other_ca: PathBuf,
    /// Signed by `other_ca`: a client certificate the server must refuse.
    pub stranger_cert: PathBuf,
    pub stranger_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running openssl");
    assert!(
        output.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A key and a certificate `name.key`, `name.pem` for `subject`, signed by
/// `signer` (`None`: self-signed) with the given X.509v3 extensions.
fn issue(dir: &Path, name: &str, subject: &str, extensions: &str, signer: Option<&str>) {
    let (key, csr, pem, ext) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
    );
    std::fs::write(dir.join(&ext), extensions).expect("writing an extensions file");
    let subject = format!("/CN={subject}");
    openssl(
        dir,
        &[
            "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
            &subject,
        ],
    );
    let signer = signer.map(|signer| (format!("{signer}.pem"), format!("{signer}.key")));
    let mut args = vec![
        "x509", "-req", "-in", &csr, "-out", &pem, "-days", "2", "-extfile", &ext,
    ];
    match &signer {
        None => args.extend(["-signkey", key.as_str()]),
        Some((ca_pem, ca_key)) => args.extend([
            "-CA",
            ca_pem.as_str(),
            "-CAkey",
            ca_key.as_str(),
            "-CAcreateserial",
        ]),
    }
    openssl(dir, &args);
}

/// Whether the `openssl` CLI can run here.
pub fn openssl_installed() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|output| output.status.success())
}

impl TestPki {
    /// Generate every file in `dir` (an existing, empty directory).
    pub fn generate(dir: &Path) -> Self {
        issue(dir, "ca", "vigil test CA", CA_EXTENSIONS, None);
        issue(dir, "other_ca", "an unrelated CA", CA_EXTENSIONS, None);
        issue(dir, "server", "localhost", SERVER_EXTENSIONS, Some("ca"));
        issue(dir, "client", "vigil", CLIENT_EXTENSIONS, Some("ca"));
        issue(
            dir,
            "stranger",
            "vigil",
            CLIENT_EXTENSIONS,
            Some("other_ca"),
        );
        let file = |name: &str| dir.join(name);
        Self {
            ca: file("ca.pem"),
            server_cert: file("server.pem"),
            server_key: file("server.key"),
            client_cert: file("client.pem"),
            client_key: file("client.key"),
            other_ca: file("other_ca.pem"),
            stranger_cert: file("stranger.pem"),
            stranger_key: file("stranger.key"),
        }
    }
}
