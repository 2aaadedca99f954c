//! An open image: its handle, opening it, and what it knows of itself.
//! The parts that act on an image add their methods in their own files
//! (reads in `io.rs`, writes and `close` in `write.rs`, snapshots,
//! resize, clones...).

use std::sync::Arc;

use ceph_rados::{IoCtx, Rados};

use super::cls_call::call;
use super::meta::{id_of, ImageMeta, SnapInfo};
use super::write_state::SharedState;
use crate::object_map::BitVector2;
use crate::{Error, Result};

/// An open image.
#[derive(Debug, Clone)]
pub struct Image {
    pub(super) rados: Rados,
    /// The pool of the header (and the image's id and directory entry).
    pub(super) io: IoCtx,
    /// The pool of the data objects.
    pub(super) data_io: IoCtx,
    pub(super) name: Option<String>,
    pub(super) id: String,
    pub(super) snap_id: u64,
    pub(super) meta: ImageMeta,
    /// The lock, object map and snapshot context writes use, shared by
    /// this handle's clones.
    pub(super) shared: SharedState,
    /// Writes hold it shared; what must not run beside them (snapshot,
    /// resize, close) holds it alone.
    pub(super) gate: Arc<tokio::sync::RwLock<()>>,
    /// The parent, opened once (reads and copy-ups of a clone need it).
    pub(super) parent_cache: Arc<tokio::sync::OnceCell<Option<Image>>>,
    /// The snapshot's object map reads trust, read once (`read_map.rs`).
    pub(super) read_map_cache: Arc<tokio::sync::OnceCell<Option<Arc<BitVector2>>>>,
}

impl Image {
    /// Opens image `name` in `io`'s pool at the head.
    pub async fn open(rados: &Rados, io: &IoCtx, name: &str) -> Result<Image> {
        let id = id_of(io, name).await?;
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
            shared: SharedState::default(),
            gate: Arc::default(),
            parent_cache: Arc::default(),
            read_map_cache: Arc::default(),
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
        self.read_map_cache = Arc::default();
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

    /// Whether this handle (or a clone of it) holds the exclusive lock.
    pub async fn holds_lock(&self) -> bool {
        self.shared.lock().await.held.is_some()
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
