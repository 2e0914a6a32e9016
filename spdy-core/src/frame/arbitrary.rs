//! `arbitrary::Arbitrary` for frames, for property tests and fuzzing.
//!
//! Generated frames are valid: they survive an encode/decode round trip
//! unchanged (header names lowercase and unique, statuses non-zero, deltas in
//! range, lengths within the default decoder limits).

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::Bytes;

use super::{
    Data, Frame, GoAway, GoAwayStatus, HeaderBlock, Headers, Ignored, MAX_WINDOW_DELTA, Ping,
    Priority, RstStatus, RstStream, SettingEntry, SettingFlags, SettingId, Settings, StreamId,
    SynReply, SynStream, WindowUpdate,
};

fn stream_id(u: &mut Unstructured<'_>) -> Result<StreamId> {
    Ok(StreamId::new(u.int_in_range(1..=StreamId::MAX.get())?))
}

fn small_bytes(u: &mut Unstructured<'_>, max: usize) -> Result<Bytes> {
    let len = u.int_in_range(0..=max)?;
    Ok(Bytes::copy_from_slice(u.bytes(len.min(u.len()))?))
}

/// A valid header block of up to 8 pairs.
pub(crate) fn header_block(u: &mut Unstructured<'_>) -> Result<HeaderBlock> {
    const NAME_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_:";
    let mut block = HeaderBlock::new();
    let pairs = u.int_in_range(0..=8)?;
    for i in 0..pairs {
        let len = u.int_in_range(1..=12)?;
        let mut name = Vec::with_capacity(len + 2);
        for _ in 0..len {
            name.push(*u.choose(NAME_CHARS)?);
        }
        // A unique suffix keeps names distinct.
        name.extend_from_slice(format!("{i}").as_bytes());
        let parts = u.int_in_range(1..=3)?;
        let mut value = Vec::new();
        for part in 0..parts {
            if part > 0 {
                value.push(0);
            }
            let len = u.int_in_range(if parts > 1 { 1 } else { 0 }..=16)?;
            for _ in 0..len {
                value.push(u.int_in_range(1..=255)?);
            }
        }
        block.push(name, value);
    }
    Ok(block)
}

impl<'a> Arbitrary<'a> for Frame {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(match u.int_in_range(0..=9)? {
            0 => Frame::Data(Data {
                stream_id: stream_id(u)?,
                fin: u.arbitrary()?,
                payload: small_bytes(u, 4096)?,
            }),
            1 => Frame::SynStream(SynStream {
                stream_id: stream_id(u)?,
                associated_to: StreamId::new(u.arbitrary()?),
                priority: Priority::new(u.int_in_range(0..=7)?),
                slot: u.arbitrary()?,
                fin: u.arbitrary()?,
                unidirectional: u.arbitrary()?,
                headers: header_block(u)?,
            }),
            2 => Frame::SynReply(SynReply {
                stream_id: stream_id(u)?,
                fin: u.arbitrary()?,
                headers: header_block(u)?,
            }),
            3 => Frame::RstStream(RstStream {
                stream_id: stream_id(u)?,
                status: RstStatus::from_code(u.int_in_range(1..=u32::MAX)?),
            }),
            4 => {
                let count = u.int_in_range(0..=16)?;
                let mut entries = Vec::with_capacity(count);
                for _ in 0..count {
                    entries.push(SettingEntry {
                        id: SettingId::from_code(u.int_in_range(0..=0x00ff_ffff)?),
                        value: u.arbitrary()?,
                        flags: SettingFlags::from_bits(u.arbitrary()?),
                    });
                }
                Frame::Settings(Settings {
                    clear_settings: u.arbitrary()?,
                    entries,
                })
            }
            5 => Frame::Ping(Ping { id: u.arbitrary()? }),
            6 => Frame::GoAway(GoAway {
                last_good_stream_id: StreamId::new(u.arbitrary()?),
                status: GoAwayStatus::from_code(u.arbitrary()?),
            }),
            7 => Frame::Headers(Headers {
                stream_id: stream_id(u)?,
                fin: u.arbitrary()?,
                headers: header_block(u)?,
            }),
            8 => Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::new(u.arbitrary()?),
                delta: u.int_in_range(1..=MAX_WINDOW_DELTA)?,
            }),
            _ => {
                // CREDENTIAL, NOOP or a type SPDY/3.1 does not define.
                let frame_type = match u.int_in_range(0..=2)? {
                    0 => 10,
                    1 => 5,
                    _ => u.int_in_range(11..=u16::MAX)?,
                };
                Frame::Ignored(Ignored {
                    frame_type,
                    flags: u.arbitrary()?,
                    length: u.int_in_range(0..=64)?,
                })
            }
        })
    }
}

impl<'a> Arbitrary<'a> for HeaderBlock {
    /// A valid block of up to 8 pairs (lowercase, unique, non-empty names).
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        header_block(u)
    }
}
