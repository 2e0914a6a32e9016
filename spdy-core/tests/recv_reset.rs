//! `RecvStream::reset`: the receiving half can refuse what the peer sent
//! (an invalid reply) with a status of its choosing; the peer sees that
//! status, and the local sending half stops.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use spdy_core::driver::{DriverConfig, Error, connect};
use spdy_core::frame::RstStatus;
use spdy_core::header::HeaderBlock;
use spdy_core::session::{OpenStream, ResetOrigin, Role, SessionConfig};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_receiving_half_resets_with_its_own_status() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (client, connection) = connect(
        a,
        Role::Client,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    tokio::spawn(connection);
    let (server, connection) = connect(
        b,
        Role::Server,
        SessionConfig::default(),
        DriverConfig::default(),
    );
    tokio::spawn(connection);

    let peer = tokio::spawn(async move {
        let incoming = server.accept().await.unwrap();
        let (_send, mut recv) = incoming.reply(HeaderBlock::new(), false).unwrap();
        // The request body never finishes: the client resets first.
        loop {
            match recv.data().await {
                Some(Ok(_)) => {}
                Some(Err(error)) => return error,
                None => panic!("the body ended without the reset"),
            }
        }
    });

    let (mut send, mut recv) = client
        .open_stream(OpenStream::new(HeaderBlock::new()))
        .await
        .unwrap();
    send.send_data("part".into()).await.unwrap();
    timeout(LIMIT, recv.headers()).await.unwrap().unwrap();
    recv.reset(RstStatus::ProtocolError);

    let seen = timeout(LIMIT, peer).await.unwrap().unwrap();
    assert!(
        matches!(
            seen,
            Error::Reset {
                status: RstStatus::ProtocolError,
                origin: ResetOrigin::Peer,
                ..
            }
        ),
        "{seen:?}"
    );
    let error = send.send_data("more".into()).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Reset {
                status: RstStatus::ProtocolError,
                origin: ResetOrigin::Local,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(matches!(recv.data().await, Some(Err(Error::Reset { .. }))));
}
