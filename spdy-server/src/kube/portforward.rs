//! Port forwarding, server role.
//!
//! For each local connection the client (kubectl) opens two streams with
//! the same `requestID` and `port` headers: `streamType: error` and
//! `streamType: data`. [`PortForwardStreams`] pairs them and yields one
//! [`PortForwardRequest`] per pair; the bytes of the data stream go to the
//! pod's port (see [`relay_tcp`]), a failure is written as text on the error
//! stream, and both streams end when the forwarding does.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use spdy_core::driver::{IncomingStream, RecvStream, SendStream, SessionHandle, StreamIo};
use spdy_core::frame::RstStatus;
use spdy_core::header::HeaderBlock;
use tokio::io::{AsyncWriteExt, copy};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::discard_incoming;
use super::names::{PORT_HEADER, REQUEST_ID_HEADER, STREAM_TYPE_HEADER, StreamType};

/// One forwarded connection: the data stream to relay and the error stream
/// to report on.
#[derive(Debug)]
pub struct PortForwardRequest {
    /// The pod port the client asked for.
    pub port: u16,
    /// The client's request id.
    pub request_id: String,
    /// The forwarded bytes, both ways. Shut it down (FIN) when the pod's
    /// side ends; a dropped unfinished stream is reset.
    pub data: StreamIo,
    /// Where failures are reported.
    pub error: ErrorReporter,
}

/// The error stream of a forwarded connection.
#[derive(Debug)]
pub struct ErrorReporter {
    send: SendStream,
}

impl ErrorReporter {
    /// Ends the error stream: empty on success, with the message on
    /// failure (kubectl prints it and gives up the forwarding session).
    pub async fn finish(mut self, result: Result<(), String>) {
        let body = match result {
            Ok(()) => bytes::Bytes::new(),
            Err(message) => message.into(),
        };
        if let Err(e) = self.send.send_last(body).await {
            tracing::debug!("could not end a port-forward error stream: {e}");
        }
    }
}

struct HalfPair {
    port: u16,
    error: Option<(SendStream, RecvStream)>,
    data: Option<(SendStream, RecvStream)>,
    deadline: Instant,
}

/// Pairs the streams of a port-forward session.
pub struct PortForwardStreams {
    session: SessionHandle,
    creation_timeout: Duration,
    pending: HashMap<String, HalfPair>,
}

impl std::fmt::Debug for PortForwardStreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortForwardStreams")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// The longest `requestID` accepted. Clients send a decimal counter; a
/// half pair waits for its partner keyed by it, so a peer must not make
/// each waiting key as large as a header block.
const MAX_REQUEST_ID_LEN: usize = 256;

/// The headers of a valid port-forward stream.
fn classify(incoming: &IncomingStream) -> Result<(StreamType, u16, String), String> {
    let headers = incoming.headers();
    let port = headers
        .get_str(PORT_HEADER)
        .ok_or_else(|| format!("{PORT_HEADER:?} header is required"))?;
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("invalid port {port:?}"))?;
    let kind = match headers.get_str(STREAM_TYPE_HEADER).map(StreamType::parse) {
        Some(Some(kind @ (StreamType::Error | StreamType::Data))) => kind,
        Some(_) => return Err("invalid stream type".into()),
        None => return Err(format!("{STREAM_TYPE_HEADER:?} header is required")),
    };
    let id = incoming.id().get();
    let request_id = match headers.get_str(REQUEST_ID_HEADER) {
        Some(id) if id.len() > MAX_REQUEST_ID_LEN => {
            return Err(format!(
                "{REQUEST_ID_HEADER:?} is longer than {MAX_REQUEST_ID_LEN} bytes"
            ));
        }
        Some(id) if !id.is_empty() => id.to_owned(),
        // Old clients send no request id: their error and data streams
        // have consecutive ids.
        _ => match kind {
            StreamType::Data => id.saturating_sub(2).to_string(),
            _ => id.to_string(),
        },
    };
    Ok((kind, port, request_id))
}

impl PortForwardStreams {
    /// Pairs the streams opened on `session`; a pair whose second stream
    /// does not come within `creation_timeout` is given up (with a message
    /// on its error stream, if that came).
    pub fn new(session: SessionHandle, creation_timeout: Duration) -> Self {
        PortForwardStreams {
            session,
            creation_timeout,
            pending: HashMap::new(),
        }
    }

