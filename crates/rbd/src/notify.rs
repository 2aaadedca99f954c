//! librbd's watch/notify payloads on the image header (`WatchNotifyTypes`),
//! and the notify reply RADOS returns to a notifier.
//!
//! A [`NotifyMessage`] is a versioned envelope (this crate writes version 7,
//! compat 1, as Pacific does) holding a `u32` op and the op's fields; what
//! a decoder reads of them depends on the envelope's version, as in librbd.
//! Requests that want an answer (lock requests, snapshot operations...) are
//! acknowledged with a [`ResponseMessage`].

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use ceph_encoding::{ceph_struct, encode_versioned, Decode, DecodeError, Encode, Reader};

use crate::cls::types::SnapshotNamespace;
use crate::{Error, Result};

/// The `struct_v` this crate writes.
pub const NOTIFY_MESSAGE_VERSION: u8 = 7;

ceph_struct! {
    /// A client of an image: the RADOS client's global id and its watch
    /// handle (`watcher::ClientId`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct ClientId {
        /// The client's global id (`client.<gid>`).
        pub gid: u64,
        /// Its watch handle (cookie) on the header.
        pub handle: u64,
    }
}

ceph_struct! {
    /// Names an operation a client asked the lock owner to run.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct AsyncRequestId {
        /// Who asked.
        pub client_id: ClientId,
        /// Its request number.
        pub request_id: u64,
    }
}

/// The op numbers (`NotifyOp`).
pub mod op {
    /// A client took the exclusive lock.
    pub const ACQUIRED_LOCK: u32 = 0;
    /// A client released the exclusive lock.
    pub const RELEASED_LOCK: u32 = 1;
    /// A client asks the owner for the lock.
    pub const REQUEST_LOCK: u32 = 2;
    /// The header changed: refresh.
    pub const HEADER_UPDATE: u32 = 3;
    /// Progress of a remote operation.
    pub const ASYNC_PROGRESS: u32 = 4;
    /// End of a remote operation.
    pub const ASYNC_COMPLETE: u32 = 5;
    /// Flatten, please.
    pub const FLATTEN: u32 = 6;
    /// Resize, please.
    pub const RESIZE: u32 = 7;
    /// Create a snapshot, please.
    pub const SNAP_CREATE: u32 = 8;
    /// Remove a snapshot, please.
    pub const SNAP_REMOVE: u32 = 9;
    /// Rebuild the object map, please.
    pub const REBUILD_OBJECT_MAP: u32 = 10;
    /// Rename a snapshot, please.
    pub const SNAP_RENAME: u32 = 11;
    /// Protect a snapshot, please.
    pub const SNAP_PROTECT: u32 = 12;
    /// Unprotect a snapshot, please.
    pub const SNAP_UNPROTECT: u32 = 13;
    /// Rename the image, please.
    pub const RENAME: u32 = 14;
    /// Enable or disable features, please.
    pub const UPDATE_FEATURES: u32 = 15;
    /// Migrate, please.
    pub const MIGRATE: u32 = 16;
    /// Sparsify, please.
    pub const SPARSIFY: u32 = 17;
    /// Quiesce I/O (before a snapshot).
    pub const QUIESCE: u32 = 18;
    /// Resume I/O.
    pub const UNQUIESCE: u32 = 19;
    /// Set or remove a metadata key, please.
    pub const METADATA_UPDATE: u32 = 20;
}

