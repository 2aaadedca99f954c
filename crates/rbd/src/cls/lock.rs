//! Methods of the `lock` object class (cls_lock), and librbd's use of it.
//!
//! librbd's exclusive lock is the cls lock [`RBD_LOCK_NAME`] on the header
//! object, exclusive, tagged [`WATCHER_LOCK_TAG`], with the cookie
//! [`managed_lock_cookie`] of the owner's watch handle.

use bytes::{BufMut, BytesMut};
use ceph_encoding::{
    ceph_struct, Decode, DecodeError, Encode, EntityAddr, EntityNameT, Reader, UTime,
};

use super::cls_method;

/// The name of librbd's exclusive lock on an image header.
pub const RBD_LOCK_NAME: &str = "rbd_lock";
/// The tag librbd's managed lock carries.
pub const WATCHER_LOCK_TAG: &str = "internal";
/// The prefix of librbd's managed lock cookies.
pub const WATCHER_LOCK_COOKIE_PREFIX: &str = "auto";

/// The cookie librbd's managed lock uses for a watch handle:
/// `auto <handle in decimal>`.
pub fn managed_lock_cookie(watch_handle: u64) -> String {
    format!("{WATCHER_LOCK_COOKIE_PREFIX} {watch_handle}")
}

/// The watch handle in a managed lock cookie, or `None` if `cookie` is not
/// one (an advisory lock taken with `rbd lock add`, say).
pub fn parse_managed_lock_cookie(cookie: &str) -> Option<u64> {
    cookie
        .strip_prefix(WATCHER_LOCK_COOKIE_PREFIX)?
        .strip_prefix(' ')?
        .parse()
        .ok()
}

/// A cls lock's type (`ClsLockType`, encoded as a `u8`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum LockType {
    /// No lock (`LOCK_NONE`).
    #[default]
    None,
    /// One holder (`LOCK_EXCLUSIVE`).
    Exclusive,
    /// Any number of holders (`LOCK_SHARED`).
    Shared,
    /// Exclusive, removed with the last holder (`LOCK_EXCLUSIVE_EPHEMERAL`).
    ExclusiveEphemeral,
    /// A value this crate does not know.
    Unknown(u8),
}

impl LockType {
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            LockType::None => 0,
            LockType::Exclusive => 1,
            LockType::Shared => 2,
            LockType::ExclusiveEphemeral => 3,
            LockType::Unknown(v) => v,
        }
    }

    /// The type of a wire value.
    pub fn from_u8(v: u8) -> Self {
        match v {
            0 => LockType::None,
            1 => LockType::Exclusive,
            2 => LockType::Shared,
            3 => LockType::ExclusiveEphemeral,
            v => LockType::Unknown(v),
        }
    }
}

impl Encode for LockType {
    fn encode(&self, buf: &mut BytesMut, _features: u64) {
        buf.put_u8(self.to_u8());
    }
}

impl Decode for LockType {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        u8::decode(reader).map(LockType::from_u8)
    }
}

/// Lock flag: renew a lock this cookie already holds (`LOCK_FLAG_MAY_RENEW`).
pub const LOCK_FLAG_MAY_RENEW: u8 = 1;
/// Lock flag: fail unless this cookie already holds the lock
/// (`LOCK_FLAG_MUST_RENEW`).
pub const LOCK_FLAG_MUST_RENEW: u8 = 2;

ceph_struct! {
    /// `lock`: take (or renew) a lock (`cls_lock_lock_op`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Lock : version 1, compat 1 {
        /// Lock name.
        pub name: String,
        /// Exclusive or shared.
        pub lock_type: LockType,
        /// The holder's cookie.
        pub cookie: String,
        /// Holders of a shared lock must all use the same tag.
        pub tag: String,
        /// Free text.
        pub description: String,
        /// How long the lock lasts (zero: until unlocked).
        pub duration: UTime,
        /// `LOCK_FLAG_*`.
        pub flags: u8,
    }
}
cls_method!(Lock, "lock", "lock" -> ());

