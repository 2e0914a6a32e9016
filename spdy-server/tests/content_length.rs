//! Content-Length is held to on both transports: a request body of another
//! length fails the handler's read; a handler writing more or fewer bytes
//! than its Content-Length gets an error and the response is aborted, never
//! ended cleanly; HEAD and 304 keep the length of a body they do not carry.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/probe.rs"]
mod probe;

use common::within;
use http::{Method, StatusCode};
use probe::{
    assert_aborted_by_server, assert_refused_as_malformed, http1_request, probe, spdy_client,
    spdy_request,
};

#[tokio::test]
async fn a_spdy_request_body_short_of_its_content_length_fails_the_handlers_read() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    let outcome = spdy_request(&client, Method::POST, "/read", Some(10), "hello").await;
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("5 body bytes arrived where its content-length declared 10"),
        "{error}"
    );
    assert_refused_as_malformed(&outcome);
}

#[tokio::test]
async fn a_spdy_request_body_past_its_content_length_fails_the_handlers_read() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    let outcome = spdy_request(&client, Method::POST, "/read", Some(3), "hello").await;
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("5 body bytes arrived where its content-length declared 3"),
        "{error}"
    );
    assert_refused_as_malformed(&outcome);
}

#[tokio::test]
async fn a_spdy_request_with_fin_and_a_content_length_fails_the_handlers_read() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    // An empty body: the SYN_STREAM carries FIN.
    let outcome = spdy_request(&client, Method::POST, "/read", Some(5), "").await;
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("0 body bytes arrived where its content-length declared 5"),
        "{error}"
    );
    assert_refused_as_malformed(&outcome);
}

#[tokio::test]
async fn a_spdy_request_body_of_its_content_length_reaches_the_handler() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    let (_, body) = spdy_request(&client, Method::POST, "/read", Some(5), "hello")
        .await
        .unwrap();
    assert_eq!(body, "read");
    assert_eq!(within(reports.recv()).await.unwrap().unwrap(), "hello");
    let (_, body) = spdy_request(&client, Method::GET, "/read", Some(0), "")
        .await
        .unwrap();
    assert_eq!(body, "read");
    assert_eq!(within(reports.recv()).await.unwrap().unwrap(), "");
}

#[tokio::test]
async fn a_spdy_response_short_of_its_content_length_is_aborted() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    let outcome = spdy_request(&client, Method::GET, "/short", None, "").await;
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("declared 10 bytes; it would have had 5"),
        "{error}"
    );
    // The server reset the stream; no FIN came after the 5 bytes.
    assert_aborted_by_server(&outcome);
}

#[tokio::test]
async fn a_spdy_response_past_its_content_length_is_refused_and_aborted() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    let outcome = spdy_request(&client, Method::GET, "/long", None, "").await;
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("declared 5 bytes; it would have had 11"),
        "{error}"
    );
    assert_aborted_by_server(&outcome);
}

#[tokio::test]
async fn an_http1_response_short_of_its_content_length_is_cut() {
    let (addr, mut reports) = probe().await;
    let outcome = http1_request(addr, Method::GET, "/short").await;
    assert!(outcome.is_err(), "{outcome:?}");
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("declared 10 bytes; it would have had 5"),
        "{error}"
    );
}

#[tokio::test]
async fn an_http1_response_past_its_content_length_is_refused_and_cut() {
    let (addr, mut reports) = probe().await;
    // Not the first 5 bytes ended cleanly (hyper truncates a body at its
    // content-length): the exchange fails.
    let outcome = http1_request(addr, Method::GET, "/long").await;
    assert!(outcome.is_err(), "{outcome:?}");
    let error = within(reports.recv()).await.unwrap().unwrap_err();
    assert!(
        error.contains("declared 5 bytes; it would have had 11"),
        "{error}"
    );
}

#[tokio::test]
async fn responses_of_their_content_length_end_cleanly_on_both_transports() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    let (parts, body) = spdy_request(&client, Method::GET, "/exact", None, "")
        .await
        .unwrap();
    assert_eq!(parts.headers["content-length"], "5");
    assert_eq!(body, "hello");
    within(reports.recv()).await.unwrap().unwrap();
    let (parts, body) = http1_request(addr, Method::GET, "/exact").await.unwrap();
    assert_eq!(parts.headers["content-length"], "5");
    assert_eq!(body, "hello");
    within(reports.recv()).await.unwrap().unwrap();
}

#[tokio::test]
async fn head_and_304_keep_the_length_of_a_body_they_do_not_carry() {
    let (addr, mut reports) = probe().await;
    let client = spdy_client(addr).await;
    for (method, path, length) in [
        (Method::HEAD, "/exact", "5"),
        (Method::HEAD, "/short", "10"),
        (Method::GET, "/not-modified", "10"),
    ] {
        let (parts, body) = spdy_request(&client, method.clone(), path, None, "")
            .await
            .unwrap();
        assert_eq!(parts.headers["content-length"], length, "{method} {path}");
        assert_eq!(body, "", "{method} {path}");
        within(reports.recv()).await.unwrap().unwrap();
        let (parts, body) = http1_request(addr, method.clone(), path).await.unwrap();
        // hyper leaves the length out of a 304.
        if parts.status != StatusCode::NOT_MODIFIED {
            assert_eq!(parts.headers["content-length"], length, "{method} {path}");
        }
        assert_eq!(body, "", "{method} {path}");
        within(reports.recv()).await.unwrap().unwrap();
    }
}
