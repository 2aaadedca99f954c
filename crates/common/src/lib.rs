//! What the Ceph crates share that is not the wire encoding, as Ceph keeps
//! it in its `src/common`:
//!
//! - [`errno`]: the error numbers OSDs, monitors and object classes answer
//!   with, by name, and their text ([`Errno`]);
//! - [`crc32c`]: Ceph's crc32c ([`ceph_crc32c`]), which msgr2 frames,
//!   OSD maps and RBD object maps carry;
//! - [`ini`]: the INI reader of ceph.conf, keyrings and the tool's own
//!   config file ([`ini::lines`]), with Ceph's option-name rule.

pub mod crc32c;
pub mod errno;
pub mod ini;

pub use crc32c::ceph_crc32c;
pub use errno::Errno;
pub use ini::IniError;
