//! Port forwarding, client role: what `kubectl port-forward` does.
//!
//! [`PortForwarder::connect`] upgrades one connection with protocol
//! `portforward.k8s.io`; each [`PortForwarder::open`] then makes one
//! forwarded connection to a pod port: an error stream and a data stream
//! sharing a `requestID`. [`PortForwarder::forward`] does it for every
//! connection accepted on a local listener.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use spdy_core::driver::{Error as StreamError, RecvStream, SendStream, SessionHandle, StreamIo};
use spdy_core::header::HeaderBlock;
use spdy_core::session::OpenStream;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf, copy};
use tokio::net::{TcpListener, TcpStream};

use super::names::{
    PORT_FORWARD_V1, PORT_HEADER, REQUEST_ID_HEADER, STREAM_TYPE_HEADER, StreamType,
};
use crate::upgrade::{UpgradeError, UpgradeRequest, UpgradedSession};

/// Largest error message read from an error stream.
const MAX_ERROR: usize = 64 * 1024;

/// How long a relay that failed locally waits for the server's message on
/// the error stream: the server resets the data stream first, then writes
/// why, so the message is at most a round trip behind.
const ERROR_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// A port-forward session with one pod.
#[derive(Debug)]
pub struct PortForwarder {
    opener: StreamOpener,
    _upgraded: UpgradedSession,
}

/// Opens the stream pairs of forwarded connections; cheap to clone, so
/// each accepted connection opens its pair in its own task.
#[derive(Clone, Debug)]
struct StreamOpener {
    session: SessionHandle,
    next_request_id: Arc<AtomicU64>,
    stream_timeout: Duration,
}

/// Why a forwarded connection failed.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// A stream could not be opened.
    #[error("opening the {stream} stream failed: {source}")]
    Stream {
        /// The stream's role.
        stream: &'static str,
        /// Why.
        source: StreamError,
    },
    /// The server did not answer a stream in time.
    #[error("the server did not answer the {0} stream in time")]
    Timeout(&'static str),
    /// The server reported an error on the error stream.
    #[error("an error occurred forwarding to port {port}: {message}")]
    Remote {
        /// The pod port.
        port: u16,
        /// The server's message.
        message: String,
    },
    /// Relaying failed locally.
    #[error("relaying failed: {0}")]
    Io(#[from] io::Error),
}

impl PortForwarder {
    /// Upgrades `upgrade` (the pod's `portforward` URL) on `io`, or over
    /// TCP to the URI's host when `io` is `None`.
    pub async fn connect<IO>(upgrade: UpgradeRequest, io: Option<IO>) -> Result<Self, UpgradeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let upgrade = upgrade.protocols([PORT_FORWARD_V1]);
        let upgraded = match io {
            Some(io) => upgrade.send(io).await?,
            None => upgrade.send_tcp().await?,
        };
        Ok(Self::from_session(upgraded))
    }

    /// Upgrades over TLS with `config` to `url`, the pod's `portforward`
    /// URL (`https://...`).
    pub async fn connect_tls(
        url: &str,
        config: std::sync::Arc<rustls::ClientConfig>,
    ) -> Result<Self, UpgradeError> {
        let uri = url
            .parse()
            .map_err(|e| UpgradeError::InvalidRequest(format!("{url}: {e}")))?;
        let upgraded = UpgradeRequest::new(uri)
            .protocols([PORT_FORWARD_V1])
            .send_tls(config)
            .await?;
        Ok(Self::from_session(upgraded))
    }

    fn from_session(upgraded: UpgradedSession) -> Self {
        PortForwarder {
            opener: StreamOpener {
                session: upgraded.session.clone(),
                next_request_id: Arc::new(AtomicU64::new(0)),
                stream_timeout: Duration::from_secs(30),
            },
            _upgraded: upgraded,
        }
    }

    /// Upgrades over plain TCP to `url`, the pod's `portforward` URL.
    pub async fn connect_tcp(url: &str) -> Result<Self, UpgradeError> {
        let uri = url
            .parse()
            .map_err(|e| UpgradeError::InvalidRequest(format!("{url}: {e}")))?;
        Self::connect(UpgradeRequest::new(uri), None::<TcpStream>).await
    }

    /// The session, e.g. to ping or close.
    pub fn session(&self) -> &SessionHandle {
        &self.opener.session
    }

    /// Opens one forwarded connection to `port` of the pod.
    pub async fn open(&self, port: u16) -> Result<PortForwardStream, ForwardError> {
        self.opener.open(port).await
    }

    /// Forwards every connection accepted on `listener` to `port` of the
    /// pod, until the session ends or accepting fails. Each connection
    /// opens its streams and is relayed in its own task, so one the server
    /// is slow to answer holds up no other; a remote error is logged and
    /// closes that connection.
    pub async fn forward(&self, listener: TcpListener, port: u16) -> io::Result<()> {
        let session = &self.opener.session;
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => accepted?,
                _ = session.closed() => return Ok(()),
            };
            let opener = self.opener.clone();
            tokio::spawn(async move {
                let result = match opener.open(port).await {
                    Ok(stream) => stream.relay(tcp).await,
                    Err(error) => Err(error),
                };
                if let Err(error) = result {
                    tracing::debug!(%peer, "port-forward to {port}: {error}");
                }
            });
        }
    }
}

