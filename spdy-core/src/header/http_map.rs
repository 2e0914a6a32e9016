//! Mapping header blocks to and from `http` requests and responses.
//!
//! Requests carry `:method`, `:path`, `:version`, `:host` and `:scheme`;
//! responses `:status` and `:version`. Regular headers are lowercased,
//! repeated values are joined with NUL (and split back into repeated
//! `HeaderValue`s), and HTTP/1.1 hop-by-hop headers are dropped.

use http::header::{HOST, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, Version};

use super::HeaderBlock;

/// HTTP/1.1 connection-level (hop-by-hop) headers that SPDY does not
/// carry; headers a `connection` header names are dropped too.
pub const HOP_BY_HOP_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
];

/// The header names a block's `connection` header lists, lowercased.
fn connection_listed(block: &HeaderBlock) -> Vec<Vec<u8>> {
    block
        .pairs()
        .iter()
        .filter(|pair| &pair.name[..] == b"connection")
        .flat_map(|pair| pair.value.split(|b| *b == 0 || *b == b','))
        .map(|token| token.trim_ascii().to_ascii_lowercase())
        .filter(|token| !token.is_empty())
        .collect()
}

/// A header block that does not make a valid request or response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpMapError {
    /// A required pseudo header is absent.
    #[error("the {0} header is missing")]
    Missing(&'static str),
    /// A pseudo header has a value that cannot be used.
    #[error("the {name} header has an invalid value {value:?}")]
    InvalidPseudo {
        /// The pseudo header.
        name: &'static str,
        /// Its value, lossily decoded.
        value: String,
    },
    /// A regular header's name or value is not valid HTTP.
    #[error("header {0:?} is not a valid HTTP header")]
    InvalidHeader(String),
    /// The block has more header names than an `http::HeaderMap` can hold
    /// (about 24,000). Like the others, a stream error (PROTOCOL_ERROR).
    #[error("the block's {count} headers are more than an HTTP header map holds")]
    TooManyHeaders {
        /// The pairs in the block.
        count: usize,
    },
}

fn version_str(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    }
}

fn parse_version(value: &[u8]) -> Option<Version> {
    match value {
        b"HTTP/1.1" => Some(Version::HTTP_11),
        b"HTTP/1.0" => Some(Version::HTTP_10),
        b"HTTP/0.9" => Some(Version::HTTP_09),
        _ => None,
    }
}

/// Appends `headers` to `block`: names lowercased (as `http` keeps them),
/// repeated values joined with NUL, hop-by-hop headers and `host` dropped.
pub fn header_map_into_block(headers: &HeaderMap, block: &mut HeaderBlock) {
    for name in headers.keys() {
        let name_str = name.as_str();
        if name == HOST || HOP_BY_HOP_HEADERS.contains(&name_str) {
            continue;
        }
        let mut joined = Vec::new();
        for (i, value) in headers.get_all(name).iter().enumerate() {
            if i > 0 {
                joined.push(0);
            }
            joined.extend_from_slice(value.as_bytes());
        }
        block.push(bytes::Bytes::copy_from_slice(name_str.as_bytes()), joined);
    }
}

/// The regular headers of a block (pseudo headers left out), NUL-separated
/// values becoming repeated values.
///
/// Fails with [`HttpMapError::TooManyHeaders`] past the names a `HeaderMap`
/// can hold, which a large `max_header_block_size` lets a peer send.
pub fn block_to_header_map(block: &HeaderBlock) -> Result<HeaderMap, HttpMapError> {
    let too_many = |_| HttpMapError::TooManyHeaders { count: block.len() };
    let mut map = HeaderMap::try_with_capacity(block.len()).map_err(too_many)?;
    let listed = connection_listed(block);
    for pair in block.pairs() {
        if pair.name.first() == Some(&b':') {
            continue;
        }
        let invalid =
            || HttpMapError::InvalidHeader(String::from_utf8_lossy(&pair.name).into_owned());
        let name = HeaderName::from_bytes(&pair.name).map_err(|_| invalid())?;
        if HOP_BY_HOP_HEADERS.contains(&name.as_str())
            || listed.iter().any(|l| l[..] == *name.as_str().as_bytes())
        {
            continue;
        }
        for value in pair.value.split(|b| *b == 0) {
            let value = HeaderValue::from_bytes(value).map_err(|_| invalid())?;
            map.try_append(name.clone(), value).map_err(too_many)?;
        }
    }
    Ok(map)
}

