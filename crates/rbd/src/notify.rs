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

/// One notification's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyPayload {
    /// A client took the exclusive lock.
    AcquiredLock {
        /// The new owner.
        client_id: ClientId,
    },
    /// A client released the exclusive lock.
    ReleasedLock {
        /// The former owner.
        client_id: ClientId,
    },
    /// A client asks the owner for the lock.
    RequestLock {
        /// Who asks.
        client_id: ClientId,
        /// Break the lock if the owner does not answer (since version 3).
        force: bool,
    },
    /// The header changed.
    HeaderUpdate,
    /// Progress of a remote operation.
    AsyncProgress {
        /// The operation.
        request: AsyncRequestId,
        /// Done so far.
        offset: u64,
        /// Of this much.
        total: u64,
    },
    /// End of a remote operation.
    AsyncComplete {
        /// The operation.
        request: AsyncRequestId,
        /// Its result (0 or a negative errno).
        result: i32,
    },
    /// Flatten the image.
    Flatten {
        /// The operation.
        request: AsyncRequestId,
    },
    /// Resize the image.
    Resize {
        /// New size.
        size: u64,
        /// The operation.
        request: AsyncRequestId,
        /// Whether shrinking is allowed (since version 4).
        allow_shrink: bool,
    },
    /// Create a snapshot.
    SnapCreate {
        /// Its name.
        snap_name: String,
        /// Its namespace (since version 5).
        snap_namespace: SnapshotNamespace,
        /// The operation (since version 7).
        request: AsyncRequestId,
        /// `SNAP_CREATE_FLAG_*` (since version 7).
        flags: u64,
    },
    /// Remove a snapshot.
    SnapRemove {
        /// Its name.
        snap_name: String,
        /// Its namespace (since version 6).
        snap_namespace: SnapshotNamespace,
        /// The operation (since version 7).
        request: AsyncRequestId,
    },
    /// Rebuild the object map.
    RebuildObjectMap {
        /// The operation.
        request: AsyncRequestId,
    },
    /// Rename a snapshot.
    SnapRename {
        /// The snapshot.
        snap_id: u64,
        /// Its new name.
        snap_name: String,
        /// Namespace (since version 6).
        snap_namespace: SnapshotNamespace,
        /// The operation (since version 7).
        request: AsyncRequestId,
    },
    /// Protect a snapshot.
    SnapProtect {
        /// Its name.
        snap_name: String,
        /// Its namespace (since version 6).
        snap_namespace: SnapshotNamespace,
        /// The operation (since version 7).
        request: AsyncRequestId,
    },
    /// Unprotect a snapshot.
    SnapUnprotect {
        /// Its name.
        snap_name: String,
        /// Its namespace (since version 6).
        snap_namespace: SnapshotNamespace,
        /// The operation (since version 7).
        request: AsyncRequestId,
    },
    /// Rename the image.
    Rename {
        /// The new name.
        image_name: String,
        /// The operation (since version 7).
        request: AsyncRequestId,
    },
    /// Enable or disable features.
    UpdateFeatures {
        /// Which.
        features: u64,
        /// Enable (true) or disable.
        enabled: bool,
        /// The operation (since version 7).
        request: AsyncRequestId,
    },
    /// Migrate the image.
    Migrate {
        /// The operation.
        request: AsyncRequestId,
    },
    /// Sparsify the image.
    Sparsify {
        /// The operation.
        request: AsyncRequestId,
        /// Granularity in bytes.
        sparse_size: u64,
    },
    /// Quiesce I/O.
    Quiesce {
        /// The operation.
        request: AsyncRequestId,
    },
    /// Resume I/O.
    Unquiesce {
        /// The operation.
        request: AsyncRequestId,
    },
    /// Set or remove an image metadata key.
    MetadataUpdate {
        /// The key.
        key: String,
        /// The new value; `None` removes the key.
        value: Option<String>,
        /// The operation (since version 7).
        request: AsyncRequestId,
    },
    /// An op this crate does not know; its fields are kept as they came.
    Unknown {
        /// The op number.
        op: u32,
        /// The rest of the message.
        data: Bytes,
    },
}

