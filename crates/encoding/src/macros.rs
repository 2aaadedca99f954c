//! `ceph_struct!`: one field list, both the encoder and the decoder.

/// Defines a struct and its [`Encode`](crate::Encode) and
/// [`Decode`](crate::Decode) implementations from a single field list, so the
/// two cannot drift apart.
///
/// Fields are encoded in the order written, each with the caller's feature
/// bits. Two forms:
///
/// * **plain**: the fields back to back, no envelope (like Ceph's
///   `WRITE_CLASS_DENC` structs such as `utime_t`);
/// * **versioned**: `: version V, compat C` after the name wraps the fields in
///   the versioned envelope (`ENCODE_START(V, C)`). A field added in a later
///   version is marked `= since N => default`: it is read only when the
///   encoding's `struct_v` is at least `N`, and takes `default` otherwise.
///   The decoder refuses `compat_v > V` and skips unknown trailing fields.
///
/// Decode errors name the struct and field (see
/// [`DecodeError::path`](crate::DecodeError::path)). The struct may not be
/// generic; write those implementations by hand.
///
/// ```
/// use ceph_encoding::{ceph_struct, Decode, Encode, UTime};
///
/// ceph_struct! {
///     /// A pool snapshot as some map stores it.
///     #[derive(Debug, Clone, PartialEq, Eq)]
///     pub struct PoolSnap : version 3, compat 2 {
///         /// Snapshot id.
///         pub snapid: u64,
///         /// When it was taken.
///         pub stamp: UTime,
///         /// Its name.
///         pub name: String,
///         /// Flags, present since version 3.
///         pub flags: u32 = since 3 => 0,
///     }
/// }
///
/// let snap = PoolSnap { snapid: 4, stamp: UTime::new(1, 2), name: "s".into(), flags: 1 };
/// let bytes = snap.to_bytes(0);
/// assert_eq!(&bytes[..2], &[3, 2]); // struct_v, compat_v
/// assert_eq!(PoolSnap::decode_exact(&bytes), Ok(snap));
/// ```
#[macro_export]
macro_rules! ceph_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident : version $v:literal, compat $c:literal {
            $(
                $(#[$fmeta:meta])*
                $fvis:vis $field:ident : $fty:ty $(= since $since:literal => $default:expr)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[$fmeta])*
                $fvis $field: $fty,
            )*
        }

        impl $name {
            /// The version this definition encodes (`struct_v`).
            pub const STRUCT_V: u8 = $v;
            /// The oldest decoder version able to read this encoding (`compat_v`).
            pub const COMPAT_V: u8 = $c;
        }

        impl $crate::Encode for $name {
            fn encode(&self, buf: &mut $crate::bytes::BytesMut, features: u64) {
                const _: () = assert!($c <= $v, "compat must not exceed version");
                $crate::encode_versioned(buf, $v, $c, |buf| {
                    $( $crate::Encode::encode(&self.$field, buf, features); )*
                });
            }
        }

        impl $crate::Decode for $name {
            const MIN_ENCODED_SIZE: usize = $crate::VERSION_HEADER_SIZE;
            fn decode(
                reader: &mut $crate::Reader<'_>,
            ) -> ::core::result::Result<Self, $crate::DecodeError> {
                reader.versioned(stringify!($name), $v, |reader, struct_v| {
                    let _ = struct_v;
                    $(
                        let $field = $crate::__ceph_field!(
                            reader, struct_v, $v, $name, $field, $fty $(, $since, $default)?
                        );
                    )*
                    Ok(Self { $($field),* })
                })
            }
        }
    };

    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $fvis:vis $field:ident : $fty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[$fmeta])*
                $fvis $field: $fty,
            )*
        }

        impl $crate::Encode for $name {
            fn encode(&self, buf: &mut $crate::bytes::BytesMut, features: u64) {
                let _ = &buf;
                let _ = features;
                $( $crate::Encode::encode(&self.$field, buf, features); )*
            }
        }

        impl $crate::Decode for $name {
            const MIN_ENCODED_SIZE: usize =
                0 $(+ <$fty as $crate::Decode>::MIN_ENCODED_SIZE)*;
            fn decode(
                reader: &mut $crate::Reader<'_>,
            ) -> ::core::result::Result<Self, $crate::DecodeError> {
                let _ = &reader;
                $(
                    let $field = <$fty as $crate::Decode>::decode(reader)
                        .map_err(|e| e.within(stringify!($name), stringify!($field)))?;
                )*
                Ok(Self { $($field),* })
            }
        }
    };
}

