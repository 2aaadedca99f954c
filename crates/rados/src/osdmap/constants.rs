//! Bits and numbers the map uses: OSD state bits, map flags, weights and
//! Ceph release numbers.

/// OSD state bits (`CEPH_OSD_*` in `rados.h`), as in [`OsdMap::osd_state`](super::OsdMap::osd_state).
pub mod osd_state {
    /// The OSD id is allocated.
    pub const EXISTS: u32 = 1 << 0;
    /// The OSD is up.
    pub const UP: u32 = 1 << 1;
    /// Marked out automatically.
    pub const AUTOOUT: u32 = 1 << 2;
    /// Newly created, never marked in.
    pub const NEW: u32 = 1 << 3;
    /// Full.
    pub const FULL: u32 = 1 << 4;
    /// Nearly full.
    pub const NEARFULL: u32 = 1 << 5;
    /// Backfill-full.
    pub const BACKFILLFULL: u32 = 1 << 6;
    /// Destroyed (the id may be reused).
    pub const DESTROYED: u32 = 1 << 7;
    /// May not be marked up.
    pub const NOUP: u32 = 1 << 8;
    /// May not be marked down.
    pub const NODOWN: u32 = 1 << 9;
    /// May not be marked in.
    pub const NOIN: u32 = 1 << 10;
    /// May not be marked out.
    pub const NOOUT: u32 = 1 << 11;
    /// Stopped by request.
    pub const STOP: u32 = 1 << 12;

    /// State names as Ceph prints them, by bit.
    pub const NAMES: &[(u32, &str)] = &[
        (EXISTS, "exists"),
        (UP, "up"),
        (AUTOOUT, "autoout"),
        (NEW, "new"),
        (FULL, "full"),
        (NEARFULL, "nearfull"),
        (BACKFILLFULL, "backfillfull"),
        (DESTROYED, "destroyed"),
        (NOUP, "noup"),
        (NODOWN, "nodown"),
        (NOIN, "noin"),
        (NOOUT, "noout"),
        (STOP, "stop"),
    ];
}

/// Map-wide flags (`CEPH_OSDMAP_*`), as in [`OsdMap::flags`](super::OsdMap::flags).
pub mod map_flags {
    /// Some OSD is nearly full (legacy).
    pub const NEARFULL: u32 = 1 << 0;
    /// Some OSD is full (legacy).
    pub const FULL: u32 = 1 << 1;
    /// Reads are paused.
    pub const PAUSERD: u32 = 1 << 2;
    /// Writes are paused.
    pub const PAUSEWR: u32 = 1 << 3;
    /// Recovery is paused.
    pub const PAUSEREC: u32 = 1 << 4;
    /// OSDs may not be marked up.
    pub const NOUP: u32 = 1 << 5;
    /// OSDs may not be marked down.
    pub const NODOWN: u32 = 1 << 6;
    /// OSDs may not be marked out.
    pub const NOOUT: u32 = 1 << 7;
    /// OSDs may not be marked in.
    pub const NOIN: u32 = 1 << 8;
    /// No backfill.
    pub const NOBACKFILL: u32 = 1 << 9;
    /// No recovery.
    pub const NORECOVER: u32 = 1 << 10;
    /// No scrub.
    pub const NOSCRUB: u32 = 1 << 11;
    /// No deep scrub.
    pub const NODEEP_SCRUB: u32 = 1 << 12;
    /// No cache-tiering agent.
    pub const NOTIERAGENT: u32 = 1 << 13;
    /// No rebalancing.
    pub const NOREBALANCE: u32 = 1 << 14;
    /// Objects sort bitwise.
    pub const SORTBITWISE: u32 = 1 << 15;
    /// Legacy: require Jewel OSDs.
    pub const REQUIRE_JEWEL: u32 = 1 << 16;
    /// Legacy: require Kraken OSDs.
    pub const REQUIRE_KRAKEN: u32 = 1 << 17;
    /// Legacy: require Luminous OSDs.
    pub const REQUIRE_LUMINOUS: u32 = 1 << 18;
    /// Deletes are recovered.
    pub const RECOVERY_DELETES: u32 = 1 << 19;
    /// Snapdirs have been purged.
    pub const PURGED_SNAPDIRS: u32 = 1 << 20;
    /// No snapshot trimming.
    pub const NOSNAPTRIM: u32 = 1 << 21;
    /// PG logs have a hard limit.
    pub const PGLOG_HARDLIMIT: u32 = 1 << 22;
    /// The legacy release flags, cleared once the release is recorded.
    pub const LEGACY_REQUIRE_FLAGS: u32 = REQUIRE_JEWEL | REQUIRE_KRAKEN | REQUIRE_LUMINOUS;
}

/// The weight of an OSD that is fully in (`CEPH_OSD_IN`, 1.0 in 16.16 fixed point).
pub const OSD_IN_WEIGHT: u32 = 0x10000;
/// The weight of an OSD that is out (`CEPH_OSD_OUT`).
pub const OSD_OUT_WEIGHT: u32 = 0;
/// The primary affinity an OSD has unless set (`CEPH_OSD_DEFAULT_PRIMARY_AFFINITY`).
pub const DEFAULT_PRIMARY_AFFINITY: u32 = 0x10000;

/// The value of `new_require_osd_release` meaning "unchanged".
pub(crate) const NO_RELEASE_CHANGE: u8 = 0xff;

/// Ceph release numbers (`ceph_release_t`), as in
/// [`OsdMap::require_osd_release`](super::OsdMap::require_osd_release).
pub mod release {
    /// Unknown or unset.
    pub const UNKNOWN: u8 = 0;
    /// Jewel.
    pub const JEWEL: u8 = 10;
    /// Kraken.
    pub const KRAKEN: u8 = 11;
    /// Luminous.
    pub const LUMINOUS: u8 = 12;
    /// Mimic.
    pub const MIMIC: u8 = 13;
    /// Nautilus.
    pub const NAUTILUS: u8 = 14;
    /// Octopus.
    pub const OCTOPUS: u8 = 15;
    /// Pacific.
    pub const PACIFIC: u8 = 16;
    /// Quincy.
    pub const QUINCY: u8 = 17;
    /// Reef.
    pub const REEF: u8 = 18;
    /// Squid.
    pub const SQUID: u8 = 19;
    /// Tentacle.
    pub const TENTACLE: u8 = 20;

    /// The release's name as Ceph prints it.
    pub fn name(release: u8) -> &'static str {
        const NAMES: [&str; 21] = [
            "unknown",
            "argonaut",
            "bobtail",
            "cuttlefish",
            "dumpling",
            "emperor",
            "firefly",
            "giant",
            "hammer",
            "infernalis",
            "jewel",
            "kraken",
            "luminous",
            "mimic",
            "nautilus",
            "octopus",
            "pacific",
            "quincy",
            "reef",
            "squid",
            "tentacle",
        ];
        NAMES
            .get(usize::from(release))
            .copied()
            .unwrap_or("unknown")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn release_names() {
        assert_eq!(super::release::name(super::release::PACIFIC), "pacific");
        assert_eq!(super::release::name(0), "unknown");
        assert_eq!(super::release::name(200), "unknown");
    }
}
