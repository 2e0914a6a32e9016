//! Replays every checked-in fuzz corpus through its target body on stable.

#![allow(clippy::unwrap_used)]

use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut inputs = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_file() {
            body(&std::fs::read(&path).unwrap());
            inputs += 1;
        }
    }
    assert!(inputs > 0, "the {target} corpus is empty");
}

#[test]
fn frame_decode_corpus() {
    replay("frame_decode", spdy_fuzz::frame_decode);
}

#[test]
fn header_block_corpus() {
    replay("header_block", spdy_fuzz::header_block);
}

#[test]
fn frame_roundtrip_corpus() {
    replay("frame_roundtrip", spdy_fuzz::frame_roundtrip);
}

#[test]
fn session_server_corpus() {
    replay("session_server", spdy_fuzz::session_server);
}

#[test]
fn session_client_corpus() {
    replay("session_client", spdy_fuzz::session_client);
}
