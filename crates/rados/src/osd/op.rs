//! One operation on an object (`ceph_osd_op` plus its input data), with
//! constructors for the operations a client uses, and what comes back.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Bytes, BytesMut};
use ceph_encoding::{Encode, Reader};

/// Op modes and types, as Ceph composes op codes.
const RD: u16 = 0x1000;
const WR: u16 = 0x2000;
const DATA: u16 = 0x0200;
const ATTR: u16 = 0x0300;
const EXEC: u16 = 0x0400;
const PG: u16 = 0x0500;

/// The op codes used here (`CEPH_OSD_OP_*`).
pub mod code {
    use super::*;
    /// Read an extent.
    pub const READ: u16 = RD | DATA | 1;
    /// Size and mtime.
    pub const STAT: u16 = RD | DATA | 2;
    /// Read an extent, holes as holes.
    pub const SPARSE_READ: u16 = RD | DATA | 5;
    /// Notify watchers.
    pub const NOTIFY: u16 = RD | DATA | 6;
    /// Acknowledge a notify.
    pub const NOTIFY_ACK: u16 = RD | DATA | 7;
    /// The watchers of an object.
    pub const LIST_WATCHERS: u16 = RD | DATA | 9;
    /// Snapshots of a head object.
    pub const LIST_SNAPS: u16 = RD | DATA | 10;
    /// Omap keys.
    pub const OMAP_GET_KEYS: u16 = RD | DATA | 17;
    /// Omap keys and values.
    pub const OMAP_GET_VALS: u16 = RD | DATA | 18;
    /// Omap values of given keys.
    pub const OMAP_GET_VALS_BY_KEYS: u16 = RD | DATA | 20;
    /// Write an extent.
    pub const WRITE: u16 = WR | DATA | 1;
    /// Replace the whole object.
    pub const WRITEFULL: u16 = WR | DATA | 2;
    /// Set the size.
    pub const TRUNCATE: u16 = WR | DATA | 3;
    /// Zero an extent.
    pub const ZERO: u16 = WR | DATA | 4;
    /// Remove the object.
    pub const DELETE: u16 = WR | DATA | 5;
    /// Append.
    pub const APPEND: u16 = WR | DATA | 6;
    /// Create (exclusive with the EXCL flag).
    pub const CREATE: u16 = WR | DATA | 13;
    /// Roll back to a snapshot.
    pub const ROLLBACK: u16 = WR | DATA | 14;
    /// Watch or unwatch.
    pub const WATCH: u16 = WR | DATA | 15;
    /// Set omap keys.
    pub const OMAP_SET_VALS: u16 = WR | DATA | 21;
    /// Clear the omap.
    pub const OMAP_CLEAR: u16 = WR | DATA | 23;
    /// Remove omap keys.
    pub const OMAP_RM_KEYS: u16 = WR | DATA | 24;
    /// One xattr.
    pub const GETXATTR: u16 = RD | ATTR | 1;
    /// All xattrs.
    pub const GETXATTRS: u16 = RD | ATTR | 2;
    /// Set an xattr.
    pub const SETXATTR: u16 = WR | ATTR | 1;
    /// Remove an xattr.
    pub const RMXATTR: u16 = WR | ATTR | 4;
    /// Call an object class method.
    pub const CALL: u16 = RD | EXEC | 1;
    /// List objects of a PG, with namespaces.
    pub const PGNLS: u16 = RD | PG | 5;
}

/// `CEPH_OSD_OP_FLAG_EXCL`: fail if the object exists.
pub const OP_FLAG_EXCL: u32 = 1;
/// `CEPH_OSD_OP_FLAG_FAILOK`: go on with the next ops if this one fails.
pub const OP_FLAG_FAILOK: u32 = 2;

/// The size of `ceph_osd_op` on the wire.
pub const OSD_OP_LEN: usize = 38;
/// The size of the union of per-op arguments.
pub(crate) const ARGS_LEN: usize = 28;

