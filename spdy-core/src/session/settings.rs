//! The settings a peer sent us, as the session applies them.

use std::collections::BTreeMap;

use crate::frame::{SettingFlags, SettingId, Settings};

/// The ids SPDY/3.1 defines, 1 to 8: the only ones stored.
const DEFINED_IDS: usize = 8;

/// The settings the peer has told us, with the ones that change behaviour
/// broken out. Only the ids SPDY/3.1 defines (1 to 8) are kept: entries
/// with any other id are ignored, as the draft asks, so a peer cannot grow
/// this beyond eight values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerSettings {
    /// The peer's MAX_CONCURRENT_STREAMS: how many streams we may open. `None` until sent.
    pub max_concurrent_streams: Option<u32>,
    /// The peer's INITIAL_WINDOW_SIZE: our send window for each new stream.
    /// `None` until sent (65,536 applies).
    pub initial_window_size: Option<u32>,
    /// Every value received for a defined id (1 to 8), by raw id, with its
    /// flags, the latest winning. Unknown ids are ignored, never stored.
    pub values: BTreeMap<u32, (u32, SettingFlags)>,
    /// Values the peer asked us to persist (PERSIST_VALUE), for defined ids
    /// only; forgotten on CLEAR_SETTINGS. Only a server may ask (persistence
    /// lives in clients), so a server session leaves this empty.
    pub persisted: BTreeMap<u32, u32>,
    /// SETTINGS frames received.
    pub frames_received: u64,
}

impl PeerSettings {
    /// Records a SETTINGS frame. Entries with an id SPDY/3.1 does not define
    /// are skipped. Within one frame the first entry for an id wins (later
    /// duplicates are ignored), as spdylay does and as [`Settings::get`]
    /// reads it. PERSIST_VALUE is honoured only when `may_persist` (we are
    /// the client).
    pub(crate) fn record(&mut self, frame: &Settings, may_persist: bool) {
        self.frames_received += 1;
        if frame.clear_settings {
            self.persisted.clear();
        }
        let mut seen = [false; DEFINED_IDS];
        for entry in &frame.entries {
            if let SettingId::Unknown(_) = entry.id {
                continue;
            }
            let code = entry.id.code();
            // Defined ids are 1..=8, so this always finds a slot.
            let Some(seen) = (code as usize)
                .checked_sub(1)
                .and_then(|index| seen.get_mut(index))
            else {
                continue;
            };
            if std::mem::replace(seen, true) {
                continue;
            }
            self.values.insert(code, (entry.value, entry.flags));
            if entry.flags.persist_value && may_persist {
                self.persisted.insert(code, entry.value);
            }
            match entry.id {
                SettingId::MaxConcurrentStreams => self.max_concurrent_streams = Some(entry.value),
                SettingId::InitialWindowSize => self.initial_window_size = Some(entry.value),
                _ => {}
            }
        }
    }

    /// The value of a setting, if the peer sent it; always `None` for an
    /// unknown id, which is never stored.
    pub fn get(&self, id: SettingId) -> Option<u32> {
        self.values.get(&id.code()).map(|(value, _)| *value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::SettingEntry;

    fn entry(code: u32, value: u32, persist_value: bool) -> SettingEntry {
        SettingEntry {
            id: SettingId::from_code(code),
            value,
            flags: SettingFlags {
                persist_value,
                persisted: false,
            },
        }
    }

    #[test]
    fn unknown_ids_are_not_stored_however_many_the_peer_sends() {
        let mut peer = PeerSettings::default();
        // A full frame's worth of distinct unknown ids (9,216), many frames
        // over, every one asking to be persisted; id 0 and the largest
        // 24-bit id are unknown too.
        for frame in 0..20u32 {
            let mut entries: Vec<SettingEntry> = (0..9_216u32)
                .map(|i| entry(9 + frame * 9_216 + i, i, true))
                .collect();
            entries.push(entry(0, 1, true));
            entries.push(entry(0x00ff_ffff, 2, true));
            entries.push(entry(SettingId::RoundTripTime.code(), frame, true));
            let frame = Settings {
                clear_settings: false,
                entries,
            };
            peer.record(&frame, true);
        }
        assert_eq!(peer.frames_received, 20);
        let first: Vec<&u32> = peer.values.keys().take(5).collect();
        assert_eq!(peer.values.len(), 1, "ids stored: {first:?}...");
        assert_eq!(peer.persisted.len(), 1);
        assert_eq!(peer.get(SettingId::RoundTripTime), Some(19));
        assert_eq!(peer.persisted.get(&3), Some(&19));
        assert_eq!(peer.get(SettingId::Unknown(9)), None);
        assert_eq!(peer.get(SettingId::Unknown(0)), None);
    }

    #[test]
    fn every_defined_id_is_stored_first_in_a_frame_latest_across_frames() {
        let mut peer = PeerSettings::default();
        let mut entries: Vec<SettingEntry> = (1..=8).map(|code| entry(code, code, false)).collect();
        entries.extend((1..=8).map(|code| entry(code, 100 + code, false)));
        peer.record(
            &Settings {
                clear_settings: false,
                entries,
            },
            false,
        );
        let expected: BTreeMap<u32, (u32, SettingFlags)> = (1..=8)
            .map(|code| (code, (code, SettingFlags::default())))
            .collect();
        assert_eq!(peer.values, expected, "the first entry of an id wins");
        assert_eq!(peer.max_concurrent_streams, Some(4));
        assert_eq!(peer.initial_window_size, Some(7));

        peer.record(&Settings::new([(SettingId::InitialWindowSize, 70)]), false);
        assert_eq!(peer.get(SettingId::InitialWindowSize), Some(70));
        assert_eq!(peer.initial_window_size, Some(70));
        assert_eq!(peer.values.len(), 8);
        assert!(peer.persisted.is_empty(), "servers persist nothing");
    }
}
