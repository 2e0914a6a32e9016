//! HTTP/1.1 connection-level (hop-by-hop) headers, which SPDY does not carry.

use http::HeaderMap;
use http::header::{CONNECTION, HeaderName};

/// Headers that describe one HTTP/1.1 connection, not the message: dropped
/// whenever a message crosses between HTTP/1.1 and SPDY. Headers named in
/// `Connection` are dropped too.
/// The same list the header block mapping of `spdy-core` drops.
pub const HOP_BY_HOP: &[&str] = spdy_core::header::HOP_BY_HOP_HEADERS;

/// Removes the hop-by-hop headers, and those listed in `Connection`, from `headers`.
///
/// ```
/// use http::HeaderMap;
/// let mut headers = HeaderMap::new();
/// headers.insert("connection", "close, x-private".parse().unwrap());
/// headers.insert("x-private", "1".parse().unwrap());
/// headers.insert("transfer-encoding", "chunked".parse().unwrap());
/// headers.insert("content-type", "text/plain".parse().unwrap());
/// spdy_client::hop_by_hop::strip(&mut headers);
/// assert_eq!(headers.len(), 1);
/// ```
pub fn strip(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}
