//! Remote command (exec and attach), client role: what kubectl does for
//! `kubectl exec` and `kubectl attach`.
//!
//! [`ExecRequest`] names the command and channels; [`ExecRequest::start`]
//! upgrades the connection (offering v5 down to v1), opens one stream per
//! channel like kubectl, and returns a [`RemoteCommand`] whose streams the
//! caller reads and writes. [`RemoteCommand::status`] reads the error
//! stream and says how the command ended.

use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use serde::{Deserialize, Serialize};
use spdy_core::driver::{Error as StreamError, RecvStream, SendStream, SessionHandle};
use spdy_core::header::HeaderBlock;
use spdy_core::session::OpenStream;
use tokio::io::{AsyncRead, AsyncWrite};

use super::discard_incoming;
use super::names::{
    REMOTE_COMMAND_PROTOCOLS, RemoteCommandProtocol, STREAM_TYPE_HEADER, StreamType,
};
use crate::upgrade::{UpgradeError, UpgradeRequest, UpgradedSession};

/// Why a remote command could not be started or its status read.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The upgrade failed (refused, unreachable, wrong protocol).
    #[error(transparent)]
    Upgrade(#[from] UpgradeError),
    /// The server chose a protocol that is not a remote command protocol.
    #[error("the server chose {0:?}, which is not a remote command protocol")]
    Protocol(String),
    /// A stream could not be opened or read.
    #[error("stream {stream}: {source}")]
    Stream {
        /// The stream's role.
        stream: &'static str,
        /// What went wrong.
        source: StreamError,
    },
    /// The server did not answer a stream in time.
    #[error("the server did not answer the {0} stream in time")]
    Timeout(&'static str),
    /// The error stream held something that is not a status.
    #[error("error stream protocol error: {0}")]
    BadStatus(String),
}

/// The size of a terminal, in character cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSize {
    /// Columns.
    #[serde(rename = "Width")]
    pub width: u16,
    /// Rows.
    #[serde(rename = "Height")]
    pub height: u16,
}

/// Which channels a remote command has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecOptions {
    /// We send standard input.
    pub stdin: bool,
    /// We want standard output.
    pub stdout: bool,
    /// We want standard error (not with a terminal).
    pub stderr: bool,
    /// A terminal.
    pub tty: bool,
}

/// An exec or attach to start.
#[derive(Clone, Debug)]
pub struct ExecRequest {
    command: Vec<String>,
    container: Option<String>,
    options: ExecOptions,
    protocols: Vec<String>,
    stream_timeout: Duration,
}

impl ExecRequest {
    /// Runs `command` (exec), with stdout and stderr.
    pub fn command<I, S>(command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ExecRequest {
            command: command.into_iter().map(Into::into).collect(),
            container: None,
            options: ExecOptions {
                stdin: false,
                stdout: true,
                stderr: true,
                tty: false,
            },
            protocols: REMOTE_COMMAND_PROTOCOLS
                .iter()
                .map(|p| p.to_string())
                .collect(),
            stream_timeout: Duration::from_secs(30),
        }
    }

    /// Attaches to the container's main process (no command), with stdout
    /// and stderr.
    pub fn attach() -> Self {
        Self::command(Vec::<String>::new())
    }

    /// The container (default: the server's choice).
    pub fn container(mut self, container: impl Into<String>) -> Self {
        self.container = Some(container.into());
        self
    }

    /// Sends standard input.
    pub fn stdin(mut self, on: bool) -> Self {
        self.options.stdin = on;
        self
    }

    /// Receives standard output.
    pub fn stdout(mut self, on: bool) -> Self {
        self.options.stdout = on;
        self
    }

    /// Receives standard error (ignored with a terminal).
    pub fn stderr(mut self, on: bool) -> Self {
        self.options.stderr = on;
        self
    }

    /// Asks for a terminal: one output stream, and size changes through
    /// [`RemoteCommand::resize`].
    pub fn tty(mut self, on: bool) -> Self {
        self.options.tty = on;
        if on {
            self.options.stderr = false;
        }
        self
    }

    /// The protocols to offer, preferred first (default: v5 down to v1, as
    /// kubectl 1.32).
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// How long the server may take to answer each stream (default 30 s).
    pub fn stream_timeout(mut self, timeout: Duration) -> Self {
        self.stream_timeout = timeout;
        self
    }

