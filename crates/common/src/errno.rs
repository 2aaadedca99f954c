//! The error numbers Ceph daemons answer with, and their text.
//!
//! OSDs, monitors and object classes report failures as a negative errno
//! (`-2` for `ENOENT`). The constants here are those negative values, so
//! that they match results as they come (`Err(e) if e.errno() ==
//! Some(ENOENT)`); [`Errno`] gives one its name and meaning.

use std::fmt;

/// Defines each errno once: its constant (the negative value, with its
/// doc), and its name and meaning in [`KNOWN`].
macro_rules! errnos {
    ($( $(#[$doc:meta])* $name:ident = $value:literal, $meaning:literal; )*) => {
        $(
            $(#[$doc])*
            pub const $name: i32 = -$value;
        )*

        /// Each known errno: its value, name and meaning.
        const KNOWN: &[(i32, &str, &str)] = &[$( ($name, stringify!($name), $meaning), )*];
    };
}

errnos! {
    /// Operation not permitted.
    EPERM = 1, "operation not permitted";
    /// No such object, entity or key.
    ENOENT = 2, "no such entity";
    /// Try again (an OSD that is not, or no longer, the primary).
    EAGAIN = 11, "try again";
    /// Permission denied.
    EACCES = 13, "permission denied: wrong key or unknown entity";
    /// Busy (a lock, a watch, a snapshot in use).
    EBUSY = 16, "busy";
    /// Already exists.
    EEXIST = 17, "already exists";
    /// Invalid argument.
    EINVAL = 22, "invalid argument";
    /// Read-only.
    EROFS = 30, "read-only";
    /// Retry the request (librbd's answer to a lock request in progress).
    ERESTART = 85, "retry the request";
    /// Operation not supported.
    EOPNOTSUPP = 95, "method not supported";
    /// Not connected (a watch that lost its connection).
    ENOTCONN = 107, "not connected";
    /// Timed out.
    ETIMEDOUT = 110, "timed out";
    /// Stale (a snapshot context older than the image's).
    ESTALE = 116, "stale";
}

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
    fn names_are_the_constants() {
        assert_eq!(Errno(ENOTCONN).name(), Some("ENOTCONN"));
        assert!(KNOWN.iter().all(|(n, _, _)| *n < 0));
        assert_eq!(KNOWN.len(), 13);
    }
}
