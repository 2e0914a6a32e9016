//! The length an HTTP body must have, read from its message's head: what
//! `RecvBody` holds a peer to, and what the server's `ResponseWriter`
//! holds a handler to.

use http::{HeaderMap, Method, Response, StatusCode};

/// The `content-length` of a message, if it holds a number.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("content-length", " 42 ".parse().unwrap());
/// assert_eq!(spdy_client::body_length::content_length(&headers), Some(42));
/// ```
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// True for the statuses whose responses never carry a body, whatever
/// their headers say: 1xx, 204 and 304 (RFC 9110 §6.4.1).
pub fn status_has_no_body(status: StatusCode) -> bool {
    status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
}

/// The length a response body must have: its `content-length`, except
/// where that header describes a body that never comes (the answer to a
/// HEAD request; 1xx, 204 and 304 responses, RFC 9110 §8.6).
pub fn response_body_length<B>(method: &Method, response: &Response<B>) -> Option<u64> {
    if *method == Method::HEAD || status_has_no_body(response.status()) {
        return None;
    }
    content_length(response.headers())
}