    /// The query string: `command=...&container=...&stdin=true&...`.
    pub fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for part in &self.command {
            query.append_pair("command", part);
        }
        if let Some(container) = &self.container {
            query.append_pair("container", container);
        }
        let o = self.options;
        for (name, on) in [
            ("stdin", o.stdin),
            ("stdout", o.stdout),
            ("stderr", o.stderr),
            ("tty", o.tty),
        ] {
            if on {
                query.append_pair(name, "true");
            }
        }
        query.finish()
    }

    /// The URI of the request: the pod's `exec` (or `attach`) URL, e.g.
    /// `https://api:6443/api/v1/namespaces/default/pods/demo/exec`, with
    /// the query.
    pub fn uri(&self, subresource: &str) -> Result<Uri, UpgradeError> {
        let base = subresource.split('?').next().unwrap_or(subresource);
        format!("{base}?{}", self.query())
            .parse()
            .map_err(|e| UpgradeError::InvalidRequest(format!("{subresource}: {e}")))
    }

    /// Connects over plain TCP to `subresource` and starts the command.
    pub async fn start_tcp(&self, subresource: &str) -> Result<RemoteCommand, ExecError> {
        let upgrade = UpgradeRequest::new(self.uri(subresource)?);
        self.start(upgrade, None::<tokio::net::TcpStream>).await
    }

    /// Connects over TLS with `config` to `subresource` (an `https://` URL)
    /// and starts the command.
    pub async fn start_tls(
        &self,
        subresource: &str,
        config: std::sync::Arc<rustls::ClientConfig>,
    ) -> Result<RemoteCommand, ExecError> {
        let upgrade = UpgradeRequest::new(self.uri(subresource)?).protocols(self.protocols.clone());
        let upgraded = upgrade.send_tls(config).await?;
        self.open_streams(upgraded).await
    }

    /// Starts the command with `upgrade` (made from [`uri`](Self::uri), with
    /// any authentication headers) on `io`, or over TCP to the URI's host
    /// when `io` is `None`.
    pub async fn start<IO>(
        &self,
        upgrade: UpgradeRequest,
        io: Option<IO>,
    ) -> Result<RemoteCommand, ExecError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let upgrade = upgrade.protocols(self.protocols.clone());
        let upgraded = match io {
            Some(io) => upgrade.send(io).await?,
            None => upgrade.send_tcp().await?,
        };
        self.open_streams(upgraded).await
    }

    /// Opens the command's streams on an upgraded session, as kubectl does.
    async fn open_streams(&self, upgraded: UpgradedSession) -> Result<RemoteCommand, ExecError> {
        let protocol = match upgraded.protocol.as_deref() {
            // A server that names no protocol speaks the first one.
            None => RemoteCommandProtocol::V1,
            Some(name) => RemoteCommandProtocol::parse(name)
                .ok_or_else(|| ExecError::Protocol(name.to_owned()))?,
        };
        let session = upgraded.session.clone();
        let o = self.options;

        // We never write on the error, stdout and stderr streams: our side
        // ends at once (dropping a sending half would reset the stream).
        let (error_send, error) = self.open(&session, StreamType::Error).await?;
        finish(error_send).await;
        let stdin = if o.stdin {
            let (send, recv) = self.open(&session, StreamType::Stdin).await?;
            // The server ends its side of stdin when the command is over.
            discard_incoming(recv);
            Some(send)
        } else {
            None
        };
        let stdout = if o.stdout {
            let (send, recv) = self.open(&session, StreamType::Stdout).await?;
            finish(send).await;
            Some(recv)
        } else {
            None
        };
        let stderr = if o.stderr && !o.tty {
            let (send, recv) = self.open(&session, StreamType::Stderr).await?;
            finish(send).await;
            Some(recv)
        } else {
            None
        };
        let resize = if o.tty && protocol.supports_resize() {
            let (send, recv) = self.open(&session, StreamType::Resize).await?;
            discard_incoming(recv);
            Some(send)
        } else {
            None
        };
        Ok(RemoteCommand {
            protocol,
            stdin,
            stdout,
            stderr,
            resize,
            error,
            session,
        })
    }

    async fn open(
        &self,
        session: &SessionHandle,
        kind: StreamType,
    ) -> Result<(SendStream, RecvStream), ExecError> {
        let mut headers = HeaderBlock::new();
        headers.push(STREAM_TYPE_HEADER, kind.as_str());
        let stream = kind.as_str();
        let (send, mut recv) = session
            .open_stream(OpenStream::new(headers))
            .await
            .map_err(|source| ExecError::Stream { stream, source })?;
        match tokio::time::timeout(self.stream_timeout, recv.headers()).await {
            Err(_) => Err(ExecError::Timeout(stream)),
            Ok(Err(source)) => Err(ExecError::Stream { stream, source }),
            Ok(Ok(_)) => Ok((send, recv)),
        }
    }
}

/// Ends our side of a stream we do not write on.
async fn finish(mut send: SendStream) {
    if let Err(error) = send.finish().await {
        tracing::debug!("could not end our side of stream {}: {error}", send.id());
    }
}

/// How a remote command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecOutcome {
    /// It succeeded (exit code 0).
    Success,
    /// It exited with this non-zero code (v4 and later tell the code).
    Exited(u8),
    /// It failed otherwise, or (before v4) with a non-zero code: the
    /// server's message.
    Failed(String),
}

/// A running remote command: its streams, and its status to come.
#[derive(Debug)]
pub struct RemoteCommand {
    /// The protocol the server chose.
    pub protocol: RemoteCommandProtocol,
    /// Standard input: write, then `finish` to close the command's input.
    pub stdin: Option<SendStream>,
    /// Standard output (with a terminal, the terminal's output).
    pub stdout: Option<RecvStream>,
    /// Standard error.
    pub stderr: Option<RecvStream>,
    resize: Option<SendStream>,
    error: RecvStream,
    session: SessionHandle,
}

