//! Object-class methods: what goes in, what comes out.
//!
//! Each method is a type implementing [`ClsMethod`]: its fields are the
//! method's input, [`ClsMethod::input`] encodes them and
//! [`ClsMethod::decode_output`] decodes what the OSD returns. An image layer
//! calls them as
//!
//! ```ignore
//! let out = ioctx.call(&oid, M::CLASS, M::METHOD, &method.input()).await?;
//! let value = M::decode_output(&out)?;
//! ```
//!
//! Inputs are defined with [`ceph_encoding::ceph_struct!`], so each also
//! decodes (what the OSD side would do), which the tests use.
//!
//! Outputs are decoded the way librbd does: the fields it knows, ignoring
//! any bytes a newer OSD might append.

use bytes::Bytes;
use ceph_encoding::{Decode, Reader};

use crate::{Error, Result};

pub mod lock;
pub mod rbd;
pub mod types;

/// One object-class method.
pub trait ClsMethod {
    /// The object class (`rbd`, `lock`).
    const CLASS: &'static str;
    /// The method's name.
    const METHOD: &'static str;
    /// What the method returns, decoded.
    type Output;

    /// The method's input bytes.
    fn input(&self) -> Bytes;

    /// Decodes the method's output bytes.
    fn decode_output(out: &[u8]) -> Result<Self::Output>;
}

/// Decodes a `T` from the start of `out`, ignoring what follows.
pub(crate) fn decode_prefix<T: Decode>(what: &'static str, out: &[u8]) -> Result<T> {
    let mut reader = Reader::new(out);
    T::decode(&mut reader).map_err(|e| Error::decode(what, e))
}

/// Implements [`ClsMethod`] for an input type: `Type, "class", "method" -> Output`
/// (`Output` must implement `Decode`), or `-> ()` for a method whose output
/// is empty (anything it returns is ignored).
macro_rules! cls_method {
    ($ty:ty, $class:literal, $method:literal -> ()) => {
        impl $crate::cls::ClsMethod for $ty {
            const CLASS: &'static str = $class;
            const METHOD: &'static str = $method;
            type Output = ();
            fn input(&self) -> ::bytes::Bytes {
                ::ceph_encoding::Encode::to_bytes(
                    self,
                    ::ceph_encoding::features::CEPH_FEATURES_ALL,
                )
            }
            fn decode_output(_out: &[u8]) -> $crate::Result<()> {
                Ok(())
            }
        }
    };
    ($ty:ty, $class:literal, $method:literal -> $out:ty) => {
        impl $crate::cls::ClsMethod for $ty {
            const CLASS: &'static str = $class;
            const METHOD: &'static str = $method;
            type Output = $out;
            fn input(&self) -> ::bytes::Bytes {
                ::ceph_encoding::Encode::to_bytes(
                    self,
                    ::ceph_encoding::features::CEPH_FEATURES_ALL,
                )
            }
            fn decode_output(out: &[u8]) -> $crate::Result<$out> {
                $crate::cls::decode_prefix::<$out>($method, out)
            }
        }
    };
}
pub(crate) use cls_method;
