//! The site's bundle (cargo-leptos's `pkg/`: the wasm, its JS glue, the CSS),
//! served precompressed and, when a name carries a content hash, cached for a
//! year.
//!
//! Compression happens here, at startup, rather than in a build step: the
//! server is the one part that always runs next to the files it serves, so a
//! bundle built any way (`make build`, a bare `cargo leptos build`, a copied
//! site) is served compressed, and a `.br`/`.gz` older than its source (a
//! rebuild) is redone instead of being served stale. It costs seconds once per
//! build; afterwards the files are found and reused. A read-only site is
//! served uncompressed with a warning.
//!
//! Names: cargo-leptos's `hash-files` (Cargo.toml) renames the bundle to
//! `vigil.<md5>.{js,wasm,css}` and writes the hashes to `hash.txt` next to the
//! binary, where Leptos reads them to name the files in the page. Only those
//! names get `immutable`: a new build is a new URL. Any other file (an unhashed
//! build, the wasm-bindgen snippets) is `no-cache`, i.e. revalidated.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::{self, Next},
    response::Response,
    Router,
};
use tower_http::services::ServeDir;

/// The file cargo-leptos writes next to the binary when `hash-files` is on.
pub const HASH_FILE_NAME: &str = "hash.txt";

/// A year: the longest lifetime caches honour.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Revalidate every use (Last-Modified / If-Modified-Since).
const REVALIDATE: &str = "no-cache";

/// The bundle's file types; other files are small or already compressed.
const COMPRESSED_TYPES: [&str; 3] = ["wasm", "js", "css"];

/// `hash.txt` next to the running binary, when cargo-leptos wrote one.
pub fn hash_file_beside_binary() -> Option<PathBuf> {
    let path = std::env::current_exe().ok()?.parent()?.join(HASH_FILE_NAME);
    path.is_file().then_some(path)
}

/// The bundle's file names from a cargo-leptos hash file (`js: <hash>` lines):
/// `<output>.<hash>.<ext>` for js, wasm and css.
pub fn hashed_names(hash_file_text: &str, output_name: &str) -> Vec<String> {
    hash_file_text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(ext, hash)| (ext.trim(), hash.trim()))
        .filter(|(ext, hash)| COMPRESSED_TYPES.contains(ext) && !hash.is_empty())
        .map(|(ext, hash)| format!("{output_name}.{hash}.{ext}"))
        .collect()
}

/// The hashed bundle names this binary's `hash.txt` lists, when it has one;
/// warns when the site at `pkg_dir` lacks one of them (a site from another
/// build: its pages would not hydrate).
pub fn bundle_names(pkg_dir: &Path, output_name: &str) -> HashSet<String> {
    let Some(hash_file) = hash_file_beside_binary() else {
        let plain = pkg_dir.join(format!("{output_name}.js"));
        if pkg_dir.is_dir() && !plain.is_file() {
            tracing::warn!(
                file = %plain.display(),
                "no {HASH_FILE_NAME} beside this binary and no unhashed bundle in the site: \
                 pages will not hydrate (serve the site with the binary cargo-leptos built with it)"
            );
        }
        return HashSet::new();
    };
    let names = match fs::read_to_string(&hash_file) {
        Ok(text) => hashed_names(&text, output_name),
        Err(error) => {
            tracing::warn!(file = %hash_file.display(), %error, "cannot read the bundle's hash file");
            Vec::new()
        }
    };
    for name in names.iter().filter(|n| !pkg_dir.join(n).is_file()) {
        tracing::warn!(
            file = %pkg_dir.join(name).display(),
            hash_file = %hash_file.display(),
            "the hash file names a bundle file the site does not have: was the site built with this binary?"
        );
    }
    names.into_iter().collect()
}

/// What startup precompression did, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Precompressed {
    /// Files compressed now (`.br` and `.gz` written).
    pub written: usize,
    /// Files whose `.br` and `.gz` were already newer than them.
    pub fresh: usize,
}

