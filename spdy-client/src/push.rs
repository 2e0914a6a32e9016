//! Server push on the client: pushed streams become [`PushedResponse`]s, or
//! are refused.

use std::time::Duration;

use http::{Method, Request, Response, Uri};
use spdy_core::driver::{IncomingStream, SessionHandle};
use spdy_core::frame::{RstStatus, StreamId};
use spdy_core::header::{HeaderBlock, block_to_header_map, block_to_response};
use tokio::sync::mpsc;

use crate::RecvBody;

/// A response the server pushed, with the request it answers.
///
/// The session checks the push's framing (associated with an open stream
/// of ours, `:scheme`, `:host` and `:path` present), not its origin: before
/// caching a pushed response under its URL, check that `request.uri()`'s
/// authority is one the server may speak for (browsers accept pushes only
/// for the origin of the request they came with).
#[derive(Debug)]
pub struct PushedResponse {
    /// The client stream the push belongs to.
    pub associated_to: StreamId,
    /// The request the server answers (`:scheme`, `:host`, `:path` of the push).
    pub request: Request<()>,
    /// The pushed response; its body streams like any other.
    pub response: Response<RecvBody>,
}

/// The request a pushed SYN_STREAM names.
fn pushed_request(block: &HeaderBlock) -> Option<Request<()>> {
    let scheme = block.get_str(":scheme")?;
    let host = block.get_str(":host")?;
    let path = block.get_str(":path")?;
    let uri: Uri = format!("{scheme}://{host}{path}").parse().ok()?;
    let method = block
        .get(":method")
        .and_then(|m| Method::from_bytes(m).ok())
        .unwrap_or(Method::GET);
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = block_to_header_map(block).ok()?;
    Some(request)
}

/// Takes every stream the server opens: pushes go to `pushes` (or are
/// refused when it is full or absent), anything else is refused.
pub(crate) async fn accept_loop(
    session: SessionHandle,
    pushes: Option<mpsc::Sender<PushedResponse>>,
    headers_timeout: Duration,
    body_idle_timeout: Option<Duration>,
) {
    while let Some(incoming) = session.accept().await {
        match (incoming.associated_to(), &pushes) {
            (Some(parent), Some(tx)) => match tx.clone().try_reserve_owned() {
                Ok(permit) => {
                    tokio::spawn(async move {
                        if let Some(push) =
                            receive_push(incoming, parent, headers_timeout, body_idle_timeout).await
                        {
                            permit.send(push);
                        }
                    });
                }
                Err(_) => {
                    tracing::debug!(stream = %incoming.id(), "refusing a push: the queue is full");
                    incoming.refuse(RstStatus::RefusedStream);
                }
            },
            _ => {
                tracing::debug!(stream = %incoming.id(), "refusing a stream the server opened");
                incoming.refuse(RstStatus::RefusedStream);
            }
        }
    }
}

async fn receive_push(
    incoming: IncomingStream,
    parent: StreamId,
    headers_timeout: Duration,
    body_idle_timeout: Option<Duration>,
) -> Option<PushedResponse> {
    let id = incoming.id();
    let Some(request) = pushed_request(incoming.headers()) else {
        tracing::debug!(stream = %id, "refusing a push without :scheme, :host and :path");
        incoming.refuse(RstStatus::ProtocolError);
        return None;
    };
    let syn_headers = incoming.headers().clone();
    let fin = incoming.is_fin();
    let mut recv = incoming.into_recv();
    // The response headers come in the SYN_STREAM or in a HEADERS frame.
    let head = if syn_headers.get(":status").is_some() {
        syn_headers
    } else {
        match tokio::time::timeout(headers_timeout, recv.headers()).await {
            Ok(Ok(Some(block))) => block,
            _ => {
                tracing::debug!(stream = %id, "a push ended without response headers");
                return None;
            }
        }
    };
    let response = block_to_response(&head).ok()?;
    let length = crate::body_length::response_body_length(request.method(), &response);
    let response =
        response.map(|()| RecvBody::new(recv, length, fin).with_idle_timeout(body_idle_timeout));
    Some(PushedResponse {
        associated_to: parent,
        request,
        response,
    })
}