/// One operation: code, flags, the 28 bytes of arguments, and input data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsdOp {
    /// `CEPH_OSD_OP_*`.
    pub code: u16,
    /// `CEPH_OSD_OP_FLAG_*`.
    pub flags: u32,
    /// The op's arguments (the C union), little-endian.
    pub args: [u8; ARGS_LEN],
    /// Input data (sent in the message's data part).
    pub indata: Bytes,
}

fn args(fields: &[&[u8]]) -> [u8; ARGS_LEN] {
    let mut a = [0u8; ARGS_LEN];
    let mut at = 0;
    for f in fields {
        let end = (at + f.len()).min(ARGS_LEN);
        if let (Some(dst), Some(src)) = (a.get_mut(at..end), f.get(..end - at)) {
            dst.copy_from_slice(src);
        }
        at = end;
    }
    a
}

fn extent(offset: u64, length: u64) -> [u8; ARGS_LEN] {
    args(&[
        &offset.to_le_bytes(),
        &length.to_le_bytes(),
        &0u64.to_le_bytes(),
        &0u32.to_le_bytes(),
    ])
}

/// Appends a `bufferlist`: a 32-bit length and the bytes.
fn put_blob(d: &mut BytesMut, bytes: &[u8]) {
    (bytes.len() as u32).encode(d, 0);
    d.extend_from_slice(bytes);
}

fn encoded<T: Encode + ?Sized>(v: &T) -> Bytes {
    let mut b = BytesMut::new();
    v.encode(&mut b, 0);
    b.freeze()
}

impl OsdOp {
    fn new(code: u16, args: [u8; ARGS_LEN], indata: Bytes) -> OsdOp {
        OsdOp {
            code,
            flags: 0,
            args,
            indata,
        }
    }

    /// Whether the op may modify the object.
    pub fn is_write(&self) -> bool {
        self.code & WR != 0
    }

    /// Reads `length` bytes at `offset` (0 length: to the end).
    pub fn read(offset: u64, length: u64) -> OsdOp {
        Self::new(code::READ, extent(offset, length), Bytes::new())
    }

    /// Reads an extent as data and the map of where the data is.
    pub fn sparse_read(offset: u64, length: u64) -> OsdOp {
        Self::new(code::SPARSE_READ, extent(offset, length), Bytes::new())
    }

    /// Size and modification time.
    pub fn stat() -> OsdOp {
        Self::new(code::STAT, [0; ARGS_LEN], Bytes::new())
    }

    /// Writes `data` at `offset`.
    pub fn write(offset: u64, data: Bytes) -> OsdOp {
        let len = data.len() as u64;
        Self::new(code::WRITE, extent(offset, len), data)
    }

    /// Replaces the object's data with `data`.
    pub fn write_full(data: Bytes) -> OsdOp {
        let len = data.len() as u64;
        Self::new(code::WRITEFULL, extent(0, len), data)
    }

    /// Appends `data`.
    pub fn append(data: Bytes) -> OsdOp {
        let len = data.len() as u64;
        Self::new(code::APPEND, extent(0, len), data)
    }

    /// Sets the size to `size`.
    pub fn truncate(size: u64) -> OsdOp {
        Self::new(code::TRUNCATE, extent(size, 0), Bytes::new())
    }

    /// Zeroes an extent.
    pub fn zero(offset: u64, length: u64) -> OsdOp {
        Self::new(code::ZERO, extent(offset, length), Bytes::new())
    }

    /// Creates the object; with `exclusive`, fails with EEXIST if it exists.
    pub fn create(exclusive: bool) -> OsdOp {
        let mut op = Self::new(code::CREATE, [0; ARGS_LEN], Bytes::new());
        if exclusive {
            op.flags |= OP_FLAG_EXCL;
        }
        op
    }

    /// Removes the object.
    pub fn remove() -> OsdOp {
        Self::new(code::DELETE, [0; ARGS_LEN], Bytes::new())
    }

    /// Fails with ENOENT unless the object exists (a stat whose output is
    /// ignored, as librados does it).
    pub fn assert_exists() -> OsdOp {
        Self::stat()
    }

