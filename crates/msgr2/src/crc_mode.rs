//! crc mode (msgr2.1 "rev1" layout): integrity by crc32c, no secrecy.
//!
//! ```text
//! preamble                      32 bytes
//! segment 0                     len0 bytes
//! le32 crc32c(-1, segment 0)    only if len0 > 0
//! --- only if the frame has more than one segment ---
//! segments 1..count             raw, back to back
//! epilogue                      13 bytes:
//!   u8   late_status
//!   le32 crc of segment 1, 2, 3 (crc32c(-1, ..) of present segments, so
//!        0xffffffff for an empty one; 0 for absent segments)
//! ```
//!
//! This is the layout of frames before authentication completes in every
//! mode (Ceph creates the secure-mode handlers only on AUTH_DONE), and of
//! every frame of a crc-mode connection.

use bytes::Bytes;

use crate::crc::{ceph_crc32c, SEGMENT_CRC_SEED};
use crate::epilogue::{check_late_status, LATE_STATUS_ABORTED, LATE_STATUS_COMPLETE};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::outbuf::{Sink, SHARE_MIN};
use crate::preamble::{Preamble, PREAMBLE_LEN};
use crate::segment::{Segment, MAX_SEGMENTS};

/// Length of a segment crc.
pub const CRC_LEN: usize = 4;

/// Length of the crc-mode epilogue.
pub const CRC_EPILOGUE_LEN: usize = 1 + 4 * (MAX_SEGMENTS - 1);

/// The frame's length on the wire in crc mode.
pub(crate) fn onwire_len(p: &Preamble) -> u64 {
    let lens = p.lens();
    let mut total = PREAMBLE_LEN as u64;
    if lens[0] > 0 {
        total += u64::from(lens[0]) + CRC_LEN as u64;
    }
    if p.count > 1 {
        total += lens[1..p.count].iter().map(|&l| u64::from(l)).sum::<u64>();
        total += CRC_EPILOGUE_LEN as u64;
    }
    total
}

/// Appends the crc-mode wire form of `frame` (described by `p`) to `out`.
pub(crate) fn encode<S: Sink>(p: &Preamble, frame: &Frame, out: &mut S, aborted: bool) {
    let segs = frame.segments();
    // What is copied: all but the segments a sink may share. The length
    // fits: the preamble accepted every segment length as u32.
    let shared: u64 = segs
        .iter()
        .skip(1)
        .filter(|s| !aborted && s.len() >= SHARE_MIN)
        .map(|s| s.len() as u64)
        .sum();
    out.reserve_copied(usize::try_from(onwire_len(p).saturating_sub(shared)).unwrap_or(0));
    out.put(&p.encode());
    if let Some(first) = segs.first() {
        if !first.is_empty() {
            out.put_shared(&first.data);
            out.put(&ceph_crc32c(SEGMENT_CRC_SEED, &first.data).to_le_bytes());
        }
    }
    if segs.len() > 1 {
        let mut crcs = [0u32; MAX_SEGMENTS - 1];
        for (crc, seg) in crcs.iter_mut().zip(&segs[1..]) {
            *crc = ceph_crc32c(SEGMENT_CRC_SEED, &seg.data);
            if !aborted {
                out.put_shared(&seg.data);
            } else {
                out.put(&vec![0u8; seg.len()]);
            }
        }
        out.put(&[if aborted {
            LATE_STATUS_ABORTED
        } else {
            LATE_STATUS_COMPLETE
        }]);
        for crc in crcs {
            out.put(&crc.to_le_bytes());
        }
    }
}

fn check_crc(index: usize, data: &[u8], expected: u32) -> Result<()> {
    let computed = ceph_crc32c(SEGMENT_CRC_SEED, data);
    if computed != expected {
        return Err(Error::BadSegmentCrc {
            index,
            expected,
            computed,
        });
    }
    Ok(())
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks and splits a complete crc-mode frame (`wire` is exactly
/// [`onwire_len`] bytes, preamble included). `Ok(None)` means the sender
/// aborted the frame and it must be dropped.
pub(crate) fn decode(p: &Preamble, wire: Bytes) -> Result<Option<Frame>> {
    let lens = p.lens().map(|l| l as usize);
    let mut at = PREAMBLE_LEN;
    let mut segments = Vec::with_capacity(p.count);

    let first = wire.slice(at..at + lens[0]);
    at += lens[0];
    if lens[0] > 0 {
        check_crc(0, &first, le32(&wire, at))?;
        at += CRC_LEN;
    }
    segments.push(Segment::new(first, p.descs[0].alignment));
    if p.count == 1 {
        return Ok(Some(Frame::from_parts(p.tag, segments)));
    }

    for (&len, desc) in lens.iter().zip(&p.descs).take(p.count).skip(1) {
        segments.push(Segment::new(wire.slice(at..at + len), desc.alignment));
        at += len;
    }
    let epilogue = &wire[at..at + CRC_EPILOGUE_LEN];
    let complete = check_late_status(epilogue[0])?;
    if !complete {
        // Ceph drops an aborted frame without looking at its crcs: the
        // remainder is filler.
        return Ok(None);
    }
    for i in 1..MAX_SEGMENTS {
        let expected = le32(epilogue, 1 + 4 * (i - 1));
        match segments.get(i) {
            Some(seg) => check_crc(i, &seg.data, expected)?,
            // The kernel computes 0 for absent segments and compares.
            None if expected != 0 => return Err(Error::NonZeroUnusedCrc { index: i }),
            None => {}
        }
    }
    Ok(Some(Frame::from_parts(p.tag, segments)))
}