impl NotifyPayload {
    /// The payload's op number.
    pub fn op(&self) -> u32 {
        match self {
            NotifyPayload::AcquiredLock { .. } => op::ACQUIRED_LOCK,
            NotifyPayload::ReleasedLock { .. } => op::RELEASED_LOCK,
            NotifyPayload::RequestLock { .. } => op::REQUEST_LOCK,
            NotifyPayload::HeaderUpdate => op::HEADER_UPDATE,
            NotifyPayload::AsyncProgress { .. } => op::ASYNC_PROGRESS,
            NotifyPayload::AsyncComplete { .. } => op::ASYNC_COMPLETE,
            NotifyPayload::Flatten { .. } => op::FLATTEN,
            NotifyPayload::Resize { .. } => op::RESIZE,
            NotifyPayload::SnapCreate { .. } => op::SNAP_CREATE,
            NotifyPayload::SnapRemove { .. } => op::SNAP_REMOVE,
            NotifyPayload::RebuildObjectMap { .. } => op::REBUILD_OBJECT_MAP,
            NotifyPayload::SnapRename { .. } => op::SNAP_RENAME,
            NotifyPayload::SnapProtect { .. } => op::SNAP_PROTECT,
            NotifyPayload::SnapUnprotect { .. } => op::SNAP_UNPROTECT,
            NotifyPayload::Rename { .. } => op::RENAME,
            NotifyPayload::UpdateFeatures { .. } => op::UPDATE_FEATURES,
            NotifyPayload::Migrate { .. } => op::MIGRATE,
            NotifyPayload::Sparsify { .. } => op::SPARSIFY,
            NotifyPayload::Quiesce { .. } => op::QUIESCE,
            NotifyPayload::Unquiesce { .. } => op::UNQUIESCE,
            NotifyPayload::MetadataUpdate { .. } => op::METADATA_UPDATE,
            NotifyPayload::Unknown { op, .. } => *op,
        }
    }

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

/// The name of an op, as librbd prints it.
pub fn op_name(op: u32) -> Option<&'static str> {
    const NAMES: [&str; 21] = [
        "AcquiredLock",
        "ReleasedLock",
        "RequestLock",
        "HeaderUpdate",
        "AsyncProgress",
        "AsyncComplete",
        "Flatten",
        "Resize",
        "SnapCreate",
        "SnapRemove",
        "RebuildObjectMap",
        "SnapRename",
        "SnapProtect",
        "SnapUnprotect",
        "Rename",
        "UpdateFeatures",
        "Migrate",
        "Sparsify",
        "Quiesce",
        "Unquiesce",
        "MetadataUpdate",
    ];
    NAMES.get(usize::try_from(op).ok()?).copied()
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

/// Snapshot name, namespace, request (librbd's `SnapPayloadBase`).
fn put_snap(
    buf: &mut BytesMut,
    features: u64,
    name: &str,
    ns: &SnapshotNamespace,
    request: &AsyncRequestId,
) {
    name.encode(buf, features);
    ns.encode(buf, features);
    request.encode(buf, features);
}

impl Encode for NotifyMessage {
    fn encode(&self, buf: &mut BytesMut, features: u64) {
        encode_versioned(buf, NOTIFY_MESSAGE_VERSION, 1, |buf| {
            buf.put_u32_le(self.payload.op());
            match &self.payload {
                NotifyPayload::AcquiredLock { client_id }
                | NotifyPayload::ReleasedLock { client_id } => client_id.encode(buf, features),
                NotifyPayload::RequestLock { client_id, force } => {
                    client_id.encode(buf, features);
                    force.encode(buf, features);
                }
                NotifyPayload::HeaderUpdate => {}
                NotifyPayload::AsyncProgress {
                    request,
                    offset,
                    total,
                } => {
                    request.encode(buf, features);
                    offset.encode(buf, features);
                    total.encode(buf, features);
                }
                NotifyPayload::AsyncComplete { request, result } => {
                    request.encode(buf, features);
                    result.encode(buf, features);
                }
                NotifyPayload::Flatten { request }
                | NotifyPayload::RebuildObjectMap { request }
                | NotifyPayload::Migrate { request }
                | NotifyPayload::Quiesce { request }
                | NotifyPayload::Unquiesce { request } => request.encode(buf, features),
                NotifyPayload::Resize {
                    size,
                    request,
                    allow_shrink,
                } => {
                    size.encode(buf, features);
                    request.encode(buf, features);
                    allow_shrink.encode(buf, features);
                }
                NotifyPayload::SnapCreate {
                    snap_name,
                    snap_namespace,
                    request,
                    flags,
                } => {
                    put_snap(buf, features, snap_name, snap_namespace, request);
                    flags.encode(buf, features);
                }
                NotifyPayload::SnapRemove {
                    snap_name,
                    snap_namespace,
                    request,
                }
                | NotifyPayload::SnapProtect {
                    snap_name,
                    snap_namespace,
                    request,
                }
                | NotifyPayload::SnapUnprotect {
                    snap_name,
                    snap_namespace,
                    request,
                } => put_snap(buf, features, snap_name, snap_namespace, request),
                NotifyPayload::SnapRename {
                    snap_id,
                    snap_name,
                    snap_namespace,
                    request,
                } => {
                    snap_id.encode(buf, features);
                    put_snap(buf, features, snap_name, snap_namespace, request);
                }
                NotifyPayload::Rename {
                    image_name,
                    request,
                } => {
                    image_name.encode(buf, features);
                    request.encode(buf, features);
                }
                NotifyPayload::UpdateFeatures {
                    features: f,
                    enabled,
                    request,
                } => {
                    f.encode(buf, features);
                    enabled.encode(buf, features);
                    request.encode(buf, features);
                }
                NotifyPayload::MetadataUpdate {
                    key,
                    value,
                    request,
                } => {
                    key.encode(buf, features);
                    value.encode(buf, features);
                    request.encode(buf, features);
                }
                NotifyPayload::Sparsify {
                    request,
                    sparse_size,
                } => {
                    request.encode(buf, features);
                    sparse_size.encode(buf, features);
                }
                NotifyPayload::Unknown { data, .. } => buf.put_slice(data),
            }
        });
    }
}

/// The async request id of version 7 payloads (default before).
fn read_request(r: &mut Reader<'_>, v: u8) -> Result<AsyncRequestId, DecodeError> {
    if v >= 7 {
        r.read()
    } else {
        Ok(AsyncRequestId::default())
    }
}

/// Snapshot name, namespace (since version 6), request (since version 7);
/// version 5 snapshot creation put the namespace after the name too.
fn read_snap(
    r: &mut Reader<'_>,
    v: u8,
    create: bool,
) -> Result<(String, SnapshotNamespace, AsyncRequestId), DecodeError> {
    let name = r.read()?;
    let ns = if v >= 6 || (create && v == 5) {
        r.read()?
    } else {
        SnapshotNamespace::User
    };
    Ok((name, ns, read_request(r, v)?))
}

impl Decode for NotifyMessage {
    const MIN_ENCODED_SIZE: usize = ceph_encoding::VERSION_HEADER_SIZE + 4;
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.versioned("NotifyMessage", NOTIFY_MESSAGE_VERSION, |r, v| {
            let op = u32::decode(r)?;
            let client = |r: &mut Reader<'_>| -> Result<ClientId, DecodeError> {
                if v >= 2 {
                    r.read()
                } else {
                    Ok(ClientId::default())
                }
            };
            let payload = match op {
                op::ACQUIRED_LOCK => NotifyPayload::AcquiredLock {
                    client_id: client(r)?,
                },
                op::RELEASED_LOCK => NotifyPayload::ReleasedLock {
                    client_id: client(r)?,
                },
                op::REQUEST_LOCK => NotifyPayload::RequestLock {
                    client_id: client(r)?,
                    force: if v >= 3 { r.read()? } else { false },
                },
                op::HEADER_UPDATE => NotifyPayload::HeaderUpdate,
                op::ASYNC_PROGRESS => NotifyPayload::AsyncProgress {
                    request: r.read()?,
                    offset: r.read()?,
                    total: r.read()?,
                },
                op::ASYNC_COMPLETE => NotifyPayload::AsyncComplete {
                    request: r.read()?,
                    result: r.read()?,
                },
                op::FLATTEN => NotifyPayload::Flatten { request: r.read()? },
                op::RESIZE => NotifyPayload::Resize {
                    size: r.read()?,
                    request: r.read()?,
                    allow_shrink: if v >= 4 { r.read()? } else { true },
                },
                op::SNAP_CREATE => {
                    let (snap_name, snap_namespace, request) = read_snap(r, v, true)?;
                    let flags = if v >= 7 { r.read()? } else { 0 };
                    NotifyPayload::SnapCreate {
                        snap_name,
                        snap_namespace,
                        request,
                        flags,
                    }
                }
                op::SNAP_REMOVE | op::SNAP_PROTECT | op::SNAP_UNPROTECT => {
                    let (snap_name, snap_namespace, request) = read_snap(r, v, false)?;
                    match op {
                        op::SNAP_REMOVE => NotifyPayload::SnapRemove {
                            snap_name,
                            snap_namespace,
                            request,
                        },
                        op::SNAP_PROTECT => NotifyPayload::SnapProtect {
                            snap_name,
                            snap_namespace,
                            request,
                        },
                        _ => NotifyPayload::SnapUnprotect {
                            snap_name,
                            snap_namespace,
                            request,
                        },
                    }
                }
                op::REBUILD_OBJECT_MAP => NotifyPayload::RebuildObjectMap { request: r.read()? },
                op::SNAP_RENAME => {
                    let snap_id = r.read()?;
                    let (snap_name, snap_namespace, request) = read_snap(r, v, false)?;
                    NotifyPayload::SnapRename {
                        snap_id,
                        snap_name,
                        snap_namespace,
                        request,
                    }
                }
                op::RENAME => NotifyPayload::Rename {
                    image_name: r.read()?,
                    request: read_request(r, v)?,
                },
                op::UPDATE_FEATURES => NotifyPayload::UpdateFeatures {
                    features: r.read()?,
                    enabled: r.read()?,
                    request: read_request(r, v)?,
                },
                op::METADATA_UPDATE => NotifyPayload::MetadataUpdate {
                    key: r.read()?,
                    value: r.read()?,
                    request: read_request(r, v)?,
                },
                op::MIGRATE => NotifyPayload::Migrate { request: r.read()? },
                op::SPARSIFY => NotifyPayload::Sparsify {
                    request: r.read()?,
                    sparse_size: r.read()?,
                },
                op::QUIESCE => NotifyPayload::Quiesce { request: r.read()? },
                op::UNQUIESCE => NotifyPayload::Unquiesce { request: r.read()? },
                op => NotifyPayload::Unknown {
                    op,
                    data: Bytes::copy_from_slice(r.take(r.remaining())?),
                },
            };
            Ok(NotifyMessage { payload })
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
