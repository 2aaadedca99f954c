//! Per-OSD records of the map's OSD-only part: `osd_info_t` and
//! `osd_xinfo_t`.

use ceph_encoding::{Decode, DecodeError, Reader, UTime};

use super::types::field;

/// Ceph's `osd_info_t`: an OSD's up/down history (a version byte, then six
/// epochs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OsdInfo {
    /// Start of the last interval the OSD was clean.
    pub last_clean_begin: u32,
    /// End of that interval.
    pub last_clean_end: u32,
    /// Epoch the OSD last came up.
    pub up_from: u32,
    /// Epoch up to which the OSD acknowledged being up.
    pub up_thru: u32,
    /// Epoch the OSD last went down.
    pub down_at: u32,
    /// Epoch the OSD was declared lost (0: never).
    pub lost_at: u32,
}

impl Decode for OsdInfo {
    const MIN_ENCODED_SIZE: usize = 25;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        const T: &str = "osd_info_t";
        let _struct_v: u8 = field(reader, T, "struct_v")?;
        Ok(Self {
            last_clean_begin: field(reader, T, "last_clean_begin")?,
            last_clean_end: field(reader, T, "last_clean_end")?,
            up_from: field(reader, T, "up_from")?,
            up_thru: field(reader, T, "up_thru")?,
            down_at: field(reader, T, "down_at")?,
            lost_at: field(reader, T, "lost_at")?,
        })
    }
}

/// Ceph's `osd_xinfo_t`: extended per-OSD information.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OsdXInfo {
    /// When the OSD was last marked down.
    pub down_stamp: UTime,
    /// Laggy probability, as encoded (a fraction of `0xffffffff`).
    pub laggy_probability_raw: u32,
    /// Average laggy interval (seconds).
    pub laggy_interval: u32,
    /// The OSD's feature bits (version 2 and later).
    pub features: u64,
    /// Weight before an automatic mark-out (version 3 and later).
    pub old_weight: u32,
    /// Last purged-snaps scrub (version 4 and later).
    pub last_purged_snaps_scrub: UTime,
    /// Epoch the OSD was marked dead (version 4 and later).
    pub dead_epoch: u32,
}

impl OsdXInfo {
    /// The laggy probability in `[0, 1]`.
    pub fn laggy_probability(&self) -> f32 {
        self.laggy_probability_raw as f32 / u32::MAX as f32
    }
}

impl Decode for OsdXInfo {
    const MIN_ENCODED_SIZE: usize = 6;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        const T: &str = "osd_xinfo_t";
        reader.versioned(T, 4, |r, v| {
            let mut x = Self {
                down_stamp: field(r, T, "down_stamp")?,
                laggy_probability_raw: field(r, T, "laggy_probability")?,
                laggy_interval: field(r, T, "laggy_interval")?,
                ..Self::default()
            };
            if v >= 2 {
                x.features = field(r, T, "features")?;
            }
            if v >= 3 {
                x.old_weight = field(r, T, "old_weight")?;
            }
            if v >= 4 {
                x.last_purged_snaps_scrub = field(r, T, "last_purged_snaps_scrub")?;
                x.dead_epoch = field(r, T, "dead_epoch")?;
            }
            Ok(x)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_layout() {
        let mut data = vec![1u8];
        for i in 1..=6u32 {
            data.extend_from_slice(&i.to_le_bytes());
        }
        let info = OsdInfo::decode_exact(&data);
        assert_eq!(
            info,
            Ok(OsdInfo {
                last_clean_begin: 1,
                last_clean_end: 2,
                up_from: 3,
                up_thru: 4,
                down_at: 5,
                lost_at: 6
            })
        );
    }

    #[test]
    fn xinfo_v1_defaults() {
        let mut data = vec![1u8, 1, 16, 0, 0, 0];
        data.extend_from_slice(&[0; 8]);
        data.extend_from_slice(&u32::MAX.to_le_bytes());
        data.extend_from_slice(&7u32.to_le_bytes());
        let x = OsdXInfo::decode_exact(&data);
        assert_eq!(x.map(|x| (x.laggy_interval, x.features)), Ok((7, 0)));
    }
}