impl StreamOpener {
    async fn open_stream(
        &self,
        kind: StreamType,
        port: u16,
        request_id: u64,
    ) -> Result<(SendStream, RecvStream), ForwardError> {
        let mut headers = HeaderBlock::new();
        headers.push(STREAM_TYPE_HEADER, kind.as_str());
        headers.push(PORT_HEADER, port.to_string());
        headers.push(REQUEST_ID_HEADER, request_id.to_string());
        let stream = kind.as_str();
        let (send, mut recv) = self
            .session
            .open_stream(OpenStream::new(headers))
            .await
            .map_err(|source| ForwardError::Stream { stream, source })?;
        match tokio::time::timeout(self.stream_timeout, recv.headers()).await {
            Err(_) => Err(ForwardError::Timeout(stream)),
            Ok(Err(source)) => Err(ForwardError::Stream { stream, source }),
            Ok(Ok(_)) => Ok((send, recv)),
        }
    }

    async fn open(&self, port: u16) -> Result<PortForwardStream, ForwardError> {
        let request_id = self.next_request_id.fetch_add(1, Ordering::Relaxed);
        let (mut error_send, error) = self
            .open_stream(StreamType::Error, port, request_id)
            .await?;
        // We never write on the error stream.
        let _ = error_send.finish().await;
        let (send, recv) = self.open_stream(StreamType::Data, port, request_id).await?;
        Ok(PortForwardStream {
            port,
            request_id,
            data: StreamIo::new(send, recv),
            error,
        })
    }
}

/// One forwarded connection: an `AsyncRead + AsyncWrite` to the pod's port.
#[derive(Debug)]
pub struct PortForwardStream {
    port: u16,
    request_id: u64,
    data: StreamIo,
    error: RecvStream,
}

impl PortForwardStream {
    /// The pod port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request id shared by the two streams.
    pub fn request_id(&self) -> u64 {
        self.request_id
    }

    /// The data stream and the error stream, apart.
    pub fn into_parts(self) -> (StreamIo, RecvStream) {
        (self.data, self.error)
    }

    /// Reads what the server reported on the error stream (waits for its
    /// end): `Ok` when it held nothing.
    pub async fn remote_error(error: &mut RecvStream, port: u16) -> Result<(), ForwardError> {
        match error.collect(MAX_ERROR).await {
            Ok(message) if message.is_empty() => Ok(()),
            Ok(message) => Err(ForwardError::Remote {
                port,
                message: String::from_utf8_lossy(&message).into_owned(),
            }),
            Err(source) => Err(ForwardError::Stream {
                stream: "error",
                source,
            }),
        }
    }

    /// Relays `tcp` through the forwarded connection as kubectl does: each
    /// side's end is passed on; when the pod's side has ended, the server's
    /// error stream says whether forwarding failed.
    pub async fn relay(self, tcp: TcpStream) -> Result<(), ForwardError> {
        let port = self.port;
        let (data, mut error) = self.into_parts();
        let StreamIo {
            send: mut to_pod,
            recv: mut from_pod,
        } = data;
        let (mut from_local, mut to_local) = tcp.into_split();
        let upstream = async {
            let result = copy(&mut from_local, &mut to_pod).await;
            let _ = to_pod.shutdown().await;
            result
        };
        let downstream = async {
            let result = copy(&mut from_pod, &mut to_local).await;
            let _ = to_local.shutdown().await;
            result
        };
        tokio::pin!(upstream, downstream);
        // Until the pod's side ends, or sending to it fails; our own end
        // of sending (a local half-close) is passed on and the reply waited for.
        let mut sent_all = false;
        let relayed = loop {
            tokio::select! {
                down = &mut downstream => break down.map(drop),
                up = &mut upstream, if !sent_all => match up {
                    Ok(_) => sent_all = true,
                    Err(failure) => break Err(failure),
                },
            }
        };
        match relayed {
            Ok(()) => Self::remote_error(&mut error, port).await,
            // The server resets the data stream when reaching the pod fails
            // and then says why on the error stream: that message, not the
            // reset, is what the user needs to see.
            Err(failure) => {
                match tokio::time::timeout(
                    ERROR_AFTER_FAILURE,
                    Self::remote_error(&mut error, port),
                )
                .await
                {
                    Ok(Err(remote @ ForwardError::Remote { .. })) => Err(remote),
                    _ => Err(ForwardError::Io(failure)),
                }
            }
        }
    }
}

impl AsyncRead for PortForwardStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().data).poll_read(cx, buf)
    }
}

impl AsyncWrite for PortForwardStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().data).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().data).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().data).poll_shutdown(cx)
    }
}
