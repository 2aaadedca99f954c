//! Creating and removing format-2 images, each step undone on failure.

use std::hash::{BuildHasher, Hasher};

use ceph_common::errno::{EEXIST, ENOENT};
use ceph_rados::{IoCtx, Rados};
use futures::stream::{self, StreamExt};

use super::cls_call::call;
use super::handle::Image;
use super::list::data_objects_to_visit;
use crate::cls::rbd::{
    ChildDetach, Create, DirAddImage, DirRemoveImage, ObjectMapResize, RemoveChild, SetId,
    SetStripeUnitCount,
};
use crate::cls::types::ChildImageSpec;
use crate::features::{self, EXCLUSIVE_LOCK, FAST_DIFF, JOURNALING, OBJECT_MAP, STRIPINGV2};
use crate::names::{header_object, id_object, object_map_object, RBD_CHILDREN, RBD_DIRECTORY};
use crate::object_map::OBJECT_NONEXISTENT;
use crate::striper::Layout;
use crate::{Error, Result};

/// The features `rbd create` gives by default (layering, exclusive-lock,
/// object-map, fast-diff, deep-flatten).
pub const DEFAULT_FEATURES: u64 = 61;

/// The features this client can create and maintain.
pub const SUPPORTED_FEATURES: u64 = features::LAYERING
    | STRIPINGV2
    | EXCLUSIVE_LOCK
    | OBJECT_MAP
    | FAST_DIFF
    | features::DEEP_FLATTEN
    | features::DATA_POOL;

/// How to make an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    /// Object order (22: 4 MiB objects).
    pub order: u8,
    /// Feature bits.
    pub features: u64,
    /// Stripe unit and count (`None`: one object after the other).
    pub striping: Option<(u64, u64)>,
    /// A separate pool for the data objects.
    pub data_pool: Option<i64>,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            order: 22,
            features: DEFAULT_FEATURES,
            striping: None,
            data_pool: None,
        }
    }
}

/// A new image id: our global id and a random number, in hex, as librbd
/// makes them.
fn new_image_id(rados: &Rados) -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    let extra = (h.finish() & 0xffff_ffff) as u32;
    let id = format!("{:x}{:x}", rados.mon().global_id(), extra);
    let skip = id.len().saturating_sub(16);
    id[skip..].to_string()
}

/// Checks a feature set the way librbd does before creating.
fn validate(opts: &CreateOptions) -> Result<u64> {
    let mut f = opts.features;
    if opts.striping.is_some() {
        f |= STRIPINGV2;
    }
    if opts.data_pool.is_some() {
        f |= features::DATA_POOL;
    }
    let unsupported = f & !SUPPORTED_FEATURES;
    if unsupported != 0 {
        let what = if unsupported & JOURNALING != 0 {
            "journaling".to_string()
        } else {
            features::feature_names(unsupported).join(", ")
        };
        return Err(Error::Unsupported(format!(
            "this client cannot create images with feature(s) {what}"
        )));
    }
    if f & FAST_DIFF != 0 && f & OBJECT_MAP == 0 {
        return Err(Error::Refused("fast-diff needs object-map".into()));
    }
    if f & OBJECT_MAP != 0 && f & EXCLUSIVE_LOCK == 0 {
        return Err(Error::Refused("object-map needs exclusive-lock".into()));
    }
    if !(12..=25).contains(&opts.order) {
        return Err(Error::Refused(format!(
            "object order {} is outside 12..=25",
            opts.order
        )));
    }
    Ok(f)
}

/// Refuses what librbd refuses: a header in an erasure-coded pool (it
/// needs omap) and a data pool that is erasure-coded without overwrites.
fn check_pools(rados: &Rados, io: &IoCtx, opts: &CreateOptions) -> Result<()> {
    let Some(maps) = rados.objecter().maps() else {
        return Ok(());
    };
    if maps
        .osdmap
        .pools
        .get(&io.pool_id())
        .is_some_and(|p| p.is_erasure())
    {
        let pool = io.pool_name();
        return Err(Error::Refused(format!(
            "pool {pool} is erasure-coded and cannot hold an image's header (it needs omap); create the image in a replicated pool with --data-pool {pool}"
        )));
    }
    if let Some(data) = opts.data_pool {
        let Some(p) = maps.osdmap.pools.get(&data) else {
            return Err(Error::NotFound(format!("data pool {data}")));
        };
        if p.is_erasure() && !p.has_flag(ceph_rados::osdmap::pool_flags::EC_OVERWRITES) {
            let name = maps.osdmap.pool_name(data).unwrap_or("?").to_string();
            return Err(Error::Refused(format!(
                "data pool {name} is erasure-coded without overwrites; run `ceph osd pool set {name} allow_ec_overwrites true`"
            )));
        }
    }
    Ok(())
}

