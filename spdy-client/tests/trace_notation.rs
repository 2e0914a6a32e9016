//! spdycat -v prints frames with spdy_client::trace::frame_yaml; what it
//! prints must parse back, through the frame notation, as the note of the
//! same frame: quoting, binary values and long payloads included.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use spdy_core::frame::{
    Data, Frame, GoAway, GoAwayStatus, Headers, Ignored, Ping, Priority, RstStatus, RstStream,
    SettingEntry, SettingFlags, SettingId, Settings, StreamId, SynReply, SynStream, WindowUpdate,
};
use spdy_core::header::HeaderBlock;
use spdy_core::notation::{FrameNote, RenderOptions, parse_notes};

fn block() -> HeaderBlock {
    let mut block = HeaderBlock::new();
    block.push(":method", "GET");
    block.push(":path", "/a \"quoted\" path: yes");
    block.push("set-cookie", "a=1\0b=2");
    block.push("x-bin", Bytes::from_static(&[0xff, 0x00, 0x41]));
    block.push("x-empty", "");
    block
}

#[test]
fn every_frame_reads_back_as_the_same_note() {
    let id = StreamId::new(3);
    let frames = vec![
        Frame::SynStream(SynStream {
            stream_id: id,
            associated_to: StreamId::new(1),
            priority: Priority::new(5),
            slot: 2,
            fin: true,
            unidirectional: true,
            headers: block(),
        }),
        Frame::SynReply(SynReply {
            stream_id: id,
            fin: false,
            headers: block(),
        }),
        Frame::SynReply(SynReply {
            stream_id: id,
            fin: true,
            headers: HeaderBlock::new(),
        }),
        Frame::Headers(Headers {
            stream_id: id,
            fin: true,
            headers: block(),
        }),
        Frame::Data(Data {
            stream_id: id,
            fin: false,
            payload: Bytes::from("text with \"quotes\"\nand a newline: ok"),
        }),
        Frame::Data(Data {
            stream_id: id,
            fin: true,
            payload: Bytes::from_static(&[0, 1, 2, 0xfe]),
        }),
        Frame::Data(Data {
            stream_id: id,
            fin: false,
            payload: Bytes::from(vec![7u8; 5000]),
        }),
        Frame::Data(Data {
            stream_id: id,
            fin: true,
            payload: Bytes::new(),
        }),
        Frame::RstStream(RstStream {
            stream_id: id,
            status: RstStatus::RefusedStream,
        }),
        Frame::RstStream(RstStream {
            stream_id: id,
            status: RstStatus::Unknown(99),
        }),
        Frame::Settings(Settings {
            clear_settings: true,
            entries: vec![
                SettingEntry {
                    id: SettingId::InitialWindowSize,
                    value: 65536,
                    flags: SettingFlags {
                        persist_value: true,
                        persisted: false,
                    },
                },
                SettingEntry {
                    id: SettingId::Unknown(77),
                    value: 1,
                    flags: SettingFlags {
                        persist_value: false,
                        persisted: true,
                    },
                },
            ],
        }),
        Frame::Settings(Settings {
            clear_settings: false,
            entries: vec![],
        }),
        Frame::Ping(Ping { id: 7 }),
        Frame::GoAway(GoAway {
            last_good_stream_id: id,
            status: GoAwayStatus::ProtocolError,
        }),
        Frame::WindowUpdate(WindowUpdate {
            stream_id: StreamId::ZERO,
            delta: 1000,
        }),
        Frame::Ignored(Ignored {
            frame_type: 10,
            flags: 1,
            length: 12,
        }),
    ];
    let options = RenderOptions::default();
    for frame in frames {
        let yaml = spdy_client::trace::frame_yaml(&frame, options.max_inline_data);
        let parsed = parse_notes(&yaml).unwrap_or_else(|e| panic!("{yaml}\n{e}"));
        assert_eq!(
            parsed,
            vec![FrameNote::from_frame(&frame, &options)],
            "{yaml}"
        );
    }
}