/// Defines [`NotifyPayload`] from one list of its ops (for the message
/// version written): each op's variant (librbd's name for it), its number
/// in [`op`] and its fields in wire order, a field added in a later version
/// of the message marked `= since N => value it takes before`. The list
/// makes the enum, [`NotifyPayload::op`], [`op_name`], and the payload's
/// encoder and decoder, so that they cannot drift apart. An op not
/// in the list decodes as [`NotifyPayload::Unknown`], its bytes kept.
macro_rules! notify_payloads {
    (version $v:literal; $(
        $(#[$vmeta:meta])*
        $variant:ident = $op:ident $({
            $(
                $(#[$fmeta:meta])*
                $field:ident : $fty:ty $(= since $since:literal => $default:expr)?
            ),* $(,)?
        })?
    ),* $(,)?) => {
        /// One notification's content.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum NotifyPayload {
            $(
                $(#[$vmeta])*
                $variant $({ $( $(#[$fmeta])* $field: $fty, )* })?,
            )*
            /// An op this crate does not know; its fields are kept as they came.
            Unknown {
                /// The op number.
                op: u32,
                /// The rest of the message.
                data: Bytes,
            },
        }

        // The version the list describes is the one written.
        const _: () = assert!(NOTIFY_MESSAGE_VERSION == $v);

        /// The name of an op, as librbd prints it.
        pub fn op_name(op: u32) -> Option<&'static str> {
            match op {
                $( op::$op => Some(stringify!($variant)), )*
                _ => None,
            }
        }

        impl NotifyPayload {
            /// The payload's op number.
            pub fn op(&self) -> u32 {
                match self {
                    $( NotifyPayload::$variant { .. } => op::$op, )*
                    NotifyPayload::Unknown { op, .. } => *op,
                }
            }

            /// Appends the op's fields (after the op number).
            fn encode_fields(&self, buf: &mut BytesMut, features: u64) {
                match self {
                    $(
                        NotifyPayload::$variant $({ $($field),* })? => {
                            $($( $field.encode(buf, features); )*)?
                        }
                    )*
                    NotifyPayload::Unknown { data, .. } => buf.put_slice(data),
                }
            }

            /// Reads the fields of op `op` in a message of version
            /// `struct_v`.
            fn decode_fields(
                reader: &mut Reader<'_>,
                op: u32,
                struct_v: u8,
            ) -> Result<NotifyPayload, DecodeError> {
                Ok(match op {
                    $(
                        op::$op => NotifyPayload::$variant $({ $(
                            $field: ceph_encoding::__ceph_field!(
                                reader, struct_v, $v, $variant, $field, $fty $(, $since, $default)?
                            ),
                        )* })?,
                    )*
                    op => NotifyPayload::Unknown {
                        op,
                        data: Bytes::copy_from_slice(reader.take(reader.remaining())?),
                    },
                })
            }
        }
    };
}

notify_payloads! {
    version 7;

    /// A client took the exclusive lock.
    AcquiredLock = ACQUIRED_LOCK {
        /// The new owner (since version 2).
        client_id: ClientId = since 2 => ClientId::default(),
    },
    /// A client released the exclusive lock.
    ReleasedLock = RELEASED_LOCK {
        /// The former owner (since version 2).
        client_id: ClientId = since 2 => ClientId::default(),
    },
    /// A client asks the owner for the lock.
    RequestLock = REQUEST_LOCK {
        /// Who asks (since version 2).
        client_id: ClientId = since 2 => ClientId::default(),
        /// Break the lock if the owner does not answer (since version 3).
        force: bool = since 3 => false,
    },
    /// The header changed.
    HeaderUpdate = HEADER_UPDATE,
    /// Progress of a remote operation.
    AsyncProgress = ASYNC_PROGRESS {
        /// The operation.
        request: AsyncRequestId,
        /// Done so far.
        offset: u64,
        /// Of this much.
        total: u64,
    },
    /// End of a remote operation.
    AsyncComplete = ASYNC_COMPLETE {
        /// The operation.
        request: AsyncRequestId,
        /// Its result (0 or a negative errno).
        result: i32,
    },
    /// Flatten the image.
    Flatten = FLATTEN {
        /// The operation.
        request: AsyncRequestId,
    },
    /// Resize the image.
    Resize = RESIZE {
        /// New size.
        size: u64,
        /// The operation.
        request: AsyncRequestId,
        /// Whether shrinking is allowed (since version 4).
        allow_shrink: bool = since 4 => true,
    },
    /// Create a snapshot.
    SnapCreate = SNAP_CREATE {
        /// Its name.
        snap_name: String,
        /// Its namespace (since version 5).
        snap_namespace: SnapshotNamespace = since 5 => SnapshotNamespace::User,
        /// The operation (since version 7).
        request: AsyncRequestId = since 7 => AsyncRequestId::default(),
        /// `SNAP_CREATE_FLAG_*` (since version 7).
        flags: u64 = since 7 => 0,
    },
    /// Remove a snapshot.
    SnapRemove = SNAP_REMOVE {
        /// Its name.
        snap_name: String,
        /// Its namespace (since version 6).
        snap_namespace: SnapshotNamespace = since 6 => SnapshotNamespace::User,
        /// The operation (since version 7).
        request: AsyncRequestId = since 7 => AsyncRequestId::default(),
    },
    /// Rebuild the object map.
    RebuildObjectMap = REBUILD_OBJECT_MAP {
        /// The operation.
        request: AsyncRequestId,
    },
    /// Rename a snapshot.
    SnapRename = SNAP_RENAME {
        /// The snapshot.
        snap_id: u64,
        /// Its new name.
        snap_name: String,
        /// Namespace (since version 6).
        snap_namespace: SnapshotNamespace = since 6 => SnapshotNamespace::User,
        /// The operation (since version 7).
        request: AsyncRequestId = since 7 => AsyncRequestId::default(),
    },
    /// Protect a snapshot.
    SnapProtect = SNAP_PROTECT {
        /// Its name.
        snap_name: String,
        /// Its namespace (since version 6).
        snap_namespace: SnapshotNamespace = since 6 => SnapshotNamespace::User,
        /// The operation (since version 7).
        request: AsyncRequestId = since 7 => AsyncRequestId::default(),
    },
    /// Unprotect a snapshot.
    SnapUnprotect = SNAP_UNPROTECT {
        /// Its name.
        snap_name: String,
        /// Its namespace (since version 6).
        snap_namespace: SnapshotNamespace = since 6 => SnapshotNamespace::User,
        /// The operation (since version 7).
        request: AsyncRequestId = since 7 => AsyncRequestId::default(),
    },
    /// Rename the image.
    Rename = RENAME {
        /// The new name.
        image_name: String,
        /// The operation (since version 7).
        request: AsyncRequestId = since 7 => AsyncRequestId::default(),
    },
    /// Enable or disable features.
    UpdateFeatures = UPDATE_FEATURES {
        /// Which.
        features: u64,
        /// Enable (true) or disable.
        enabled: bool,
        /// The operation (since version 7).
        request: AsyncRequestId = since 7 => AsyncRequestId::default(),
    },
    /// Migrate the image.
    Migrate = MIGRATE {
        /// The operation.
        request: AsyncRequestId,
    },
    /// Sparsify the image.
    Sparsify = SPARSIFY {
        /// The operation.
        request: AsyncRequestId,
        /// Granularity in bytes.
        sparse_size: u64,
    },
    /// Quiesce I/O.
    Quiesce = QUIESCE {
        /// The operation.
        request: AsyncRequestId,
    },
    /// Resume I/O.
    Unquiesce = UNQUIESCE {
        /// The operation.
        request: AsyncRequestId,
    },
    /// Set or remove an image metadata key.
    MetadataUpdate = METADATA_UPDATE {
        /// The key.
        key: String,
        /// The new value; `None` removes the key.
        value: Option<String>,
        /// The operation (since version 7).
        request: AsyncRequestId = since 7 => AsyncRequestId::default(),
    },
}

impl NotifyPayload {
    /// Whether a watcher should refresh its view of the image on seeing it
    /// (librbd's `check_for_refresh`).
    pub fn check_for_refresh(&self) -> bool {
        !matches!(
            self,
            NotifyPayload::AcquiredLock { .. }
                | NotifyPayload::ReleasedLock { .. }
                | NotifyPayload::RequestLock { .. }
                | NotifyPayload::HeaderUpdate
                | NotifyPayload::AsyncProgress { .. }
                | NotifyPayload::AsyncComplete { .. }
                | NotifyPayload::Quiesce { .. }
                | NotifyPayload::Unquiesce { .. }
                | NotifyPayload::MetadataUpdate { .. }
                | NotifyPayload::Unknown { .. }
        )
    }
}

/// A notification on an image header (`NotifyMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyMessage {
    /// What it says.
    pub payload: NotifyPayload,
}

impl NotifyMessage {
    /// A message carrying `payload`.
    pub fn new(payload: NotifyPayload) -> Self {
        Self { payload }
    }

    /// Decodes a notification's bytes (as a watch callback receives them).
    pub fn from_bytes(data: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(data);
        Self::decode(&mut reader).map_err(|e| Error::decode("NotifyMessage", e))
    }
}

impl fmt::Display for NotifyMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match op_name(self.payload.op()) {
            Some(name) => f.write_str(name),
            None => write!(f, "Unknown ({})", self.payload.op()),
        }
    }
}

impl Encode for NotifyMessage {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        encode_versioned(buf, NOTIFY_MESSAGE_VERSION, 1, |buf| {
            buf.put_u32_le(self.payload.op());
            self.payload.encode_fields(buf, features);
        });
    }
}

impl Decode for NotifyMessage {
    const MIN_ENCODED_SIZE: usize = ceph_encoding::VERSION_HEADER_SIZE + 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.versioned("NotifyMessage", NOTIFY_MESSAGE_VERSION, |r, v| {
            let op = u32::decode(r)?;
            Ok(NotifyMessage {
                payload: NotifyPayload::decode_fields(r, op, v)?,
            })
        })
    }
}

