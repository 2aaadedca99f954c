//! RBD format-2 images, through the OSDs' `rbd` and `lock` object classes
//! the way librbd uses them.
//!
//! * [`image`]: images on a cluster: create, open (at the head or a
//!   snapshot), read and write with striping and copy-on-write from
//!   parents, the exclusive lock (or asking its owner), the object map,
//!   resize, snapshots and protection, clones (v1 and v2) and their
//!   children, listing, removal and the trash;
//! * [`cls`]: the inputs and outputs of the object-class methods librbd
//!   calls, one type per method implementing [`cls::ClsMethod`]
//!   ([`cls::rbd`] for class `rbd`, [`cls::lock`] for class `lock`), and the
//!   structures they carry ([`cls::types`]);
//! * [`object_map`]: Ceph's `BitVector<2>`, the object map's encoding;
//! * [`notify`]: the librbd watch/notify payloads on the header object and
//!   the notify reply RADOS hands back to the notifier;
//! * [`striper`]: image extents to object extents;
//! * [`names`]: object names (`rbd_header.<id>`, data objects...);
//! * [`features`]: image feature and operation-feature bits.
//!
//! ```
//! use ceph_rbd::cls::{rbd::GetSize, ClsMethod};
//! use ceph_rbd::names::NOSNAP;
//!
//! let call = GetSize { snap_id: NOSNAP };
//! assert_eq!((GetSize::CLASS, GetSize::METHOD), ("rbd", "get_size"));
//! assert_eq!(call.input().len(), 8);
//! // What the OSD sends back: the order (u8), then the size (u64).
//! let out = [22, 0, 0, 0, 4, 0, 0, 0, 0];
//! let info = GetSize::decode_output(&out)?;
//! assert_eq!((info.order, info.size), (22, 64 << 20));
//! # Ok::<(), ceph_rbd::Error>(())
//! ```

pub mod cls;
mod error;
pub mod features;
#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod image;
pub mod names;
pub mod notify;
pub mod object_map;
pub mod striper;

pub use error::{Error, Result};
