//! The crate's one error type.

use ceph_encoding::DecodeError;

/// What went wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes (a method's output, a notify payload...) that do not decode.
    #[error("cannot decode {what}: {source}")]
    Decode {
        /// What was being decoded (a method name or a type).
        what: &'static str,
        /// The decoder's error, with offset and field path.
        #[source]
        source: DecodeError,
    },
    /// An object map whose header or data crc does not match its bytes.
    #[error("object map {what} crc mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// `header` or `data block N`.
        what: String,
        /// The crc the encoding carries.
        stored: u32,
        /// The crc of the bytes.
        computed: u32,
    },
    /// A cluster operation failed.
    #[error("{context}: {message}")]
    Rados {
        /// What was being done.
        context: String,
        /// The OSD's or monitor's negative errno, when it answered one.
        errno: Option<i32>,
        /// The underlying error, as text.
        message: String,
    },
    /// No such image, snapshot or pool.
    #[error("{0} does not exist")]
    NotFound(String),
    /// The image uses something this client does not handle.
    #[error("{0}")]
    Unsupported(String),
    /// The operation is refused in the image's present state.
    #[error("{0}")]
    Refused(String),
    /// A value outside what the encoding allows.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The value or concept.
        what: &'static str,
        /// Why it is refused.
        reason: String,
    },
}

impl Error {
    /// Wraps a RADOS error with what was being done.
    pub fn rados(context: impl Into<String>, e: ceph_rados::RadosError) -> Self {
        Error::Rados {
            context: context.into(),
            errno: e.errno(),
            message: e.to_string(),
        }
    }

    /// The negative errno behind this error, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Rados { errno, .. } => *errno,
            Error::NotFound(_) => Some(ceph_common::errno::ENOENT),
            _ => None,
        }
    }

    /// Wraps a decoder error with the name of what was being decoded.
    pub fn decode(what: &'static str, source: DecodeError) -> Self {
        Error::Decode { what, source }
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
