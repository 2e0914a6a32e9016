//! Static files, done right for media clients (VLC, Safari, browsers):
//! single-range requests (206, 416, `Content-Range`), HEAD,
//! `Last-Modified` / `If-Modified-Since`, `ETag` / `If-None-Match`,
//! `If-Range`, `Content-Length` and `Content-Type`, files streamed from disk
//! in bounded chunks, no path escape from the root (`..`, symlinks out,
//! encoded slashes), directory listing off by default.
//!
//! File I/O runs on tokio's blocking pool. Its default of 512 threads lets
//! a burst of short Range requests start hundreds of threads for reads
//! that take microseconds; cap it with
//! `tokio::runtime::Builder::max_blocking_threads` (`spdyd` uses 32, which
//! measured about twice the requests per second of the default with half
//! the memory for 1 KiB files at 100 concurrent streams).
//!
//! ```no_run
//! use spdy_server::{static_files::StaticFiles, Server, ServerConfig};
//! # async fn run() -> std::io::Result<()> {
//! let files = StaticFiles::new("/srv/media")?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//! Server::new(files, ServerConfig::default()).serve(listener).await
//! # }
//! ```

mod conditional;
mod listing;
mod range;
mod resolve;

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use http::header::{
    ACCEPT_RANGES, ALLOW, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderValue,
    LAST_MODIFIED, LOCATION, RANGE,
};
use http::{Method, Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

pub use conditional::Validators;
pub use range::{RangeRequest, parse_range};
pub use resolve::{Refusal, relative_path, resolve};

use crate::{Body, Handler, ResponseWriter};

/// Serves the files under a root directory.
#[derive(Clone, Debug)]
pub struct StaticFiles {
    root: PathBuf,
    listing: bool,
    hidden: bool,
    index: Option<String>,
    chunk: usize,
}

/// True for a name starting with a dot (`.git`, `.env`), other than
/// `.well-known` (RFC 8615).
fn is_hidden_name(name: &str) -> bool {
    name.starts_with('.') && name != ".well-known"
}

/// True when a path under the root has a hidden component.
fn is_hidden(relative: &Path) -> bool {
    relative
        .components()
        .any(|component| is_hidden_name(&component.as_os_str().to_string_lossy()))
}

impl StaticFiles {
    /// Serves `root` (which must exist); listing off, hidden files off,
    /// `index.html` as the index, 64 KiB chunks.
    pub fn new(root: impl AsRef<Path>) -> std::io::Result<Self> {
        let root = std::fs::canonicalize(root)?;
        if !root.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(StaticFiles {
            root,
            listing: false,
            hidden: false,
            index: Some("index.html".into()),
            chunk: 64 * 1024,
        })
    }

    /// Lists directories without an index as HTML. Default off.
    pub fn directory_listing(mut self, on: bool) -> Self {
        self.listing = on;
        self
    }

    /// Serves files and directories whose names start with a dot. Default
    /// off: they answer 404 and listings leave them out, so a root that
    /// holds a `.git/` or an `.env` does not give them away;
    /// `.well-known/` (RFC 8615) is served either way.
    pub fn hidden_files(mut self, serve: bool) -> Self {
        self.hidden = serve;
        self
    }

    /// The file served for a directory (default `index.html`; `None` for none).
    pub fn index(mut self, index: Option<&str>) -> Self {
        self.index = index.map(str::to_owned);
        self
    }

    /// How much is read from disk at a time (default 64 KiB, at least 1 KiB).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk = bytes.max(1024);
        self
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    async fn serve_path(&self, request: &Request<Body>, response: &mut ResponseWriter) {
        let path = request.uri().path();
        let target = match resolve(&self.root, path).await {
            Ok(target) => target,
            Err(Refusal::BadPath) => return status(response, StatusCode::BAD_REQUEST).await,
            Err(Refusal::NotFound) => return status(response, StatusCode::NOT_FOUND).await,
        };
        // Checked on the resolved path: a link to a hidden file is hidden.
        if !self.hidden && target.strip_prefix(&self.root).is_ok_and(is_hidden) {
            return status(response, StatusCode::NOT_FOUND).await;
        }
        let Ok(metadata) = tokio::fs::metadata(&target).await else {
            return status(response, StatusCode::NOT_FOUND).await;
        };
        if metadata.is_dir() {
            if !path.ends_with('/') {
                // Relative links in the index resolve against the directory.
                // One leading slash only: "//name/" would be a network-path
                // reference, sending the client to the host "name".
                let mut location = format!("/{}/", path.trim_start_matches('/'));
                if let Some(query) = request.uri().query() {
                    location = format!("{location}?{query}");
                }
                if let Ok(value) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert(LOCATION, value);
                }
                return status(response, StatusCode::MOVED_PERMANENTLY).await;
            }
            if let Some(index) = &self.index {
                // The index may be a symlink too: it must resolve inside
                // the root like any requested path.
                if let Ok(candidate) = tokio::fs::canonicalize(target.join(index)).await
                    && candidate.starts_with(&self.root)
                    && let Ok(meta) = tokio::fs::metadata(&candidate).await
                    && meta.is_file()
                {
                    return self.serve_file(request, response, &candidate, &meta).await;
                }
            }
            if self.listing {
                return listing::serve(&target, path, self.hidden, response).await;
            }
            return status(response, StatusCode::NOT_FOUND).await;
        }
        if !metadata.is_file() {
            return status(response, StatusCode::NOT_FOUND).await;
        }
        self.serve_file(request, response, &target, &metadata).await;
    }

    async fn serve_file(
        &self,
        request: &Request<Body>,
        response: &mut ResponseWriter,
        file_path: &Path,
        metadata: &std::fs::Metadata,
    ) {
        let len = metadata.len();
        let validators = Validators::new(len, metadata.modified().ok());
        let headers = response.headers_mut();
        headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if let Ok(value) = HeaderValue::from_str(&validators.etag) {
            headers.insert(ETAG, value);
        }
        if let Some(value) = validators
            .last_modified()
            .and_then(|d| HeaderValue::from_str(&d).ok())
        {
            headers.insert(LAST_MODIFIED, value);
        }
        if validators.not_modified(request.headers()) {
            return status(response, StatusCode::NOT_MODIFIED).await;
        }
        let mime = mime_guess::from_path(file_path).first_or_octet_stream();
        if let Ok(value) = HeaderValue::from_str(mime.as_ref()) {
            response.headers_mut().insert(CONTENT_TYPE, value);
        }
        let range = match request.headers().get(RANGE).and_then(|v| v.to_str().ok()) {
            Some(header) if validators.range_allowed(request.headers()) => parse_range(header, len),
            _ => RangeRequest::Full,
        };
        let (start, count) = match range {
            RangeRequest::Full => (0, len),
            RangeRequest::Partial { start, end } => {
                response.set_status(StatusCode::PARTIAL_CONTENT);
                if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
                    response.headers_mut().insert(CONTENT_RANGE, value);
                }
                (start, end - start + 1)
            }
            RangeRequest::Unsatisfiable => {
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
                    response.headers_mut().insert(CONTENT_RANGE, value);
                }
                return status(response, StatusCode::RANGE_NOT_SATISFIABLE).await;
            }
        };
        response
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(count));
        if request.method() == Method::HEAD || count == 0 {
            let _ = response.finish().await;
            return;
        }
        let mut file = match tokio::fs::File::open(file_path).await {
            Ok(file) => file,
            Err(error) => {
                tracing::warn!(path = %file_path.display(), %error, "cannot open");
                response.headers_mut().clear();
                return status(response, StatusCode::INTERNAL_SERVER_ERROR).await;
            }
        };
        if start > 0 && file.seek(SeekFrom::Start(start)).await.is_err() {
            response.headers_mut().clear();
            return status(response, StatusCode::INTERNAL_SERVER_ERROR).await;
        }
        let mut remaining = count;
        while remaining > 0 {
            let want = remaining.min(self.chunk as u64) as usize;
            let mut buf = BytesMut::with_capacity(want);
            match (&mut file).take(want as u64).read_buf(&mut buf).await {
                Ok(0) => {
                    // The file shrank under us: the promised length cannot be met.
                    tracing::warn!(path = %file_path.display(), "file shrank while being sent");
                    response.abort();
                    return;
                }
                Ok(n) => {
                    remaining -= n as u64;
                    let sent = if remaining == 0 {
                        response.write_last(buf.freeze()).await
                    } else {
                        response.write(buf.freeze()).await
                    };
                    if sent.is_err() {
                        // The client is gone or reset the stream.
                        return;
                    }
                }
                Err(error) => {
                    tracing::warn!(path = %file_path.display(), %error, "read failed");
                    response.abort();
                    return;
                }
            }
        }
    }
}

/// Answers with `code` and no body.
async fn status(response: &mut ResponseWriter, code: StatusCode) {
    response.set_status(code);
    if code != StatusCode::NOT_MODIFIED {
        response.headers_mut().remove(CONTENT_LENGTH);
    }
    let _ = response.finish().await;
}

impl Handler for StaticFiles {
    async fn serve(&self, request: Request<Body>, response: &mut ResponseWriter) {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return status(response, StatusCode::METHOD_NOT_ALLOWED).await;
        }
        self.serve_path(&request, response).await;
    }
}
