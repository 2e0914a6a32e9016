//! libFuzzer entry point; the body is [`spdy_fuzz::frame_decode`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spdy_fuzz::frame_decode(data));
