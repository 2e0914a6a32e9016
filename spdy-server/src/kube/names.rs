//! The names on the wire: protocols, stream types and stream headers. One
//! vocabulary serves both roles, so it lives in `spdy_client::kube::names`
//! (this crate already depends on spdy-client) and is re-exported here.

pub use spdy_client::kube::names::*;
