//! libFuzzer entry point; the body is [`spdy_fuzz::header_block`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spdy_fuzz::header_block(data));
