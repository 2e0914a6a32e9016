//! The ends under test: our implementation in one role, started on one side
//! of an in-memory connection, doing what the scenario's handler and
//! actions say and reporting what its application sees as [`AppEvent`]s.
//!
//! Ends: the session engine with raw streams in both roles
//! ([`RawServer`], [`RawClient`]) and the HTTP layer ([`HttpServer`],
//! [`HttpClient`]). An end is a small type implementing [`End`]; adding
//! one means adding it to [`all_ends`].

mod events;
mod handlers;
mod http_client;
mod http_server;
mod raw_client;
mod raw_server;

use std::time::Duration;

use tokio::io::DuplexStream;

pub use events::{
    AppEvent, BodyCounter, ErrorNote, ReasonNote, body_summary, goaway_name, rst_name,
};
pub use http_client::HttpClient;
pub use http_server::HttpServer;
pub use raw_client::RawClient;
pub use raw_server::RawServer;

use crate::record::Recorder;
use crate::scenario::{Action, Handler, Side};
use spdy_core::driver::DriverConfig;
use spdy_core::session::SessionConfig;

/// What an end is started with.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The session's configuration.
    pub session: SessionConfig,
    /// The driver's configuration.
    pub driver: DriverConfig,
    /// The server's handler.
    pub handler: Handler,
}

/// An implementation under test in one role.
pub trait End: Send + Sync {
    /// A short name used in tables and snapshot file names (`raw-server`).
    fn name(&self) -> &'static str;

    /// The role it plays.
    fn side(&self) -> Side;

    /// Starts it on `io` inside the current tokio runtime; what its
    /// application sees goes to `recorder` as [`AppEvent`]s.
    fn start(
        &self,
        io: DuplexStream,
        setup: &Setup,
        recorder: Recorder,
    ) -> Result<Box<dyn Running>, String>;
}

/// A started end.
pub trait Running {
    /// Performs an application action; an error means the end cannot do it
    /// at all (results of what it does arrive as events).
    fn act(&mut self, action: &Action) -> Result<(), String>;
}

/// Every end, in table order.
pub fn all_ends() -> Vec<&'static dyn End> {
    vec![&RawServer, &RawClient, &HttpServer, &HttpClient]
}

/// How long an end's own waits (a PING's answer) last unless a scenario says otherwise.
pub const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(5);
