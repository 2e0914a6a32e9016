//! Fuzz target bodies for the SPDY/3.1 codec and session engine.
//!
//! Each target in `fuzz_targets/` is a one-line wrapper around a function
//! here, so the stable test `tests/corpus.rs` can replay the checked-in
//! corpora (`corpus/<target>/`) without libFuzzer or a nightly toolchain.
//! Run the real fuzzer with `cargo xtask fuzz <target> --seconds N`.
//!
//! ```
//! spdy_fuzz::frame_decode(&[3, 0x80, 0x03, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1]);
//! ```

mod session;

pub use session::{session_client, session_server};

use arbitrary::{Arbitrary, Unstructured};
use bytes::BytesMut;
use spdy_core::frame::{DecoderConfig, Frame, FrameDecoder, FrameEncoder};
use spdy_core::header::HeaderDecoder;

/// Small limits so the fuzzer reaches the limit checks quickly.
fn fuzz_config() -> DecoderConfig {
    DecoderConfig {
        max_control_frame_len: 8 * 1024,
        max_data_frame_len: 8 * 1024,
        max_header_block_size: 16 * 1024,
        validate_headers: true,
    }
}

/// Everything a decoder said about an input, in order.
fn decode_outcomes(input: &[u8], chunk: usize) -> Vec<String> {
    let mut decoder = FrameDecoder::with_config(fuzz_config());
    let mut buf = BytesMut::new();
    let mut outcomes = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => outcomes.push(format!("{frame:?}")),
                Ok(None) => break,
                Err(error) => {
                    outcomes.push(format!("{error:?} -> {:?}", error.scope()));
                    if error.scope().is_session_error() {
                        return outcomes;
                    }
                }
            }
        }
    }
    outcomes
}

/// Arbitrary bytes fed to the frame decoder in chunks whose size the first
/// byte picks. The decoder must not panic, and must say exactly what it says
/// when given the whole input at once.
pub fn frame_decode(data: &[u8]) {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let chunked = decode_outcomes(input, usize::from(step % 64) + 1);
    let whole = decode_outcomes(input, input.len());
    assert_eq!(
        chunked, whole,
        "chunked decoding differs from whole decoding"
    );
}

/// Arbitrary bytes inflated and parsed as a header block, twice through one
/// context (the second call exercises a context after success or failure).
pub fn header_block(data: &[u8]) {
    let mut decoder = HeaderDecoder::new(16 * 1024);
    for _ in 0..2 {
        if let Ok(block) = decoder.decode(data) {
            // A valid block maps to http types without panicking.
            let _ = spdy_core::header::block_to_request(&block);
            let _ = spdy_core::header::block_to_response(&block);
        }
    }
    let _ = HeaderDecoder::new(16 * 1024).decode_raw(data);
}

/// A sequence of arbitrary valid frames encoded with one context and decoded
/// with another comes back unchanged.
pub fn frame_roundtrip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut frames = Vec::new();
    while frames.len() < 16 && !u.is_empty() {
        match Frame::arbitrary(&mut u) {
            Ok(frame) => frames.push(frame),
            Err(_) => break,
        }
    }
    let mut encoder = FrameEncoder::new();
    let mut wire = BytesMut::new();
    for frame in &frames {
        encoder
            .encode(frame, &mut wire)
            .expect("valid frames encode");
    }
    let mut decoder = FrameDecoder::new();
    let mut decoded = Vec::with_capacity(frames.len());
    while let Some(frame) = decoder.decode(&mut wire).expect("encoded frames decode") {
        decoded.push(frame);
    }
    assert!(wire.is_empty(), "bytes left after the last frame");
    assert_eq!(decoded, frames);
}
