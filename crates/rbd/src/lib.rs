//! RBD format-2 images.
//!
//! This crate will speak to the OSDs' `rbd` object class (cls_rbd) the way
//! librbd does: create and open images, read and write with striping,
//! snapshots, protection, clones (v1 and v2), children, trash and
//! copy-on-write reads from parents.
