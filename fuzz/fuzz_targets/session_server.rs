//! libFuzzer entry point; the body is [`spdy_fuzz::session_server`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spdy_fuzz::session_server(data));
