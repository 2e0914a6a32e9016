//! Property tests: many pseudo-random inputs through the target bodies, so
//! the properties hold beyond the checked-in corpora. Bounded in count.

#![allow(clippy::unwrap_used)]

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn arbitrary_frames_round_trip() {
    let mut rng = SplitMix(1);
    for case in 0..3_000 {
        let len = (rng.next() % 4_096) as usize;
        let input = rng.bytes(len);
        let result = std::panic::catch_unwind(|| spdy_fuzz::frame_roundtrip(&input));
        assert!(result.is_ok(), "case {case} failed; input {input:02x?}");
    }
}

#[test]
fn random_bytes_decode_the_same_in_any_chunking() {
    let mut rng = SplitMix(2);
    for _ in 0..3_000 {
        let len = (rng.next() % 512) as usize;
        let mut input = rng.bytes(len);
        // Make control frames of version 3 likely, so parsing goes deep.
        if input.len() > 2 && rng.next().is_multiple_of(2) {
            input[1] = 0x80;
            input[2] = 0x03;
        }
        spdy_fuzz::frame_decode(&input);
    }
}

#[test]
fn random_bytes_as_header_blocks() {
    let mut rng = SplitMix(3);
    for _ in 0..3_000 {
        let len = (rng.next() % 256) as usize;
        let mut input = rng.bytes(len);
        // A valid zlib header with the SPDY dictionary id reaches inflate.
        if input.len() > 6 && rng.next().is_multiple_of(2) {
            input[..6].copy_from_slice(&[0x78, 0xbb, 0xe3, 0xc6, 0xa7, 0xc2]);
        }
        spdy_fuzz::header_block(&input);
    }
}