ceph_struct! {
    /// A watcher's answer to a request (`ResponseMessage`), carried in its
    /// notify ack.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct ResponseMessage : version 1, compat 1 {
        /// 0, or a negative errno (`-ERESTART`: retry later...).
        pub result: i32,
    }
}

/// A watcher: the client's global id and its watch cookie.
pub type WatcherId = (u64, u64);

ceph_struct! {
    /// What a completed notify returns to the notifier (built by the OSD):
    /// each acking watcher's reply, then the watchers that did not answer
    /// in time. Watchers are `(gid, cookie)` pairs.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct NotifyReplies {
        /// `(gid, cookie)` -> the reply payload of each watcher that acked.
        pub acks: Vec<(WatcherId, Bytes)>,
        /// The watchers that timed out.
        pub timeouts: Vec<WatcherId>,
    }
}

impl NotifyReplies {
    /// Decodes a notify reply (librados' `notify2` output buffer).
    pub fn from_bytes(data: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(data);
        Self::decode(&mut reader).map_err(|e| Error::decode("NotifyReplies", e))
    }

    /// The [`ResponseMessage`]s among the acks (an empty ack decodes as
    /// nothing: watchers that merely acknowledge send no payload).
    pub fn responses(&self) -> Vec<(WatcherId, Result<Option<ResponseMessage>>)> {
        self.acks
            .iter()
            .map(|(who, payload)| {
                let response = if payload.is_empty() {
                    Ok(None)
                } else {
                    ResponseMessage::decode_exact(payload)
                        .map(Some)
                        .map_err(|e| Error::decode("ResponseMessage", e))
                };
                (*who, response)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_names_are_librbds() {
        assert_eq!(op_name(op::ACQUIRED_LOCK), Some("AcquiredLock"));
        assert_eq!(op_name(op::SNAP_CREATE), Some("SnapCreate"));
        assert_eq!(op_name(op::METADATA_UPDATE), Some("MetadataUpdate"));
        assert_eq!(op_name(21), None);
        let m = NotifyMessage::new(NotifyPayload::Unknown {
            op: 99,
            data: Bytes::new(),
        });
        assert_eq!(m.to_string(), "Unknown (99)");
    }

    #[test]
    fn fields_are_written_in_wire_order() {
        let m = NotifyMessage::new(NotifyPayload::UpdateFeatures {
            features: 0x0102,
            enabled: true,
            request: AsyncRequestId {
                client_id: ClientId { gid: 3, handle: 4 },
                request_id: 5,
            },
        });
        let mut want = vec![7u8, 1, 37, 0, 0, 0, 15, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 1];
        for n in [3u64, 4, 5] {
            want.extend_from_slice(&n.to_le_bytes());
        }
        assert_eq!(&m.to_bytes(0)[..], &want[..]);
    }
}