/// The SYN_STREAM block of a request. `:scheme` comes from the URI, or
/// `default_scheme` when the URI has none (pass "https" over TLS, "http"
/// otherwise); `:host` from the URI's authority, or the `host` header.
pub fn request_to_block<B>(request: &Request<B>, default_scheme: &str) -> HeaderBlock {
    let uri = request.uri();
    let mut block = HeaderBlock::with_capacity(5 + request.headers().keys_len());
    block.push(
        ":method",
        bytes::Bytes::copy_from_slice(request.method().as_str().as_bytes()),
    );
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    block.push(
        ":path",
        bytes::Bytes::copy_from_slice(if path.is_empty() {
            b"/"
        } else {
            path.as_bytes()
        }),
    );
    block.push(":version", version_str(request.version()));
    let host = uri
        .authority()
        .map(|a| bytes::Bytes::copy_from_slice(a.as_str().as_bytes()))
        .or_else(|| {
            request
                .headers()
                .get(HOST)
                .map(|h| bytes::Bytes::copy_from_slice(h.as_bytes()))
        })
        .unwrap_or_default();
    block.push(":host", host);
    let scheme = uri.scheme_str().unwrap_or(default_scheme);
    block.push(":scheme", bytes::Bytes::copy_from_slice(scheme.as_bytes()));
    header_map_into_block(request.headers(), &mut block);
    block
}

fn pseudo<'a>(block: &'a HeaderBlock, name: &'static str) -> Result<&'a [u8], HttpMapError> {
    block
        .get(name)
        .map(|v| &v[..])
        .ok_or(HttpMapError::Missing(name))
}

fn invalid_pseudo(name: &'static str, value: &[u8]) -> HttpMapError {
    HttpMapError::InvalidPseudo {
        name,
        value: String::from_utf8_lossy(value).into_owned(),
    }
}

/// A request from a SYN_STREAM block. Every request pseudo header must be
/// present; `:host` also becomes the `host` header.
pub fn block_to_request(block: &HeaderBlock) -> Result<Request<()>, HttpMapError> {
    let method = pseudo(block, ":method")?;
    let path = pseudo(block, ":path")?;
    let version = pseudo(block, ":version")?;
    let host = pseudo(block, ":host")?;
    let scheme = pseudo(block, ":scheme")?;
    let method = Method::from_bytes(method).map_err(|_| invalid_pseudo(":method", method))?;
    let version = parse_version(version).ok_or_else(|| invalid_pseudo(":version", version))?;
    if path.first() != Some(&b'/') && path != b"*" {
        return Err(invalid_pseudo(":path", path));
    }
    let mut uri = Vec::with_capacity(scheme.len() + host.len() + path.len() + 3);
    uri.extend_from_slice(scheme);
    uri.extend_from_slice(b"://");
    uri.extend_from_slice(host);
    uri.extend_from_slice(if path == b"*" { b"" } else { path });
    let uri = Uri::try_from(uri).map_err(|_| invalid_pseudo(":path", path))?;
    let mut headers = block_to_header_map(block)?;
    if !host.is_empty() {
        let value = HeaderValue::from_bytes(host).map_err(|_| invalid_pseudo(":host", host))?;
        headers.insert(HOST, value);
    }
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The SYN_REPLY block of a response: `:status` as "200 OK" (code and
/// canonical reason), `:version`, then the headers.
pub fn response_to_block<B>(response: &Response<B>) -> HeaderBlock {
    let status = response.status();
    let mut block = HeaderBlock::with_capacity(2 + response.headers().keys_len());
    let status_line = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_str()),
        None => status.as_str().to_owned(),
    };
    block.push(":status", status_line);
    block.push(":version", version_str(response.version()));
    header_map_into_block(response.headers(), &mut block);
    block
}

/// A response from a SYN_REPLY (or pushed HEADERS) block. `:status` may be
/// "200" or "200 OK"; the reason phrase is ignored.
pub fn block_to_response(block: &HeaderBlock) -> Result<Response<()>, HttpMapError> {
    let status = pseudo(block, ":status")?;
    let version = pseudo(block, ":version")?;
    let code = status.split(|b| *b == b' ').next().unwrap_or_default();
    let status = StatusCode::from_bytes(code).map_err(|_| invalid_pseudo(":status", status))?;
    let version = parse_version(version).ok_or_else(|| invalid_pseudo(":version", version))?;
    let mut response = Response::new(());
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = block_to_header_map(block)?;
    Ok(response)
}