/// Writes `<file>.br` and `<file>.gz` beside every wasm/js/css file under
/// `dir` (recursively) unless both exist and are at least as new as the file.
pub fn precompress_dir(dir: &Path) -> io::Result<Precompressed> {
    let mut done = Precompressed::default();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            let inner = precompress_dir(&path)?;
            done.written += inner.written;
            done.fresh += inner.fresh;
            continue;
        }
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSED_TYPES.contains(&e));
        if !wanted {
            continue;
        }
        let (br, gz) = (with_suffix(&path, "br"), with_suffix(&path, "gz"));
        if is_fresh(&path, &br)? && is_fresh(&path, &gz)? {
            done.fresh += 1;
            continue;
        }
        let bytes = fs::read(&path)?;
        write_atomically(&br, &brotli_bytes(&bytes)?)?;
        write_atomically(&gz, &gzip_bytes(&bytes)?)?;
        done.written += 1;
    }
    Ok(done)
}

/// Precompresses the site's pkg dir, logging what happened; a failure (a
/// read-only site) is a warning: the files are then served uncompressed.
pub fn precompress_logged(pkg_dir: &Path) {
    if !pkg_dir.is_dir() {
        tracing::warn!(dir = %pkg_dir.display(), "no site bundle here: pages will not hydrate (run `make build`)");
        return;
    }
    let started = Instant::now();
    match precompress_dir(pkg_dir) {
        Ok(done) => tracing::info!(
            dir = %pkg_dir.display(),
            written = done.written,
            fresh = done.fresh,
            ms = started.elapsed().as_millis() as u64,
            "site bundle precompressed (brotli, gzip)"
        ),
        Err(error) => tracing::warn!(
            dir = %pkg_dir.display(),
            %error,
            "could not precompress the site bundle: it is served uncompressed"
        ),
    }
}

/// `/pkg/*`: the files under `pkg_dir`, as `.br` or `.gz` when the request
/// accepts it and the file exists, with a Cache-Control by name (see module).
pub fn pkg_router(pkg_dir: &Path, immutable_names: HashSet<String>) -> Router {
    let serve = ServeDir::new(pkg_dir)
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .fallback_service(serve)
        .layer(middleware::from_fn_with_state(
            Arc::new(immutable_names),
            cache_control,
        ))
}