    /// One extended attribute.
    pub fn get_xattr(name: &str) -> OsdOp {
        let a = args(&[&(name.len() as u32).to_le_bytes(), &0u32.to_le_bytes()]);
        Self::new(code::GETXATTR, a, Bytes::copy_from_slice(name.as_bytes()))
    }

    /// All extended attributes.
    pub fn get_xattrs() -> OsdOp {
        Self::new(code::GETXATTRS, [0; ARGS_LEN], Bytes::new())
    }

    /// Sets an extended attribute.
    pub fn set_xattr(name: &str, value: &[u8]) -> OsdOp {
        let a = args(&[
            &(name.len() as u32).to_le_bytes(),
            &(value.len() as u32).to_le_bytes(),
        ]);
        let mut data = BytesMut::with_capacity(name.len() + value.len());
        data.extend_from_slice(name.as_bytes());
        data.extend_from_slice(value);
        Self::new(code::SETXATTR, a, data.freeze())
    }

    /// Removes an extended attribute.
    pub fn rm_xattr(name: &str) -> OsdOp {
        let a = args(&[&(name.len() as u32).to_le_bytes(), &0u32.to_le_bytes()]);
        Self::new(code::RMXATTR, a, Bytes::copy_from_slice(name.as_bytes()))
    }

    /// Omap keys after `start_after`, at most `max`.
    pub fn omap_get_keys(start_after: &str, max: u64) -> OsdOp {
        let mut d = BytesMut::new();
        start_after.encode(&mut d, 0);
        max.encode(&mut d, 0);
        Self::new(code::OMAP_GET_KEYS, [0; ARGS_LEN], d.freeze())
    }

    /// Omap keys and values after `start_after` with `prefix`, at most `max`.
    pub fn omap_get_vals(start_after: &str, prefix: &str, max: u64) -> OsdOp {
        let mut d = BytesMut::new();
        start_after.encode(&mut d, 0);
        max.encode(&mut d, 0);
        prefix.encode(&mut d, 0);
        Self::new(code::OMAP_GET_VALS, [0; ARGS_LEN], d.freeze())
    }

    /// Omap values of `keys`.
    pub fn omap_get_vals_by_keys(keys: &BTreeSet<String>) -> OsdOp {
        Self::new(code::OMAP_GET_VALS_BY_KEYS, [0; ARGS_LEN], encoded(keys))
    }

    /// Sets omap keys.
    pub fn omap_set(kv: &BTreeMap<String, Bytes>) -> OsdOp {
        Self::new(code::OMAP_SET_VALS, [0; ARGS_LEN], encoded(kv))
    }

    /// Removes omap keys.
    pub fn omap_rm_keys(keys: &BTreeSet<String>) -> OsdOp {
        Self::new(code::OMAP_RM_KEYS, [0; ARGS_LEN], encoded(keys))
    }

    /// Removes every omap key.
    pub fn omap_clear() -> OsdOp {
        Self::new(code::OMAP_CLEAR, [0; ARGS_LEN], Bytes::new())
    }

    /// Calls method `method` of object class `class` with `input`.
    pub fn call(class: &str, method: &str, input: &[u8]) -> OsdOp {
        let a = args(&[
            &[class.len() as u8, method.len() as u8, 0],
            &(input.len() as u32).to_le_bytes(),
        ]);
        let mut d = BytesMut::with_capacity(class.len() + method.len() + input.len());
        d.extend_from_slice(class.as_bytes());
        d.extend_from_slice(method.as_bytes());
        d.extend_from_slice(input);
        Self::new(code::CALL, a, d.freeze())
    }

    /// A watch operation (`CEPH_OSD_WATCH_OP_*` in `watch_op`) for the
    /// watch `cookie`, registration generation `gen`.
    pub fn watch(cookie: u64, watch_op: u8, gen: u32) -> OsdOp {
        let a = args(&[
            &cookie.to_le_bytes(),
            &0u64.to_le_bytes(),
            &[watch_op],
            &gen.to_le_bytes(),
            &0u32.to_le_bytes(),
        ]);
        Self::new(code::WATCH, a, Bytes::new())
    }

