//! ResponseRecorder: run a SPDY handler against a built request, without a
//! network, and inspect what it answered: status, headers, body, pushes,
//! and the exact SPDY frames the response became (SYN_REPLY header block in
//! clear, DATA frames, FIN), printable in the YAML frame notation of
//! `spdy_core::notation` for snapshot tests (insta).
//!
//! The handler runs unchanged: the recorder serves it with spdy-server over
//! an in-memory pipe and talks to it with spdy-client, so the frames are the
//! ones a real client would receive.
//!
//! ```
//! use spdy_recorder::Recorder;
//! use spdy_server::{Body, Handler, ResponseWriter};
//!
//! struct Hello;
//!
//! impl Handler for Hello {
//!     async fn serve(&self, request: http::Request<Body>, response: &mut ResponseWriter) {
//!         response.headers_mut().insert("content-type", "text/plain".parse().unwrap());
//!         // The last write carries FIN (a plain `write` would be followed by
//!         // an empty DATA frame with FIN when the handler returns).
//!         let _ = response.write_last(format!("hello {}", request.uri().path())).await;
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let request = http::Request::get("http://example.test/world").body(Body::empty()).unwrap();
//! let recording = Recorder::new().run(Hello, request).await;
//!
//! assert_eq!(recording.status, 200);
//! assert_eq!(recording.headers["content-type"], "text/plain");
//! assert_eq!(recording.body, "hello /world");
//! assert_eq!(
//!     recording.frames_yaml(),
//!     "\
//! - type: SYN_REPLY
//!   stream_id: 1
//!   headers:
//!     :status: 200 OK
//!     :version: HTTP/1.1
//!     content-type: text/plain
//! - type: DATA
//!   stream_id: 1
//!   fin: true
//!   data: hello /world
//! "
//! );
//! // In a test: insta::assert_snapshot!(recording.frames_yaml());
//! # }
//! ```

mod recording;
mod tap;

pub use recording::{RecordedPush, Recorder, Recording};

pub use spdy_core as core;
