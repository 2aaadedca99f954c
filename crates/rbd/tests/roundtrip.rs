//! Every structure survives encode then decode, and the version-dependent
//! decoders read older encodings with librbd's defaults.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use ceph_encoding::{Decode, Encode, EntityNameT, EntityType, UTime};
use ceph_rbd::cls::lock::{self, LockType};
use ceph_rbd::cls::rbd::*;
use ceph_rbd::cls::types::*;
use ceph_rbd::cls::ClsMethod;
use ceph_rbd::notify::*;
use ceph_rbd::object_map::BitVector2;
use proptest::prelude::*;

fn rt<T: Encode + Decode + PartialEq + std::fmt::Debug>(v: &T) {
    let bytes = v.to_bytes(u64::MAX);
    assert_eq!(T::decode_exact(&bytes).as_ref(), Ok(v));
}

fn utime() -> impl Strategy<Value = UTime> {
    (any::<u32>(), any::<u32>()).prop_map(|(s, n)| UTime::new(s, n))
}

fn namespace() -> impl Strategy<Value = SnapshotNamespace> {
    prop_oneof![
        Just(SnapshotNamespace::User),
        (any::<i64>(), ".{0,8}", ".{0,8}").prop_map(|(pool, g, s)| SnapshotNamespace::Group {
            pool,
            group_id: g,
            group_snapshot_id: s
        }),
        (".{0,8}", any::<u32>()).prop_map(|(n, t)| SnapshotNamespace::Trash {
            original_name: n,
            original_namespace_type: t
        }),
        (
            0u8..4,
            any::<bool>(),
            proptest::collection::btree_set(".{0,4}", 0..3),
            ".{0,8}",
            any::<u64>(),
            any::<u64>(),
            proptest::collection::btree_map(any::<u64>(), any::<u64>(), 0..3)
        )
            .prop_map(|(state, complete, peers, uuid, sid, last, seqs)| {
                SnapshotNamespace::Mirror(MirrorSnapshotNamespace {
                    state,
                    complete,
                    mirror_peer_uuids: peers,
                    primary_mirror_uuid: uuid,
                    primary_snap_id: sid,
                    last_copied_object_number: last,
                    snap_seqs: seqs,
                })
            }),
        (4u32..).prop_map(|t| SnapshotNamespace::Unknown { namespace_type: t }),
    ]
}

fn request() -> impl Strategy<Value = AsyncRequestId> {
    (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(gid, handle, request_id)| {
        AsyncRequestId {
            client_id: ClientId { gid, handle },
            request_id,
        }
    })
}

