//! Frame codec tests through the public API: round trips of every frame and
//! field, every decoding error with its scope, and byte-by-byte feeding.

#![allow(clippy::unwrap_used)]

use bytes::{BufMut, Bytes, BytesMut};
use spdy_core::frame::*;
use spdy_core::header::HeaderError;

fn encode(frames: &[Frame]) -> BytesMut {
    let mut encoder = FrameEncoder::new();
    let mut wire = BytesMut::new();
    for frame in frames {
        encoder.encode(frame, &mut wire).unwrap();
    }
    wire
}

fn decode_all(mut wire: BytesMut) -> Vec<Frame> {
    let mut decoder = FrameDecoder::new();
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode(&mut wire).unwrap() {
        frames.push(frame);
    }
    assert!(wire.is_empty(), "{} bytes left over", wire.len());
    assert!(decoder.is_at_frame_boundary());
    frames
}

fn request_headers() -> HeaderBlock {
    let mut block = HeaderBlock::new();
    for (name, value) in [
        (":method", "GET"),
        (":path", "/index.html?q=1"),
        (":version", "HTTP/1.1"),
        (":host", "example.org"),
        (":scheme", "https"),
        ("accept", "text/html"),
        ("cookie", "a=1\0b=2"),
        ("x-empty", ""),
    ] {
        block.push(name, value);
    }
    block
}

/// Every frame type with minimum, typical and maximum field values.
fn sample_frames() -> Vec<Frame> {
    vec![
        Frame::Settings(Settings {
            clear_settings: true,
            entries: vec![
                SettingEntry {
                    id: SettingId::MaxConcurrentStreams,
                    value: 100,
                    flags: SettingFlags {
                        persist_value: true,
                        persisted: false,
                    },
                },
                SettingEntry {
                    id: SettingId::InitialWindowSize,
                    value: u32::MAX,
                    flags: SettingFlags {
                        persist_value: false,
                        persisted: true,
                    },
                },
                SettingEntry {
                    id: SettingId::Unknown(0x00ff_ffff),
                    value: 0,
                    flags: SettingFlags::default(),
                },
            ],
        }),
        Frame::Settings(Settings::default()),
        Frame::SynStream(SynStream {
            stream_id: StreamId::new(1),
            associated_to: StreamId::ZERO,
            priority: Priority::HIGHEST,
            slot: 0,
            fin: true,
            unidirectional: false,
            headers: request_headers(),
        }),
        Frame::SynStream(SynStream {
            stream_id: StreamId::MAX,
            associated_to: StreamId::new(0x7fff_fffd),
            priority: Priority::LOWEST,
            slot: 255,
            fin: false,
            unidirectional: true,
            headers: HeaderBlock::new(),
        }),
        Frame::SynReply(SynReply {
            stream_id: StreamId::new(1),
            fin: false,
            headers: {
                let mut b = HeaderBlock::new();
                b.push(":status", "200 OK");
                b.push(":version", "HTTP/1.1");
                b
            },
        }),
        Frame::SynReply(SynReply::new(StreamId::new(3), HeaderBlock::new())),
        Frame::Data(Data::new(StreamId::new(1), &b"hello"[..])),
        Frame::Data(Data::new(StreamId::new(1), Bytes::new()).with_fin(true)),
        Frame::Data(Data::new(StreamId::MAX, vec![0xa5; 70_000])),
        Frame::Headers(Headers {
            stream_id: StreamId::new(1),
            fin: true,
            headers: {
                let mut b = HeaderBlock::new();
                b.push("grpc-status", "0");
                b
            },
        }),
        Frame::RstStream(RstStream::new(StreamId::new(5), RstStatus::Cancel)),
        Frame::RstStream(RstStream::new(StreamId::MAX, RstStatus::Unknown(u32::MAX))),
        Frame::Ping(Ping { id: 0 }),
        Frame::Ping(Ping { id: u32::MAX }),
        Frame::GoAway(GoAway {
            last_good_stream_id: StreamId::ZERO,
            status: GoAwayStatus::Ok,
        }),
        Frame::GoAway(GoAway {
            last_good_stream_id: StreamId::MAX,
            status: GoAwayStatus::Unknown(99),
        }),
        Frame::WindowUpdate(WindowUpdate {
            stream_id: StreamId::ZERO,
            delta: 1,
        }),
        Frame::WindowUpdate(WindowUpdate {
            stream_id: StreamId::new(7),
            delta: MAX_WINDOW_DELTA,
        }),
        Frame::Ignored(Ignored {
            frame_type: 10,
            flags: 0,
            length: 12,
        }),
        Frame::Ignored(Ignored {
            frame_type: 0xff,
            flags: 0x80,
            length: 0,
        }),
    ]
}