    /// The next complete pair; `None` when the session ends.
    pub async fn next(&mut self) -> Option<PortForwardRequest> {
        loop {
            let deadline = self.pending.values().map(|p| p.deadline).min();
            let accepted = match deadline {
                Some(deadline) => {
                    match tokio::time::timeout_at(deadline, self.session.accept()).await {
                        Ok(accepted) => accepted,
                        Err(_) => {
                            self.expire().await;
                            continue;
                        }
                    }
                }
                None => self.session.accept().await,
            };
            let incoming = accepted?;
            let (kind, port, request_id) = match classify(&incoming) {
                Ok(found) => found,
                Err(why) => {
                    tracing::debug!(stream = %incoming.id(), "refusing a port-forward stream: {why}");
                    incoming.refuse(RstStatus::ProtocolError);
                    continue;
                }
            };
            let pair = self
                .pending
                .entry(request_id.clone())
                .or_insert_with(|| HalfPair {
                    port,
                    error: None,
                    data: None,
                    deadline: Instant::now() + self.creation_timeout,
                });
            let slot = match kind {
                StreamType::Error => &mut pair.error,
                _ => &mut pair.data,
            };
            if slot.is_some() || pair.port != port {
                tracing::debug!(%request_id, "refusing a repeated or mismatched port-forward stream");
                incoming.refuse(RstStatus::ProtocolError);
                continue;
            }
            let Ok(halves) = incoming.reply(HeaderBlock::new(), false) else {
                continue;
            };
            *slot = Some(halves);
            if pair.error.is_some() && pair.data.is_some() {
                let Some(pair) = self.pending.remove(&request_id) else {
                    continue;
                };
                let (Some((error_send, error_recv)), Some((data_send, data_recv))) =
                    (pair.error, pair.data)
                else {
                    continue;
                };
                discard_incoming(error_recv);
                return Some(PortForwardRequest {
                    port,
                    request_id,
                    data: StreamIo::new(data_send, data_recv),
                    error: ErrorReporter { send: error_send },
                });
            }
        }
    }

    async fn expire(&mut self) {
        let now = Instant::now();
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(pair) = self.pending.remove(&id) {
                tracing::debug!(request_id = %id, "timed out waiting for port-forward streams");
                if let Some((send, recv)) = pair.error {
                    discard_incoming(recv);
                    ErrorReporter { send }
                        .finish(Err(format!(
                            "timed out waiting for streams of request {id}"
                        )))
                        .await;
                }
            }
        }
    }
}

/// How long the other direction may go on once one has ended, as the
/// container runtimes do (socat's `-t 1`).
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Relays a forwarded connection to `addr`: bytes from the client go to the
/// TCP connection, bytes from it come back, each end's close is passed on
/// (the client's FIN becomes a TCP half-close; the pod's end, a FIN). When
/// the pod's side has ended, the client's side gets one more second.
pub async fn relay_tcp(data: StreamIo, addr: SocketAddr) -> io::Result<()> {
    let tcp = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connecting to {addr} timed out"),
            )
        })??;
    let _ = tcp.set_nodelay(true);
    relay(data, tcp).await
}

/// Relays a forwarded connection to an already open TCP connection; see
/// [`relay_tcp`].
pub async fn relay(data: StreamIo, tcp: TcpStream) -> io::Result<()> {
    let StreamIo {
        send: mut to_client,
        recv: mut from_client,
    } = data;
    let (mut from_pod, mut to_pod) = tcp.into_split();
    let upstream = async {
        let result = copy(&mut from_client, &mut to_pod).await;
        let _ = to_pod.shutdown().await;
        result
    };
    let downstream = async {
        let result = copy(&mut from_pod, &mut to_client).await;
        if result.is_ok() {
            to_client.shutdown().await?;
        }
        result
    };
    tokio::pin!(upstream, downstream);
    tokio::select! {
        up = &mut upstream => {
            match up {
                // The client is done sending: the reply may still be long.
                Ok(_) => downstream.await.map(drop),
                Err(error) => Err(error),
            }
        }
        down = &mut downstream => {
            down?;
            // The pod is done: give the client a moment, then stop.
            let _ = tokio::time::timeout(CLOSE_GRACE, upstream).await;
            Ok(())
        }
    }
}
