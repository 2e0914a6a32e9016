//! Terminal resize messages: the client writes one JSON object per change,
//! `{"Width":80,"Height":24}`, on the resize stream.

use bytes::BytesMut;
use serde::{Deserialize, Serialize};
use spdy_core::driver::RecvStream;

/// The size of a terminal, in character cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSize {
    /// Columns.
    #[serde(rename = "Width")]
    pub width: u16,
    /// Rows.
    #[serde(rename = "Height")]
    pub height: u16,
}

/// A resize message may not grow past this many bytes; a peer that sends
/// more without completing one ends the resize stream.
const MAX_PENDING: usize = 4096;

/// The terminal sizes arriving on a resize stream.
#[derive(Debug)]
pub struct ResizeEvents {
    recv: RecvStream,
    pending: BytesMut,
    ended: bool,
}

/// One step of parsing the pending bytes.
enum Parsed {
    Size(TerminalSize, usize),
    NeedMore,
    Invalid,
}

fn parse(pending: &[u8]) -> Parsed {
    let mut values = serde_json::Deserializer::from_slice(pending).into_iter::<TerminalSize>();
    match values.next() {
        Some(Ok(size)) => Parsed::Size(size, values.byte_offset()),
        Some(Err(error)) if error.is_eof() => Parsed::NeedMore,
        Some(Err(_)) => Parsed::Invalid,
        None => Parsed::NeedMore,
    }
}

impl ResizeEvents {
    /// Reads sizes from the receiving half of a resize stream.
    pub fn new(recv: RecvStream) -> Self {
        ResizeEvents {
            recv,
            pending: BytesMut::new(),
            ended: false,
        }
    }

    /// The next size; `None` when the stream ends, fails or carries
    /// something that is not a size message.
    pub async fn next(&mut self) -> Option<TerminalSize> {
        loop {
            if self.ended {
                return None;
            }
            match parse(&self.pending) {
                Parsed::Size(size, used) => {
                    let _ = self.pending.split_to(used);
                    return Some(size);
                }
                Parsed::Invalid => {
                    tracing::debug!("resize stream carries an invalid message; ignoring the rest");
                    self.ended = true;
                    return None;
                }
                Parsed::NeedMore => {}
            }
            if self.pending.len() > MAX_PENDING {
                tracing::debug!("resize message longer than {MAX_PENDING} bytes");
                self.ended = true;
                return None;
            }
            match self.recv.data().await {
                Some(Ok(chunk)) => self.pending.extend_from_slice(&chunk),
                _ => self.ended = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_read_one_by_one_across_chunks() {
        let bytes = b"{\"Width\":80,\"Height\":24}\n{\"Width\":1";
        match parse(bytes) {
            Parsed::Size(size, used) => {
                assert_eq!(
                    size,
                    TerminalSize {
                        width: 80,
                        height: 24
                    }
                );
                assert!(matches!(parse(&bytes[used..]), Parsed::NeedMore));
            }
            _ => panic!("a size"),
        }
        assert!(matches!(parse(b"  \n"), Parsed::NeedMore));
        assert!(matches!(parse(b"\"wide\""), Parsed::Invalid));
        assert!(matches!(
            parse(b"{\"Width\":70000,\"Height\":1}"),
            Parsed::Invalid
        ));
    }
}