fn payload() -> impl Strategy<Value = NotifyPayload> {
    let client = (any::<u64>(), any::<u64>()).prop_map(|(gid, handle)| ClientId { gid, handle });
    prop_oneof![
        client
            .clone()
            .prop_map(|client_id| NotifyPayload::AcquiredLock { client_id }),
        client
            .clone()
            .prop_map(|client_id| NotifyPayload::ReleasedLock { client_id }),
        (client, any::<bool>())
            .prop_map(|(client_id, force)| NotifyPayload::RequestLock { client_id, force }),
        Just(NotifyPayload::HeaderUpdate),
        (request(), any::<u64>(), any::<u64>()).prop_map(|(request, offset, total)| {
            NotifyPayload::AsyncProgress {
                request,
                offset,
                total,
            }
        }),
        (request(), any::<i32>())
            .prop_map(|(request, result)| NotifyPayload::AsyncComplete { request, result }),
        request().prop_map(|request| NotifyPayload::Flatten { request }),
        (any::<u64>(), request(), any::<bool>()).prop_map(|(size, request, allow_shrink)| {
            NotifyPayload::Resize {
                size,
                request,
                allow_shrink,
            }
        }),
        (".{0,8}", namespace(), request(), any::<u64>()).prop_map(|(n, ns, request, flags)| {
            NotifyPayload::SnapCreate {
                snap_name: n,
                snap_namespace: ns,
                request,
                flags,
            }
        }),
        (".{0,8}", namespace(), request()).prop_map(|(n, ns, request)| {
            NotifyPayload::SnapRemove {
                snap_name: n,
                snap_namespace: ns,
                request,
            }
        }),
        (".{0,8}", namespace(), request()).prop_map(|(n, ns, request)| {
            NotifyPayload::SnapProtect {
                snap_name: n,
                snap_namespace: ns,
                request,
            }
        }),
        (".{0,8}", namespace(), request()).prop_map(|(n, ns, request)| {
            NotifyPayload::SnapUnprotect {
                snap_name: n,
                snap_namespace: ns,
                request,
            }
        }),
        (any::<u64>(), ".{0,8}", namespace(), request()).prop_map(|(id, n, ns, request)| {
            NotifyPayload::SnapRename {
                snap_id: id,
                snap_name: n,
                snap_namespace: ns,
                request,
            }
        }),
        request().prop_map(|request| NotifyPayload::RebuildObjectMap { request }),
        (".{0,8}", request()).prop_map(|(image_name, request)| NotifyPayload::Rename {
            image_name,
            request
        }),
        (any::<u64>(), any::<bool>(), request()).prop_map(|(features, enabled, request)| {
            NotifyPayload::UpdateFeatures {
                features,
                enabled,
                request,
            }
        }),
        request().prop_map(|request| NotifyPayload::Migrate { request }),
        (request(), any::<u64>()).prop_map(|(request, sparse_size)| NotifyPayload::Sparsify {
            request,
            sparse_size
        }),
        request().prop_map(|request| NotifyPayload::Quiesce { request }),
        request().prop_map(|request| NotifyPayload::Unquiesce { request }),
        (".{0,8}", proptest::option::of(".{0,8}"), request()).prop_map(|(key, value, request)| {
            NotifyPayload::MetadataUpdate {
                key,
                value,
                request,
            }
        }),
        (21u32.., proptest::collection::vec(any::<u8>(), 0..16)).prop_map(|(op, d)| {
            NotifyPayload::Unknown {
                op,
                data: Bytes::from(d),
            }
        }),
    ]
}

proptest! {
    #[test]
    fn snapshot_structures(ns in namespace(), id: u64, name in ".{0,12}", size: u64,
                           ts in utime(), children: u32, pool: i64, s1 in ".{0,8}",
                           s2 in ".{0,8}") {
        rt(&ns);
        let info = SnapshotInfo { id, snapshot_namespace: ns.clone(), name: name.clone(),
                                  image_size: size, timestamp: ts, child_count: children };
        rt(&info);
        let add = SnapshotAdd { snap_name: name.clone(), snap_id: id, snap_namespace: ns };
        rt(&add);
        prop_assert_eq!(SnapshotAdd::decode_exact(&add.input()).ok(), Some(add));
        rt(&ParentImageSpec { pool_id: pool, pool_namespace: s1.clone(), image_id: s2.clone(),
                              snap_id: id });
        rt(&ChildImageSpec { pool_id: pool, image_id: s1.clone(), pool_namespace: s2.clone() });
        rt(&TrashImageSpec { source: 3, name, deletion_time: ts, deferment_end_time: ts,
                             state: 2 });
        rt(&LegacyParent { pool_id: pool, image_id: s1, snap_id: id, overlap: size });
        rt(&SnapContext { seq: id, snaps: vec![id, size] });
    }

    #[test]
    fn notify_messages(p in payload()) {
        let m = NotifyMessage::new(p);
        rt(&m);
        prop_assert_eq!(NotifyMessage::from_bytes(&m.to_bytes(0)).ok(), Some(m));
    }

    #[test]
    fn object_maps(states in proptest::collection::vec(0u8..4, 0..20_000), crc: bool) {
        let mut map = BitVector2::new(states.len() as u64);
        for (i, s) in states.iter().enumerate() {
            prop_assert!(map.set(i as u64, *s));
        }
        map.crc_enabled = crc;
        let bytes = map.to_bytes(0);
        let back = BitVector2::decode_verified(&bytes).unwrap();
        prop_assert_eq!(back.iter().collect::<Vec<_>>(), states);
        prop_assert_eq!(back.to_bytes(0), bytes);
    }
}

