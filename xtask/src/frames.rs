//! `cargo xtask frames`: print captured frames as YAML, and the reverse.

use std::io::Write;

use bytes::BytesMut;
use spdy_core::frame::{DecoderConfig, Frame, FrameDecoder, FrameEncoder, HEAD_LEN};
use spdy_core::notation::{FrameNote, RenderOptions, parse_notes, print_notes};

pub(crate) fn decode(args: &[&str]) -> Result<(), String> {
    let mut path = None;
    let mut options = RenderOptions::default();
    let mut config = DecoderConfig {
        validate_headers: false,
        // A capture may hold anything the protocol allows.
        max_control_frame_len: spdy_core::frame::MAX_FRAME_LEN,
        max_data_frame_len: spdy_core::frame::MAX_FRAME_LEN,
        ..DecoderConfig::default()
    };
    for arg in args {
        match *arg {
            "--full" => options.max_inline_data = usize::MAX,
            "--strict" => config.validate_headers = true,
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            file => path = Some(file),
        }
    }
    let path = path.ok_or("usage: cargo xtask frames decode FILE [--full] [--strict]")?;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let total = bytes.len();
    let mut input = BytesMut::from(&bytes[..]);
    let mut decoder = FrameDecoder::with_config(config);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // Where the next frame starts; skipped payloads are consumed lazily, so
    // the decoder's own count lags behind after a SKIPPED frame.
    let mut frame_start: u64 = 0;
    let mut count = 0usize;
    loop {
        match decoder.decode(&mut input) {
            Ok(Some(frame)) => {
                let note = FrameNote::from_frame(&frame, &options);
                let text = print_notes(std::slice::from_ref(&note));
                writeln!(out, "# frame {count} at offset {frame_start}")
                    .and_then(|()| out.write_all(text.as_bytes()))
                    .map_err(|e| format!("cannot write: {e}"))?;
                count += 1;
                frame_start = match frame {
                    Frame::Ignored(skipped) => {
                        frame_start + HEAD_LEN as u64 + u64::from(skipped.length)
                    }
                    _ => decoder.bytes_consumed(),
                };
            }
            Ok(None) => {
                if frame_start as usize == total {
                    return Ok(());
                }
                return Err(format!(
                    "{path}: truncated frame at byte offset {frame_start}: the file ends after {} \
                     of its bytes ({count} frames decoded)",
                    total as u64 - frame_start
                ));
            }
            Err(error) => {
                return Err(format!(
                    "{path}: bad frame at byte offset {frame_start}: {error} ({count} frames decoded)"
                ));
            }
        }
    }
}

pub(crate) fn encode(args: &[&str]) -> Result<(), String> {
    let (path, output) = match args {
        [path] => (*path, None),
        [path, "-o", out] | ["-o", out, path] => (*path, Some(*out)),
        _ => return Err("usage: cargo xtask frames encode FILE.yaml [-o OUT]".into()),
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let notes = parse_notes(&text).map_err(|e| format!("{path}: {e}"))?;
    let mut encoder = FrameEncoder::new();
    let mut wire = BytesMut::new();
    for (i, note) in notes.iter().enumerate() {
        note.encode(&mut encoder, &mut wire)
            .map_err(|e| format!("{path}: frame {i}: {e}"))?;
    }
    match output {
        Some(out) => std::fs::write(out, &wire).map_err(|e| format!("cannot write {out}: {e}")),
        None => std::io::stdout()
            .lock()
            .write_all(&wire)
            .map_err(|e| format!("cannot write: {e}")),
    }
}
