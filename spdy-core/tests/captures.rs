//! Golden captures from real peers decode frame by frame, with each
//! direction's header blocks inflated through one shared context.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use bytes::BytesMut;
use spdy_core::frame::{Frame, FrameDecoder, SettingId, StreamId};
use spdy_core::header::{HeaderDecoder, block_to_request, block_to_response};

fn decode(name: &str) -> Vec<Frame> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/captures")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut wire = BytesMut::from(&bytes[..]);
    let mut decoder = FrameDecoder::new();
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode(&mut wire).unwrap() {
        frames.push(frame);
    }
    assert!(
        wire.is_empty() && decoder.is_at_frame_boundary(),
        "{name} ends mid-frame"
    );
    frames
}

fn kinds(frames: &[Frame]) -> Vec<&'static str> {
    frames.iter().map(|f| f.frame_type().name()).collect()
}

#[test]
fn node_spdy_client_to_server() {
    let frames = decode("node-spdy-client-to-server.bin");
    assert_eq!(
        kinds(&frames),
        [
            "SETTINGS",
            "WINDOW_UPDATE",
            "SYN_STREAM",
            "SYN_STREAM",
            "SYN_STREAM",
            "DATA",
            "DATA",
            "GOAWAY"
        ]
    );
    let Frame::Settings(settings) = &frames[0] else {
        unreachable!()
    };
    assert_eq!(settings.get(SettingId::InitialWindowSize), Some(1_048_576));
    assert!(settings.entries[0].flags.persist_value);
    let paths: Vec<String> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::SynStream(s) => Some(block_to_request(&s.headers).unwrap().uri().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        paths,
        [
            "https://127.0.0.1/first",
            "https://127.0.0.1/second?q=1",
            "https://127.0.0.1/upload"
        ]
    );
    let Frame::Data(body) = &frames[5] else {
        unreachable!()
    };
    assert_eq!(&body.payload[..], b"a small request body");
    assert!(matches!(&frames[6], Frame::Data(d) if d.fin && d.payload.is_empty()));
}

#[test]
fn node_spdy_server_to_client() {
    let frames = decode("node-spdy-server-to-client.bin");
    let replies: Vec<u16> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::SynReply(r) => Some(block_to_response(&r.headers).unwrap().status().as_u16()),
            _ => None,
        })
        .collect();
    assert_eq!(replies, [200, 200, 200]);
    let body: Vec<u8> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) if d.stream_id == StreamId::new(5) => Some(d.payload.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(body, b"you asked for POST /upload with 20 body bytes\n");
}

#[test]
fn spdystream_client_to_server_shares_one_compression_context() {
    let frames = decode("spdystream-client-to-server.bin");
    assert_eq!(
        kinds(&frames),
        ["SYN_STREAM", "DATA", "DATA", "SYN_STREAM", "DATA", "DATA"]
    );
    let Frame::SynStream(second) = &frames[3] else {
        unreachable!()
    };
    assert_eq!(second.headers.get_str("streamtype"), Some("stdin"));

    // The second block alone does not inflate: it refers to the first.
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/captures/spdystream-client-to-server.bin"),
    )
    .unwrap();
    let second_start = 100; // offset of the second SYN_STREAM (see the dump)
    let length = u32::from_be_bytes([
        0,
        bytes[second_start + 5],
        bytes[second_start + 6],
        bytes[second_start + 7],
    ]);
    let block = &bytes[second_start + 18..second_start + 8 + length as usize];
    assert!(HeaderDecoder::new(65_536).decode(block).is_err());
}

#[test]
fn spdystream_server_to_client() {
    let frames = decode("spdystream-server-to-client.bin");
    assert_eq!(
        kinds(&frames),
        ["SYN_REPLY", "DATA", "SYN_REPLY", "DATA", "DATA", "DATA"]
    );
    assert!(
        frames
            .iter()
            .all(|f| !matches!(f, Frame::WindowUpdate(_) | Frame::Settings(_)))
    );
}