/// Decodes one field of a versioned `ceph_struct!` (implementation detail).
#[doc(hidden)]
#[macro_export]
macro_rules! __ceph_field {
    ($reader:ident, $struct_v:ident, $v:literal, $name:ident, $field:ident, $fty:ty) => {
        <$fty as $crate::Decode>::decode($reader)
            .map_err(|e| e.within(stringify!($name), stringify!($field)))?
    };
    ($reader:ident, $struct_v:ident, $v:literal, $name:ident, $field:ident, $fty:ty, $since:literal, $default:expr) => {{
        const _: () = assert!(
            $since <= $v,
            "a field cannot be newer than the struct's version"
        );
        if $struct_v >= $since {
            <$fty as $crate::Decode>::decode($reader)
                .map_err(|e| e.within(stringify!($name), stringify!($field)))?
        } else {
            $default
        }
    }};
}

#[cfg(test)]
mod tests {
    use crate::{Decode, Encode, ErrorKind};

    crate::ceph_struct! {
        /// Version 1 of a test type.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct ThingV1 : version 1, compat 1 {
            /// A.
            pub a: u32,
        }
    }

    crate::ceph_struct! {
        /// Version 2 of the same type: one more field.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct ThingV2 : version 2, compat 1 {
            /// A.
            pub a: u32,
            /// B, since version 2.
            pub b: String = since 2 => String::from("none"),
        }
    }

    crate::ceph_struct! {
        /// Version 3, which older decoders must refuse.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct ThingV3 : version 3, compat 3 {
            /// A.
            pub a: u32,
            /// B.
            pub b: String = since 2 => String::new(),
        }
    }

    crate::ceph_struct! {
        /// A plain pair.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Plain {
            /// X.
            pub x: u8,
            /// Y.
            pub y: ThingV1,
        }
    }

    #[test]
    fn newer_reader_fills_defaults() {
        let old = ThingV1 { a: 5 }.to_bytes(0);
        assert_eq!(
            ThingV2::decode_exact(&old),
            Ok(ThingV2 {
                a: 5,
                b: "none".into()
            })
        );
    }

    #[test]
    fn older_reader_skips_tail() {
        let new = ThingV2 {
            a: 5,
            b: "hello".into(),
        }
        .to_bytes(0);
        assert_eq!(ThingV1::decode_exact(&new), Ok(ThingV1 { a: 5 }));
    }

    #[test]
    fn incompatible_version_is_refused_with_type_name() {
        let newer = ThingV3 {
            a: 1,
            b: String::new(),
        }
        .to_bytes(0);
        let e = ThingV2::decode_exact(&newer).err();
        assert_eq!(
            e.map(|e| e.kind().clone()),
            Some(ErrorKind::UnsupportedVersion {
                type_name: "ThingV2",
                struct_v: 3,
                compat_v: 3,
                understood: 2
            })
        );
    }

    #[test]
    fn errors_name_the_field() {
        // x, then a ThingV1 whose body is cut short.
        let data = [1u8, 1, 1, 4, 0, 0, 0, 9, 9];
        let e = Plain::decode_exact(&data).err();
        let path: Vec<_> = e
            .iter()
            .flat_map(|e| e.path().map(|f| (f.type_name, f.field)))
            .collect();
        assert_eq!(path, vec![("Plain", "y")]);
        let data = [1u8, 1, 1, 2, 0, 0, 0, 9, 9, 0];
        let e = Plain::decode_exact(&data).err();
        let path: Vec<_> = e
            .iter()
            .flat_map(|e| e.path().map(|f| (f.type_name, f.field)))
            .collect();
        assert_eq!(path, vec![("Plain", "y"), ("ThingV1", "a")]);
        assert!(matches!(
            e.map(|e| e.kind().clone()),
            Some(ErrorKind::PastStructEnd { .. })
        ));
        assert_eq!(Plain::MIN_ENCODED_SIZE, 7);
        assert_eq!((ThingV1::STRUCT_V, ThingV1::COMPAT_V), (1, 1));
        assert_eq!((ThingV2::STRUCT_V, ThingV2::COMPAT_V), (2, 1));
        assert_eq!((ThingV3::STRUCT_V, ThingV3::COMPAT_V), (3, 3));
    }
}