#[test]
fn method_inputs_round_trip() {
    let parent = ParentImageSpec {
        pool_id: 2,
        pool_namespace: "ns".into(),
        image_id: "abc".into(),
        snap_id: 4,
    };
    let child = ChildImageSpec {
        pool_id: 3,
        image_id: "def".into(),
        pool_namespace: String::new(),
    };
    let mut map = BitVector2::new(9);
    map.set(8, 3);
    map.crc_enabled = false;
    macro_rules! all {
        ($($v:expr),* $(,)?) => {$(
            let v = $v;
            rt(&v);
            assert_eq!(v.input(), v.to_bytes(u64::MAX));
        )*};
    }
    all!(
        Create {
            size: 1,
            order: 22,
            features: 61,
            object_prefix: "p".into(),
            data_pool_id: -1
        },
        SetSize { size: 5 },
        SetFeatures {
            features: 1,
            mask: 3
        },
        SetStripeUnitCount {
            stripe_unit: 65536,
            stripe_count: 4
        },
        SetFlags {
            flags: 1,
            mask: 1,
            snap_id: 9
        },
        OpFeaturesSet {
            op_features: 2,
            mask: 2
        },
        SetParent {
            pool_id: 1,
            image_id: "x".into(),
            snap_id: 2,
            overlap: 3
        },
        ParentAttach {
            parent: parent.clone(),
            overlap: 7,
            reattach: true
        },
        SnapshotRemove { snap_id: 1 },
        SnapshotRename {
            src_snap_id: 1,
            dst_name: "n".into()
        },
        SnapshotTrashAdd { snap_id: 1 },
        SetProtectionStatus {
            snap_id: 1,
            status: 2
        },
        SnapshotSetLimit { limit: 10 },
        AddChild {
            parent_pool_id: 1,
            parent_image_id: "p".into(),
            parent_snap_id: 2,
            child_image_id: "c".into()
        },
        RemoveChild {
            parent_pool_id: 1,
            parent_image_id: "p".into(),
            parent_snap_id: 2,
            child_image_id: "c".into()
        },
        ChildAttach {
            snap_id: 4,
            child: child.clone()
        },
        ChildDetach { snap_id: 4, child },
        SetId { id: "i".into() },
        DirAddImage {
            name: "n".into(),
            id: "i".into()
        },
        DirRemoveImage {
            name: "n".into(),
            id: "i".into()
        },
        DirRenameImage {
            src: "a".into(),
            dest: "b".into(),
            id: "i".into()
        },
        TrashAdd {
            id: "i".into(),
            spec: TrashImageSpec::default()
        },
        TrashRemove { id: "i".into() },
        TrashStateSet {
            id: "i".into(),
            state: 2,
            expect_state: 0
        },
        MetadataSet {
            data: BTreeMap::from([("k".to_string(), Bytes::from_static(b"v"))])
        },
        MetadataRemove { key: "k".into() },
        ObjectMapSave { map: map.clone() },
        ObjectMapResize {
            object_count: 10,
            default_state: 0
        },
        ObjectMapUpdate {
            start_object_no: 0,
            end_object_no: 4,
            new_state: 1,
            current_state: Some(2)
        },
        ObjectMapUpdate {
            start_object_no: 0,
            end_object_no: 4,
            new_state: 1,
            current_state: None
        },
        ObjectMapSnapRemove { map },
        lock::Unlock {
            name: "n".into(),
            cookie: "c".into()
        },
        lock::BreakLock {
            name: "n".into(),
            locker: EntityNameT::new(EntityType::CLIENT, 42),
            cookie: "c".into()
        },
        lock::AssertLocked {
            name: "n".into(),
            lock_type: LockType::Exclusive,
            cookie: "c".into(),
            tag: "t".into()
        },
        lock::SetCookie {
            name: "n".into(),
            lock_type: LockType::Exclusive,
            cookie: "c".into(),
            tag: "t".into(),
            new_cookie: "d".into()
        },
    );
    // Fixed layouts: update with a compare state is start, end, state, then
    // an optional (flag byte, value).
    let u = ObjectMapUpdate {
        start_object_no: 1,
        end_object_no: 2,
        new_state: 3,
        current_state: Some(1),
    };
    assert_eq!(&u.input()[16..], &[3, 1, 1]);
    assert_eq!(
        (ObjectMapUpdate::CLASS, ObjectMapUpdate::METHOD),
        ("rbd", "object_map_update")
    );
    assert_eq!((lock::Lock::CLASS, lock::Lock::METHOD), ("lock", "lock"));
}

