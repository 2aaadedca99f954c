//! `utime_t`: seconds and nanoseconds, each a `u32`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

crate::ceph_struct! {
    /// Ceph's `utime_t`: a time as seconds and nanoseconds since the Unix
    /// epoch (or a duration, depending on the field), `sec` then `nsec`, each
    /// a little-endian `u32`. Decoding keeps the values as they are (no
    /// normalisation of `nsec >= 10^9`), so re-encoding is byte-exact.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct UTime {
        /// Whole seconds.
        pub sec: u32,
        /// Nanoseconds within the second.
        pub nsec: u32,
    }
}

impl UTime {
    /// A time of `sec` seconds and `nsec` nanoseconds.
    pub const fn new(sec: u32, nsec: u32) -> Self {
        Self { sec, nsec }
    }

    /// The time as a duration since the epoch.
    pub fn to_duration(self) -> Duration {
        Duration::from_secs(u64::from(self.sec)) + Duration::from_nanos(u64::from(self.nsec))
    }

    /// The time as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + self.to_duration()
    }

    /// The current time, or `None` if the clock is outside `utime_t`'s range
    /// (before 1970 or after 2106).
    pub fn now() -> Option<Self> {
        Self::from_system_time(SystemTime::now())
    }

    /// `t` as a `utime_t`, or `None` if it is before 1970 or after 2106.
    pub fn from_system_time(t: SystemTime) -> Option<Self> {
        let d = t.duration_since(UNIX_EPOCH).ok()?;
        Self::from_duration(d)
    }

    /// A duration as a `utime_t`, or `None` if it exceeds `u32::MAX` seconds.
    pub fn from_duration(d: Duration) -> Option<Self> {
        Some(Self {
            sec: u32::try_from(d.as_secs()).ok()?,
            nsec: d.subsec_nanos(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decode, Encode};
    use proptest::prelude::*;

    #[test]
    fn layout() {
        let t = UTime::new(0x6074_2aef, 0x15a6_4454);
        assert_eq!(
            &t.to_bytes(0)[..],
            &[0xef, 0x2a, 0x74, 0x60, 0x54, 0x44, 0xa6, 0x15]
        );
        assert_eq!(UTime::MIN_ENCODED_SIZE, 8);
    }

    #[test]
    fn conversions() {
        let t = UTime::new(10, 500);
        assert_eq!(t.to_duration(), Duration::new(10, 500));
        assert_eq!(UTime::from_system_time(t.to_system_time()), Some(t));
        assert_eq!(UTime::from_duration(Duration::from_secs(1 << 33)), None);
        assert!(UTime::now().is_some());
    }

    proptest! {
        #[test]
        fn round_trip(sec: u32, nsec: u32) {
            let t = UTime::new(sec, nsec);
            prop_assert_eq!(UTime::decode_exact(&t.to_bytes(0)), Ok(t));
        }
    }
}