/// The error stream holds one status; more than this is not one.
const MAX_STATUS: usize = 64 * 1024;

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    details: Option<Details>,
}

#[derive(Deserialize)]
struct Details {
    #[serde(default)]
    causes: Vec<Cause>,
}

#[derive(Deserialize)]
struct Cause {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message: String,
}

/// Decodes what the error stream held, as kubectl does.
pub fn decode_status(
    protocol: RemoteCommandProtocol,
    body: &[u8],
) -> Result<ExecOutcome, ExecError> {
    if !protocol.status_is_json() {
        return Ok(if body.is_empty() {
            ExecOutcome::Success
        } else {
            ExecOutcome::Failed(String::from_utf8_lossy(body).into_owned())
        });
    }
    if body.is_empty() {
        return Ok(ExecOutcome::Success);
    }
    let status: Status = serde_json::from_slice(body)
        .map_err(|e| ExecError::BadStatus(format!("{e} in {:?}", String::from_utf8_lossy(body))))?;
    match status.status.as_str() {
        "Success" => Ok(ExecOutcome::Success),
        "Failure" if status.reason == "NonZeroExitCode" => {
            let causes = status.details.map(|d| d.causes).unwrap_or_default();
            let cause = causes
                .iter()
                .find(|c| c.reason == "ExitCode")
                .ok_or_else(|| ExecError::BadStatus("no ExitCode cause given".into()))?;
            cause
                .message
                .parse::<u8>()
                .map(ExecOutcome::Exited)
                .map_err(|_| ExecError::BadStatus(format!("invalid exit code {:?}", cause.message)))
        }
        "Failure" => Ok(ExecOutcome::Failed(status.message)),
        other => Err(ExecError::BadStatus(format!("unknown status {other:?}"))),
    }
}

impl RemoteCommand {
    /// Sends a terminal size (with a terminal, v3 and later; otherwise
    /// nothing is sent).
    pub async fn resize(&mut self, size: TerminalSize) -> Result<(), ExecError> {
        let Some(send) = &mut self.resize else {
            return Ok(());
        };
        let mut message = serde_json::to_vec(&size).unwrap_or_default();
        message.push(b'\n');
        send.send_data(Bytes::from(message))
            .await
            .map_err(|source| ExecError::Stream {
                stream: "resize",
                source,
            })
    }

    /// The session, e.g. to ping.
    pub fn session(&self) -> &SessionHandle {
        &self.session
    }

    /// Waits for the command's status on the error stream. Read stdout and
    /// stderr concurrently: the server may finish them after the status.
    /// The session ends once every stream handle is dropped.
    pub async fn status(mut self) -> Result<ExecOutcome, ExecError> {
        let body = self
            .error
            .collect(MAX_STATUS)
            .await
            .map_err(|source| ExecError::Stream {
                stream: "error",
                source,
            })?;
        decode_status(self.protocol, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_what_kubectl_sends() {
        let request = ExecRequest::command(["sh", "-c", "echo out; exit 3"])
            .container("main")
            .stdin(true);
        assert_eq!(
            request.query(),
            "command=sh&command=-c&command=echo+out%3B+exit+3&container=main&stdin=true&stdout=true&stderr=true"
        );
        let uri = request
            .uri("http://127.0.0.1:1/api/v1/namespaces/d/pods/p/exec")
            .unwrap();
        assert_eq!(uri.path(), "/api/v1/namespaces/d/pods/p/exec");
        assert_eq!(
            ExecRequest::attach().tty(true).query(),
            "stdout=true&tty=true"
        );
    }

    #[test]
    fn statuses_decode_as_kubectl_reads_them() {
        let v4 = RemoteCommandProtocol::V4;
        assert_eq!(
            decode_status(v4, br#"{"metadata":{},"status":"Success"}"#).unwrap(),
            ExecOutcome::Success
        );
        let exit3 = br#"{"metadata":{},"status":"Failure","message":"m","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
        assert_eq!(decode_status(v4, exit3).unwrap(), ExecOutcome::Exited(3));
        let internal = br#"{"status":"Failure","message":"Internal error occurred: x","reason":"InternalError","code":500}"#;
        assert_eq!(
            decode_status(v4, internal).unwrap(),
            ExecOutcome::Failed("Internal error occurred: x".into())
        );
        assert!(decode_status(v4, b"not json").is_err());
        assert!(decode_status(v4, br#"{"status":"Failure","reason":"NonZeroExitCode"}"#).is_err());
        assert_eq!(
            decode_status(RemoteCommandProtocol::V2, b"").unwrap(),
            ExecOutcome::Success
        );
        assert_eq!(
            decode_status(RemoteCommandProtocol::V2, b"boom").unwrap(),
            ExecOutcome::Failed("boom".into())
        );
    }
}