#[test]
fn every_frame_round_trips() {
    let frames = sample_frames();
    assert_eq!(decode_all(encode(&frames)), frames);
}

#[test]
fn fixed_layouts_are_byte_exact() {
    let wire = encode(&[
        Frame::RstStream(RstStream::new(StreamId::new(3), RstStatus::RefusedStream)),
        Frame::Ping(Ping { id: 0x0102_0304 }),
        Frame::GoAway(GoAway {
            last_good_stream_id: StreamId::new(9),
            status: GoAwayStatus::InternalError,
        }),
        Frame::WindowUpdate(WindowUpdate {
            stream_id: StreamId::new(1),
            delta: 0x1000,
        }),
        Frame::Settings(Settings::new([(SettingId::InitialWindowSize, 0x10000)])),
        Frame::Data(Data::new(StreamId::new(1), &b"ab"[..]).with_fin(true)),
    ]);
    let expected: &[u8] = &[
        0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, 3, // RST_STREAM
        0x80, 3, 0, 6, 0, 0, 0, 4, 1, 2, 3, 4, // PING
        0x80, 3, 0, 7, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0, 2, // GOAWAY
        0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0x10, 0, // WINDOW_UPDATE
        0x80, 3, 0, 4, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 7, 0, 1, 0, 0, // SETTINGS
        0, 0, 0, 1, 1, 0, 0, 2, b'a', b'b', // DATA
    ];
    assert_eq!(&wire[..], expected);
}

#[test]
fn syn_stream_fixed_fields_on_the_wire() {
    let frame = Frame::SynStream(SynStream {
        stream_id: StreamId::new(0x0102_0304),
        associated_to: StreamId::new(0x0506_0708),
        priority: Priority::new(5),
        slot: 9,
        fin: true,
        unidirectional: true,
        headers: HeaderBlock::new(),
    });
    let wire = encode(&[frame]);
    assert_eq!(&wire[..4], &[0x80, 3, 0, 1]);
    assert_eq!(wire[4], 0x03, "FIN | UNIDIRECTIONAL");
    assert_eq!(&wire[8..18], &[1, 2, 3, 4, 5, 6, 7, 8, 5 << 5, 9]);
}

#[test]
fn split_at_every_byte_decodes_the_same() {
    let frames = sample_frames();
    let wire = encode(&frames).freeze();
    for split in 0..=wire.len() {
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for part in [&wire[..split], &wire[split..]] {
            buf.extend_from_slice(part);
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                out.push(frame);
            }
        }
        assert_eq!(out, frames, "split at {split}");
    }
}

#[test]
fn one_byte_at_a_time_decodes_the_same() {
    let frames = sample_frames();
    let wire = encode(&frames).freeze();
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for byte in wire.iter() {
        buf.put_u8(*byte);
        while let Some(frame) = decoder.decode(&mut buf).unwrap() {
            out.push(frame);
        }
    }
    assert_eq!(out, frames);
    assert_eq!(decoder.bytes_consumed(), wire.len() as u64);
}

