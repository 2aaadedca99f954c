//! The error numbers Ceph daemons answer with, and their text.
//!
//! OSDs, monitors and object classes report failures as a negative errno
//! (`-2` for `ENOENT`). The constants here are those negative values, so
//! that they match results as they come (`Err(e) if e.errno() ==
//! Some(ENOENT)`); [`Errno`] gives one its name and meaning.

use std::fmt;

/// Operation not permitted.
pub const EPERM: i32 = -1;
/// No such object, entity or key.
pub const ENOENT: i32 = -2;
/// Try again (an OSD that is not, or no longer, the primary).
pub const EAGAIN: i32 = -11;
/// Permission denied.
pub const EACCES: i32 = -13;
/// Busy (a lock, a watch, a snapshot in use).
pub const EBUSY: i32 = -16;
/// Already exists.
pub const EEXIST: i32 = -17;
/// Invalid argument.
pub const EINVAL: i32 = -22;
/// Read-only.
pub const EROFS: i32 = -30;
/// Retry the request (librbd's answer to a lock request in progress).
pub const ERESTART: i32 = -85;
/// Operation not supported.
pub const EOPNOTSUPP: i32 = -95;
/// Not connected (a watch that lost its connection).
pub const ENOTCONN: i32 = -107;
/// Timed out.
pub const ETIMEDOUT: i32 = -110;
/// Stale (a snapshot context older than the image's).
pub const ESTALE: i32 = -116;

/// Each known errno: its value, name and meaning.
const KNOWN: &[(i32, &str, &str)] = &[
    (EPERM, "EPERM", "operation not permitted"),
    (ENOENT, "ENOENT", "no such entity"),
    (EAGAIN, "EAGAIN", "try again"),
    (
        EACCES,
        "EACCES",
        "permission denied: wrong key or unknown entity",
    ),
    (EBUSY, "EBUSY", "busy"),
    (EEXIST, "EEXIST", "already exists"),
    (EINVAL, "EINVAL", "invalid argument"),
    (EROFS, "EROFS", "read-only"),
    (ERESTART, "ERESTART", "retry the request"),
    (EOPNOTSUPP, "EOPNOTSUPP", "method not supported"),
    (ENOTCONN, "ENOTCONN", "not connected"),
    (ETIMEDOUT, "ETIMEDOUT", "timed out"),
    (ESTALE, "ESTALE", "stale"),
];

/// A status as a Ceph daemon answers it: a negative errno (`Errno(-2)` is
/// `ENOENT`). Its text is the number, the name and the meaning:
/// `-2 ENOENT (no such entity)`, or `-5 error` for a number not named here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// The negative errno.
    pub fn status(self) -> i32 {
        self.0
    }

    /// The errno's name (`ENOENT`), if it is one of the constants here.
    pub fn name(self) -> Option<&'static str> {
        self.known().map(|(_, name, _)| name)
    }

    /// What the errno means, if it is one of the constants here.
    pub fn meaning(self) -> Option<&'static str> {
        self.known().map(|(_, _, meaning)| meaning)
    }

    fn known(self) -> Option<(i32, &'static str, &'static str)> {
        KNOWN.iter().find(|(n, _, _)| *n == self.0).copied()
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.known() {
            Some((_, name, meaning)) => write!(f, "{} {name} ({meaning})", self.0),
            None => write!(f, "{} error", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_names_the_errno() {
        assert_eq!(Errno(ENOENT).to_string(), "-2 ENOENT (no such entity)");
        assert_eq!(
            Errno(EACCES).to_string(),
            "-13 EACCES (permission denied: wrong key or unknown entity)"
        );
        assert_eq!(Errno(-5).to_string(), "-5 error");
        assert_eq!(Errno(EEXIST).name(), Some("EEXIST"));
        assert_eq!(Errno(-5).name(), None);
        assert_eq!(Errno(ETIMEDOUT).status(), -110);
    }

    #[test]
    fn every_constant_has_a_name() {
        for n in [
            EPERM, ENOENT, EAGAIN, EACCES, EBUSY, EEXIST, EINVAL, EROFS, ERESTART, EOPNOTSUPP,
            ENOTCONN, ETIMEDOUT, ESTALE,
        ] {
            assert!(
                Errno(n).name().is_some() && Errno(n).meaning().is_some(),
                "{n}"
            );
        }
    }
}
