//! The settings a peer sent us, as the session applies them.

use std::collections::{BTreeMap, HashSet};

use crate::frame::{SettingFlags, SettingId, Settings};

/// Every setting the peer has told us, with the ones that change behaviour
/// broken out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerSettings {
    /// The peer's MAX_CONCURRENT_STREAMS: how many streams we may open. `None` until sent.
    pub max_concurrent_streams: Option<u32>,
    /// The peer's INITIAL_WINDOW_SIZE: our send window for each new stream.
    /// `None` until sent (65,536 applies).
    pub initial_window_size: Option<u32>,
    /// Every value received, by raw id, with its flags, the latest winning.
    pub values: BTreeMap<u32, (u32, SettingFlags)>,
    /// Values the peer asked us to persist (PERSIST_VALUE); forgotten on
    /// CLEAR_SETTINGS. Only a server may ask (persistence lives in clients),
    /// so a server session leaves this empty.
    pub persisted: BTreeMap<u32, u32>,
    /// SETTINGS frames received.
    pub frames_received: u64,
}

impl PeerSettings {
    /// Records a SETTINGS frame. Within one frame the first entry for an id
    /// wins (later duplicates are ignored), as spdylay does and as
    /// [`Settings::get`] reads it. PERSIST_VALUE is honoured only when
    /// `may_persist` (we are the client).
    pub(crate) fn record(&mut self, frame: &Settings, may_persist: bool) {
        self.frames_received += 1;
        if frame.clear_settings {
            self.persisted.clear();
        }
        let mut seen = HashSet::with_capacity(frame.entries.len());
        for entry in &frame.entries {
            let code = entry.id.code();
            if !seen.insert(code) {
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

    /// The value of a setting, if the peer sent it.
    pub fn get(&self, id: SettingId) -> Option<u32> {
        self.values.get(&id.code()).map(|(value, _)| *value)
    }
}
