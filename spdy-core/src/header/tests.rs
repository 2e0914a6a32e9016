//! Compression tests: shared contexts, the dictionary, bounds and bad input.

use bytes::BytesMut;
use flate2::{Compress, Compression, FlushCompress};
use http::{HeaderValue, Request, Response, StatusCode};

use super::*;

fn request_block() -> HeaderBlock {
    [
        (":method", "GET"),
        (":path", "/media/video.mp4"),
        (":version", "HTTP/1.1"),
        (":host", "example.org"),
        (":scheme", "https"),
        ("user-agent", "VLC/3.0.20 LibVLC/3.0.20"),
        ("accept", "*/*"),
        ("range", "bytes=0-"),
    ]
    .into_iter()
    .collect()
}

fn encode(encoder: &mut HeaderEncoder, block: &HeaderBlock) -> BytesMut {
    let mut out = BytesMut::new();
    encoder.encode(block, &mut out).unwrap();
    out
}

#[test]
fn round_trip_through_shared_contexts() {
    let mut encoder = HeaderEncoder::new();
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    let first = encode(&mut encoder, &request_block());
    assert_eq!(first[0], 0x38, "zlib CMF: deflate with a 2 KiB window");
    assert_ne!(first[1] & 0x20, 0, "zlib FLG: FDICT set");
    assert_eq!(&first[2..6], &DICTIONARY_ID.to_be_bytes(), "DICTID");
    assert_eq!(decoder.decode(&first).unwrap(), request_block());
    // The second block refers back to the first through the shared window.
    let second = encode(&mut encoder, &request_block());
    assert!(
        second.len() < first.len(),
        "{} vs {}",
        second.len(),
        first.len()
    );
    assert_eq!(decoder.decode(&second).unwrap(), request_block());
}

#[test]
fn stored_encoding_is_byte_for_byte_what_zlib_writes_at_level_0() {
    let mut stored = HeaderEncoder::with_compression(HeaderCompression::Stored);
    let mut zlib = HeaderEncoder::with_level(0);
    let mut big = HeaderBlock::new();
    big.push("x-big", vec![b'a'; 70_000]);
    for (i, block) in [request_block(), HeaderBlock::new(), big, request_block()]
        .iter()
        .enumerate()
    {
        let ours = encode(&mut stored, block);
        let theirs = encode(&mut zlib, block);
        if i == 0 {
            // The zlib header may name another window size (zlib-rs writes
            // its 2 KiB); ours is the usual 32 KiB, and valid.
            assert_eq!(u16::from_be_bytes([ours[0], ours[1]]) % 31, 0);
            assert_eq!(ours[0] & 0x0f, 8, "deflate");
            assert_ne!(ours[1] & 0x20, 0, "FDICT");
            assert_eq!(ours[2..], theirs[2..]);
        } else {
            assert_eq!(ours, theirs);
        }
    }
}

#[test]
fn stored_blocks_decode_through_our_decoder_and_flate2() {
    let mut encoder = HeaderEncoder::with_compression(HeaderCompression::Stored);
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    let mut flate = flate2::Decompress::new(true);
    for i in 0..100 {
        let mut block = request_block();
        block.push("x-count", i.to_string());
        let wire = encode(&mut encoder, &block);
        assert_eq!(decoder.decode(&wire).unwrap(), block);
        let mut out = Vec::with_capacity(4096);
        let status = flate.decompress_vec(&wire, &mut out, flate2::FlushDecompress::Sync);
        if matches!(status, Err(ref e) if e.needs_dictionary().is_some()) {
            flate.set_dictionary(DICTIONARY).unwrap();
            let consumed = flate.total_in() as usize;
            flate
                .decompress_vec(&wire[consumed..], &mut out, flate2::FlushDecompress::Sync)
                .unwrap();
        } else {
            status.unwrap();
        }
        let mut expected = Vec::new();
        block.write_uncompressed(&mut expected);
        assert_eq!(out, expected);
    }
}

