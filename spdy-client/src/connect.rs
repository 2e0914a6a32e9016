//! Connecting: plain TCP with prior knowledge, or TLS with ALPN `spdy/3.1`.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio_rustls::client::TlsStream;

use crate::tls::{ALPN_SPDY31, with_spdy_alpn};
use crate::{Client, ClientConfig, Error};

/// Opens a TCP connection (no delay) within `timeout`.
pub async fn tcp_connect(addr: impl ToSocketAddrs, timeout: Duration) -> Result<TcpStream, Error> {
    let socket = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| Error::Timeout("the TCP connection"))?
        .map_err(Error::Connect)?;
    let _ = socket.set_nodelay(true);
    Ok(socket)
}

/// Runs a TLS handshake on `io` offering `spdy/3.1` by ALPN (added to
/// `tls` if missing), within `timeout`, and fails unless the server chooses
/// it. `server_name` is the name the certificate must carry.
pub async fn tls_connect<IO>(
    io: IO,
    server_name: &str,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<TlsStream<IO>, Error>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let name = ServerName::try_from(server_name.to_owned())
        .map_err(|e| Error::Connect(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    let connector = tokio_rustls::TlsConnector::from(with_spdy_alpn(tls));
    let stream = tokio::time::timeout(timeout, connector.connect(name, io))
        .await
        .map_err(|_| Error::Timeout("the TLS handshake"))?
        .map_err(Error::Connect)?;
    let chosen = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    if chosen.as_deref() != Some(ALPN_SPDY31) {
        let chosen = chosen.map_or_else(
            || "no protocol".to_owned(),
            |p| String::from_utf8_lossy(&p).into_owned(),
        );
        return Err(Error::Alpn(chosen));
    }
    Ok(stream)
}

impl Client {
    /// Connects over plain TCP and speaks SPDY/3.1 at once (prior knowledge).
    pub async fn connect(
        addr: impl ToSocketAddrs,
        mut config: ClientConfig,
    ) -> Result<Client, Error> {
        let socket = tcp_connect(addr, config.connect_timeout).await?;
        if config.authority.is_none() {
            config.authority = socket.peer_addr().ok().map(|a| a.to_string());
        }
        Ok(Client::new(socket, config))
    }

    /// Connects over TLS, offering `spdy/3.1` by ALPN (added to `tls` if
    /// missing), and fails unless the server chooses it. `server_name` is
    /// the name the certificate must carry.
    pub async fn connect_tls(
        addr: impl ToSocketAddrs,
        server_name: &str,
        tls: Arc<rustls::ClientConfig>,
        mut config: ClientConfig,
    ) -> Result<Client, Error> {
        let started = tokio::time::Instant::now();
        let socket = tcp_connect(addr, config.connect_timeout).await?;
        let port = socket.peer_addr().map(|a| a.port()).unwrap_or(443);
        let left = config.connect_timeout.saturating_sub(started.elapsed());
        let stream = tls_connect(socket, server_name, tls, left).await?;
        if config.authority.is_none() {
            config.authority = Some(if port == 443 {
                server_name.to_owned()
            } else {
                format!("{server_name}:{port}")
            });
        }
        Ok(Client::new_tls(stream, config))
    }
}
