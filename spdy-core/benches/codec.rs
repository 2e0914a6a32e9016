//! Frame codec benchmarks: a 16 KiB DATA frame and a typical request SYN_STREAM.
//!
//! Run with `cargo bench -p spdy-core --bench codec` (or `cargo xtask bench`).
//! The allocation profiler shows DATA decoding allocates nothing.

#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use divan::{AllocProfiler, Bencher, black_box};
use spdy_core::frame::{Data, Frame, FrameDecoder, FrameEncoder, StreamId, SynStream};
use spdy_core::header::HeaderBlock;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

fn request_block() -> HeaderBlock {
    let mut block = HeaderBlock::new();
    block.push(":method", "GET");
    block.push(":path", "/media/movies/big-buck-bunny.mp4");
    block.push(":version", "HTTP/1.1");
    block.push(":host", "media.example.org:8443");
    block.push(":scheme", "https");
    block.push(
        "user-agent",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15",
    );
    block.push("accept", "*/*");
    block.push("accept-encoding", "identity");
    block
}

/// Decodes 16 DATA frames of 16 KiB each from one read buffer. The
/// payloads are slices of the buffer: the only allocation is the buffer's
/// shared reference count, made once per buffer, not per frame.
#[divan::bench]
fn decode_data_16k_x16(bencher: Bencher<'_, '_>) {
    let mut wire = BytesMut::new();
    let frame = Frame::Data(Data::new(
        StreamId::new(1),
        Bytes::from(vec![7u8; 16 * 1024]),
    ));
    let mut encoder = FrameEncoder::new();
    for _ in 0..16 {
        encoder.encode(&frame, &mut wire).unwrap();
    }
    let wire = wire.freeze();
    let mut decoder = FrameDecoder::new();
    bencher
        .with_inputs(|| BytesMut::from(&wire[..]))
        .bench_local_refs(|buf| {
            for _ in 0..16 {
                black_box(decoder.decode(buf).unwrap());
            }
        });
}

/// Writes the head of a 16 KiB DATA frame; the payload goes out by a vectored write.
#[divan::bench]
fn encode_data_head_16k() -> [u8; 8] {
    Data::head(black_box(StreamId::new(1)), false, black_box(16 * 1024))
}

/// Encodes a 16 KiB DATA frame by copying it into the output buffer.
#[divan::bench]
fn encode_data_16k_copy(bencher: Bencher<'_, '_>) {
    let frame = Frame::Data(Data::new(
        StreamId::new(1),
        Bytes::from(vec![7u8; 16 * 1024]),
    ));
    let mut encoder = FrameEncoder::new();
    let mut out = BytesMut::with_capacity(32 * 1024);
    bencher.bench_local(|| {
        out.clear();
        encoder.encode(black_box(&frame), &mut out).unwrap();
    });
}

/// Encodes a SYN_STREAM carrying a typical 8-header request (warm context).
#[divan::bench]
fn encode_syn_stream(bencher: Bencher<'_, '_>) {
    let frame = Frame::SynStream(SynStream::new(StreamId::new(1), request_block()));
    let mut encoder = FrameEncoder::new();
    let mut out = BytesMut::with_capacity(1024);
    encoder.encode(&frame, &mut out).unwrap();
    bencher.bench_local(|| {
        out.clear();
        encoder.encode(black_box(&frame), &mut out).unwrap();
    });
}

/// Encodes then decodes a typical request SYN_STREAM through a warm pair of contexts.
#[divan::bench]
fn syn_stream_round_trip(bencher: Bencher<'_, '_>) {
    let frame = Frame::SynStream(SynStream::new(StreamId::new(1), request_block()));
    let mut encoder = FrameEncoder::new();
    let mut decoder = FrameDecoder::new();
    let mut wire = BytesMut::with_capacity(4096);
    bencher.bench_local(|| {
        encoder.encode(black_box(&frame), &mut wire).unwrap();
        black_box(decoder.decode(&mut wire).unwrap())
    });
}
