//! MOSDOp (version 8, as Nautilus and later OSDs expect it) and
//! MOSDOpReply.

use bytes::{Bytes, BytesMut};
use ceph_encoding::{DecodeError, Encode, ErrorKind, Reader, UTime};

use super::op::{OpResult, OsdOp};
use super::types::{EVersion, ObjectLocator, PgId, ReqId, RequestRedirect, SPgId};

/// `CEPH_MSG_OSD_OP`.
pub const MSG_OSD_OP: u16 = 42;
/// `CEPH_MSG_OSD_OPREPLY`.
pub const MSG_OSD_OPREPLY: u16 = 43;
/// `CEPH_MSG_OSD_BACKOFF`.
pub const MSG_OSD_BACKOFF: u16 = 61;

/// The head snapshot id (`CEPH_NOSNAP`).
pub const NOSNAP: u64 = u64::MAX - 1;

/// Op flags (`CEPH_OSD_FLAG_*`).
pub mod flag {
    /// Want an ack.
    pub const ACK: u32 = 0x0001;
    /// Want the commit.
    pub const ONDISK: u32 = 0x0004;
    /// A resend.
    pub const RETRY: u32 = 0x0008;
    /// May read.
    pub const READ: u32 = 0x0010;
    /// May write.
    pub const WRITE: u32 = 0x0020;
    /// Fail with EOLDSNAPC if the snap context is older than the object's.
    pub const ORDERSNAP: u32 = 0x0040;
    /// A PG op (no object).
    pub const PGOP: u32 = 0x0400;
    /// May execute a class method.
    pub const EXEC: u32 = 0x0800;
    /// The client handles redirects itself (the REDIRECTED bit says
    /// whether it was redirected).
    pub const KNOWN_REDIR: u32 = 0x0040_0000;
    /// Send to any replica, not only the primary.
    pub const BALANCE_READS: u32 = 0x0100;
    /// Ignore cache-tier logic.
    pub const IGNORE_CACHE: u32 = 0x8000;
    /// Ignore the pool's overlay (tiering): the op names its pool.
    pub const IGNORE_OVERLAY: u32 = 0x0002_0000;
    /// The op was redirected by an OSD.
    pub const REDIRECTED: u32 = 0x0020_0000;
    /// Full-force: write even when the cluster is full.
    pub const FULL_FORCE: u32 = 0x0100_0000;
}

/// An operation request to an OSD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MOsdOp {
    /// The PG and shard the op is for.
    pub spgid: SPgId,
    /// The object's full hash.
    pub hash: u32,
    /// Our map epoch.
    pub epoch: u32,
    /// `flag::*`.
    pub flags: u32,
    /// The request id (zero: the OSD fills it in from the message).
    pub reqid: ReqId,
    /// Modification time for writes.
    pub mtime: UTime,
    /// Where the object is.
    pub oloc: ObjectLocator,
    /// The object's name.
    pub oid: String,
    /// The operations.
    pub ops: Vec<OsdOp>,
    /// The snapshot to read, or [`NOSNAP`].
    pub snapid: u64,
    /// The snap context's sequence (writes).
    pub snap_seq: u64,
    /// The snap context's snapshots, newest first (writes).
    pub snaps: Vec<u64>,
    /// How many times it was sent before.
    pub retry_attempt: i32,
    /// The features of the connection it goes on.
    pub features: u64,
}

/// The encoding version of [`MOsdOp`].
pub const MOSDOP_VERSION: u16 = 8;
/// The oldest version able to read it.
pub const MOSDOP_COMPAT: u16 = 3;

impl MOsdOp {
    /// The front part and the data part of the message.
    pub fn encode_parts(&self) -> (Bytes, Bytes) {
        let mut b = BytesMut::new();
        self.spgid.encode(&mut b, 0);
        self.hash.encode(&mut b, 0);
        self.epoch.encode(&mut b, 0);
        self.flags.encode(&mut b, 0);
        self.reqid.encode(&mut b, 0);
        // blkin trace info: trace, span and parent span ids (unused: 0).
        b.extend_from_slice(&[0u8; 24]);
        0i32.encode(&mut b, 0); // client_inc
        self.mtime.encode(&mut b, 0);
        self.oloc.encode(&mut b, 0);
        self.oid.encode(&mut b, 0);
        (self.ops.len() as u16).encode(&mut b, 0);
        for op in &self.ops {
            op.encode_head(&mut b);
        }
        self.snapid.encode(&mut b, 0);
        self.snap_seq.encode(&mut b, 0);
        self.snaps.encode(&mut b, 0);
        self.retry_attempt.encode(&mut b, 0);
        self.features.encode(&mut b, 0);
        // One op with data (a write): its bytes as they are, no copy.
        let mut with_data = self.ops.iter().filter(|o| !o.indata.is_empty());
        let data = match (with_data.next(), with_data.next()) {
            (None, _) => Bytes::new(),
            (Some(only), None) => only.indata.clone(),
            _ => {
                let mut data = BytesMut::new();
                for op in &self.ops {
                    data.extend_from_slice(&op.indata);
                }
                data.freeze()
            }
        };
        (b.freeze(), data)
    }
}