async fn cache_control(
    State(immutable): State<Arc<HashSet<String>>>,
    request: Request,
    next: Next,
) -> Response {
    let name = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let policy = if immutable.contains(&name) {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        // The same URL answers in three encodings: a shared cache must key on it.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// True when `derived` exists and was modified no earlier than `source`.
fn is_fresh(source: &Path, derived: &Path) -> io::Result<bool> {
    let source_time = fs::metadata(source)?.modified()?;
    match fs::metadata(derived) {
        Ok(meta) => Ok(meta.modified()? >= source_time),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Two servers starting on one site never serve a half-written file: each
/// writes its own temporary and renames it into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = with_suffix(path, &format!("tmp{}", std::process::id()));
    fs::write(&temporary, bytes)?;
    fs::rename(&temporary, path).inspect_err(|_| {
        let _ = fs::remove_file(&temporary);
    })
}

/// Brotli at its best quality: compressed once per build, read by every
/// visit. A debug server (`cargo leptos watch`) restarts on every edit with a
/// new, larger wasm; there a fast quality keeps the restart short.
const BROTLI_QUALITY: i32 = if cfg!(debug_assertions) { 5 } else { 11 };

fn brotli_bytes(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: 22,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(bytes.len() / 3);
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
    Ok(out)
}

fn gzip_bytes(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::best(),
    );
    encoder.write_all(bytes)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use axum::body::Body;
    use axum::http::StatusCode;
    use tower::ServiceExt as _;

    use super::*;

    /// Compressible but not trivial: text with a counter in it.
    fn sample() -> Vec<u8> {
        (0..4000)
            .flat_map(|i| format!("function f{i}(x) {{ return x * {i}; }}\n").into_bytes())
            .collect()
    }

    #[test]
    fn hash_file_lines_become_the_bundle_names() {
        let text = "js: AbC-1\nwasm: xYz_2\ncss: q3\nmanifest: m\n\n";
        assert_eq!(
            hashed_names(text, "vigil"),
            ["vigil.AbC-1.js", "vigil.xYz_2.wasm", "vigil.q3.css"]
        );
        assert!(hashed_names("", "vigil").is_empty());
    }

    #[test]
    fn precompression_writes_both_encodings_that_decode_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let source = sample();
        fs::write(dir.path().join("app.wasm"), &source).unwrap();
        fs::write(dir.path().join("favicon.svg"), b"<svg/>").unwrap();

        let done = precompress_dir(dir.path()).unwrap();
        assert_eq!(
            done,
            Precompressed {
                written: 1,
                fresh: 0
            }
        );

        let br = fs::read(dir.path().join("app.wasm.br")).unwrap();
        let mut unbrotli = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut unbrotli)
            .unwrap();
        assert_eq!(unbrotli, source);
        assert!(
            br.len() < source.len() / 4,
            "brotli {} of {}",
            br.len(),
            source.len()
        );

        let gz = fs::read(dir.path().join("app.wasm.gz")).unwrap();
        let mut ungzip = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut ungzip)
            .unwrap();
        assert_eq!(ungzip, source);
        assert!(!dir.path().join("favicon.svg.br").exists());
    }

    #[test]
    fn fresh_files_are_kept_and_a_rebuilt_file_is_compressed_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.js");
        fs::write(&file, sample()).unwrap();
        precompress_dir(dir.path()).unwrap();
        assert_eq!(
            precompress_dir(dir.path()).unwrap(),
            Precompressed {
                written: 0,
                fresh: 1
            }
        );

        // A rebuild: new content, a newer modification time than the .br/.gz.
        let later = fs::metadata(dir.path().join("app.js.br"))
            .unwrap()
            .modified()
            .unwrap()
            + std::time::Duration::from_secs(5);
        fs::write(&file, b"rebuilt").unwrap();
        fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(
            precompress_dir(dir.path()).unwrap(),
            Precompressed {
                written: 1,
                fresh: 0
            }
        );
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&fs::read(dir.path().join("app.js.gz")).unwrap()[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, b"rebuilt");
    }

    async fn get(router: &Router, path: &str, accept: &str) -> Response {
        let request = Request::builder()
            .uri(path)
            .header(header::ACCEPT_ENCODING, accept)
            .body(Body::empty())
            .unwrap();
        router.clone().oneshot(request).await.unwrap()
    }

    fn header_of(response: &Response, name: header::HeaderName) -> Option<&str> {
        response.headers().get(name).map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn the_encoding_follows_accept_encoding_and_hashed_names_are_immutable() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("vigil.h1.wasm"), sample()).unwrap();
        fs::write(dir.path().join("vigil.js"), sample()).unwrap();
        precompress_dir(dir.path()).unwrap();
        let names = hashed_names("wasm: h1\n", "vigil").into_iter().collect();
        let router = Router::new().nest_service("/pkg", pkg_router(dir.path(), names));

        let br = get(&router, "/pkg/vigil.h1.wasm", "gzip, deflate, br").await;
        assert_eq!(br.status(), StatusCode::OK);
        assert_eq!(header_of(&br, header::CONTENT_ENCODING), Some("br"));
        assert_eq!(header_of(&br, header::CACHE_CONTROL), Some(IMMUTABLE));
        assert_eq!(header_of(&br, header::VARY), Some("accept-encoding"));

        let gz = get(&router, "/pkg/vigil.h1.wasm", "gzip").await;
        assert_eq!(header_of(&gz, header::CONTENT_ENCODING), Some("gzip"));

        let plain = get(&router, "/pkg/vigil.h1.wasm", "identity").await;
        assert_eq!(header_of(&plain, header::CONTENT_ENCODING), None);
        assert_eq!(
            header_of(&plain, header::CONTENT_LENGTH),
            Some(sample().len().to_string().as_str())
        );

        // Not named by its content: a cache must ask again.
        let unhashed = get(&router, "/pkg/vigil.js", "br").await;
        assert_eq!(
            header_of(&unhashed, header::CACHE_CONTROL),
            Some(REVALIDATE)
        );

        let missing = get(&router, "/pkg/nothing.wasm", "br").await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(header_of(&missing, header::CACHE_CONTROL), None);
    }
}
