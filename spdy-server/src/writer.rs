//! [`ResponseWriter`]: a response written piece by piece, close to Go's
//! `http.ResponseWriter`.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use spdy_client::body_length::{content_length, status_has_no_body};

use crate::transport::Transport;
use crate::{Body, WriteError};

/// Writes one response: set the status and headers, then write the body;
/// the first write (or [`flush`](ResponseWriter::flush)) sends the head.
/// Writes wait while the client cannot take more (SPDY flow control, a
/// slow HTTP/1.1 client), so memory stays bounded whatever the body's size.
/// An error from a write means the client is gone or reset the stream:
/// stop writing.
///
/// For a HEAD request the head goes out and body writes are discarded.
///
/// A `Content-Length` the handler sets is held to: a write that would go
/// past it fails and aborts the response, and finishing short of it aborts
/// instead of ending cleanly, so the client never takes a body of another
/// length for a complete one. (On HEAD, 1xx, 204 and 304 responses the
/// header describes a body that is not sent, and is not checked.)
pub struct ResponseWriter {
    transport: Box<dyn Transport>,
    status: StatusCode,
    headers: HeaderMap,
    head_sent: bool,
    finished: bool,
    /// HEAD: the body is not sent.
    head_only: bool,
    /// The request's URI, to resolve relative push paths.
    base: Option<Uri>,
    written: u64,
    /// The body length the sent head promised, if any.
    declared: Option<u64>,
    /// Why the response was aborted, once it was.
    aborted: Option<String>,
    /// The first body write the transport failed: bytes never reached
    /// the client.
    failed: Option<String>,
}

