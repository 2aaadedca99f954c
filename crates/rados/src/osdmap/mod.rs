//! The OSD map: pools, OSDs and the exceptions to CRUSH placement, as a
//! client needs them.
//!
//! * [`OsdMap`]: the full map (`OSDMap`), decoded from every encoding Ceph
//!   has written since Firefly (wrapper version 7 and 8, client-usable part
//!   up to version 10, OSD-only part up to 12, `pg_pool_t` up to 32 —
//!   Tentacle), crc32c checked;
//! * [`Incremental`]: the changes from one epoch to the next
//!   (`OSDMap::Incremental`), and [`OsdMap::apply_incremental`];
//! * [`PgPool`] and its parts, [`OsdInfo`], [`OsdXInfo`], [`PgId`].
//!
//! The CRUSH map stays raw ([`OsdMap::crush`]); the `crush` module decodes
//! it. Both parts of the map are decoded, each bounded by its envelope's
//! length, so fields a newer Ceph appends are skipped by length, never by
//! guessing. Decoders never panic and never reserve memory for more
//! elements than the input could hold.
//!
//! ```no_run
//! use ceph_rados::osdmap::OsdMap;
//!
//! let bytes = std::fs::read("osdmap.bin")?; // `ceph osd getmap -o osdmap.bin`
//! let map = OsdMap::from_bytes(&bytes)?;
//! for (id, pool) in &map.pools {
//!     println!("pool {id} pg_num {} size {}", pool.pg_num, pool.size);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod apply;
pub mod constants;
mod full;
#[cfg(any(fuzzing, test, feature = "fuzzing"))]
pub mod fuzzing;
mod incremental;
mod osd_info;
mod osds;
mod pool;
mod types;
mod wrapper;

pub use apply::ApplyError;
pub use full::{EncodingVersions, OsdMap, StretchMode};
pub use incremental::{Incremental, StretchModeChange};
pub use osd_info::{OsdInfo, OsdXInfo};
pub use pool::{
    flags as pool_flags, object_hash, pool_type, PeeringCrush, PgMergeMeta, PgPool, PoolOptValue,
    PoolOpts, PoolSnapInfo,
};
pub use types::{EVersion, PgId, SnapIntervalSet};
