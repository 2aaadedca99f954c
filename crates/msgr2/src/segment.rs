//! Segments, their alignments, and the bounds on their lengths.

use bytes::Bytes;

/// A frame carries at most four segments.
pub const MAX_SEGMENTS: usize = 4;

/// The alignment a sender announces for ordinary segments
/// (`segment_t::DEFAULT_ALIGNMENT`, `sizeof(void *)` on 64-bit hosts).
pub const DEFAULT_ALIGNMENT: u16 = 8;

/// The alignment announced for the data segment of a MESSAGE frame
/// (`segment_t::PAGE_SIZE_ALIGNMENT`).
pub const PAGE_ALIGNMENT: u16 = 4096;

/// Segment indexes of a MESSAGE frame (`SegmentIndex::Msg`).
pub mod index {
    /// The `ceph_msg_header2`.
    pub const HEADER: usize = 0;
    /// The message's front payload.
    pub const FRONT: usize = 1;
    /// The message's middle payload.
    pub const MIDDLE: usize = 2;
    /// The message's data payload.
    pub const DATA: usize = 3;
    /// The payload of a control (non-MESSAGE) frame.
    pub const PAYLOAD: usize = 0;
}

/// The alignments Ceph announces for the four segments of a MESSAGE frame.
pub const MESSAGE_ALIGNMENTS: [u16; MAX_SEGMENTS] = [
    DEFAULT_ALIGNMENT,
    DEFAULT_ALIGNMENT,
    DEFAULT_ALIGNMENT,
    PAGE_ALIGNMENT,
];

/// One segment of a frame: its bytes and the alignment announced for it in
/// the preamble (a hint to the receiver's allocator; it does not change the
/// wire layout).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Segment {
    /// The segment's bytes.
    pub data: Bytes,
    /// The alignment announced in the segment's descriptor.
    pub alignment: u16,
}

impl Segment {
    /// A segment with the given bytes and alignment.
    #[must_use]
    pub fn new(data: Bytes, alignment: u16) -> Self {
        Self { data, alignment }
    }

    /// A segment with [`DEFAULT_ALIGNMENT`].
    #[must_use]
    pub fn with_default_alignment(data: Bytes) -> Self {
        Self::new(data, DEFAULT_ALIGNMENT)
    }

    /// The segment's length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the segment is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Upper bounds on the segment lengths a decoder accepts, checked on the
/// preamble before any byte of the segments is awaited.
///
/// The defaults follow the kernel client's limits for messages
/// (`CEPH_MSG_MAX_FRONT_LEN`, `..._MIDDLE_LEN`: 16 MiB; `..._DATA_LEN`:
/// 64 MiB) and are tighter for control frames, whose payloads (HELLO,
/// AUTH_*, IDENT, ...) are small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// Bound on every segment of a non-MESSAGE (control) frame.
    pub max_control: u32,
    /// Bound on segment 0 (`ceph_msg_header2`) of a MESSAGE frame.
    pub max_message_header: u32,
    /// Bound on the front segment of a MESSAGE frame.
    pub max_front: u32,
    /// Bound on the middle segment of a MESSAGE frame.
    pub max_middle: u32,
    /// Bound on the data segment of a MESSAGE frame.
    pub max_data: u32,
}

impl Default for FrameLimits {
    fn default() -> Self {
        Self {
            max_control: 1 << 20,
            max_message_header: 4096,
            max_front: 16 << 20,
            max_middle: 16 << 20,
            max_data: 64 << 20,
        }
    }
}

impl FrameLimits {
    /// The bound on segment `index` of a frame with tag `tag`.
    #[must_use]
    pub fn max_segment(&self, tag: crate::tag::Tag, index: usize) -> u32 {
        if tag != crate::tag::Tag::Message {
            return self.max_control;
        }
        match index {
            index::HEADER => self.max_message_header,
            index::FRONT => self.max_front,
            index::MIDDLE => self.max_middle,
            _ => self.max_data,
        }
    }
}