ceph_struct! {
    /// `unlock`: release this client's lock (`cls_lock_unlock_op`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Unlock : version 1, compat 1 {
        /// Lock name.
        pub name: String,
        /// The holder's cookie.
        pub cookie: String,
    }
}
cls_method!(Unlock, "lock", "unlock" -> ());

ceph_struct! {
    /// `break_lock`: release another client's lock (`cls_lock_break_op`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct BreakLock : version 1, compat 1 {
        /// Lock name.
        pub name: String,
        /// The holder (`client.<gid>`).
        pub locker: EntityNameT,
        /// The holder's cookie.
        pub cookie: String,
    }
}
cls_method!(BreakLock, "lock", "break_lock" -> ());

ceph_struct! {
    /// `get_info`: a lock's holders, type and tag (`cls_lock_get_info_op`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct GetInfo : version 1, compat 1 {
        /// Lock name.
        pub name: String,
    }
}
cls_method!(GetInfo, "lock", "get_info" -> LockInfo);

ceph_struct! {
    /// `list_locks`: the names of the object's locks.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct ListLocks {}
}
cls_method!(ListLocks, "lock", "list_locks" -> LockList);

ceph_struct! {
    /// `assert_locked`: fail unless the lock is held with this cookie and
    /// tag (`cls_lock_assert_op`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AssertLocked : version 1, compat 1 {
        /// Lock name.
        pub name: String,
        /// Its type.
        pub lock_type: LockType,
        /// The holder's cookie.
        pub cookie: String,
        /// The lock's tag.
        pub tag: String,
    }
}
cls_method!(AssertLocked, "lock", "assert_locked" -> ());

ceph_struct! {
    /// `set_cookie`: change the cookie of a held lock
    /// (`cls_lock_set_cookie_op`; librbd uses it after re-watching).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SetCookie : version 1, compat 1 {
        /// Lock name.
        pub name: String,
        /// Its type.
        pub lock_type: LockType,
        /// The current cookie.
        pub cookie: String,
        /// The lock's tag.
        pub tag: String,
        /// The new cookie.
        pub new_cookie: String,
    }
}
cls_method!(SetCookie, "lock", "set_cookie" -> ());

ceph_struct! {
    /// Who holds a lock (`locker_id_t`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct LockerId : version 1, compat 1 {
        /// The client (`client.<gid>`).
        pub locker: EntityNameT,
        /// Its cookie.
        pub cookie: String,
    }
}

ceph_struct! {
    /// About one holder (`locker_info_t`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct LockerInfo : version 1, compat 1 {
        /// When the lock expires (zero: never).
        pub expiration: UTime,
        /// The holder's address.
        pub addr: EntityAddr,
        /// The description given when locking.
        pub description: String,
    }
}

ceph_struct! {
    /// The output of `get_info` (`cls_lock_get_info_reply`). The holders are
    /// a map in Ceph, kept here as pairs in the OSD's order.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct LockInfo : version 1, compat 1 {
        /// Holder -> details.
        pub lockers: Vec<(LockerId, LockerInfo)>,
        /// The lock's type ([`LockType::None`] when nobody holds it).
        pub lock_type: LockType,
        /// The lock's tag.
        pub tag: String,
    }
}

ceph_struct! {
    /// The output of `list_locks` (`cls_lock_list_locks_reply`).
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct LockList : version 1, compat 1 {
        /// Lock names.
        pub locks: Vec<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies() {
        assert_eq!(managed_lock_cookie(139816217912016), "auto 139816217912016");
        assert_eq!(parse_managed_lock_cookie("auto 42"), Some(42));
        assert_eq!(parse_managed_lock_cookie("auto42"), None);
        assert_eq!(parse_managed_lock_cookie("cookie-1"), None);
    }
}
