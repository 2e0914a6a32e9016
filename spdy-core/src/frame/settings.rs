//! SETTINGS (type 4): parameters the sender asks the receiver to use.

use bytes::{BufMut, BytesMut};

use super::{FrameError, FrameType, LengthRule};

/// SETTINGS: a list of id/value entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// CLEAR_SETTINGS: forget every persisted setting before applying these.
    pub clear_settings: bool,
    /// The entries, in wire order.
    pub entries: Vec<SettingEntry>,
}

impl Settings {
    /// Settings holding `entries` with no flags set.
    pub fn new(entries: impl IntoIterator<Item = (SettingId, u32)>) -> Self {
        Settings {
            clear_settings: false,
            entries: entries
                .into_iter()
                .map(|(id, value)| SettingEntry {
                    id,
                    value,
                    flags: SettingFlags::default(),
                })
                .collect(),
        }
    }

    /// The value of the first entry with `id`.
    pub fn get(&self, id: SettingId) -> Option<u32> {
        self.entries.iter().find(|e| e.id == id).map(|e| e.value)
    }

    /// Parses a payload whose length the caller has checked against the
    /// control frame limit.
    pub(crate) fn decode(flags: u8, payload: &[u8]) -> Result<Settings, FrameError> {
        let length = payload.len() as u32;
        let count_bytes: [u8; 4] =
            payload
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(FrameError::InvalidLength {
                    frame_type: FrameType::Settings,
                    length,
                    expected: LengthRule::AtLeast(4),
                })?;
        let count = u32::from_be_bytes(count_bytes);
        let body = &payload[4..];
        if !body.len().is_multiple_of(8) || u64::from(count) * 8 != body.len() as u64 {
            return Err(FrameError::InvalidLength {
                frame_type: FrameType::Settings,
                length,
                expected: LengthRule::SettingsEntries { count },
            });
        }
        let entries = body
            .chunks_exact(8)
            .map(|chunk| SettingEntry {
                flags: SettingFlags::from_bits(chunk[0]),
                id: SettingId::from_code(u32::from_be_bytes([0, chunk[1], chunk[2], chunk[3]])),
                value: u32::from_be_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]),
            })
            .collect();
        Ok(Settings {
            clear_settings: flags & super::FLAG_SETTINGS_CLEAR_SETTINGS != 0,
            entries,
        })
    }

    pub(crate) fn payload_len(&self) -> usize {
        4 + 8 * self.entries.len()
    }

    pub(crate) fn flags(&self) -> u8 {
        if self.clear_settings {
            super::FLAG_SETTINGS_CLEAR_SETTINGS
        } else {
            0
        }
    }

    pub(crate) fn encode_payload(&self, dst: &mut BytesMut) {
        dst.put_u32(self.entries.len() as u32);
        for entry in &self.entries {
            let id = entry.id.code() & 0x00ff_ffff;
            dst.put_u32((u32::from(entry.flags.bits()) << 24) | id);
            dst.put_u32(entry.value);
        }
    }
}

/// One SETTINGS entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettingEntry {
    /// Which setting.
    pub id: SettingId,
    /// Its value.
    pub value: u32,
    /// PERSIST_VALUE / PERSISTED.
    pub flags: SettingFlags,
}

/// The per-entry flags of a SETTINGS entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettingFlags {
    /// PERSIST_VALUE (0x1): the sender asks the receiver to remember the value.
    pub persist_value: bool,
    /// PERSISTED (0x2): the value is one the receiver asked the sender to remember.
    pub persisted: bool,
}

impl SettingFlags {
    /// Flags from the entry's flag byte; undefined bits are ignored.
    pub const fn from_bits(bits: u8) -> Self {
        SettingFlags {
            persist_value: bits & 0x01 != 0,
            persisted: bits & 0x02 != 0,
        }
    }

    /// The flag byte.
    pub const fn bits(self) -> u8 {
        (self.persist_value as u8) | ((self.persisted as u8) << 1)
    }
}