#[test]
fn a_thousand_blocks_stay_in_step() {
    let mut encoder = HeaderEncoder::new();
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    for i in 0..1_000 {
        let mut block = request_block();
        block.push("x-request-id", format!("{i:08}"));
        let wire = encode(&mut encoder, &block);
        assert_eq!(decoder.decode(&wire).unwrap(), block, "block {i}");
    }
}

#[test]
fn a_later_block_does_not_decode_without_the_earlier_ones() {
    let mut encoder = HeaderEncoder::new();
    let _first = encode(&mut encoder, &request_block());
    let second = encode(&mut encoder, &request_block());
    let mut fresh = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    assert!(matches!(
        fresh.decode(&second),
        Err(HeaderError::Decompress(_))
    ));
}

#[test]
fn stored_blocks_decode_like_node_spdy_sends_them() {
    let mut stored = HeaderEncoder::with_level(0);
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    for _ in 0..3 {
        let wire = encode(&mut stored, &request_block());
        assert!(
            wire.len() > request_block().encoded_len(),
            "stored, not compressed"
        );
        assert_eq!(decoder.decode(&wire).unwrap(), request_block());
    }
}

#[test]
fn flate2_compressor_with_the_dictionary_interoperates() {
    // An independent compressor (flate2, default window and memLevel).
    let mut compress = Compress::new(Compression::default(), true);
    compress.set_dictionary(DICTIONARY).unwrap();
    let mut raw = Vec::new();
    request_block().write_uncompressed(&mut raw);
    let mut out = Vec::with_capacity(1024);
    compress
        .compress_vec(&raw, &mut out, FlushCompress::Sync)
        .unwrap();
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    assert_eq!(decoder.decode(&out).unwrap(), request_block());
}

#[test]
fn zlib_without_the_dictionary_or_with_another_is_refused() {
    let mut raw = Vec::new();
    request_block().write_uncompressed(&mut raw);
    let mut plain = Compress::new(Compression::default(), true);
    let mut out = Vec::with_capacity(1024);
    plain
        .compress_vec(&raw, &mut out, FlushCompress::Sync)
        .unwrap();
    assert_eq!(out[1] & 0x20, 0, "no FDICT in the plain stream's header");
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    // Valid zlib, but not SPDY/3: the stream must ask for the dictionary.
    let error = decoder.decode(&out).unwrap_err();
    assert!(
        matches!(error, HeaderError::Decompress(ref m) if m.contains("dictionary")),
        "{error}"
    );
    // The context is lost with it: a good block after it fails too.
    let good = encode(&mut HeaderEncoder::new(), &request_block());
    assert!(decoder.decode(&good).is_err());
    // Only the direction's first block carries the zlib header: a one-byte
    // first block cannot hold it.
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    assert!(matches!(
        decoder.decode(&good[..1]),
        Err(HeaderError::Decompress(_))
    ));

    let mut other = Compress::new(Compression::default(), true);
    other.set_dictionary(b"some other dictionary").unwrap();
    let mut out = Vec::with_capacity(1024);
    other
        .compress_vec(&raw, &mut out, FlushCompress::Sync)
        .unwrap();
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    let error = decoder.decode(&out).unwrap_err();
    assert!(
        matches!(error, HeaderError::Decompress(ref m) if m.contains("dictionary")),
        "{error}"
    );
}

#[test]
fn garbage_breaks_the_context_for_good() {
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    assert!(matches!(
        decoder.decode(b"\x12\x34garbage"),
        Err(HeaderError::Decompress(_))
    ));
    let mut encoder = HeaderEncoder::new();
    let good = encode(&mut encoder, &request_block());
    assert!(matches!(
        decoder.decode(&good),
        Err(HeaderError::Decompress(_))
    ));
}