#[test]
fn data_payload_is_a_slice_of_the_read_buffer() {
    let mut wire = encode(&[Frame::Data(Data::new(StreamId::new(1), vec![1u8; 4096]))]);
    let start = wire.as_ptr() as usize;
    let Some(Frame::Data(data)) = FrameDecoder::new().decode(&mut wire).unwrap() else {
        panic!("expected DATA");
    };
    assert_eq!(
        data.payload.as_ptr() as usize,
        start + HEAD_LEN,
        "payload was copied"
    );
}

#[test]
fn data_head_for_vectored_writes() {
    let head = Data::head(StreamId::new(5), true, 3);
    let mut wire = BytesMut::from(&head[..]);
    wire.extend_from_slice(b"xyz");
    let frames = decode_all(wire);
    assert_eq!(
        frames,
        vec![Frame::Data(
            Data::new(StreamId::new(5), &b"xyz"[..]).with_fin(true)
        )]
    );
}

fn control(frame_type: u16, flags: u8, payload: &[u8]) -> BytesMut {
    control_v(3, frame_type, flags, payload)
}

fn control_v(version: u16, frame_type: u16, flags: u8, payload: &[u8]) -> BytesMut {
    let mut wire = BytesMut::new();
    wire.put_slice(
        &FrameHead::Control {
            version,
            frame_type,
            flags,
            length: payload.len() as u32,
        }
        .to_bytes(),
    );
    wire.put_slice(payload);
    wire
}

fn first_error(mut wire: BytesMut) -> FrameError {
    let mut decoder = FrameDecoder::new();
    loop {
        match decoder.decode(&mut wire) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("no error; {} bytes pending", wire.len()),
            Err(error) => return error,
        }
    }
}

fn session_error(status: GoAwayStatus) -> ErrorScope {
    ErrorScope::Session {
        status,
        reset_first: None,
    }
}

#[test]
fn wrong_lengths_are_session_errors() {
    for (frame_type, len) in [
        (3u16, 7usize),
        (3, 9),
        (6, 3),
        (6, 8),
        (7, 4),
        (9, 12),
        (1, 9),
        (2, 3),
        (8, 0),
        (4, 3),
        (4, 5),
    ] {
        let error = first_error(control(frame_type, 0, &vec![0; len]));
        assert!(
            matches!(error, FrameError::InvalidLength { .. }),
            "type {frame_type} length {len}: {error}"
        );
        assert_eq!(error.scope(), session_error(GoAwayStatus::ProtocolError));
    }
}

#[test]
fn settings_count_disagreeing_with_length() {
    let error = first_error(control(4, 0, &[0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 1]));
    assert!(matches!(
        error,
        FrameError::InvalidLength {
            expected: LengthRule::SettingsEntries { count: 3 },
            ..
        }
    ));
    assert!(error.scope().is_session_error());
}

#[test]
fn stream_id_zero_where_forbidden() {
    let data = BytesMut::from(&Data::head(StreamId::ZERO, false, 0)[..]);
    let cases = [
        data,
        control(3, 0, &[0, 0, 0, 0, 0, 0, 0, 1]),
        control(1, 0, &[0; 10]),
        control(2, 0, &[0; 4]),
        control(8, 0, &[0; 4]),
    ];
    for wire in cases {
        let error = first_error(wire);
        assert!(matches!(error, FrameError::StreamIdZero { .. }), "{error}");
        assert_eq!(error.scope(), session_error(GoAwayStatus::ProtocolError));
    }
}

#[test]
fn window_update_delta_out_of_range() {
    for delta in [0u32, 0x8000_0000, u32::MAX] {
        let mut payload = vec![0, 0, 0, 1];
        payload.extend_from_slice(&delta.to_be_bytes());
        let error = first_error(control(9, 0, &payload));
        assert!(matches!(error, FrameError::InvalidWindowDelta { .. }));
        assert_eq!(
            error.scope(),
            ErrorScope::Stream {
                stream_id: StreamId::new(1),
                status: RstStatus::ProtocolError
            }
        );
    }
    let error = first_error(control(9, 0, &[0, 0, 0, 0, 0, 0, 0, 0]));
    assert!(error.scope().is_session_error(), "delta 0 for the session");
}

