//! The head's object map while we hold the exclusive lock, as librbd
//! keeps it: the map object gets its own `rbd_lock` (empty cookie and
//! tag, stale holders' locks broken), every update is guarded by
//! `assert_locked` on it, and the in-memory copy follows each update the
//! OSD accepted.

use ceph_common::errno::{EBUSY, EEXIST, ENOENT};
use ceph_rados::osd::OsdOp;

use super::cls_call::call;
use super::handle::Image;
use super::write_state::WriteState;
use crate::cls::lock::{AssertLocked, BreakLock, GetInfo, Lock, LockType, Unlock, RBD_LOCK_NAME};
use crate::cls::rbd::{ObjectMapLoad, ObjectMapResize, ObjectMapUpdate};
use crate::cls::ClsMethod;
use crate::names::{object_map_object, NOSNAP};
use crate::object_map::BitVector2;
use crate::{Error, Result};

fn oid(img: &Image) -> String {
    object_map_object(&img.id, NOSNAP)
}

/// Reads the head's object map.
pub(crate) async fn load(img: &Image) -> Result<BitVector2> {
    call(&img.io, &oid(img), &ObjectMapLoad {}).await
}

/// Takes the map object's lock, breaking stale holders' (we hold the
/// image's exclusive lock, so any other holder is gone).
pub(crate) async fn lock(img: &Image) -> Result<()> {
    let oid = oid(img);
    let lock = Lock {
        name: RBD_LOCK_NAME.to_string(),
        lock_type: LockType::Exclusive,
        cookie: String::new(),
        tag: String::new(),
        description: String::new(),
        duration: ceph_encoding::UTime::default(),
        flags: 0,
    };
    for _ in 0..2 {
        match call(&img.io, &oid, &lock).await {
            Ok(()) => return Ok(()),
            Err(e) if e.errno() == Some(EEXIST) => return Ok(()),
            Err(e) if e.errno() == Some(EBUSY) => {}
            Err(e) => return Err(e),
        }
        let info = match call(
            &img.io,
            &oid,
            &GetInfo {
                name: RBD_LOCK_NAME.to_string(),
            },
        )
        .await
        {
            Err(e) if e.errno() == Some(ENOENT) => continue,
            other => other?,
        };
        for (locker, _) in info.lockers {
            tracing::info!(locker = %locker.locker, "breaking a stale object map lock");
            match call(
                &img.io,
                &oid,
                &BreakLock {
                    name: RBD_LOCK_NAME.to_string(),
                    locker: locker.locker,
                    cookie: locker.cookie,
                },
            )
            .await
            {
                Err(e) if e.errno() != Some(ENOENT) => return Err(e),
                _ => {}
            }
        }
    }
    Err(Error::Refused(format!(
        "could not lock the object map of image {}",
        img.id
    )))
}

/// Releases the map object's lock.
pub(crate) async fn unlock(img: &Image) -> Result<()> {
    match call(
        &img.io,
        &oid(img),
        &Unlock {
            name: RBD_LOCK_NAME.to_string(),
            cookie: String::new(),
        },
    )
    .await
    {
        Err(e) if e.errno() != Some(ENOENT) => Err(e),
        _ => Ok(()),
    }
}

/// The guard librbd puts before every head map update.
fn assert_locked() -> OsdOp {
    let m = AssertLocked {
        name: RBD_LOCK_NAME.to_string(),
        lock_type: LockType::Exclusive,
        cookie: String::new(),
        tag: String::new(),
    };
    OsdOp::call(AssertLocked::CLASS, AssertLocked::METHOD, &m.input())
}

/// Runs `ops` after the lock guard on the map object.
async fn guarded(img: &Image, ops: Vec<OsdOp>) -> Result<()> {
    let oid = oid(img);
    let mut all = vec![assert_locked()];
    all.extend(ops);
    img.io
        .operate(&oid, all)
        .await
        .map_err(|e| Error::rados(format!("updating the object map {oid}"), e))?;
    Ok(())
}

/// Contiguous runs of `objects` (sorted, deduplicated).
fn runs(objects: &[u64]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &n in objects {
        match out.last_mut() {
            Some((_, end)) if *end == n => *end += 1,
            _ => out.push((n, n + 1)),
        }
    }
    out
}

/// Sets `objects` (sorted) to `state` where they are not in it yet, on
/// the OSD then in memory. Does nothing without a loaded map.
pub(crate) async fn set_state(
    img: &Image,
    st: &mut WriteState,
    objects: &[u64],
    state: u8,
) -> Result<()> {
    let Some(map) = &st.object_map else {
        return Ok(());
    };
    let todo: Vec<u64> = objects
        .iter()
        .copied()
        .filter(|&n| map.get(n) != Some(state))
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    // One update per op: the class reads the map's bytes from the store,
    // so a second update in the same op would not see the first one's.
    for (start, end) in runs(&todo) {
        update(img, start, end, state).await?;
    }
    if let Some(map) = &mut st.object_map {
        for n in todo {
            map.set(n, state);
        }
    }
    Ok(())
}

/// Sets objects `start..end` to `state` on the OSD.
async fn update(img: &Image, start: u64, end: u64, state: u8) -> Result<()> {
    let m = ObjectMapUpdate {
        start_object_no: start,
        end_object_no: end,
        new_state: state,
        current_state: None,
    };
    guarded(
        img,
        vec![OsdOp::call(
            ObjectMapUpdate::CLASS,
            ObjectMapUpdate::METHOD,
            &m.input(),
        )],
    )
    .await
}

/// Sets every object of `start..end` to `state`, on the OSD then in
/// memory. Does nothing without a loaded map.
pub(crate) async fn set_range(
    img: &Image,
    st: &mut WriteState,
    start: u64,
    end: u64,
    state: u8,
) -> Result<()> {
    if st.object_map.is_none() || start >= end {
        return Ok(());
    }
    update(img, start, end, state).await?;
    if let Some(map) = &mut st.object_map {
        // The map's own entries only (the range can come from a crafted
        // size).
        for n in start..end.min(map.len()) {
            map.set(n, state);
        }
    }
    Ok(())
}

/// Resizes the head's map to `object_count` objects (new ones
/// nonexistent) and reloads it.
pub(crate) async fn resize(img: &Image, st: &mut WriteState, object_count: u64) -> Result<()> {
    if st.object_map.is_none() {
        return Ok(());
    }
    let m = ObjectMapResize {
        object_count,
        default_state: crate::object_map::OBJECT_NONEXISTENT,
    };
    guarded(
        img,
        vec![OsdOp::call(
            ObjectMapResize::CLASS,
            ObjectMapResize::METHOD,
            &m.input(),
        )],
    )
    .await?;
    st.object_map = Some(load(img).await?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn contiguous_runs() {
        assert_eq!(runs(&[]), vec![]);
        assert_eq!(runs(&[1, 2, 3, 5, 7, 8]), vec![(1, 4), (5, 6), (7, 9)]);
    }
}