    /// Notifies the object's watchers with `payload`; they have
    /// `timeout_secs` to answer. The completion comes to `cookie`.
    pub fn notify(cookie: u64, timeout_secs: u32, payload: &[u8]) -> OsdOp {
        let mut d = BytesMut::with_capacity(12 + payload.len());
        1u32.encode(&mut d, 0); // protocol version
        timeout_secs.encode(&mut d, 0);
        put_blob(&mut d, payload);
        Self::new(code::NOTIFY, args(&[&cookie.to_le_bytes()]), d.freeze())
    }

    /// Answers notification `notify_id` received on watch `cookie`.
    pub fn notify_ack(notify_id: u64, cookie: u64, reply: &[u8]) -> OsdOp {
        let mut d = BytesMut::with_capacity(20 + reply.len());
        notify_id.encode(&mut d, 0);
        cookie.encode(&mut d, 0);
        put_blob(&mut d, reply);
        Self::new(code::NOTIFY_ACK, [0; ARGS_LEN], d.freeze())
    }

    /// Lists the object's watchers.
    pub fn list_watchers() -> OsdOp {
        Self::new(code::LIST_WATCHERS, [0; ARGS_LEN], Bytes::new())
    }

    /// Rolls the head object back to snapshot `snapid`.
    pub fn rollback(snapid: u64) -> OsdOp {
        Self::new(code::ROLLBACK, args(&[&snapid.to_le_bytes()]), Bytes::new())
    }

    /// Encodes the `ceph_osd_op` (38 bytes) with `payload_len` set.
    pub fn encode_head(&self, buf: &mut BytesMut) {
        self.code.encode(buf, 0);
        self.flags.encode(buf, 0);
        buf.extend_from_slice(&self.args);
        (self.indata.len() as u32).encode(buf, 0);
    }

    /// Reads the code, flags and payload length of a reply's op.
    pub fn decode_head(r: &mut Reader<'_>) -> Result<(u16, u32, u32), ceph_encoding::DecodeError> {
        let code: u16 = r.read()?;
        let flags: u32 = r.read()?;
        r.skip(ARGS_LEN)?;
        let payload_len: u32 = r.read()?;
        Ok((code, flags, payload_len))
    }
}

/// The result of one op in a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpResult {
    /// The op code.
    pub code: u16,
    /// Its return value (0 or a negative errno).
    pub rval: i32,
    /// Its output data.
    pub outdata: Bytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_ceph() {
        assert_eq!(code::READ, 0x1201);
        assert_eq!(code::WRITEFULL, 0x2202);
        assert_eq!(code::CREATE, 0x220d);
        assert_eq!(code::OMAP_SET_VALS, 0x2215);
        assert_eq!(code::CALL, 0x1401);
        assert_eq!(code::SETXATTR, 0x2301);
    }

    #[test]
    fn op_head_is_38_bytes_with_payload_len() {
        let op = OsdOp::write(4096, Bytes::from_static(b"abc"));
        let mut b = BytesMut::new();
        op.encode_head(&mut b);
        assert_eq!(b.len(), OSD_OP_LEN);
        assert_eq!(&b[..2], &code::WRITE.to_le_bytes());
        assert_eq!(&b[6..14], &4096u64.to_le_bytes());
        assert_eq!(&b[14..22], &3u64.to_le_bytes());
        assert_eq!(&b[34..38], &3u32.to_le_bytes());
        let mut r = Reader::new(&b);
        assert_eq!(OsdOp::decode_head(&mut r).unwrap(), (code::WRITE, 0, 3));
    }

    #[test]
    fn call_packs_class_method_and_input() {
        let op = OsdOp::call("rbd", "get_size", b"\x01\x02");
        assert_eq!(&op.args[..3], &[3, 8, 0]);
        assert_eq!(&op.args[3..7], &2u32.to_le_bytes());
        assert_eq!(&op.indata[..], b"rbdget_size\x01\x02");
    }
}