#[test]
fn rst_stream_status_zero() {
    let error = first_error(control(3, 0, &[0, 0, 0, 1, 0, 0, 0, 0]));
    assert!(matches!(error, FrameError::RstStatusZero { .. }));
    assert!(error.scope().is_session_error());
}

#[test]
fn unknown_control_types_are_skipped_by_length() {
    let mut wire = control(0xff, 0x01, &[0xde; 300]);
    wire.extend_from_slice(&control(10, 0, &[1; 20]));
    wire.extend_from_slice(&encode(&[Frame::Ping(Ping { id: 7 })]));
    assert_eq!(
        decode_all(wire),
        vec![
            Frame::Ignored(Ignored {
                frame_type: 0xff,
                flags: 1,
                length: 300
            }),
            Frame::Ignored(Ignored {
                frame_type: 10,
                flags: 0,
                length: 20
            }),
            Frame::Ping(Ping { id: 7 }),
        ]
    );
}

#[test]
fn unknown_control_type_longer_than_the_control_limit_is_skipped_unbuffered() {
    let mut decoder = FrameDecoder::new();
    let mut wire = BytesMut::from(
        &FrameHead::Control {
            version: 3,
            frame_type: 0x4242,
            flags: 0,
            length: 10_000_000,
        }
        .to_bytes()[..],
    );
    assert!(matches!(
        decoder.decode(&mut wire).unwrap(),
        Some(Frame::Ignored(Ignored {
            length: 10_000_000,
            ..
        }))
    ));
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..9 {
        wire.extend_from_slice(&chunk);
        assert_eq!(decoder.decode(&mut wire).unwrap(), None);
        assert!(wire.is_empty(), "skipped bytes are not kept");
    }
    wire.extend_from_slice(&vec![0u8; 10_000_000 - 9 * (1 << 20)]);
    wire.extend_from_slice(&encode(&[Frame::Ping(Ping { id: 1 })]));
    assert_eq!(
        decoder.decode(&mut wire).unwrap(),
        Some(Frame::Ping(Ping { id: 1 }))
    );
}

