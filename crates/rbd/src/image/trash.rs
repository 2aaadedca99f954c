//! The trash, as librbd's `Trash` API and TrashMoveRequest use it: an
//! image moved there keeps its id and header but loses its name (the
//! `rbd_id.<name>` object and directory entry); `rbd_trash` holds a record
//! of it with a state that makes each step restartable.

use std::time::Duration;

use ceph_common::errno::{EEXIST, ENOENT};
use ceph_encoding::UTime;
use ceph_rados::osd::OsdOp;
use ceph_rados::{IoCtx, Rados};

use super::cls_call::call;
use super::create;
use super::handle::Image;
use super::paging::list_all;
use crate::cls::rbd::{DirAddImage, DirRemoveImage, SetId, TrashAdd, TrashGet, TrashList};
use crate::cls::rbd::{TrashRemove, TrashStateSet};
use crate::cls::types::{
    TrashImageSpec, TRASH_SOURCE_USER, TRASH_STATE_MOVING, TRASH_STATE_NORMAL,
    TRASH_STATE_REMOVING, TRASH_STATE_RESTORING,
};
use crate::cls::ClsMethod;
use crate::names::{id_object, NOSNAP, RBD_DIRECTORY, RBD_TRASH};
use crate::{Error, Result};

/// An image in the trash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashEntry {
    /// The image's id.
    pub id: String,
    /// Its record: name before the move, source, times and state.
    pub spec: TrashImageSpec,
}

fn now() -> UTime {
    UTime::now().unwrap_or_default()
}

