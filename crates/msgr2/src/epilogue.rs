//! The epilogue's `late_status` byte (msgr2.1).
//!
//! A sender may abort a frame after its preamble and first segment went out;
//! it then fills the rest with zeros and marks the epilogue "aborted". The
//! low nibble carries the status as one of two code words far apart in
//! Hamming distance (`0xe` complete, `0x1` aborted), so a bit error is not
//! taken for the other word; the high nibble is reserved. Ceph's
//! `check_epilogue_late_status` and the kernel's `decode_epilogue` look only
//! at the low nibble, and so do we. Epilogues exist only for frames of more
//! than one segment.

use crate::error::{Error, Result};

/// Low nibble of a complete frame's late status.
pub const LATE_STATUS_COMPLETE: u8 = 0xe;
/// Low nibble of an aborted frame's late status.
pub const LATE_STATUS_ABORTED: u8 = 0x1;
/// Mask of the status nibble.
pub const LATE_STATUS_MASK: u8 = 0xf;

/// Whether the frame is complete (`true`) or was aborted by its sender
/// (`false`); any other value is an error.
pub(crate) fn check_late_status(late_status: u8) -> Result<bool> {
    match late_status & LATE_STATUS_MASK {
        LATE_STATUS_COMPLETE => Ok(true),
        LATE_STATUS_ABORTED => Ok(false),
        _ => Err(Error::BadLateStatus(late_status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_status_words() {
        assert_eq!(check_late_status(0x0e), Ok(true));
        assert_eq!(check_late_status(0x01), Ok(false));
        assert_eq!(check_late_status(0xee), Ok(true));
        assert_eq!(check_late_status(0x00), Err(Error::BadLateStatus(0)));
        assert_eq!(check_late_status(0x0f), Err(Error::BadLateStatus(0xf)));
        for bit in 0..4 {
            assert!(check_late_status(0x0e ^ (1 << bit)).is_err());
            assert!(check_late_status(0x01 ^ (1 << bit)).is_err());
        }
    }
}
