//! A decoded (or to be encoded) frame: a tag and one to four segments.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::segment::{Segment, DEFAULT_ALIGNMENT, MAX_SEGMENTS, MESSAGE_ALIGNMENTS};
use crate::tag::Tag;

/// A msgr2 frame: a [`Tag`] and one to four [`Segment`]s.
///
/// Frames are kept in the form they take on the wire: trailing empty
/// segments are dropped (Ceph's `calc_num_segments`), so a frame has at least
/// one segment, and its last segment is non-empty unless it is the only one.
/// Decoding what [`crate::FrameEncoder`] produced gives back an equal frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    tag: Tag,
    segments: Vec<Segment>,
}

impl Frame {
    /// A frame of the given segments, trailing empty ones dropped.
    ///
    /// Fails with [`Error::InvalidSegmentCount`] for zero or more than
    /// [`MAX_SEGMENTS`] segments.
    pub fn new(tag: Tag, mut segments: Vec<Segment>) -> Result<Self> {
        if segments.is_empty() || segments.len() > MAX_SEGMENTS {
            return Err(Error::InvalidSegmentCount(segments.len()));
        }
        while segments.len() > 1 && segments.last().is_some_and(Segment::is_empty) {
            segments.pop();
        }
        Ok(Self { tag, segments })
    }

    /// A control frame: one payload segment with the default alignment.
    #[must_use]
    pub fn control(tag: Tag, payload: Bytes) -> Self {
        Self {
            tag,
            segments: vec![Segment::new(payload, DEFAULT_ALIGNMENT)],
        }
    }

    /// A MESSAGE frame of an encoded `ceph_msg_header2` and the front,
    /// middle and data payloads, with Ceph's alignments (8, 8, 8, 4096).
    #[must_use]
    pub fn message(header: Bytes, front: Bytes, middle: Bytes, data: Bytes) -> Self {
        let mut segments: Vec<Segment> = [header, front, middle, data]
            .into_iter()
            .zip(MESSAGE_ALIGNMENTS)
            .map(|(data, alignment)| Segment::new(data, alignment))
            .collect();
        while segments.len() > 1 && segments.last().is_some_and(Segment::is_empty) {
            segments.pop();
        }
        Self {
            tag: Tag::Message,
            segments,
        }
    }

    /// Internal constructor for frames whose shape was already validated.
    pub(crate) fn from_parts(tag: Tag, segments: Vec<Segment>) -> Self {
        Self { tag, segments }
    }

    /// The frame's tag.
    #[must_use]
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// The frame's segments (one to four).
    #[must_use]
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The bytes of segment `index`, empty if the frame has no such segment
    /// (a MESSAGE without middle and data has one or two segments on the
    /// wire).
    #[must_use]
    pub fn segment(&self, index: usize) -> Bytes {
        self.segments
            .get(index)
            .map(|s| s.data.clone())
            .unwrap_or_default()
    }

    /// The payload of a control frame: segment 0.
    #[must_use]
    pub fn payload(&self) -> &Bytes {
        // A frame always has at least one segment.
        &self.segments[0].data
    }

    /// Takes the segments out of the frame.
    #[must_use]
    pub fn into_segments(self) -> Vec<Segment> {
        self.segments
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_empty_segments_dropped() {
        let f = Frame::message(
            Bytes::from_static(b"h"),
            Bytes::new(),
            Bytes::new(),
            Bytes::new(),
        );
        assert_eq!(f.segments().len(), 1);
        let f = Frame::message(
            Bytes::from_static(b"h"),
            Bytes::new(),
            Bytes::from_static(b"m"),
            Bytes::new(),
        );
        assert_eq!(f.segments().len(), 3);
        assert_eq!(f.segment(3), Bytes::new());
        assert_eq!(f.segment(2), Bytes::from_static(b"m"));
        let f = Frame::new(Tag::Wait, vec![Segment::default(); 4]).unwrap();
        assert_eq!(f.segments().len(), 1);
        assert_eq!(
            Frame::new(Tag::Ack, vec![]),
            Err(Error::InvalidSegmentCount(0))
        );
        assert_eq!(
            Frame::new(Tag::Ack, vec![Segment::default(); 5]),
            Err(Error::InvalidSegmentCount(5))
        );
    }
}
