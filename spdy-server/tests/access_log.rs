//! The access line of a response the client did not get whole says it is
//! incomplete, on SPDY and on HTTP/1.1. A test binary of its own: it
//! captures log events with a thread-local subscriber, and tests running
//! beside it in the same process could race tracing's callsite cache.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/probe.rs"]
mod probe;

use std::fmt::Write as _;

use common::within;
use http::Method;
use probe::{assert_aborted_by_server, http1_request, probe, spdy_client, spdy_request};
use tokio::sync::mpsc;
use tracing_subscriber::layer::SubscriberExt as _;

/// Sends the message and fields of every access line down a channel.
struct AccessLines(mpsc::UnboundedSender<String>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for AccessLines {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != "spdy_server::access" {
            return;
        }
        let mut line = Line::default();
        event.record(&mut line);
        let _ = self.0.send(format!("{}{}", line.message, line.fields));
    }
}

#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl tracing::field::Visit for Line {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[tokio::test]
async fn the_access_line_of_an_aborted_response_says_incomplete() {
    let (tx, mut lines) = mpsc::unbounded_channel();
    // A current-thread runtime: the server's tasks log on this thread.
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(AccessLines(tx)));
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;

    let outcome = spdy_request(&client, Method::GET, "/abort", None, "").await;
    assert_aborted_by_server(&outcome);
    within(reports.recv()).await.unwrap().unwrap();
    let line = within(lines.recv()).await.unwrap();
    assert!(line.starts_with("GET /abort 200 (incomplete)"), "{line}");
    assert!(line.contains("spdy/3.1"), "{line}");
    assert!(line.contains("aborted"), "{line}");

    let outcome = http1_request(addr, Method::GET, "/abort").await;
    assert!(outcome.is_err(), "{outcome:?}");
    within(reports.recv()).await.unwrap().unwrap();
    let line = within(lines.recv()).await.unwrap();
    assert!(line.starts_with("GET /abort 200 (incomplete)"), "{line}");
    assert!(line.contains("http/1.1"), "{line}");

    let _ = spdy_request(&client, Method::GET, "/short", None, "").await;
    within(reports.recv()).await.unwrap().unwrap_err();
    let line = within(lines.recv()).await.unwrap();
    assert!(line.starts_with("GET /short 200 (incomplete)"), "{line}");
    assert!(
        line.contains("declared 10 bytes; it would have had 5"),
        "{line}"
    );

    spdy_request(&client, Method::GET, "/exact", None, "")
        .await
        .unwrap();
    within(reports.recv()).await.unwrap().unwrap();
    let line = within(lines.recv()).await.unwrap();
    assert!(line.starts_with("GET /exact 200"), "{line}");
    assert!(!line.contains("incomplete"), "{line}");
}