/// An OSD's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MOsdOpReply {
    /// The object.
    pub oid: String,
    /// The PG.
    pub pgid: PgId,
    /// `flag::*` of the request, with the ack kind.
    pub flags: u64,
    /// 0 or a negative errno for the whole request.
    pub result: i32,
    /// The OSD's map epoch.
    pub epoch: u32,
    /// Per-op results and output data.
    pub ops: Vec<OpResult>,
    /// The attempt this answers.
    pub retry_attempt: i32,
    /// The object's version after the op.
    pub user_version: u64,
    /// Where to send the op instead, if redirected.
    pub redirect: Option<RequestRedirect>,
}

impl MOsdOpReply {
    /// Decodes the front part (encoding `version` from the message
    /// header) and splits the data part among the ops.
    pub fn decode(front: &[u8], version: u16, data: &Bytes) -> Result<MOsdOpReply, DecodeError> {
        let mut r = Reader::new(front);
        if version < 2 {
            return Err(r.error(ErrorKind::InvalidValue {
                what: "MOSDOpReply version (pre-Firefly)",
                value: u64::from(version),
            }));
        }
        let oid: String = r.read()?;
        let pgid: PgId = r.read()?;
        let flags: u64 = r.read()?;
        let result: i32 = r.read()?;
        let _bad_replay: EVersion = r.read()?;
        let epoch: u32 = r.read()?;
        let n = r.read_len("ops", super::op::OSD_OP_LEN)?;
        let mut heads = Vec::with_capacity(n);
        for _ in 0..n {
            heads.push(OsdOp::decode_head(&mut r)?);
        }
        let retry_attempt = if version >= 3 { r.read::<i32>()? } else { -1 };
        let mut rvals = vec![0i32; n];
        if version >= 4 {
            for v in rvals.iter_mut() {
                *v = r.read()?;
            }
        }
        let mut user_version = 0;
        if version >= 5 {
            let _replay: EVersion = r.read()?;
            user_version = r.read()?;
        }
        let mut redirect = None;
        if version == 6 {
            let rd: RequestRedirect = r.read()?;
            if rd.redirect_locator.pool != -1 || !rd.redirect_object.is_empty() {
                redirect = Some(rd);
            }
        } else if version >= 7 {
            let has: bool = r.read()?;
            if has {
                redirect = Some(r.read()?);
            }
        }
        // Newer fields (qos, trace) are of no use to a client.
        let mut ops = Vec::with_capacity(n);
        let mut at = 0usize;
        for ((code, _flags, len), rval) in heads.into_iter().zip(rvals) {
            let len = len as usize;
            let end = at
                .checked_add(len)
                .filter(|e| *e <= data.len())
                .ok_or_else(|| {
                    DecodeError::new(
                        ErrorKind::Malformed {
                            what: "MOSDOpReply data",
                            reason: "op output lengths exceed the data part",
                        },
                        0,
                    )
                })?;
            ops.push(OpResult {
                code,
                rval,
                outdata: data.slice(at..end),
            });
            at = end;
        }
        Ok(MOsdOpReply {
            oid,
            pgid,
            flags,
            result,
            epoch,
            ops,
            retry_attempt,
            user_version,
            redirect,
        })
    }
}

impl MOsdOpReply {
    /// The front and data parts of this reply as an OSD sends it
    /// (encoding version 8), for scripted OSDs in tests and fuzz seeds.
    pub fn encode_parts(&self) -> (Bytes, Bytes) {
        let mut b = BytesMut::new();
        self.oid.encode(&mut b, 0);
        self.pgid.encode(&mut b, 0);
        self.flags.encode(&mut b, 0);
        self.result.encode(&mut b, 0);
        b.extend_from_slice(&[0u8; 12]); // bad_replay_version
        self.epoch.encode(&mut b, 0);
        (self.ops.len() as u32).encode(&mut b, 0);
        for op in &self.ops {
            op.code.encode(&mut b, 0);
            0u32.encode(&mut b, 0); // flags
            b.extend_from_slice(&[0u8; super::op::ARGS_LEN]);
            (op.outdata.len() as u32).encode(&mut b, 0);
        }
        self.retry_attempt.encode(&mut b, 0);
        for op in &self.ops {
            op.rval.encode(&mut b, 0);
        }
        b.extend_from_slice(&[0u8; 12]); // replay_version
        self.user_version.encode(&mut b, 0);
        match &self.redirect {
            Some(rd) => {
                true.encode(&mut b, 0);
                rd.encode(&mut b, 0);
            }
            None => false.encode(&mut b, 0),
        }
        b.extend_from_slice(&[0u8; 24]); // trace
        let mut data = BytesMut::new();
        for op in &self.ops {
            data.extend_from_slice(&op.outdata);
        }
        (b.freeze(), data.freeze())
    }
}

/// Decodes STAT's output: size and modification time.
pub fn decode_stat(out: &[u8]) -> Result<(u64, UTime), DecodeError> {
    let mut r = Reader::new(out);
    let size = r.read()?;
    let mtime = r.read()?;
    Ok((size, mtime))
}
