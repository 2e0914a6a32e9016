//! The handler model: one [`Handler`] serves SPDY streams, HTTP/1.1
//! requests and spdy-recorder runs alike.

use std::future::Future;
use std::sync::Arc;

use http::{Request, Response};

use crate::{Body, ResponseWriter};

/// Serves requests, writing each response through a [`ResponseWriter`]
/// (status, headers, a body written with back-pressure, flush, push), the
/// way Go's `http.Handler` does. The same handler runs on SPDY/3.1, on the
/// HTTP/1.1 fallback and under spdy-recorder.
///
/// When `serve` returns, the response is finished (FIN); a response never
/// started becomes an empty `200 OK` (or whatever status was set). If the
/// connection ends while `serve` runs, a read or write it is waiting on
/// fails; if it is waiting for anything else, its future is dropped
/// (cancelled), as hyper drops a service's future: spawn work that must
/// outlive the client.
///
/// ```
/// use spdy_server::{Body, Handler, ResponseWriter};
///
/// struct Hello;
///
/// impl Handler for Hello {
///     async fn serve(&self, request: http::Request<Body>, response: &mut ResponseWriter) {
///         response.headers_mut().insert("content-type", "text/plain".parse().unwrap());
///         let text = format!("hello from {}\n", request.uri().path());
///         // An error means the client is gone: stop writing.
///         let _ = response.write(text).await;
///     }
/// }
/// ```
pub trait Handler: Send + Sync + 'static {
    /// Serves one request.
    fn serve(
        &self,
        request: Request<Body>,
        response: &mut ResponseWriter,
    ) -> impl Future<Output = ()> + Send;
}

impl<H: Handler> Handler for Arc<H> {
    fn serve(
        &self,
        request: Request<Body>,
        response: &mut ResponseWriter,
    ) -> impl Future<Output = ()> + Send {
        (**self).serve(request, response)
    }
}

/// A handler made of an `async fn(Request<Body>) -> Response<B>` closure;
/// see [`handler_fn`].
#[derive(Clone, Debug)]
pub struct FnHandler<F>(F);

/// Turns an `async fn(Request<Body>) -> Response<B>` closure into a
/// [`Handler`]; the response body streams under flow control.
///
/// ```
/// use spdy_server::{handler_fn, Body};
///
/// let handler = handler_fn(|request: http::Request<Body>| async move {
///     let body = request.into_body().to_bytes(1 << 20).await.unwrap_or_default();
///     http::Response::new(Body::from(body)) // echo
/// });
/// # fn is_handler(_: impl spdy_server::Handler) {}
/// # is_handler(handler);
/// ```
pub fn handler_fn<F, Fut, B>(f: F) -> FnHandler<F>
where
    F: Fn(Request<Body>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<B>> + Send,
    B: Into<Body>,
{
    FnHandler(f)
}

impl<F, Fut, B> Handler for FnHandler<F>
where
    F: Fn(Request<Body>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<B>> + Send,
    B: Into<Body>,
{
    async fn serve(&self, request: Request<Body>, response: &mut ResponseWriter) {
        let answer = (self.0)(request).await;
        if let Err(error) = response.send_response(answer.map(Into::into)).await {
            tracing::debug!(%error, "response not completed");
        }
    }
}
