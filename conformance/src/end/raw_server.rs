//! Our session engine as a server of raw streams: every stream the client
//! opens is served by the scenario's built-in handler.

use spdy_core::driver::connect;
use spdy_core::session::Role;
use tokio::io::DuplexStream;

use super::handlers::{Common, Holder, opened_event, serve, watch_connection};
use super::{End, Running, Setup};
use crate::record::Recorder;
use crate::scenario::{Action, Handler, Side};

/// `spdy_core::driver` in the server role, streams served by built-in handlers.
pub struct RawServer;

struct RawServerRunning {
    common: Common,
    _holder: Holder,
}

impl End for RawServer {
    fn name(&self) -> &'static str {
        "raw-server"
    }

    fn side(&self) -> Side {
        Side::Server
    }

    fn start(
        &self,
        io: DuplexStream,
        setup: &Setup,
        recorder: Recorder,
    ) -> Result<Box<dyn Running>, String> {
        let (session, connection) = connect(
            io,
            Role::Server,
            setup.session.clone(),
            setup.driver.clone(),
        );
        watch_connection(connection, recorder.clone());
        let holder = Holder::default();
        let accept = {
            let session = session.clone();
            let handler = setup.handler.clone();
            let recorder = recorder.clone();
            let holder = holder.clone();
            tokio::spawn(async move {
                while let Some(incoming) = session.accept().await {
                    recorder.app(opened_event(&incoming));
                    let for_push = matches!(handler, Handler::Push(_)).then(|| session.clone());
                    tokio::spawn(serve(
                        incoming,
                        handler.clone(),
                        for_push,
                        recorder.clone(),
                        holder.clone(),
                    ));
                }
            })
        };
        Ok(Box::new(RawServerRunning {
            common: Common {
                session: Some(session),
                recorder,
                handle_tasks: vec![accept],
            },
            _holder: holder,
        }))
    }
}

impl Running for RawServerRunning {
    fn act(&mut self, action: &Action) -> Result<(), String> {
        self.common
            .act(action)
            .unwrap_or_else(|| Err(format!("the server cannot {action:?}")))
    }
}