#[test]
fn older_encodings_fill_librbd_defaults() {
    // A ChildImageSpec v1 (no namespace).
    let v1 = [
        1u8, 1, 13, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, b'x',
    ];
    let c = ChildImageSpec::decode_exact(&v1).unwrap();
    assert_eq!(
        (c.pool_id, c.image_id.as_str(), c.pool_namespace.as_str()),
        (2, "x", "")
    );
    // A TrashImageSpec v1 (no state).
    let t = TrashImageSpec {
        state: 0,
        ..Default::default()
    }
    .to_bytes(0);
    let mut v1 = t.to_vec();
    v1[0] = 1;
    v1[2] -= 1;
    v1.pop();
    assert_eq!(
        TrashImageSpec::decode_exact(&v1).unwrap().state,
        TRASH_STATE_NORMAL
    );
    // A version 2 RequestLock (no force flag), a version 6 SnapCreate (no
    // request id or flags).
    let m = [
        2u8, 1, 20, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(
        NotifyMessage::from_bytes(&m).unwrap().payload,
        NotifyPayload::RequestLock {
            client_id: ClientId { gid: 1, handle: 2 },
            force: false
        }
    );
    let mut body = vec![8u8, 0, 0, 0, 1, 0, 0, 0, b's'];
    body.extend_from_slice(&SnapshotNamespace::User.to_bytes(0));
    let mut m = vec![6u8, 1, body.len() as u8, 0, 0, 0];
    m.extend_from_slice(&body);
    match NotifyMessage::from_bytes(&m).unwrap().payload {
        NotifyPayload::SnapCreate {
            snap_name,
            request,
            flags,
            ..
        } => {
            assert_eq!(
                (snap_name.as_str(), request, flags),
                ("s", AsyncRequestId::default(), 0)
            );
        }
        other => panic!("{other:?}"),
    }
    // An unknown snapshot namespace type skips its fields.
    let ns = [1u8, 1, 8, 0, 0, 0, 9, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd];
    assert_eq!(
        SnapshotNamespace::decode_exact(&ns).unwrap(),
        SnapshotNamespace::Unknown { namespace_type: 9 }
    );
}

#[test]
fn notify_replies_and_responses() {
    let replies = NotifyReplies {
        acks: vec![
            ((4100, 1), ResponseMessage { result: -85 }.to_bytes(0)),
            ((4101, 2), Bytes::new()),
        ],
        timeouts: vec![(4102, 3)],
    };
    let bytes = replies.to_bytes(0);
    // map<pair<u64,u64>, bufferlist> then list<pair<u64,u64>>.
    assert_eq!(&bytes[..4], &[2, 0, 0, 0]);
    assert_eq!(&bytes[bytes.len() - 20..bytes.len() - 16], &[1, 0, 0, 0]);
    let back = NotifyReplies::from_bytes(&bytes).unwrap();
    assert_eq!(back, replies);
    let responses = back.responses();
    assert_eq!(responses[0].1, Ok(Some(ResponseMessage { result: -85 })));
    assert_eq!(responses[1].1, Ok(None));
    let set: BTreeSet<String> = ["a".to_string()].into();
    rt(&set);
}
