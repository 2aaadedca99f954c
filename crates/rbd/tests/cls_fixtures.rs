//! Decodes the replies a Pacific (16.2) cluster gave to the cls_rbd and
//! cls_lock methods, and the librbd notifications it carried, and checks
//! that the encoders build exactly the inputs the cluster accepted.
//! `fixtures/capture.py` regenerates the files and `expected.txt`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use ceph_encoding::{Decode, Encode, EntityType};
use ceph_rbd::cls::lock::{self, LockType};
use ceph_rbd::cls::rbd::*;
use ceph_rbd::cls::types::{SnapshotNamespace, TRASH_SOURCE_USER, TRASH_STATE_NORMAL};
use ceph_rbd::cls::ClsMethod;
use ceph_rbd::features;
use ceph_rbd::names::{self, NOSNAP};
use ceph_rbd::notify::{op, NotifyMessage, NotifyPayload};
use ceph_rbd::object_map::{BitVector2, OBJECT_EXISTS, OBJECT_EXISTS_CLEAN};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn expected() -> HashMap<String, String> {
    std::fs::read_to_string(dir().join("expected.txt"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ex<T: std::str::FromStr>(key: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    expected()[key].parse().unwrap()
}

/// The encoder builds the captured input, and the output decodes exactly
/// (no bytes left over) and re-encodes to the captured bytes.
fn check<M>(name: &str, call: &M) -> M::Output
where
    M: ClsMethod,
    M::Output: Encode + Decode + PartialEq + std::fmt::Debug,
{
    assert_eq!(
        &call.input()[..],
        &read(&format!("{name}.in.bin"))[..],
        "{name} input"
    );
    let out = read(&format!("{name}.out.bin"));
    let value = M::decode_output(&out).unwrap();
    assert_eq!(
        M::Output::decode_exact(&out).as_ref(),
        Ok(&value),
        "{name} exact"
    );
    assert_eq!(
        &value.to_bytes(u64::MAX)[..],
        &out[..],
        "{name} re-encoding"
    );
    value
}

#[test]
fn header_metadata() {
    let snap1: u64 = ex("parent.snap1");
    let id: String = ex("parent.id");
    let size = check("get_size", &GetSize { snap_id: NOSNAP });
    assert_eq!((size.order, size.size), (22, 64 << 20));
    let size = check("get_size-snap", &GetSize { snap_id: snap1 });
    assert_eq!((size.order, size.size), (22, 64 << 20));
    let f = check(
        "get_features",
        &GetFeatures {
            snap_id: NOSNAP,
            read_only: true,
        },
    );
    assert_eq!(f.features, ex::<u64>("parent.features"));
    assert_eq!(f.incompatible, features::LAYERING);
    assert!(features::unsupported_features(f.incompatible, features::INCOMPATIBLE).is_empty());
    let prefix = check("get_object_prefix", &GetObjectPrefix {});
    assert_eq!(prefix, names::data_object_prefix(&id, None));
    let snapc = check("get_snapcontext", &GetSnapContext {});
    assert_eq!((snapc.seq, snapc.snaps.clone()), (snap1, vec![snap1]));
    assert!(snapc.is_valid());
    let snap2: u64 = ex("parent.snap2");
    let snapc = check("get_snapcontext-two", &GetSnapContext {});
    assert_eq!(snapc.snaps, vec![snap2, snap1]);
    assert!(snapc.is_valid());
    assert_eq!(check("get_flags", &GetFlags { snap_id: NOSNAP }), 0);
    let created = check("get_create_timestamp", &GetCreateTimestamp {});
    assert!(created.sec > 1_600_000_000);
    assert_eq!(check("op_features_get", &OpFeaturesGet {}), 0);
    assert_eq!(check("get_all_features", &GetAllFeatures {}), features::ALL);
    assert_eq!(check("snapshot_get_limit", &SnapshotGetLimit {}), u64::MAX);
    let md = check(
        "metadata_list",
        &MetadataList {
            start_after: String::new(),
            max_return: 64,
        },
    );
    assert_eq!(md.len(), 1);
    assert_eq!(&md["conf_rbd_cache"][..], b"false");
    let v = check(
        "metadata_get",
        &MetadataGet {
            key: "conf_rbd_cache".into(),
        },
    );
    assert_eq!(v, "false");
}

#[test]
fn striping_and_data_pool() {
    let s = check("get_stripe_unit_count", &GetStripeUnitCount {});
    assert_eq!((s.stripe_unit, s.stripe_count), (65536, 4));
    assert_eq!(
        check("get_data_pool", &GetDataPool {}),
        ex::<i64>("data_pool_id")
    );
    let f = check(
        "get_features-datapool",
        &GetFeatures {
            snap_id: NOSNAP,
            read_only: true,
        },
    );
    assert_eq!(f.features, features::LAYERING | features::DATA_POOL);
    assert_eq!(f.incompatible, features::LAYERING | features::DATA_POOL);
    let prefix = check("get_object_prefix-datapool", &GetObjectPrefix {});
    assert_eq!(
        prefix,
        names::data_object_prefix(&ex::<String>("datapool.id"), Some(ex("pool_id")))
    );
}

#[test]
fn snapshots() {
    let snap1: u64 = ex("parent.snap1");
    let info = check("snapshot_get", &SnapshotGet { snap_id: snap1 });
    assert_eq!(info.id, snap1);
    assert_eq!(info.name, "snap1");
    assert_eq!(info.snapshot_namespace, SnapshotNamespace::User);
    assert_eq!(info.image_size, 64 << 20);
    assert_eq!(info.child_count, 0);
    let info = check("snapshot_get-children", &SnapshotGet { snap_id: snap1 });
    assert_eq!(info.child_count, 1, "one clone v2 child");
    let status = check(
        "get_protection_status",
        &GetProtectionStatus { snap_id: snap1 },
    );
    assert_eq!(status, features::PROTECTION_PROTECTED);
    assert_eq!(
        check("get_snapshot_name", &GetSnapshotName { snap_id: snap1 }),
        "snap1"
    );
    let ts = check(
        "get_snapshot_timestamp",
        &GetSnapshotTimestamp { snap_id: snap1 },
    );
    assert_eq!(ts, info.timestamp);

    let snap2: u64 = ex("parent.snap2");
    let info = check("snapshot_get-trash", &SnapshotGet { snap_id: snap2 });
    assert_eq!(
        info.snapshot_namespace,
        SnapshotNamespace::Trash {
            original_name: "snap2".into(),
            original_namespace_type: 0
        }
    );
    assert_eq!(
        info.name.len(),
        36,
        "a trashed snapshot is renamed to a uuid"
    );
    assert_eq!(info.child_count, 1);

    let gsnap: u64 = ex("grouped.snap");
    let info = check("snapshot_get-group", &SnapshotGet { snap_id: gsnap });
    match &info.snapshot_namespace {
        SnapshotNamespace::Group {
            pool,
            group_id,
            group_snapshot_id,
        } => {
            assert_eq!(*pool, ex::<i64>("pool_id"));
            assert!(!group_id.is_empty() && !group_snapshot_id.is_empty());
        }
        other => panic!("not a group snapshot: {other:?}"),
    }
}

#[test]
fn clones() {
    let pool: i64 = ex("pool_id");
    let pid: String = ex("parent.id");
    let snap1: u64 = ex("parent.snap1");
    let none = check("parent_get-none", &ParentGet {});
    assert!(!none.exists());
    assert_eq!(none, Default::default());
    assert_eq!(
        check(
            "parent_overlap_get-none",
            &ParentOverlapGet { snap_id: NOSNAP }
        ),
        None
    );
    for name in ["parent_get", "parent_get-v1"] {
        let p = check(name, &ParentGet {});
        assert!(p.exists());
        assert_eq!((p.pool_id, &p.image_id, p.snap_id), (pool, &pid, snap1));
        assert_eq!(p.pool_namespace, "");
    }
    assert_eq!(
        check("parent_overlap_get", &ParentOverlapGet { snap_id: NOSNAP }),
        Some(64 << 20)
    );
    let legacy = check("get_parent", &GetParent { snap_id: NOSNAP });
    assert_eq!(
        (
            legacy.pool_id,
            &legacy.image_id,
            legacy.snap_id,
            legacy.overlap
        ),
        (pool, &pid, snap1, 64 << 20)
    );
    let v1 = check(
        "get_children",
        &GetChildren {
            parent_pool_id: pool,
            parent_image_id: pid.clone(),
            parent_snap_id: snap1,
        },
    );
    assert_eq!(
        v1.into_iter().collect::<Vec<_>>(),
        [ex::<String>("child1.id")]
    );
    let v2 = check("children_list", &ChildrenList { snap_id: snap1 });
    assert_eq!(v2.len(), 1);
    assert_eq!(
        (
            v2[0].pool_id,
            &v2[0].image_id,
            v2[0].pool_namespace.as_str()
        ),
        (pool, &ex::<String>("child2.id"), "")
    );
    assert_eq!(
        check("op_features_get-parent", &OpFeaturesGet {}),
        features::OP_FEATURE_CLONE_PARENT
    );
    assert_eq!(
        check("op_features_get-child", &OpFeaturesGet {}),
        features::OP_FEATURE_CLONE_CHILD
    );
}

#[test]
fn directory_and_ids() {
    let id: String = ex("parent.id");
    let name: String = ex("parent.name");
    assert_eq!(check("get_id", &GetId {}), id);
    assert_eq!(check("dir_get_id", &DirGetId { name: name.clone() }), id);
    assert_eq!(check("dir_get_name", &DirGetName { id: id.clone() }), name);
    let list = check(
        "dir_list",
        &DirList {
            start_after: "rbdclsfx-".into(),
            max_return: 3,
        },
    );
    // Listed right after the parent was made: the only image of ours.
    assert_eq!(list.len(), 1);
    assert_eq!(list.get(&name), Some(&id));
}

#[test]
fn trash() {
    let id: String = ex("trash.id");
    let spec = check("trash_get", &TrashGet { id: id.clone() });
    assert_eq!(spec.name, ex::<String>("trash.name"));
    assert_eq!(
        (spec.source, spec.state),
        (TRASH_SOURCE_USER, TRASH_STATE_NORMAL)
    );
    assert_eq!(spec.deferment_end_time.sec, spec.deletion_time.sec + 3600);
    let list = check(
        "trash_list",
        &TrashList {
            start_after: String::new(),
            max_return: 1024,
        },
    );
    assert_eq!(list.get(&id), Some(&spec));
}

#[test]
fn object_maps() {
    // Object 0 written before snap1 (clean since), object 3 after.
    for (name, states) in [
        (
            "object_map_load",
            vec![(0, OBJECT_EXISTS_CLEAN), (3, OBJECT_EXISTS)],
        ),
        ("object_map_load-snap", vec![(0, OBJECT_EXISTS)]),
    ] {
        assert!(read(&format!("{name}.in.bin")).is_empty());
        let out = read(&format!("{name}.out.bin"));
        let map = ObjectMapLoad::decode_output(&out).unwrap();
        assert_eq!(map.len(), 16);
        let set: Vec<(u64, u8)> = map
            .iter()
            .enumerate()
            .filter(|(_, s)| *s != 0)
            .map(|(i, s)| (i as u64, s))
            .collect();
        assert_eq!(set, states, "{name}");
        BitVector2::decode_verified(&out).unwrap();
        assert_eq!(&map.to_bytes(0)[..], &out[..], "{name} re-encoding");
    }
}

#[test]
fn create_and_locks() {
    let create = Create {
        size: 8 << 20,
        order: 22,
        features: features::LAYERING,
        object_prefix: "rbd_data.rbdclsfx".into(),
        data_pool_id: -1,
    };
    assert_eq!(&create.input()[..], &read("create.in.bin")[..]);
    assert!(read("create.out.bin").is_empty());
    let size = check("get_size-created", &GetSize { snap_id: NOSNAP });
    assert_eq!((size.order, size.size), (22, 8 << 20));

    let lock_op = lock::Lock {
        name: "mylock".into(),
        lock_type: LockType::Shared,
        cookie: "cookie-1".into(),
        tag: "tag-1".into(),
        description: "a description".into(),
        duration: ceph_encoding::UTime::new(30, 0),
        flags: 0,
    };
    assert_eq!(&lock_op.input()[..], &read("lock.in.bin")[..]);
    let info = check(
        "lock_get_info-shared",
        &lock::GetInfo {
            name: "mylock".into(),
        },
    );
    assert_eq!(
        (info.lock_type, info.tag.as_str()),
        (LockType::Shared, "tag-1")
    );
    assert_eq!(info.lockers.len(), 1);
    let (who, about) = &info.lockers[0];
    assert_eq!(who.locker.entity_type, EntityType::CLIENT);
    assert_eq!(who.cookie, "cookie-1");
    assert_eq!(about.description, "a description");
    assert!(about.expiration.sec > 1_600_000_000);
    let locks = check("lock_list_locks", &lock::ListLocks {});
    assert_eq!(locks.locks, ["mylock"]);
    let unlock = lock::Unlock {
        name: "mylock".into(),
        cookie: "cookie-1".into(),
    };
    assert_eq!(&unlock.input()[..], &read("unlock.in.bin")[..]);

    // librbd's managed lock on the parent's header.
    let info = check(
        "lock_get_info",
        &lock::GetInfo {
            name: lock::RBD_LOCK_NAME.into(),
        },
    );
    assert_eq!(info.lock_type, LockType::Exclusive);
    assert_eq!(info.tag, lock::WATCHER_LOCK_TAG);
    let (who, about) = &info.lockers[0];
    assert!(lock::parse_managed_lock_cookie(&who.cookie).is_some());
    assert_eq!(about.expiration, Default::default());
}

#[test]
fn notifications() {
    let ops: Vec<u32> = ex::<String>("notify.ops")
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    assert!(ops.contains(&op::SNAP_CREATE) && ops.contains(&op::ACQUIRED_LOCK));
    for o in ops {
        let data = read(&format!("notify-op{o}.bin"));
        let m = NotifyMessage::from_bytes(&data).unwrap();
        assert_eq!(m.payload.op(), o);
        assert_eq!(&m.to_bytes(0)[..], &data[..], "op {o} re-encoding");
        match &m.payload {
            NotifyPayload::AcquiredLock { client_id }
            | NotifyPayload::ReleasedLock { client_id }
            | NotifyPayload::RequestLock { client_id, .. } => {
                assert!(client_id.gid > 0 && client_id.handle > 0)
            }
            NotifyPayload::SnapCreate {
                snap_name,
                snap_namespace,
                request,
                flags,
            } => {
                assert_eq!(snap_name, "snap3");
                assert_eq!(*snap_namespace, SnapshotNamespace::User);
                assert!(request.request_id > 0 && request.client_id.gid > 0);
                assert_eq!(*flags, 0);
            }
            NotifyPayload::SnapRemove {
                snap_name, request, ..
            } => {
                assert_eq!(snap_name, "snap4");
                assert!(request.request_id > 0);
            }
            NotifyPayload::Resize {
                size,
                allow_shrink,
                request,
            } => {
                assert_eq!(*size, 68 << 20);
                assert!(*allow_shrink && request.request_id > 0);
            }
            NotifyPayload::UpdateFeatures {
                features: f,
                enabled,
                ..
            } => assert_eq!((*f, *enabled), (features::FAST_DIFF, false)),
            NotifyPayload::MetadataUpdate { key, value, .. } => {
                assert_eq!(
                    (key.as_str(), value.as_deref()),
                    ("conf_rbd_cache", Some("true"))
                )
            }
            NotifyPayload::Rename { image_name, .. } => {
                assert_eq!(
                    *image_name,
                    format!("{}-renamed", ex::<String>("parent.name"))
                )
            }
            NotifyPayload::AsyncComplete { result, .. } => assert_eq!(*result, 0),
            NotifyPayload::Unknown { .. } => panic!("op {o} unknown"),
            _ => {}
        }
    }
}