/// A SETTINGS id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SettingId {
    /// 1: expected upload bandwidth.
    UploadBandwidth,
    /// 2: expected download bandwidth.
    DownloadBandwidth,
    /// 3: expected round-trip time.
    RoundTripTime,
    /// 4: how many streams the receiver of this setting may open at once.
    MaxConcurrentStreams,
    /// 5: the sender's TCP congestion window.
    CurrentCwnd,
    /// 6: the sender's retransmission rate.
    DownloadRetransRate,
    /// 7: the initial send window for new streams of the receiver.
    InitialWindowSize,
    /// 8: client certificate vector size.
    ClientCertificateVectorSize,
    /// Any other 24-bit id; ignored by sessions.
    Unknown(u32),
}

impl SettingId {
    /// The id for a 24-bit wire value.
    pub const fn from_code(code: u32) -> SettingId {
        match code {
            1 => SettingId::UploadBandwidth,
            2 => SettingId::DownloadBandwidth,
            3 => SettingId::RoundTripTime,
            4 => SettingId::MaxConcurrentStreams,
            5 => SettingId::CurrentCwnd,
            6 => SettingId::DownloadRetransRate,
            7 => SettingId::InitialWindowSize,
            8 => SettingId::ClientCertificateVectorSize,
            other => SettingId::Unknown(other),
        }
    }

    /// The wire value.
    pub const fn code(self) -> u32 {
        match self {
            SettingId::UploadBandwidth => 1,
            SettingId::DownloadBandwidth => 2,
            SettingId::RoundTripTime => 3,
            SettingId::MaxConcurrentStreams => 4,
            SettingId::CurrentCwnd => 5,
            SettingId::DownloadRetransRate => 6,
            SettingId::InitialWindowSize => 7,
            SettingId::ClientCertificateVectorSize => 8,
            SettingId::Unknown(code) => code,
        }
    }

    /// The name the draft uses, e.g. `INITIAL_WINDOW_SIZE`.
    pub const fn name(self) -> &'static str {
        match self {
            SettingId::UploadBandwidth => "UPLOAD_BANDWIDTH",
            SettingId::DownloadBandwidth => "DOWNLOAD_BANDWIDTH",
            SettingId::RoundTripTime => "ROUND_TRIP_TIME",
            SettingId::MaxConcurrentStreams => "MAX_CONCURRENT_STREAMS",
            SettingId::CurrentCwnd => "CURRENT_CWND",
            SettingId::DownloadRetransRate => "DOWNLOAD_RETRANS_RATE",
            SettingId::InitialWindowSize => "INITIAL_WINDOW_SIZE",
            SettingId::ClientCertificateVectorSize => "CLIENT_CERTIFICATE_VECTOR_SIZE",
            SettingId::Unknown(_) => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for SettingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingId::Unknown(code) => write!(f, "UNKNOWN({code})"),
            known => f.write_str(known.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip() {
        for bits in 0..4u8 {
            assert_eq!(SettingFlags::from_bits(bits).bits(), bits);
        }
        assert_eq!(SettingFlags::from_bits(0xfc), SettingFlags::default());
    }

    #[test]
    fn ids_round_trip() {
        for code in 0..12 {
            assert_eq!(SettingId::from_code(code).code(), code);
        }
    }

    #[test]
    fn count_must_match_length() {
        let mut payload = vec![0, 0, 0, 2];
        payload.extend_from_slice(&[0, 0, 0, 7, 0, 1, 0, 0]);
        let err = Settings::decode(0, &payload).unwrap_err();
        assert!(matches!(
            err,
            FrameError::InvalidLength {
                expected: LengthRule::SettingsEntries { count: 2 },
                ..
            }
        ));
        assert!(Settings::decode(0, &[0, 0, 0]).is_err());
        assert!(Settings::decode(0, &[0, 0, 0, 0, 1]).is_err());
        let ok = Settings::decode(1, &[0, 0, 0, 0]).unwrap();
        assert!(ok.clear_settings);
        assert!(ok.entries.is_empty());
    }
}
