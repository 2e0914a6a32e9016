//! The frame notation round-trips: frames → YAML → frames, on real captures.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use bytes::BytesMut;
use conformance::notation::{FrameNote, RenderOptions, Wire, parse_notes, print_notes};
use spdy_core::frame::{FrameDecoder, FrameEncoder};

fn frames_of(file: &str) -> Vec<spdy_core::frame::Frame> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../spdy-core/tests/captures")
        .join(file);
    let mut wire = BytesMut::from(&std::fs::read(path).unwrap()[..]);
    let mut decoder = FrameDecoder::new();
    std::iter::from_fn(|| decoder.decode(&mut wire).unwrap()).collect()
}

#[test]
fn captures_round_trip_through_yaml() {
    let full = RenderOptions {
        max_inline_data: usize::MAX,
    };
    for file in [
        "node-spdy-client-to-server.bin",
        "node-spdy-server-to-client.bin",
        "spdystream-client-to-server.bin",
        "spdystream-server-to-client.bin",
    ] {
        let frames = frames_of(file);
        let notes: Vec<FrameNote> = frames
            .iter()
            .map(|f| FrameNote::from_frame(f, &full))
            .collect();
        let yaml = print_notes(&notes);
        let parsed = parse_notes(&yaml).unwrap();
        assert_eq!(parsed, notes, "{file}");
        let back: Vec<_> = parsed
            .iter()
            .map(|n| match n.to_wire().unwrap() {
                Wire::Frame(f) => f,
                Wire::Raw(_) => panic!("no raw notes here"),
            })
            .collect();
        assert_eq!(back, frames, "{file}");

        // And the bytes we encode from the notes decode to the same frames.
        let mut encoder = FrameEncoder::new();
        let mut wire = BytesMut::new();
        for note in &parsed {
            note.encode(&mut encoder, &mut wire).unwrap();
        }
        let mut decoder = FrameDecoder::new();
        let again: Vec<_> = std::iter::from_fn(|| decoder.decode(&mut wire).unwrap()).collect();
        assert_eq!(again, frames, "{file}");
    }
}

#[test]
fn handwritten_notes_parse() {
    let notes = parse_notes(
        r#"
- type: SYN_STREAM
  stream_id: 1
  fin: true
  headers:
    :method: GET
    cookie: [a=1, b=2]
    x-bin: {hex: ff00}
- {type: DATA, stream_id: 1, data_len: 4, data_fill: 9}
- {type: RST_STREAM, stream_id: 1, status: REFUSED_STREAM}
- {type: RST_STREAM, stream_id: 1, status: 77}
- {type: SETTINGS, entries: [{id: 7, value: 10, persisted: true}]}
- {type: GOAWAY, last_good_stream_id: 3}
- {type: RAW, hex: "80 03 00 06"}
"#,
    )
    .unwrap();
    assert_eq!(notes.len(), 7);
    let Wire::Frame(spdy_core::frame::Frame::SynStream(syn)) = notes[0].to_wire().unwrap() else {
        panic!()
    };
    assert_eq!(&syn.headers.get("cookie").unwrap()[..], b"a=1\0b=2");
    assert_eq!(&syn.headers.get("x-bin").unwrap()[..], &[0xff, 0x00]);
    let Wire::Frame(spdy_core::frame::Frame::Data(data)) = notes[1].to_wire().unwrap() else {
        panic!()
    };
    assert_eq!(&data.payload[..], &[9, 9, 9, 9]);
    assert_eq!(
        notes[6].to_wire().unwrap(),
        Wire::Raw(vec![0x80, 3, 0, 6].into())
    );
}

#[test]
fn bad_notes_are_refused_clearly() {
    assert!(
        parse_notes("- {type: PING, id: 1, bogus: 2}").is_err(),
        "unknown fields"
    );
    let status = parse_notes("- {type: RST_STREAM, stream_id: 1, status: NOPE}").unwrap();
    let error = status[0].to_wire().unwrap_err().to_string();
    assert!(error.contains("NOPE"), "{error}");
    let two = parse_notes("- {type: DATA, stream_id: 1, data: a, data_hex: '62'}").unwrap();
    assert!(two[0].to_wire().is_err());
    let summarised =
        parse_notes("- {type: DATA, stream_id: 1, data_len: 3, data_sha256: ab}").unwrap();
    assert!(summarised[0].to_wire().is_err());
}