fn add(t: UTime, d: Duration) -> UTime {
    let nanos = u64::from(t.nsec) + u64::from(d.subsec_nanos());
    UTime {
        sec: t
            .sec
            .saturating_add(u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
            .saturating_add((nanos / 1_000_000_000) as u32),
        nsec: (nanos % 1_000_000_000) as u32,
    }
}

/// Refuses when another client has image `img` open.
async fn not_in_use(img: &Image, what: &str) -> Result<()> {
    let watchers = img
        .io
        .list_watchers(&img.header_oid())
        .await
        .map_err(|e| Error::rados("listing the image's watchers", e))?;
    if watchers.is_empty() {
        return Ok(());
    }
    Err(Error::Refused(format!(
        "image {}/{} is in use by {}: {what} refused (close it there first)",
        img.io.pool_name(),
        img.name.as_deref().unwrap_or(&img.id),
        watchers
            .iter()
            .map(|w| w.name.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Moves image `name` to the trash, where it may not be removed for
/// `delay`; returns its id. Refused while another client has it open.
pub async fn trash_move(rados: &Rados, io: &IoCtx, name: &str, delay: Duration) -> Result<String> {
    let img = Image::open(rados, io, name).await?;
    not_in_use(&img, "moving it to the trash").await?;
    let deletion_time = now();
    let mut spec = TrashImageSpec {
        source: TRASH_SOURCE_USER,
        name: name.to_string(),
        deletion_time,
        deferment_end_time: add(deletion_time, delay),
        state: TRASH_STATE_MOVING,
    };
    match call(
        io,
        RBD_TRASH,
        &TrashAdd {
            id: img.id.clone(),
            spec: spec.clone(),
        },
    )
    .await
    {
        // An earlier move that did not finish.
        Err(e) if e.errno() == Some(EEXIST) => {}
        other => other?,
    }
    match io.remove(&id_object(name)).await {
        Err(e) if e.errno() != Some(ENOENT) => {
            return Err(Error::rados(format!("removing {}", id_object(name)), e))
        }
        _ => {}
    }
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
        Err(e) if e.errno() != Some(ENOENT) => return Err(e),
        _ => {}
    }
    spec.state = TRASH_STATE_NORMAL;
    call(
        io,
        RBD_TRASH,
        &TrashStateSet {
            id: img.id.clone(),
            state: TRASH_STATE_NORMAL,
            expect_state: TRASH_STATE_MOVING,
        },
    )
    .await?;
    Ok(img.id)
}

/// The images in `io`'s trash, in id order.
pub async fn trash_list(io: &IoCtx) -> Result<Vec<TrashEntry>> {
    let records = list_all(io, RBD_TRASH, |start_after, max_return| TrashList {
        start_after,
        max_return,
    })
    .await?;
    Ok(records
        .into_iter()
        .map(|(id, spec)| TrashEntry { id, spec })
        .collect())
}

async fn trash_get(io: &IoCtx, id: &str) -> Result<TrashImageSpec> {
    match call(io, RBD_TRASH, &TrashGet { id: id.to_string() }).await {
        Err(e) if e.errno() == Some(ENOENT) => Err(Error::NotFound(format!(
            "image id {id} in the trash of pool {}",
            io.pool_name()
        ))),
        other => other,
    }
}

async fn set_state(io: &IoCtx, id: &str, state: u8, expect_state: u8) -> Result<()> {
    call(
        io,
        RBD_TRASH,
        &TrashStateSet {
            id: id.to_string(),
            state,
            expect_state,
        },
    )
    .await
}

/// Restores image `id` from the trash, under `name` (its name before the
/// move when `None`).
pub async fn trash_restore(io: &IoCtx, id: &str, name: Option<&str>) -> Result<()> {
    let spec = trash_get(io, id).await?;
    if spec.state != TRASH_STATE_NORMAL && spec.state != TRASH_STATE_RESTORING {
        return Err(Error::Refused(format!(
            "image id {id} is being moved or removed (trash state {})",
            spec.state
        )));
    }
    let name = name.unwrap_or(&spec.name).to_string();
    if spec.state == TRASH_STATE_NORMAL {
        set_state(io, id, TRASH_STATE_RESTORING, TRASH_STATE_NORMAL).await?;
    }
    let restored = async {
        let id_oid = id_object(&name);
        let ops = vec![
            OsdOp::create(true),
            OsdOp::call(
                SetId::CLASS,
                SetId::METHOD,
                &SetId { id: id.to_string() }.input(),
            ),
        ];
        match io.operate(&id_oid, ops).await {
            Ok(_) => {}
            Err(e) if e.errno() == Some(EEXIST) => {
                return Err(Error::Rados {
                    context: format!("restoring image id {id} as {}/{name}", io.pool_name()),
                    errno: Some(EEXIST),
                    message: "an image of that name exists".into(),
                })
            }
            Err(e) => return Err(Error::rados(format!("creating {id_oid}"), e)),
        }
        if let Err(e) = call(
            io,
            RBD_DIRECTORY,
            &DirAddImage {
                name: name.clone(),
                id: id.to_string(),
            },
        )
        .await
        {
            let _ = io.remove(&id_oid).await;
            return Err(e);
        }
        Ok(())
    }
    .await;
    if let Err(e) = restored {
        let _ = set_state(io, id, TRASH_STATE_NORMAL, TRASH_STATE_RESTORING).await;
        return Err(e);
    }
    call(io, RBD_TRASH, &TrashRemove { id: id.to_string() }).await
}

/// Removes image `id` from the trash with all its data. Refused before
/// the end of its deferment unless `force`, and while it has snapshots
/// or another client has it open.
pub async fn trash_remove(rados: &Rados, io: &IoCtx, id: &str, force: bool) -> Result<()> {
    let spec = trash_get(io, id).await?;
    if !force && now() < spec.deferment_end_time {
        return Err(Error::Refused(format!(
            "image id {id} ({}) may not be removed from the trash before unix time {}: force it if you must",
            spec.name, spec.deferment_end_time.sec
        )));
    }
    if spec.state != TRASH_STATE_REMOVING {
        if spec.state != TRASH_STATE_NORMAL {
            return Err(Error::Refused(format!(
                "image id {id} is being moved or restored (trash state {})",
                spec.state
            )));
        }
        set_state(io, id, TRASH_STATE_REMOVING, TRASH_STATE_NORMAL).await?;
    }
    let removed = async {
        match Image::open_id(rados, io, id, Some(spec.name.clone()), NOSNAP).await {
            Ok(img) => {
                not_in_use(&img, "removing it").await?;
                create::remove_opened(img, None).await
            }
            // Its header went in an earlier attempt.
            Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
    .await;
    if let Err(e) = removed {
        let _ = set_state(io, id, TRASH_STATE_NORMAL, TRASH_STATE_REMOVING).await;
        return Err(e);
    }
    call(io, RBD_TRASH, &TrashRemove { id: id.to_string() }).await
}
