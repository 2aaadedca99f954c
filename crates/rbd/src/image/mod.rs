//! Images on a cluster: open (by name or id, at the head or a snapshot),
//! metadata, reads through any depth of parents, writes (with the
//! exclusive lock, the object map and copy-up from the parent), resize,
//! snapshots, clones, creation, removal, listing and the trash.
//! Everything goes through the `rbd` and `lock` object classes as librbd
//! does it.

mod clone;
mod create;
mod io;
mod list;
mod lock;
mod meta;
mod object_map;
mod paging;
mod resize;
mod snapshot;
mod sparse;
mod trash;
mod write;

use std::sync::Arc;

use bytes::Bytes;
use ceph_rados::{IoCtx, Rados};

pub use clone::{CloneFormat, CloneOptions};
pub use create::{create_image, remove_image, CreateOptions, DEFAULT_FEATURES};
pub use list::list_images;
pub use meta::{ImageMeta, ParentInfo, SnapInfo};
pub use trash::{trash_list, trash_move, trash_remove, trash_restore, TrashEntry};

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
    /// The lock, object map and snapshot context writes use, shared by
    /// this handle's clones.
    shared: lock::SharedState,
    /// Writes hold it shared; what must not run beside them (snapshot,
    /// resize, close) holds it alone.
    gate: Arc<tokio::sync::RwLock<()>>,
    /// The parent, opened once (reads and copy-ups of a clone need it).
    parent_cache: Arc<tokio::sync::OnceCell<Option<Image>>>,
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
            shared: lock::SharedState::default(),
            gate: Arc::default(),
            parent_cache: Arc::default(),
        })
    }

    /// Opens snapshot `snap_name` of this image.
    pub async fn at_snapshot(&self, snap_name: &str) -> Result<Image> {
        let snap = self.snapshot(snap_name)?;
        Self::open_id(&self.rados, &self.io, &self.id, self.name.clone(), snap.id).await
    }

    /// Reads the metadata again (after a change).
    pub async fn refresh(&mut self) -> Result<()> {
        let meta = ImageMeta::load(&self.io, &self.id, self.snap_id).await?;
        let same_parent =
            meta.parent.as_ref().map(|p| &p.spec) == self.meta.parent.as_ref().map(|p| &p.spec);
        if !same_parent {
            self.parent_cache = Arc::default();
        }
        self.meta = meta;
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

    /// The pool of the data objects (where snapshot ids come from).
    pub fn data_ioctx(&self) -> &IoCtx {
        &self.data_io
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

    /// Writes `data` at `offset` of the head; the range must lie within
    /// the image. Objects are written in parallel with the image's
    /// snapshot context. An image with the exclusive lock has it taken on
    /// the first write and kept (by this handle and its clones) until
    /// [`close`](Image::close); when another live client holds it the
    /// write is refused (an [`Error::Refused`] naming the holder). The
    /// object map, if any, is updated before the data, and a clone's
    /// objects are copied up from the parent first, as librbd does.
    pub async fn write(&self, offset: u64, data: Bytes) -> Result<()> {
        write::write(self, offset, data).await
    }

    /// Discards `len` bytes at `offset` of the head: whole objects are
    /// removed, parts zeroed (in a clone, within the parent overlap, zeros
    /// are written so the parent's data does not show through). Reads of
    /// the range give zeros afterwards.
    pub async fn discard(&self, offset: u64, len: u64) -> Result<()> {
        write::discard(self, offset, len).await
    }

    /// Whether this handle (or a clone of it) holds the exclusive lock.
    pub async fn holds_lock(&self) -> bool {
        self.shared.lock().await.held.is_some()
    }

    /// Releases the exclusive lock (and the object map's lock) if this
    /// handle took them for writing. Call it when done writing: a handle
    /// dropped without it keeps the lock until the client disconnects
    /// (after which librbd clients break it). Idempotent.
    pub async fn close(&self) -> Result<()> {
        let _gate = self.gate.write().await;
        let mut st = self.shared.lock().await;
        let Some(held) = st.held.take() else {
            return Ok(());
        };
        let had_map = st.object_map.take().is_some();
        st.snapc = None;
        if had_map {
            if let Err(e) = object_map::unlock(self).await {
                tracing::warn!("unlocking the object map: {e}");
            }
        }
        lock::release(self, held).await
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