/// Creates image `name` of `size` bytes in `io`'s pool; returns its id.
pub async fn create_image(
    rados: &Rados,
    io: &IoCtx,
    name: &str,
    size: u64,
    opts: &CreateOptions,
) -> Result<String> {
    let features = validate(opts)?;
    check_pools(rados, io, opts)?;
    let layout = match opts.striping {
        Some((unit, count)) => Layout {
            object_size: 1 << opts.order,
            stripe_unit: unit,
            stripe_count: count,
        },
        None => Layout::simple(opts.order),
    };
    if !layout.is_valid() {
        return Err(Error::Refused(format!(
            "stripe unit {} and count {} do not fit objects of {} bytes",
            layout.stripe_unit, layout.stripe_count, layout.object_size
        )));
    }
    let id = new_image_id(rados);
    // With a data pool, librbd names data objects after the header's pool
    // (`rbd_data.<header pool id>.<id>`), whatever the data pool is.
    let prefix = crate::names::data_object_prefix(&id, opts.data_pool.map(|_| io.pool_id()));

    // The id object, exclusively: an existing name fails here.
    let id_oid = id_object(name);
    let mut ops = vec![ceph_rados::osd::OsdOp::create(true)];
    ops.push(ceph_rados::osd::OsdOp::call(
        "rbd",
        "set_id",
        &crate::cls::ClsMethod::input(&SetId { id: id.clone() }),
    ));
    match io.operate(&id_oid, ops).await {
        Ok(_) => {}
        Err(e) if e.errno() == Some(EEXIST) => {
            return Err(Error::Rados {
                context: format!("creating image {}/{name}", io.pool_name()),
                errno: Some(EEXIST),
                message: "an image of that name exists".into(),
            })
        }
        Err(e) => return Err(Error::rados(format!("creating {id_oid}"), e)),
    }
    let made = async {
        call(
            io,
            RBD_DIRECTORY,
            &DirAddImage {
                name: name.to_string(),
                id: id.clone(),
            },
        )
        .await?;
        let header = header_object(&id);
        call(
            io,
            &header,
            &Create {
                size,
                order: opts.order,
                features,
                object_prefix: prefix.clone(),
                data_pool_id: opts.data_pool.unwrap_or(-1),
            },
        )
        .await?;
        if let Some((unit, count)) = opts.striping {
            call(
                io,
                &header,
                &SetStripeUnitCount {
                    stripe_unit: unit,
                    stripe_count: count,
                },
            )
            .await?;
        }
        if features & OBJECT_MAP != 0 {
            call(
                io,
                &object_map_object(&id, crate::names::NOSNAP),
                &ObjectMapResize {
                    object_count: layout.object_count(size),
                    default_state: OBJECT_NONEXISTENT,
                },
            )
            .await?;
        }
        Ok::<(), Error>(())
    }
    .await;
    if let Err(e) = made {
        let _ = io
            .remove(&object_map_object(&id, crate::names::NOSNAP))
            .await;
        let _ = io.remove(&header_object(&id)).await;
        let _ = call(
            io,
            RBD_DIRECTORY,
            &DirRemoveImage {
                name: name.to_string(),
                id: id.clone(),
            },
        )
        .await;
        let _ = io.remove(&id_oid).await;
        return Err(e);
    }
    Ok(id)
}

/// Removes image `name`: refused while it has snapshots or another
/// client has it open; a clone is detached from its parent first.
pub async fn remove_image(rados: &Rados, io: &IoCtx, name: &str) -> Result<()> {
    let img = Image::open(rados, io, name).await?;
    remove_opened(img, Some(name)).await
}

