//! Header block benchmarks: compressing and inflating a typical browser
//! request through warm contexts, and what a context costs in memory (the
//! allocation profiler reports the bytes each benchmark allocates).
//!
//! Run with `cargo bench -p spdy-core --bench header`.

#![allow(clippy::unwrap_used)]

use bytes::BytesMut;
use divan::{AllocProfiler, Bencher, black_box};
use spdy_core::header::{
    DEFAULT_MAX_HEADER_BLOCK_SIZE, HeaderBlock, HeaderCompression, HeaderDecoder, HeaderEncoder,
};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

/// The 8-header request a media player sends.
fn request_block() -> HeaderBlock {
    [
        (":method", "GET"),
        (":path", "/media/video.mp4"),
        (":version", "HTTP/1.1"),
        (":host", "media.example.org"),
        (":scheme", "https"),
        (
            "user-agent",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15",
        ),
        ("accept", "*/*"),
        ("accept-encoding", "identity"),
    ]
    .into_iter()
    .collect()
}

/// A warm encoder and decoder pair, as in a session that already exchanged a block.
fn warm_pair(level: u32) -> (HeaderEncoder, HeaderDecoder, BytesMut) {
    let mut encoder = HeaderEncoder::with_level(level);
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    let mut wire = BytesMut::with_capacity(1024);
    encoder.encode(&request_block(), &mut wire).unwrap();
    decoder.decode(&wire).unwrap();
    wire.clear();
    (encoder, decoder, wire)
}

/// Compresses the request block (warm context), by zlib level.
#[divan::bench(args = [0, 1, 6])]
fn encode(bencher: Bencher<'_, '_>, level: u32) {
    let block = request_block();
    let (mut encoder, _, mut wire) = warm_pair(level);
    bencher.bench_local(|| {
        wire.clear();
        encoder.encode(black_box(&block), &mut wire).unwrap();
    });
}

/// Inflates and validates the request block (warm context).
#[divan::bench]
fn decode(bencher: Bencher<'_, '_>) {
    let block = request_block();
    let (mut encoder, mut decoder, mut wire) = warm_pair(1);
    bencher
        .with_inputs(|| {
            wire.clear();
            encoder.encode(&block, &mut wire).unwrap();
            wire.clone()
        })
        .bench_local_refs(|input| black_box(decoder.decode(input).unwrap()));
}

/// Encode and decode one request block through warm contexts, by zlib level.
#[divan::bench(args = [0, 1, 6])]
fn encode_then_decode(bencher: Bencher<'_, '_>, level: u32) {
    let block = request_block();
    let (mut encoder, mut decoder, mut wire) = warm_pair(level);
    bencher.bench_local(|| {
        wire.clear();
        encoder.encode(black_box(&block), &mut wire).unwrap();
        black_box(decoder.decode(&wire).unwrap())
    });
}

/// Encode and decode one request block with stored blocks (the session
/// default: no deflate context), through a warm decoder.
#[divan::bench]
fn stored_encode_then_decode(bencher: Bencher<'_, '_>) {
    let block = request_block();
    let mut encoder = HeaderEncoder::with_compression(HeaderCompression::Stored);
    let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
    let mut wire = BytesMut::with_capacity(1024);
    encoder.encode(&block, &mut wire).unwrap();
    decoder.decode(&wire).unwrap();
    bencher.bench_local(|| {
        wire.clear();
        encoder.encode(black_box(&block), &mut wire).unwrap();
        black_box(decoder.decode(&wire).unwrap())
    });
}

/// Memory of a stored-block encoder after its first block: no zlib context.
#[divan::bench]
fn memory_stored_encoder_after_one_block() -> (HeaderEncoder, BytesMut) {
    let mut encoder = HeaderEncoder::with_compression(HeaderCompression::Stored);
    let mut wire = BytesMut::new();
    encoder.encode(&request_block(), &mut wire).unwrap();
    (encoder, wire)
}

/// Memory of a deflate context: created, then after its first block.
/// Read the "alloc" bytes of this benchmark.
#[divan::bench]
fn memory_deflate_context_after_one_block() -> (HeaderEncoder, BytesMut) {
    let mut encoder = HeaderEncoder::new();
    let mut wire = BytesMut::new();
    encoder.encode(&request_block(), &mut wire).unwrap();
    (encoder, wire)
}

/// Memory of an inflate context after its first block (zlib allocates the
/// window on first use).
#[divan::bench]
fn memory_inflate_context_after_one_block(bencher: Bencher<'_, '_>) {
    let mut encoder = HeaderEncoder::new();
    let mut wire = BytesMut::new();
    encoder.encode(&request_block(), &mut wire).unwrap();
    bencher.bench_local(|| {
        let mut decoder = HeaderDecoder::new(DEFAULT_MAX_HEADER_BLOCK_SIZE);
        black_box(decoder.decode(&wire).unwrap());
        decoder
    });
}

/// For comparison: a deflate context with zlib's default memLevel 8 and
/// window 15, as flate2 makes it.
#[divan::bench]
fn memory_flate2_default_deflate_context() -> flate2::Compress {
    let mut compress = flate2::Compress::new(flate2::Compression::fast(), true);
    compress
        .set_dictionary(spdy_core::header::DICTIONARY)
        .unwrap();
    let mut out = Vec::with_capacity(512);
    let mut raw = Vec::new();
    for pair in request_block().pairs() {
        raw.extend_from_slice(&pair.name);
        raw.extend_from_slice(&pair.value);
    }
    compress
        .compress_vec(&raw, &mut out, flate2::FlushCompress::Sync)
        .unwrap();
    compress
}