#[test]
fn truncated_block_is_refused() {
    let mut encoder = HeaderEncoder::new();
    let wire = encode(&mut encoder, &request_block());
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    let result = decoder.decode(&wire[..wire.len() / 2]);
    assert!(result.is_err());
}

#[test]
fn compression_bomb_fails_at_the_bound_with_bounded_memory() {
    // One pair whose value claims 16 MiB of zeros, compressed for real,
    // in chunks, without ever holding the 16 MiB.
    let declared: u32 = 16 * 1024 * 1024;
    let mut compress = Compress::new(Compression::best(), true);
    compress.set_dictionary(DICTIONARY).unwrap();
    let mut bomb = Vec::with_capacity(128 * 1024);
    let mut head = Vec::new();
    head.extend_from_slice(&1u32.to_be_bytes());
    head.extend_from_slice(&1u32.to_be_bytes());
    head.push(b'x');
    head.extend_from_slice(&declared.to_be_bytes());
    compress
        .compress_vec(&head, &mut bomb, FlushCompress::None)
        .unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..16 {
        let before = compress.total_in();
        compress
            .compress_vec(&zeros, &mut bomb, FlushCompress::None)
            .unwrap();
        assert_eq!(
            compress.total_in() - before,
            zeros.len() as u64,
            "output room ran out"
        );
    }
    compress
        .compress_vec(&[], &mut bomb, FlushCompress::Sync)
        .unwrap();
    assert!(bomb.len() < 40 * 1024, "bomb is {} bytes", bomb.len());

    let limit = DEFAULT_MAX_HEADER_BLOCK_SIZE;
    let mut decoder = HeaderDecoder::new(limit);
    assert_eq!(
        decoder.decode(&bomb).unwrap_err(),
        HeaderError::TooLarge { limit }
    );
    // The context is gone afterwards, and nothing large is kept.
    assert!(decoder.decode(&bomb).is_err());
    assert_eq!(decoder.retained_capacity(), 0);
}

#[test]
fn bound_counts_inflated_bytes_exactly() {
    let block: HeaderBlock = [("a", "x".repeat(100))].into_iter().collect();
    let size = block.encoded_len();
    let mut encoder = HeaderEncoder::new();
    let wire = encode(&mut encoder, &block);
    assert!(HeaderDecoder::new(size).decode(&wire).is_ok());
    let mut encoder = HeaderEncoder::new();
    let wire = encode(&mut encoder, &block);
    assert!(matches!(
        HeaderDecoder::new(size - 1).decode(&wire),
        Err(HeaderError::TooLarge { .. })
    ));
}

#[test]
fn malformed_blocks_keep_the_context_in_step() {
    let mut encoder = HeaderEncoder::new();
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    let bad: HeaderBlock = [("Upper", "x")].into_iter().collect();
    let wire = encode(&mut encoder, &bad);
    assert!(matches!(
        decoder.decode(&wire),
        Err(HeaderError::Malformed(_))
    ));
    let wire = encode(&mut encoder, &request_block());
    assert_eq!(decoder.decode(&wire).unwrap(), request_block());
}

#[test]
fn decode_raw_shows_blocks_as_sent() {
    let mut encoder = HeaderEncoder::new();
    let bad: HeaderBlock = [("Upper", "x"), ("Upper", "y")].into_iter().collect();
    let wire = encode(&mut encoder, &bad);
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    assert_eq!(decoder.decode_raw(&wire).unwrap(), bad);
}

#[test]
fn empty_input_is_an_empty_block() {
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    assert!(decoder.decode(&[]).unwrap().is_empty());
}

