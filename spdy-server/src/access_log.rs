//! One access-log line per request, through `tracing` (target
//! `spdy_server::access`, level INFO).

use std::time::Instant;

use http::{Method, Request, Uri};
use spdy_core::frame::StreamId;

use crate::{ConnectionInfo, ResponseWriter, WriteError};

/// What the access line says about a request, taken before the handler
/// consumes it.
pub(crate) struct AccessLog {
    method: Method,
    uri: Uri,
    peer: String,
    protocol: &'static str,
    stream: Option<StreamId>,
}

impl AccessLog {
    pub(crate) fn new<B>(
        request: &Request<B>,
        info: &ConnectionInfo,
        stream: Option<StreamId>,
    ) -> Self {
        AccessLog {
            method: request.method().clone(),
            uri: request.uri().clone(),
            peer: info
                .peer_addr
                .map_or_else(|| "-".to_owned(), |a| a.to_string()),
            protocol: match info.protocol {
                crate::Protocol::Spdy31 => "spdy/3.1",
                crate::Protocol::Http11 => "http/1.1",
            },
            stream,
        }
    }

    pub(crate) fn finish(
        self,
        writer: &ResponseWriter,
        error: Option<WriteError>,
        started: Instant,
    ) {
        let path = self.uri.path_and_query().map_or("/", |p| p.as_str());
        let stream = self.stream.map_or(0, |s| s.get());
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        // A failed finish or body write, or an abort (by the handler, a body
        // error, a body that disagreed with its content-length): the client
        // did not get the whole response, and the line says so.
        let incomplete = match (error, writer.incomplete_reason()) {
            (Some(error), _) => Some(error.to_string()),
            (None, Some(reason)) => Some(reason.to_owned()),
            (None, None) => None,
        };
        match incomplete {
            None => tracing::info!(
                target: "spdy_server::access",
                peer = %self.peer,
                protocol = self.protocol,
                stream,
                method = %self.method,
                path,
                status = writer.status().as_u16(),
                bytes = writer.bytes_written(),
                elapsed_ms = format_args!("{elapsed_ms:.1}"),
                "{} {} {}",
                self.method,
                path,
                writer.status().as_u16(),
            ),
            Some(error) => tracing::info!(
                target: "spdy_server::access",
                peer = %self.peer,
                protocol = self.protocol,
                stream,
                method = %self.method,
                path,
                status = writer.status().as_u16(),
                bytes = writer.bytes_written(),
                elapsed_ms = format_args!("{elapsed_ms:.1}"),
                error = %error,
                "{} {} {} (incomplete)",
                self.method,
                path,
                writer.status().as_u16(),
            ),
        }
    }
}
