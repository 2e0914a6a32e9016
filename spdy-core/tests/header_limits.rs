//! Header blocks at the sizes a hostile peer can reach: the densest block
//! the default bound admits must decode (and be checked) correctly, and a
//! block with more names than `http::HeaderMap` can hold must be refused
//! with an error, never a panic.

#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use spdy_core::header::{
    DEFAULT_MAX_HEADER_BLOCK_SIZE, HeaderBlock, HeaderDecoder, HeaderEncoder, HeaderError,
    HttpMapError, block_to_header_map, block_to_request, block_to_response,
};

/// Pairs in the dense block: with 2-byte names and empty values each pair
/// takes 10 bytes, so this is about the most the 64 KiB bound admits.
const DENSE_PAIRS: usize = 6_400;

/// Bytes a valid header name may hold: anything but NUL and uppercase.
fn name_alphabet() -> Vec<u8> {
    (1..=u8::MAX).filter(|b| !b.is_ascii_uppercase()).collect()
}

/// `count` distinct pairs, the first named `first`, the others two bytes.
fn dense_block(first: &'static str, count: usize) -> HeaderBlock {
    let alphabet = name_alphabet();
    let mut block = HeaderBlock::with_capacity(count);
    block.push(first, "1");
    // Two-byte names never equal `first`, which is longer.
    for i in 0..count - 1 {
        let name = [alphabet[i / alphabet.len()], alphabet[i % alphabet.len()]];
        block.push(Bytes::copy_from_slice(&name), Bytes::new());
    }
    block
}

fn round_trip(block: &HeaderBlock) -> Result<HeaderBlock, HeaderError> {
    let mut wire = BytesMut::new();
    HeaderEncoder::new().encode(block, &mut wire).unwrap();
    HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE).decode(&wire)
}

#[test]
fn the_densest_block_under_the_default_bound_decodes() {
    let block = dense_block("x-first", DENSE_PAIRS);
    assert!(block.encoded_len() <= DEFAULT_MAX_HEADER_BLOCK_SIZE);
    assert_eq!(round_trip(&block).unwrap(), block);
}

#[test]
fn a_duplicate_at_the_end_of_a_dense_block_is_refused_by_name() {
    let mut block = dense_block("x-first", DENSE_PAIRS - 1);
    block.push("x-first", "2");
    assert!(block.encoded_len() <= DEFAULT_MAX_HEADER_BLOCK_SIZE);
    assert_eq!(
        round_trip(&block).unwrap_err(),
        HeaderError::Malformed("header name \"x-first\" appears twice".into())
    );
}

/// `count` distinct, valid HTTP headers of one byte each.
fn many_http_headers(block: &mut HeaderBlock, count: usize) {
    for i in 0..count {
        block.push(format!("h{i}"), "v");
    }
}

#[test]
fn a_block_with_more_names_than_a_header_map_holds_is_refused() {
    // Far beyond the decoder's bound: built directly, as a caller with a
    // larger `max_header_block_size` could receive it.
    let mut block = HeaderBlock::new();
    many_http_headers(&mut block, 40_000);
    assert_eq!(
        block_to_header_map(&block).unwrap_err(),
        HttpMapError::TooManyHeaders { count: 40_000 }
    );

    let mut request: HeaderBlock = [
        (":method", "GET"),
        (":path", "/"),
        (":version", "HTTP/1.1"),
        (":host", "example.org"),
        (":scheme", "https"),
    ]
    .into_iter()
    .collect();
    many_http_headers(&mut request, 40_000);
    assert!(matches!(
        block_to_request(&request),
        Err(HttpMapError::TooManyHeaders { .. })
    ));

    let mut response: HeaderBlock = [(":status", "200"), (":version", "HTTP/1.1")]
        .into_iter()
        .collect();
    many_http_headers(&mut response, 40_000);
    assert!(matches!(
        block_to_response(&response),
        Err(HttpMapError::TooManyHeaders { .. })
    ));
}

#[test]
fn many_values_under_one_name_and_many_names_below_the_limit_map() {
    let mut block = HeaderBlock::new();
    many_http_headers(&mut block, 20_000);
    let map = block_to_header_map(&block).unwrap();
    assert_eq!(map.keys_len(), 20_000);
    assert_eq!(map["h19999"], "v");

    // Repeated values do not take names: 40,000 of them under one name map.
    let joined = vec!["v"; 40_000].join("\0");
    let block: HeaderBlock = [("x-many", joined)].into_iter().collect();
    let map = block_to_header_map(&block).unwrap();
    assert_eq!(map.keys_len(), 1);
    assert_eq!(map.get_all("x-many").iter().count(), 40_000);
}
