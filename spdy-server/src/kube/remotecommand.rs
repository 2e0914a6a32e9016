//! Remote command (exec and attach), server role: the request's options,
//! the streams the client opens, and the final status.
//!
//! After the upgrade the client (kubectl) opens one stream per channel, each
//! with a `streamType` header: always `error`; `stdin`, `stdout`, `stderr`
//! as requested; `resize` for a terminal (v3 and later). [`accept_streams`]
//! answers them and hands them over as [`RemoteCommandStreams`]; when the
//! command has ended, [`StatusWriter::finish`] writes the status on the
//! error stream and ends every stream the server still holds.

use std::time::Duration;

use bytes::Bytes;
use spdy_core::driver::{RecvStream, SendStream, SessionHandle};
use spdy_core::frame::RstStatus;
use spdy_core::header::HeaderBlock;
use tokio::time::Instant;

use super::discard_incoming;
use super::names::{RemoteCommandProtocol, STREAM_TYPE_HEADER, StreamType};
use super::resize::ResizeEvents;
use super::status::ExitStatus;

/// Which channels a remote command has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecOptions {
    /// The client sends standard input.
    pub stdin: bool,
    /// The client wants standard output.
    pub stdout: bool,
    /// The client wants standard error (never with a terminal).
    pub stderr: bool,
    /// A terminal: output is one stream, and the size is sent on `resize`.
    pub tty: bool,
}

/// An exec or attach request as the query string gives it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteCommandRequest {
    /// `command` parameters, in order (exec only).
    pub command: Vec<String>,
    /// The `container` parameter.
    pub container: Option<String>,
    /// The channels.
    pub options: ExecOptions,
}

fn truthy(value: &str) -> bool {
    matches!(value, "1" | "true" | "True" | "TRUE")
}

impl RemoteCommandRequest {
    /// Parses `command=sh&command=-c&command=...&container=c&stdin=true&stdout=true&tty=false`
    /// (booleans as `true` from kubectl or `1` from the API server). As the
    /// kubelet does, a terminal drops stderr; at least one of stdin, stdout
    /// and stderr is required.
    pub fn from_query(query: &str) -> Result<Self, String> {
        let mut request = RemoteCommandRequest::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "command" => request.command.push(value.into_owned()),
                "container" if !value.is_empty() => request.container = Some(value.into_owned()),
                "stdin" => request.options.stdin = truthy(&value),
                "stdout" => request.options.stdout = truthy(&value),
                "stderr" => request.options.stderr = truthy(&value),
                "tty" => request.options.tty = truthy(&value),
                _ => {}
            }
        }
        if request.options.tty {
            request.options.stderr = false;
        }
        let o = request.options;
        if !o.stdin && !o.stdout && !o.stderr {
            return Err("you must specify at least 1 of stdin, stdout, stderr".into());
        }
        Ok(request)
    }
}

/// Why the streams of a remote command were not all opened.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The client did not open every expected stream in time.
    #[error("timed out waiting for the client to create streams")]
    Timeout,
    /// The session ended first.
    #[error("the session ended before the client created its streams")]
    SessionEnded,
}

/// The streams of one remote command, for the runtime to use.
#[derive(Debug)]
pub struct ExecIo {
    /// Standard input from the client; ends when the client closes it.
    pub stdin: Option<RecvStream>,
    /// Standard output (with a terminal, the terminal's output). Call
    /// `finish` when the output ends; a dropped unfinished stream is reset.
    pub stdout: Option<SendStream>,
    /// Standard error (never with a terminal). Finish it as stdout.
    pub stderr: Option<SendStream>,
    /// A terminal is wanted.
    pub tty: bool,
    /// Terminal size changes (with a terminal, v3 and later).
    pub resize: Option<ResizeEvents>,
}

impl ExecIo {
    /// Ends the output streams cleanly without writing anything: for a
    /// runtime that could not run the command (then report why in the
    /// status). Dropped unfinished, they would be reset instead.
    pub async fn close(self) {
        for mut output in [self.stdout, self.stderr].into_iter().flatten() {
            let _ = output.finish().await;
        }
    }
}

/// Writes the final status, once, and ends the server's side of the
/// streams it holds (the error stream, and stdin's sending half, whose end
/// tells kubectl that an interactive session is over).
#[derive(Debug)]
pub struct StatusWriter {
    protocol: RemoteCommandProtocol,
    error: Option<SendStream>,
    stdin_reply: Option<SendStream>,
    resize_reply: Option<SendStream>,
}

impl StatusWriter {
    /// The protocol in use.
    pub fn protocol(&self) -> RemoteCommandProtocol {
        self.protocol
    }

    /// Writes `status` on the error stream in the protocol's form and ends
    /// the streams. Errors (the client already gone) are logged only: there
    /// is nobody left to tell.
    pub async fn finish(mut self, status: &ExitStatus) {
        if let Some(mut error) = self.error.take() {
            let body = status.encode(self.protocol).unwrap_or_default();
            if let Err(e) = error.send_last(body).await {
                tracing::debug!("could not write the exec status: {e}");
            }
        }
        for mut half in [self.stdin_reply.take(), self.resize_reply.take()]
            .into_iter()
            .flatten()
        {
            if let Err(e) = half.finish().await {
                tracing::debug!("could not end the server's side of a stream: {e}");
            }
        }
    }
}