#[test]
fn request_maps_both_ways() {
    let request = Request::get("https://example.org:8443/a/b?c=d")
        .header("accept", "text/html")
        .header("cookie", "a=1")
        .header("cookie", "b=2")
        .header("connection", "keep-alive")
        .header("transfer-encoding", "chunked")
        .body(())
        .unwrap();
    let block = request_to_block(&request, "http");
    assert_eq!(block.get_str(":method"), Some("GET"));
    assert_eq!(block.get_str(":path"), Some("/a/b?c=d"));
    assert_eq!(block.get_str(":host"), Some("example.org:8443"));
    assert_eq!(block.get_str(":scheme"), Some("https"));
    assert_eq!(block.get_str(":version"), Some("HTTP/1.1"));
    assert_eq!(block.get(":cookie"), None);
    assert_eq!(&block.get("cookie").unwrap()[..], b"a=1\0b=2");
    assert!(block.get("connection").is_none() && block.get("transfer-encoding").is_none());
    block.validate().unwrap();

    let back = block_to_request(&block).unwrap();
    assert_eq!(back.uri(), "https://example.org:8443/a/b?c=d");
    assert_eq!(back.headers()["host"], "example.org:8443");
    let cookies: Vec<&HeaderValue> = back.headers().get_all("cookie").iter().collect();
    assert_eq!(cookies, vec!["a=1", "b=2"]);
    assert!(back.headers().keys().all(|k| !k.as_str().starts_with(':')));
}

#[test]
fn hop_by_hop_headers_from_the_peer_are_dropped_with_those_connection_names() {
    // A peer (or an origin behind the reverse tunnel) that sends HTTP/1.1
    // connection headers in a block: none reaches the application, nor
    // does a header its `connection` header names.
    let mut block = HeaderBlock::new();
    block.push(":status", "200");
    block.push(":version", "HTTP/1.1");
    block.push("connection", "close, X-Private");
    block.push("x-private", "secret");
    for name in [
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
        "trailer",
    ] {
        block.push(name, "x");
    }
    block.push("content-type", "text/plain");
    block.validate().unwrap();
    let response = block_to_response(&block).unwrap();
    let names: Vec<&str> = response.headers().keys().map(|k| k.as_str()).collect();
    assert_eq!(names, vec!["content-type"]);
}

#[test]
fn request_without_authority_uses_the_host_header_and_default_scheme() {
    let request = Request::get("/x")
        .header("host", "h.example")
        .body(())
        .unwrap();
    let block = request_to_block(&request, "https");
    assert_eq!(block.get_str(":host"), Some("h.example"));
    assert_eq!(block.get_str(":scheme"), Some("https"));
    assert!(block.get("host").is_none());
}

#[test]
fn missing_request_pseudo_headers_are_named() {
    for missing in [":method", ":path", ":version", ":host", ":scheme"] {
        let mut block = request_to_block(&Request::get("http://h/").body(()).unwrap(), "http");
        block.remove(missing);
        assert_eq!(
            block_to_request(&block).unwrap_err(),
            HttpMapError::Missing(missing)
        );
    }
}

#[test]
fn response_maps_both_ways() {
    let response = Response::builder()
        .status(StatusCode::PARTIAL_CONTENT)
        .header("content-range", "bytes 0-9/100")
        .body(())
        .unwrap();
    let block = response_to_block(&response);
    assert_eq!(block.get_str(":status"), Some("206 Partial Content"));
    let back = block_to_response(&block).unwrap();
    assert_eq!(back.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(back.headers()["content-range"], "bytes 0-9/100");

    let bare: HeaderBlock = [(":status", "404"), (":version", "HTTP/1.1")]
        .into_iter()
        .collect();
    assert_eq!(
        block_to_response(&bare).unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let no_version: HeaderBlock = [(":status", "200")].into_iter().collect();
    assert_eq!(
        block_to_response(&no_version).unwrap_err(),
        HttpMapError::Missing(":version")
    );
    let bad: HeaderBlock = [(":status", "abc"), (":version", "HTTP/1.1")]
        .into_iter()
        .collect();
    assert!(matches!(
        block_to_response(&bad),
        Err(HttpMapError::InvalidPseudo { .. })
    ));
}
