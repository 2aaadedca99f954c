//! Images on a cluster: open (by name or id, at the head or a snapshot),
//! metadata, reads through any depth of parents, snapshots, clones,
//! creation and removal. Everything goes through the `rbd` and `lock`
//! object classes as librbd does it.

mod clone;
mod create;
mod io;
mod lock;
mod meta;
mod snapshot;

use bytes::Bytes;
use ceph_rados::{IoCtx, Rados};

pub use clone::{CloneFormat, CloneOptions};
pub use create::{create_image, remove_image, CreateOptions};
pub use meta::{ImageMeta, ParentInfo, SnapInfo};

use crate::cls::ClsMethod;
use crate::{Error, Result};

/// Runs one object-class method on `oid` and decodes its answer.
pub(crate) async fn call<M: ClsMethod>(io: &IoCtx, oid: &str, m: &M) -> Result<M::Output> {
    let out = io
        .call(oid, M::CLASS, M::METHOD, &m.input())
        .await
        .map_err(|e| Error::rados(format!("{}.{} on {oid}", M::CLASS, M::METHOD), e))?;
    M::decode_output(&out)
}

/// An open image.
#[derive(Debug, Clone)]
pub struct Image {
    rados: Rados,
    /// The pool of the header (and the image's id and directory entry).
    io: IoCtx,
    /// The pool of the data objects.
    data_io: IoCtx,
    name: Option<String>,
    id: String,
    snap_id: u64,
    meta: ImageMeta,
}

impl Image {
    /// Opens image `name` in `io`'s pool at the head.
    pub async fn open(rados: &Rados, io: &IoCtx, name: &str) -> Result<Image> {
        let id = meta::id_of(io, name).await?;
        Self::open_id(rados, io, &id, Some(name.to_string()), crate::names::NOSNAP).await
    }

    /// Opens image `id` (its name given if known) at snapshot `snap_id`
    /// ([`NOSNAP`](crate::names::NOSNAP) for the head).
    pub async fn open_id(
        rados: &Rados,
        io: &IoCtx,
        id: &str,
        name: Option<String>,
        snap_id: u64,
    ) -> Result<Image> {
        let meta = ImageMeta::load(io, id, snap_id).await?;
        let data_io = if meta.data_pool_id >= 0 && meta.data_pool_id != io.pool_id() {
            let pool = rados
                .objecter()
                .maps()
                .and_then(|m| m.osdmap.pool_name(meta.data_pool_id).map(str::to_string))
                .ok_or_else(|| Error::NotFound(format!("data pool {}", meta.data_pool_id)))?;
            let mut d = rados
                .ioctx(&pool)
                .map_err(|e| Error::rados("opening the data pool", e))?;
            d.set_namespace(io.namespace());
            d
        } else {
            io.clone()
        };
        Ok(Image {
            rados: rados.clone(),
            io: io.clone(),
            data_io,
            name,
            id: id.to_string(),
            snap_id,
            meta,
        })
    }

    /// Opens snapshot `snap_name` of this image.
    pub async fn at_snapshot(&self, snap_name: &str) -> Result<Image> {
        let snap = self.snapshot(snap_name)?;
        Self::open_id(&self.rados, &self.io, &self.id, self.name.clone(), snap.id).await
    }

    /// Reads the metadata again (after a change).
    pub async fn refresh(&mut self) -> Result<()> {
        self.meta = ImageMeta::load(&self.io, &self.id, self.snap_id).await?;
        Ok(())
    }

    /// The image's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The image's name, when opened by name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The snapshot this handle reads ([`NOSNAP`](crate::names::NOSNAP):
    /// the head).
    pub fn snap_id(&self) -> u64 {
        self.snap_id
    }

    /// The image's metadata.
    pub fn meta(&self) -> &ImageMeta {
        &self.meta
    }

    /// The size of what this handle reads (the head's or the snapshot's).
    pub fn size(&self) -> u64 {
        self.meta.size
    }

    /// The header's pool.
    pub fn ioctx(&self) -> &IoCtx {
        &self.io
    }

    /// The cluster.
    pub fn rados(&self) -> &Rados {
        &self.rados
    }

    /// The header object's name.
    pub fn header_oid(&self) -> String {
        crate::names::header_object(&self.id)
    }

    /// Snapshot `name` (user namespace).
    pub fn snapshot(&self, name: &str) -> Result<&SnapInfo> {
        self.meta
            .snaps
            .iter()
            .find(|s| s.name == name && s.is_user())
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "snapshot {}@{name}",
                    self.name.as_deref().unwrap_or(&self.id)
                ))
            })
    }

    /// Reads `len` bytes at `offset` (short at the end of the image).
    pub async fn read(&self, offset: u64, len: u64) -> Result<Bytes> {
        io::read(self, offset, len).await
    }
}

/// The name of image `id` in `io`'s pool (from `rbd_directory`).
pub async fn image_name(io: &IoCtx, id: &str) -> Result<String> {
    call(
        io,
        crate::names::RBD_DIRECTORY,
        &crate::cls::rbd::DirGetName { id: id.to_string() },
    )
    .await
}