/// Removes an opened image: its data, object maps and header, and, when
/// `name` is given, its id object and directory entry.
pub(crate) async fn remove_opened(img: Image, name: Option<&str>) -> Result<()> {
    let io = &img.io;
    let shown = name.unwrap_or(&img.id);
    let live: Vec<_> = img.meta.snaps.iter().filter(|s| s.is_user()).collect();
    if !live.is_empty() {
        return Err(Error::Refused(format!(
            "image {}/{shown} has {} snapshot(s): remove them first",
            io.pool_name(),
            live.len()
        )));
    }
    let header = img.header_oid();
    let watchers = io
        .list_watchers(&header)
        .await
        .map_err(|e| Error::rados("listing the image's watchers", e))?;
    if !watchers.is_empty() {
        return Err(Error::Refused(format!(
            "image {}/{shown} is open by another client ({}): close it first",
            io.pool_name(),
            watchers
                .iter()
                .map(|w| w.name.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if let Some(p) = &img.meta.parent {
        detach_from_parent(&img, &p.spec).await?;
    }
    // Data objects: every number (those that never existed answer
    // ENOENT), or for an image of many objects those its data pool lists
    // (whatever their number: the size may be a crafted one).
    let count = img.meta.layout.object_count(img.meta.size);
    let data_io = &img.data_io;
    let oids = data_objects_to_visit(data_io, &img.meta.object_prefix, count, true).await?;
    let failures: Vec<Error> = stream::iter(oids)
        .map(|oid| async move {
            match data_io.remove(&oid).await {
                Ok(()) => None,
                Err(e) if e.errno() == Some(ENOENT) => None,
                Err(e) => Some(Error::rados(format!("removing {oid}"), e)),
            }
        })
        .buffer_unordered(32)
        .filter_map(|x| async move { x })
        .collect()
        .await;
    if let Some(e) = failures.into_iter().next() {
        return Err(e);
    }
    for snap in &img.meta.snaps {
        let _ = io.remove(&object_map_object(&img.id, snap.id)).await;
    }
    let mut oids = vec![object_map_object(&img.id, crate::names::NOSNAP), header];
    if let Some(name) = name {
        oids.push(id_object(name));
    }
    for oid in oids {
        match io.remove(&oid).await {
            Ok(()) => {}
            Err(e) if e.errno() == Some(ENOENT) => {}
            Err(e) => return Err(Error::rados(format!("removing {oid}"), e)),
        }
    }
    let Some(name) = name else {
        return Ok(());
    };
    match call(
        io,
        RBD_DIRECTORY,
        &DirRemoveImage {
            name: name.to_string(),
            id: img.id.clone(),
        },
    )
    .await
    {
        Err(e) if e.errno() != Some(ENOENT) => Err(e),
        _ => Ok(()),
    }
}

/// Removes a clone's registration with its parent (v2 on the parent's
/// header, v1 in `rbd_children`).
async fn detach_from_parent(
    img: &Image,
    parent: &crate::cls::types::ParentImageSpec,
) -> Result<()> {
    let child = ChildImageSpec {
        pool_id: img.io.pool_id(),
        image_id: img.id.clone(),
        pool_namespace: img.io.namespace().to_string(),
    };
    if img.meta.op_features & features::OP_FEATURE_CLONE_CHILD != 0 {
        let pool = img
            .rados
            .objecter()
            .maps()
            .and_then(|m| m.osdmap.pool_name(parent.pool_id).map(str::to_string))
            .ok_or_else(|| Error::NotFound(format!("parent pool {}", parent.pool_id)))?;
        let mut pio = img
            .rados
            .ioctx(&pool)
            .map_err(|e| Error::rados("opening the parent's pool", e))?;
        pio.set_namespace(&parent.pool_namespace);
        match call(
            &pio,
            &header_object(&parent.image_id),
            &ChildDetach {
                snap_id: parent.snap_id,
                child,
            },
        )
        .await
        {
            Err(e) if e.errno() != Some(ENOENT) => return Err(e),
            _ => {}
        }
        // A trashed parent snapshot whose last child left goes too.
        let mut p = Image::open_id(
            &img.rados,
            &pio,
            &parent.image_id,
            None,
            crate::names::NOSNAP,
        )
        .await?;
        if let Some(s) = p
            .meta
            .snaps
            .iter()
            .find(|s| s.id == parent.snap_id)
            .cloned()
        {
            if s.trashed_name().is_some() && s.child_count == 0 {
                let _ = p.remove_trashed_snapshot(s.id).await;
            }
        }
    } else {
        match call(
            &img.io,
            RBD_CHILDREN,
            &RemoveChild {
                parent_pool_id: parent.pool_id,
                parent_image_id: parent.image_id.clone(),
                parent_snap_id: parent.snap_id,
                child_image_id: img.id.clone(),
            },
        )
        .await
        {
            Err(e) if e.errno() != Some(ENOENT) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