/// The streams of a remote command, answered and sorted by role.
#[derive(Debug)]
pub struct RemoteCommandStreams {
    /// What the runtime gets.
    pub io: ExecIo,
    /// What the server keeps to report the end.
    pub status: StatusWriter,
}

/// Accepts the streams the client opens for a remote command with
/// `options` under `protocol`: answers each with SYN_REPLY, refuses streams
/// of an unknown, unrequested or repeated type, and returns once every
/// expected stream is there, or fails after `timeout`.
pub async fn accept_streams(
    session: &SessionHandle,
    protocol: RemoteCommandProtocol,
    options: ExecOptions,
    timeout: Duration,
) -> Result<RemoteCommandStreams, AcceptError> {
    let wants_resize = options.tty && protocol.supports_resize();
    let wanted = |t: StreamType| match t {
        StreamType::Error => true,
        StreamType::Stdin => options.stdin,
        StreamType::Stdout => options.stdout,
        StreamType::Stderr => options.stderr,
        StreamType::Resize => wants_resize,
        StreamType::Data => false,
    };
    let expected = 1
        + usize::from(options.stdin)
        + usize::from(options.stdout)
        + usize::from(options.stderr)
        + usize::from(wants_resize);

    let deadline = Instant::now() + timeout;
    let mut error = None;
    let mut stdin = None;
    let mut stdout = None;
    let mut stderr = None;
    let mut resize = None;
    let mut resize_reply = None;
    let mut received = 0;
    while received < expected {
        let incoming = match tokio::time::timeout_at(deadline, session.accept()).await {
            Err(_) => return Err(AcceptError::Timeout),
            Ok(None) => return Err(AcceptError::SessionEnded),
            Ok(Some(incoming)) => incoming,
        };
        let kind = incoming
            .headers()
            .get_str(STREAM_TYPE_HEADER)
            .and_then(StreamType::parse);
        let already = match kind {
            Some(StreamType::Error) => error.is_some(),
            Some(StreamType::Stdin) => stdin.is_some(),
            Some(StreamType::Stdout) => stdout.is_some(),
            Some(StreamType::Stderr) => stderr.is_some(),
            Some(StreamType::Resize) => resize.is_some(),
            _ => false,
        };
        let Some(kind) = kind.filter(|k| wanted(*k) && !already) else {
            tracing::debug!(
                stream = %incoming.id(),
                stream_type = ?incoming.headers().get_str(STREAM_TYPE_HEADER),
                "refusing an unexpected remote command stream"
            );
            incoming.refuse(RstStatus::ProtocolError);
            continue;
        };
        let Ok((send, recv)) = incoming.reply(HeaderBlock::new(), false) else {
            continue;
        };
        received += 1;
        match kind {
            StreamType::Stdin => stdin = Some((send, recv)),
            StreamType::Resize => {
                resize = Some(ResizeEvents::new(recv));
                // kubectl never writes on the server's side of resize; the
                // sending half ends with the session.
                resize_reply = Some(send);
            }
            other => {
                discard_incoming(recv);
                match other {
                    StreamType::Error => error = Some(send),
                    StreamType::Stdout => stdout = Some(send),
                    _ => stderr = Some(send),
                }
            }
        }
    }

    let (mut stdin_reply, stdin_recv) = match stdin {
        Some((send, recv)) => (Some(send), Some(recv)),
        None => (None, None),
    };
    if protocol == RemoteCommandProtocol::V1
        && let Some(mut send) = stdin_reply.take()
    {
        // v1 clients expect the server's side of stdin to end at once.
        let _ = send.send_last(Bytes::new()).await;
    }
    Ok(RemoteCommandStreams {
        io: ExecIo {
            stdin: stdin_recv,
            stdout,
            stderr,
            tty: options.tty,
            resize,
        },
        status: StatusWriter {
            protocol,
            error,
            stdin_reply,
            resize_reply,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_kubectl_sends_is_understood() {
        let request = RemoteCommandRequest::from_query(
            "command=sh&command=-c&command=echo+out%3B+exit+3&container=c&stderr=true&stdout=true",
        )
        .unwrap();
        assert_eq!(request.command, ["sh", "-c", "echo out; exit 3"]);
        assert_eq!(request.container.as_deref(), Some("c"));
        assert_eq!(
            request.options,
            ExecOptions {
                stdin: false,
                stdout: true,
                stderr: true,
                tty: false
            }
        );
    }

    #[test]
    fn a_terminal_drops_stderr_and_some_channel_is_required() {
        let request =
            RemoteCommandRequest::from_query("command=sh&stdin=1&stdout=1&stderr=1&tty=1").unwrap();
        assert!(request.options.tty && !request.options.stderr);
        assert!(RemoteCommandRequest::from_query("command=ls").is_err());
    }
}