impl std::fmt::Debug for ResponseWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseWriter")
            .field("protocol", &self.transport.protocol())
            .field("status", &self.status)
            .field("head_sent", &self.head_sent)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl ResponseWriter {
    /// A writer for the response to `request`, sending to `transport`.
    pub fn new<B>(transport: Box<dyn Transport>, request: &Request<B>) -> Self {
        ResponseWriter {
            transport,
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            head_sent: false,
            finished: false,
            head_only: request.method() == Method::HEAD,
            base: Some(request.uri().clone()),
            written: 0,
            declared: None,
            aborted: None,
            failed: None,
        }
    }

    /// The status (200 unless set).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Sets the status; ignored once the head is sent.
    pub fn set_status(&mut self, status: StatusCode) {
        if !self.head_sent {
            self.status = status;
        }
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The response headers, to change before the head is sent (changes
    /// after that are not sent).
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// True once the status and headers went out.
    pub fn is_head_sent(&self) -> bool {
        self.head_sent
    }

    /// True once the response is finished (or aborted).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Body bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// True once the response was aborted: by [`abort`](ResponseWriter::abort),
    /// or because the body disagreed with its `Content-Length`. The client
    /// saw an error, not a complete response.
    pub fn is_aborted(&self) -> bool {
        self.aborted.is_some()
    }

    /// Why the client did not get the whole response, if it did not: the
    /// abort's reason, or the first failed body write.
    pub(crate) fn incomplete_reason(&self) -> Option<&str> {
        self.aborted.as_deref().or(self.failed.as_deref())
    }

    /// The protocol the response goes over (`"spdy/3.1"`, `"http/1.1"`).
    pub fn protocol(&self) -> &'static str {
        self.transport.protocol()
    }

    /// The body length the head as it stands promises: its
    /// `Content-Length`, unless the response carries no body (HEAD, 1xx,
    /// 204, 304) whatever the header says.
    fn promised_length(&self) -> Option<u64> {
        if self.head_only || status_has_no_body(self.status) {
            return None;
        }
        content_length(&self.headers)
    }

    fn send_head(&mut self, end: bool) -> Result<(), WriteError> {
        if self.head_sent {
            return Ok(());
        }
        self.declared = self.promised_length();
        let mut head = Response::new(());
        *head.status_mut() = self.status;
        *head.headers_mut() = std::mem::take(&mut self.headers);
        let result = self.transport.send_head(head, end);
        self.head_sent = true;
        if end {
            self.finished = true;
        }
        result
    }

    /// Writes body bytes, sending the head first if needed. Waits while the
    /// client cannot take more. Bytes that would go past the declared
    /// `Content-Length` are refused: the write fails and the response is
    /// aborted.
    pub async fn write(&mut self, data: impl Into<Bytes>) -> Result<(), WriteError> {
        if self.finished {
            return Err(WriteError::Finished);
        }
        if self.head_only {
            return self.send_head(true);
        }
        self.send_head(false)?;
        let data = data.into();
        if data.is_empty() {
            return Ok(());
        }
        let len = data.len() as u64;
        self.check_overflow(len)?;
        if let Err(error) = self.transport.send_data(data).await {
            return Err(self.write_failed(error));
        }
        self.written += len;
        Ok(())
    }

    /// Writes the last body bytes and finishes the response (on SPDY the
    /// FIN rides on the last DATA frame). A body that would end short of, or
    /// go past, the declared `Content-Length` fails and aborts instead.
    pub async fn write_last(&mut self, data: impl Into<Bytes>) -> Result<(), WriteError> {
        if self.finished {
            return Err(WriteError::Finished);
        }
        let data = data.into();
        if self.head_only || (data.is_empty() && !self.head_sent) {
            return self.finish().await;
        }
        self.send_head(false)?;
        let len = data.len() as u64;
        self.check_overflow(len)?;
        if let Some(declared) = self.declared
            && self.written + len < declared
        {
            // No FIN on a short body; the bytes would only precede the abort.
            return Err(self.abort_for(declared, self.written + len));
        }
        self.finished = true;
        if let Err(error) = self.transport.send_last(data).await {
            return Err(self.write_failed(error));
        }
        self.written += len;
        Ok(())
    }

    /// Sends the head now if it has not gone yet (bytes written are with
    /// the transport already).
    pub async fn flush(&mut self) -> Result<(), WriteError> {
        if self.finished {
            return Ok(());
        }
        self.send_head(self.head_only)
    }

    /// Ends the response: sends the head if needed (with no body), then FIN.
    /// Called for the handler when it returns. A body short of the declared
    /// `Content-Length` is aborted instead, and this fails.
    pub async fn finish(&mut self) -> Result<(), WriteError> {
        if self.finished {
            return Ok(());
        }
        if !self.head_sent {
            // No Content-Length of ours on 1xx and 204, nor on 304, where
            // only the length a 200 would have is allowed and only the
            // handler knows it (RFC 9110 §8.6).
            if self.written == 0
                && !self.head_only
                && !status_has_no_body(self.status)
                && !self.headers.contains_key(CONTENT_LENGTH)
            {
                self.headers
                    .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
            }
            if let Some(declared) = self.promised_length()
                && declared > 0
            {
                return Err(self.short_body(declared));
            }
            return self.send_head(true);
        }
        if let Some(declared) = self.declared
            && self.written < declared
        {
            return Err(self.short_body(declared));
        }
        self.finished = true;
        self.transport.finish()
    }

    /// Ends the response abnormally, so the client sees an error instead of
    /// a truncated body (SPDY: RST_STREAM; HTTP/1.1: the connection is cut).
    pub fn abort(&mut self) {
        self.abort_with("aborted by the handler".to_owned());
    }

    /// Fails (and aborts the response) when `len` more bytes would go past
    /// the declared `Content-Length`.
    fn check_overflow(&mut self, len: u64) -> Result<(), WriteError> {
        let Some(declared) = self.declared else {
            return Ok(());
        };
        if self.written + len <= declared {
            return Ok(());
        }
        Err(self.abort_for(declared, self.written + len))
    }

    /// Aborts a response ending short of its declared `Content-Length`.
    fn short_body(&mut self, declared: u64) -> WriteError {
        self.abort_for(declared, self.written)
    }

    /// Aborts a response whose body would have `length` bytes instead of
    /// the `declared` ones; the error is the handler's.
    fn abort_for(&mut self, declared: u64, length: u64) -> WriteError {
        let error = WriteError::ContentLength { declared, length };
        tracing::debug!(%error, "aborting the response");
        self.abort_with(error.to_string());
        error
    }

    /// Remembers the first failed body write (for the access log).
    fn write_failed(&mut self, error: WriteError) -> WriteError {
        if self.failed.is_none() {
            self.failed = Some(error.to_string());
        }
        error
    }

    fn abort_with(&mut self, reason: String) {
        if !self.finished {
            self.finished = true;
            self.aborted = Some(reason);
            self.transport.abort();
        }
    }

    /// Writes a whole response: status, headers and the body streamed chunk
    /// by chunk. A body error aborts the response.
    pub async fn send_response(&mut self, response: Response<Body>) -> Result<(), WriteError> {
        let (parts, mut body) = response.into_parts();
        self.set_status(parts.status);
        for (name, value) in &parts.headers {
            self.headers.append(name, value.clone());
        }
        if let Some(len) = http_body::Body::size_hint(&body).exact()
            && !self.headers.contains_key(CONTENT_LENGTH)
            && !status_has_no_body(self.status)
        {
            self.headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
        if http_body::Body::is_end_stream(&body) {
            return self.finish().await;
        }
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        if http_body::Body::is_end_stream(&body) {
                            return self.write_last(data).await;
                        }
                        self.write(data).await?;
                    }
                }
                Err(error) => {
                    tracing::debug!(%error, "response body failed; aborting the response");
                    self.abort_with(format!("the response body failed: {error}"));
                    return Ok(());
                }
            }
        }
        self.finish().await
    }

    /// Pushes a resource associated with this response (SPDY only): the
    /// returned writer writes the pushed response and must be
    /// [`finish`](ResponseWriter::finish)ed: dropped unfinished it resets the push.
    /// `path` is a path on this host (`/style.css`) or an absolute URI.
    pub async fn push(&mut self, path: &str) -> Result<ResponseWriter, WriteError> {
        if self.finished {
            return Err(WriteError::Finished);
        }
        let uri = self.push_uri(path)?;
        let mut request = Request::new(());
        *request.uri_mut() = uri;
        let transport = self.transport.push(request.clone()).await?;
        Ok(ResponseWriter::new(transport, &request))
    }

    fn push_uri(&self, path: &str) -> Result<Uri, WriteError> {
        let invalid = || WriteError::InvalidPush(format!("{path:?} is not a path or URI"));
        let uri: Uri = path.parse().map_err(|_| invalid())?;
        if uri.scheme().is_some() {
            return Ok(uri);
        }
        if !path.starts_with('/') {
            return Err(invalid());
        }
        let base = self.base.as_ref();
        let scheme = base.and_then(Uri::scheme_str).unwrap_or("http");
        let authority = base
            .and_then(Uri::authority)
            .map(|a| a.as_str())
            .unwrap_or("localhost");
        format!("{scheme}://{authority}{path}")
            .parse()
            .map_err(|_| invalid())
    }
}

impl Drop for ResponseWriter {
    /// A writer dropped unfinished (a cancelled handler, a pushed writer
    /// never finished) aborts its response: a truncated body must never
    /// look complete.
    fn drop(&mut self) {
        if !self.finished {
            self.finished = true;
            self.transport.abort();
        }
    }
}