#[test]
fn wrong_version_naming_a_stream_is_a_stream_error_and_decoding_goes_on() {
    let mut wire = control_v(2, 1, 0, &[0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
    wire.extend_from_slice(&encode(&[Frame::Ping(Ping { id: 2 })]));
    let mut decoder = FrameDecoder::new();
    let error = decoder.decode(&mut wire).unwrap_err();
    assert!(matches!(
        error,
        FrameError::UnsupportedVersion { version: 2, .. }
    ));
    assert_eq!(
        error.scope(),
        ErrorScope::Stream {
            stream_id: StreamId::new(5),
            status: RstStatus::UnsupportedVersion
        }
    );
    assert_eq!(
        decoder.decode(&mut wire).unwrap(),
        Some(Frame::Ping(Ping { id: 2 }))
    );
}

#[test]
fn wrong_version_without_a_stream_is_a_session_error() {
    let error = first_error(control_v(4, 6, 0, &[0, 0, 0, 1]));
    assert!(matches!(
        error,
        FrameError::UnsupportedVersion {
            stream_id: None,
            ..
        }
    ));
    assert!(error.scope().is_session_error());
}

#[test]
fn oversized_control_frame_fails_from_its_head() {
    let mut decoder = FrameDecoder::with_config(DecoderConfig {
        max_control_frame_len: 100,
        ..DecoderConfig::default()
    });
    let mut wire = BytesMut::from(
        &FrameHead::Control {
            version: 3,
            frame_type: 1,
            flags: 0,
            length: 5_000_000,
        }
        .to_bytes()[..],
    );
    wire.extend_from_slice(&[0, 0, 0, 9]);
    let error = decoder.decode(&mut wire).unwrap_err();
    assert!(matches!(
        error,
        FrameError::ControlFrameTooLarge { limit: 100, .. }
    ));
    assert_eq!(
        error.scope(),
        ErrorScope::Session {
            status: GoAwayStatus::ProtocolError,
            reset_first: Some((StreamId::new(9), RstStatus::FrameTooLarge))
        }
    );
    assert!(matches!(
        decoder.decode(&mut wire),
        Err(FrameError::Stopped)
    ));
}

#[test]
fn oversized_data_frame_is_a_stream_error_and_is_skipped() {
    let mut decoder = FrameDecoder::with_config(DecoderConfig {
        max_data_frame_len: 16,
        ..DecoderConfig::default()
    });
    let mut wire = encode(&[
        Frame::Data(Data::new(StreamId::new(3), vec![1u8; 17])),
        Frame::Data(Data::new(StreamId::new(3), vec![2u8; 16])),
    ]);
    let error = decoder.decode(&mut wire).unwrap_err();
    assert!(matches!(
        error,
        FrameError::DataFrameTooLarge {
            length: 17,
            limit: 16,
            ..
        }
    ));
    assert_eq!(
        error.scope(),
        ErrorScope::Stream {
            stream_id: StreamId::new(3),
            status: RstStatus::FrameTooLarge
        }
    );
    assert_eq!(
        decoder.decode(&mut wire).unwrap(),
        Some(Frame::Data(Data::new(StreamId::new(3), vec![2u8; 16])))
    );
}

#[test]
fn malformed_header_block_is_a_stream_error_and_the_context_stays_in_sync() {
    let mut bad = HeaderBlock::new();
    bad.push("Content-Type", "text/plain");
    let wire = encode(&[
        Frame::SynStream(SynStream::new(StreamId::new(1), request_headers())),
        Frame::SynStream(SynStream::new(StreamId::new(3), bad)),
        Frame::SynStream(SynStream::new(StreamId::new(5), request_headers())),
    ]);
    let mut wire = wire;
    let mut decoder = FrameDecoder::new();
    assert!(matches!(
        decoder.decode(&mut wire),
        Ok(Some(Frame::SynStream(_)))
    ));
    let error = decoder.decode(&mut wire).unwrap_err();
    assert!(matches!(
        error,
        FrameError::HeaderBlock {
            source: HeaderError::Malformed(_),
            ..
        }
    ));
    assert_eq!(
        error.scope(),
        ErrorScope::Stream {
            stream_id: StreamId::new(3),
            status: RstStatus::ProtocolError
        }
    );
    let Ok(Some(Frame::SynStream(third))) = decoder.decode(&mut wire) else {
        panic!("the third frame must decode");
    };
    assert_eq!(third.headers, request_headers());
}

#[test]
fn corrupt_header_block_is_a_session_error() {
    let error = first_error(control(2, 0, &[0, 0, 0, 1, 0x12, 0x34, 0x56, 0x78, 0x9a]));
    assert!(matches!(
        error,
        FrameError::HeaderBlock {
            source: HeaderError::Decompress(_),
            ..
        }
    ));
    assert!(error.scope().is_session_error());
}

#[test]
fn many_frames_in_one_buffer_decode_in_order() {
    let frames: Vec<Frame> = (0..200)
        .map(|i| {
            if i % 2 == 0 {
                Frame::SynStream(SynStream::new(StreamId::new(2 * i + 1), request_headers()))
            } else {
                Frame::Ping(Ping { id: i })
            }
        })
        .collect();
    assert_eq!(decode_all(encode(&frames)), frames);
}

#[test]
fn encoder_refuses_a_data_frame_over_the_24_bit_limit() {
    let frame = Frame::Data(Data::new(
        StreamId::new(1),
        vec![0u8; MAX_FRAME_LEN as usize + 1],
    ));
    let mut out = BytesMut::new();
    let error = FrameEncoder::new().encode(&frame, &mut out).unwrap_err();
    assert!(matches!(error, EncodeError::TooLong { .. }));
    assert!(out.is_empty());
}
