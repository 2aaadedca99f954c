//! RBD images on the live test bed with librbd (the `rbd` tool and the
//! Python bindings) as the oracle: images librbd made read identically
//! here (plain, fancy striping, clone chains), and snapshots, protection
//! and clones made here are what `rbd` shows, exports and removes. A
//! snapshot of an image another client holds open for writing is taken
//! by that client, through the header's watch/notify.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use ceph_rados::IoCtx;
use ceph_rbd::image::{remove_image, CloneFormat, CloneOptions, Image};
use rbd_native_tests::{pattern, run_ok, unique_name, ScratchDir, Testbed};

/// Writes `data` at `offset` of image `spec` with `rbd import`-free
/// means: `rbd bench`-less, through a scratch file and `rbd import --image-format 2`
/// would replace the image, so this uses the Python bindings.
fn py_write(bed: &Testbed, pool: &str, image: &str, offset: u64, data: &[u8]) {
    let dir = ScratchDir::new("rbd-write");
    let f = dir.path().join("data");
    std::fs::write(&f, data).unwrap();
    let body = "with rbd.Image(io, sys.argv[4]) as img:\n    \
                img.write(open(sys.argv[6], 'rb').read(), int(sys.argv[5]))\n\
                io.close(); c.shutdown()\n";
    run_ok(bed.system_python().args(bed.py_admin_args(
        body,
        pool,
        &[image, &offset.to_string(), f.to_str().unwrap()],
    )));
}

async fn read_all(img: &Image) -> Vec<u8> {
    read_by(img, 16 << 20).await
}

/// The whole image, read `step` bytes at a time.
async fn read_by(img: &Image, step: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < img.size() {
        let chunk = img.read(off, step).await.unwrap();
        assert!(!chunk.is_empty());
        off += chunk.len() as u64;
        out.extend_from_slice(&chunk);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_made_by_librbd_read_identically() {
    let bed = Testbed::load();
    let rados = bed.rados_admin().await;
    let io = rados.ioctx("volumes").unwrap();

    // Default features, sparse: data at the start, in the middle and
    // across an object boundary.
    let plain = unique_name("img-plain");
    bed.rbd_ok(&["create", "--size", "40M", &format!("volumes/{plain}")]);
    py_write(&bed, "volumes", &plain, 0, &pattern(100_000, 1));
    py_write(
        &bed,
        "volumes",
        &plain,
        (4 << 20) - 5000,
        &pattern(10_000, 2),
    );
    py_write(&bed, "volumes", &plain, 33 << 20, &pattern(1 << 20, 3));

    // Fancy striping.
    let striped = unique_name("img-striped");
    bed.rbd_ok(&[
        "create",
        "--size",
        "40M",
        "--stripe-unit",
        "64K",
        "--stripe-count",
        "8",
        &format!("volumes/{striped}"),
    ]);
    py_write(&bed, "volumes", &striped, 12345, &pattern(3 << 20, 4));

    for name in [&plain, &striped] {
        let img = Image::open(&rados, &io, name).await.unwrap();
        assert_eq!(img.size(), 40 << 20);
        let ours = read_all(&img).await;
        assert!(
            ours == bed.rbd_export(&format!("volumes/{name}")),
            "{name} differs from rbd export"
        );
    }

    // A chain of three clones with partial overlap after resizes, in two
    // pools, formats 1 and 2.
    let snap = format!("volumes/{plain}@s1");
    bed.rbd_ok(&["snap", "create", &snap]);
    bed.rbd_ok(&["snap", "protect", &snap]);
    let c1 = unique_name("img-c1");
    bed.rbd_ok(&[
        "clone",
        "--rbd-default-clone-format",
        "1",
        &snap,
        &format!("images/{c1}"),
    ]);
    py_write(&bed, "images", &c1, 2 << 20, &pattern(4096, 5));
    bed.rbd_ok(&[
        "resize",
        "--allow-shrink",
        "--size",
        "20M",
        &format!("images/{c1}"),
    ]);
    bed.rbd_ok(&["resize", "--size", "48M", &format!("images/{c1}")]);
    let snap2 = format!("images/{c1}@s2");
    bed.rbd_ok(&["snap", "create", &snap2]);
    let c2 = unique_name("img-c2");
    bed.rbd_ok(&[
        "clone",
        "--rbd-default-clone-format",
        "2",
        &snap2,
        &format!("volumes/{c2}"),
    ]);
    py_write(&bed, "volumes", &c2, 30 << 20, &pattern(8192, 6));
    let snap3 = format!("volumes/{c2}@s3");
    bed.rbd_ok(&["snap", "create", &snap3]);
    let c3 = unique_name("img-c3");
    bed.rbd_ok(&[
        "clone",
        "--rbd-default-clone-format",
        "2",
        &snap3,
        &format!("volumes/{c3}"),
    ]);
    let images_io = rados.ioctx("images").unwrap();
    for (ioc, pool, name) in [
        (&images_io, "images", &c1),
        (&io, "volumes", &c2),
        (&io, "volumes", &c3),
    ] {
        let img = Image::open(&rados, ioc, name).await.unwrap();
        assert!(img.meta().parent.is_some(), "{name} has a parent");
        let ours = read_all(&img).await;
        let theirs = bed.rbd_export(&format!("{pool}/{name}"));
        assert!(ours == theirs, "{name} differs");
        // Read as the upload's stream reads: pieces within one object,
        // many of them wholly in a parent (or a grandparent).
        assert!(
            read_by(&img, 1 << 20).await == theirs,
            "{name} differs read by 1 MiB"
        );
    }
    // And at a snapshot.
    let img = Image::open(&rados, &images_io, &c1).await.unwrap();
    let at = img.at_snapshot("s2").await.unwrap();
    assert!(read_all(&at).await == bed.rbd_export(&snap2));

    for (pool, name) in [
        ("volumes", &c3),
        ("volumes", &c2),
        ("images", &c1),
        ("volumes", &plain),
        ("volumes", &striped),
    ] {
        bed.remove_image_and_snaps(&format!("{pool}/{name}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_snapshots_and_clones_are_what_librbd_sees() {
    let bed = Testbed::load();
    let rados = bed.rados_admin().await;
    let io = rados.ioctx("volumes").unwrap();
    let images_io = rados.ioctx("images").unwrap();
    let vol = unique_name("ours-vol");
    bed.rbd_ok(&["create", "--size", "24M", &format!("volumes/{vol}")]);
    py_write(&bed, "volumes", &vol, 1 << 20, &pattern(2 << 20, 7));

    let mut img = Image::open(&rados, &io, &vol).await.unwrap();
    let id = img.snap_create("snap-a", None).await.unwrap();
    img.snap_protect("snap-a").await.unwrap();
    let snaps = bed.rbd_json(&["snap", "ls", &format!("volumes/{vol}")]);
    let s = &snaps.as_array().unwrap()[0];
    assert_eq!(s["name"], "snap-a");
    assert_eq!(s["id"].as_u64(), Some(id));
    assert_eq!(s["protected"], "true");

    // Clones of both formats, into the other pool.
    let mut children = Vec::new();
    for (format, tag) in [(CloneFormat::V1, "v1"), (CloneFormat::V2, "v2")] {
        let child = unique_name(&format!("ours-clone-{tag}"));
        img.clone_to(
            "snap-a",
            &images_io,
            &child,
            &CloneOptions {
                format,
                features: Some(1), // layering only, as Glance makes them
                order: None,
                data_pool: None,
            },
        )
        .await
        .unwrap();
        let info = bed.rbd_json(&["info", &format!("images/{child}")]);
        assert_eq!(info["parent"]["pool"], "volumes");
        assert_eq!(info["parent"]["image"], vol.as_str());
        assert_eq!(info["parent"]["snapshot"], "snap-a");
        assert!(
            bed.rbd_export(&format!("images/{child}"))
                == bed.rbd_export(&format!("volumes/{vol}@snap-a"))
        );
        children.push(child);
    }
    let listed = bed.rbd_ok(&["children", &format!("volumes/{vol}@snap-a")]);
    for c in &children {
        assert!(listed.contains(c.as_str()), "{listed}");
    }
    let ours = img.children(id).await.unwrap();
    assert_eq!(ours.len(), 2);

    // Unprotect is refused while children exist.
    let err = img.snap_unprotect("snap-a").await.unwrap_err();
    assert!(err.to_string().contains("child"), "{err}");

    // A snapshot on our clone, and the clone's removal by us.
    let child_img_name = &children[1];
    let mut child = Image::open(&rados, &images_io, child_img_name)
        .await
        .unwrap();
    child.snap_create("snap", None).await.unwrap();
    child.snap_protect("snap").await.unwrap();
    let info = bed.rbd_json(&["snap", "ls", &format!("images/{child_img_name}")]);
    assert_eq!(info[0]["protected"], "true");
    child.snap_unprotect("snap").await.unwrap();
    child.snap_remove("snap").await.unwrap();
    for c in &children {
        remove_image(&rados, &images_io, c).await.unwrap();
    }
    assert!(bed
        .rbd_ok(&["children", &format!("volumes/{vol}@snap-a")])
        .trim()
        .is_empty());
    img.snap_unprotect("snap-a").await.unwrap();
    img.snap_remove("snap-a").await.unwrap();
    assert_eq!(
        bed.rbd_json(&["snap", "ls", &format!("volumes/{vol}")]),
        serde_json::json!([])
    );
    remove_image(&rados, &io, &vol).await.unwrap();
    assert!(!bed
        .rbd(&["info", &format!("volumes/{vol}")])
        .status
        .success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_an_image_in_use_is_taken_by_its_lock_owner() {
    let bed = Testbed::load();
    let rados = bed.rados_admin().await;
    let io: IoCtx = rados.ioctx("volumes").unwrap();
    let vol = unique_name("in-use");
    bed.rbd_ok(&["create", "--size", "8M", &format!("volumes/{vol}")]);

    // A librbd client holds the image open and writes (so it owns the
    // exclusive lock) until told to stop.
    let mut holder = bed.librbd_holder("volumes", &vol);
    let status = bed.rbd_json(&["lock", "ls", &format!("volumes/{vol}")]);
    assert!(
        !status.as_array().unwrap().is_empty(),
        "the holder owns the lock"
    );

    let mut img = Image::open(&rados, &io, &vol).await.unwrap();
    let r = img.snap_create("while-in-use", None).await;
    // The owner kept its lock (nobody broke it behind its back).
    let after = bed.rbd_json(&["lock", "ls", &format!("volumes/{vol}")]);
    drop(holder.stdin.take());
    assert_eq!(after, status);
    let _ = holder.wait();
    r.unwrap();
    let snaps = bed.rbd_json(&["snap", "ls", &format!("volumes/{vol}")]);
    assert_eq!(snaps[0]["name"], "while-in-use");
    bed.remove_image_and_snaps(&format!("volumes/{vol}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preallotted_snapshot_id_the_image_moved_past_is_replaced_and_released() {
    let bed = Testbed::load();
    let rados = bed.rados_admin().await;
    let io = rados.ioctx("volumes").unwrap();
    let vol = unique_name("prealloc");
    bed.rbd_ok(&[
        "create",
        "--size",
        "8M",
        "--image-feature",
        "layering",
        &format!("volumes/{vol}"),
    ]);
    let mut img = Image::open(&rados, &io, &vol).await.unwrap();
    let before = bed.osdmap_epoch("CEPH_CONF");
    let early = img.data_ioctx().selfmanaged_snap_create().await.unwrap();
    // Another client snapshots in between: the image's snap_seq passes
    // the id we hold.
    bed.rbd_ok(&["snap", "create", &format!("volumes/{vol}@other")]);
    let id = img.snap_create("ours", Some(early)).await.unwrap();
    assert!(id > early, "{id} <= {early}");
    let snaps = bed.rbd_json(&["snap", "ls", &format!("volumes/{vol}")]);
    let ours = snaps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "ours")
        .unwrap();
    assert_eq!(ours["id"].as_u64(), Some(id));
    let after = bed.osdmap_epoch("CEPH_CONF");
    let pool = bed.pool_id("CEPH_CONF", "volumes");
    let removed = bed.removed_snaps("CEPH_CONF", pool, before, after);
    assert!(
        removed.contains(&early),
        "id {early} not released: {removed:?}"
    );
    bed.remove_image_and_snaps(&format!("volumes/{vol}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_of_our_clone_is_what_librbd_sees_and_goes_cleanly() {
    let bed = Testbed::load();
    let rados = bed.rados_admin().await;
    let volumes = rados.ioctx("volumes").unwrap();
    let images = rados.ioctx("images").unwrap();
    let base = unique_name("cc-base");
    bed.rbd_ok(&["create", "--size", "12M", &format!("volumes/{base}")]);
    py_write(&bed, "volumes", &base, 3 << 20, &pattern(5 << 20, 21));

    // base@s1 -> images/c1 (format 2) ; c1 gets its own data ; c1@s2
    // (protected) -> volumes/c2 (format 1).
    let mut img = Image::open(&rados, &volumes, &base).await.unwrap();
    img.snap_create("s1", None).await.unwrap();
    let c1 = unique_name("cc-c1");
    let v2 = CloneOptions {
        format: CloneFormat::V2,
        features: None,
        order: None,
        data_pool: None,
    };
    img.clone_to("s1", &images, &c1, &v2).await.unwrap();
    let child = Image::open(&rados, &images, &c1).await.unwrap();
    child
        .write(9 << 20, bytes::Bytes::from(pattern(1 << 20, 22)))
        .await
        .unwrap();
    child.close().await.unwrap();
    let mut child = Image::open(&rados, &images, &c1).await.unwrap();
    child.snap_create("s2", None).await.unwrap();
    child.snap_protect("s2").await.unwrap();
    let c2 = unique_name("cc-c2");
    let v1 = CloneOptions {
        format: CloneFormat::V1,
        features: Some(1),
        order: None,
        data_pool: None,
    };
    child.clone_to("s2", &volumes, &c2, &v1).await.unwrap();

    let info = bed.rbd_json(&["info", &format!("volumes/{c2}")]);
    assert_eq!(info["parent"]["pool"], "images");
    assert_eq!(info["parent"]["image"], c1.as_str());
    assert_eq!(info["parent"]["snapshot"], "s2");
    assert!(
        bed.rbd_export(&format!("volumes/{c2}")) == bed.rbd_export(&format!("images/{c1}@s2")),
        "the clone of the clone differs from its parent snapshot"
    );
    let ours = read_all(&Image::open(&rados, &volumes, &c2).await.unwrap()).await;
    assert!(ours == bed.rbd_export(&format!("volumes/{c2}")));
    let listed = bed.rbd_ok(&["children", "--all", &format!("volumes/{base}@s1")]);
    assert!(listed.contains(&c1), "{listed}");

    // Down the chain by us; librbd then finds nothing.
    remove_image(&rados, &volumes, &c2).await.unwrap();
    child.snap_unprotect("s2").await.unwrap();
    child.snap_remove("s2").await.unwrap();
    remove_image(&rados, &images, &c1).await.unwrap();
    img.snap_remove("s1").await.unwrap();
    remove_image(&rados, &volumes, &base).await.unwrap();
    for spec in [
        format!("volumes/{c2}"),
        format!("images/{c1}"),
        format!("volumes/{base}"),
    ] {
        assert!(
            !bed.rbd(&["info", &spec]).status.success(),
            "{spec} is left"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sparse_reads_return_holes_as_holes_also_through_a_clone() {
    let bed = Testbed::load();
    let rados = bed.rados_admin().await;
    let io = rados.ioctx("volumes").unwrap();
    let vol = unique_name("sparse");
    bed.rbd_ok(&["create", "--size", "16M", &format!("volumes/{vol}")]);
    py_write(&bed, "volumes", &vol, 1 << 20, &pattern(4096, 31));
    py_write(&bed, "volumes", &vol, (9 << 20) + 100, &pattern(8192, 32));
    let whole = bed.rbd_export(&format!("volumes/{vol}"));
    bed.rbd_ok(&["snap", "create", &format!("volumes/{vol}@s")]);
    let clone = unique_name("sparse-clone");
    bed.rbd_ok(&[
        "clone",
        "--rbd-default-clone-format",
        "2",
        &format!("volumes/{vol}@s"),
        &format!("volumes/{clone}"),
    ]);
    for name in [&vol, &clone] {
        let img = Image::open(&rados, &io, name).await.unwrap();
        let extents = img.read_extents(0, img.size()).await.unwrap();
        let sent: usize = extents.iter().map(|(_, d)| d.len()).sum();
        assert!(sent < 1 << 20, "{name}: {sent} bytes for 12 KiB of data");
        let mut covered = vec![false; whole.len()];
        for (off, d) in &extents {
            let off = *off as usize;
            assert_eq!(&whole[off..off + d.len()], &d[..], "{name} at {off}");
            covered[off..off + d.len()]
                .iter_mut()
                .for_each(|c| *c = true);
        }
        let missed = whole
            .iter()
            .zip(&covered)
            .filter(|(b, c)| **b != 0 && !**c)
            .count();
        assert_eq!(missed, 0, "{name}: data left out of the extents");
    }
    bed.remove_image_and_snaps(&format!("volumes/{clone}"));
    bed.remove_image_and_snaps(&format!("volumes/{vol}"));
}

/// Runs object-class method `m` on `oid`, as librbd's maintenance would.
async fn cls<M: ceph_rbd::cls::ClsMethod>(io: &IoCtx, oid: &str, m: &M) {
    io.call(oid, M::CLASS, M::METHOD, &m.input())
        .await
        .unwrap_or_else(|e| panic!("{}.{} on {oid}: {e}", M::CLASS, M::METHOD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshots_valid_object_map_is_trusted_as_librbd_trusts_it() {
    use ceph_rbd::cls::rbd::{ObjectMapUpdate, SetFlags};
    use ceph_rbd::features::FLAG_OBJECT_MAP_INVALID;
    use ceph_rbd::names::{header_object, object_map_object};
    use ceph_rbd::object_map::OBJECT_NONEXISTENT;

    let bed = Testbed::load();
    let rados = bed.rados_admin().await;
    let io = rados.ioctx("volumes").unwrap();
    // Four 4 MiB objects, the first three written; a snapshot (librbd
    // copies the head's object map to it) and a clone of it whose first
    // object is written, snapshotted too.
    let vol = unique_name("omap-read");
    bed.rbd_ok(&["create", "--size", "16M", &format!("volumes/{vol}")]);
    py_write(&bed, "volumes", &vol, 0, &pattern(12 << 20, 41));
    let snap = format!("volumes/{vol}@s");
    bed.rbd_ok(&["snap", "create", &snap]);
    let clone = unique_name("omap-read-clone");
    bed.rbd_ok(&[
        "clone",
        "--rbd-default-clone-format",
        "2",
        &snap,
        &format!("volumes/{clone}"),
    ]);
    py_write(&bed, "volumes", &clone, 4096, &pattern(8192, 42));
    let clone_snap = format!("volumes/{clone}@cs");
    bed.rbd_ok(&["snap", "create", &clone_snap]);

    let head = Image::open(&rados, &io, &vol).await.unwrap();
    assert!(
        head.meta().has(ceph_rbd::features::OBJECT_MAP),
        "the bed's default features include object-map"
    );
    let snap_id = head.snapshot("s").unwrap().id;
    let object_size = 4usize << 20;

    // The snapshot's map now says object 1 never existed, though it
    // does: librbd then reads zeros there without asking, and so must we
    // (the map is what a read at a snapshot trusts), also through the
    // clone, whose objects 1 to 3 come from that snapshot.
    cls(
        &io,
        &object_map_object(head.id(), snap_id),
        &ObjectMapUpdate {
            start_object_no: 1,
            end_object_no: 2,
            new_state: OBJECT_NONEXISTENT,
            current_state: None,
        },
    )
    .await;
    let theirs = bed.rbd_export(&snap);
    assert!(
        theirs[object_size..2 * object_size].iter().all(|b| *b == 0),
        "librbd trusts the snapshot's object map"
    );
    let at = head.at_snapshot("s").await.unwrap();
    assert!(read_all(&at).await == theirs, "{snap} differs");
    assert!(read_by(&at, 1 << 20).await == theirs, "{snap} by 1 MiB");
    let clone_img = Image::open(&rados, &io, &clone).await.unwrap();
    let clone_at = clone_img.at_snapshot("cs").await.unwrap();
    let theirs_clone = bed.rbd_export(&clone_snap);
    assert!(read_by(&clone_at, 1 << 20).await == theirs_clone);
    let extents = at.read_extents(0, at.size()).await.unwrap();
    assert!(
        extents
            .iter()
            .all(|(o, d)| *o + d.len() as u64 <= object_size as u64 || *o >= 2 * object_size as u64),
        "no extent of the object the map leaves out"
    );

    // Flagged invalid, the snapshot's map is not trusted: every object is
    // read, by librbd and by us.
    cls(
        &io,
        &header_object(head.id()),
        &SetFlags {
            flags: FLAG_OBJECT_MAP_INVALID,
            mask: FLAG_OBJECT_MAP_INVALID,
            snap_id,
        },
    )
    .await;
    let theirs = bed.rbd_export(&snap);
    assert!(
        theirs[object_size..2 * object_size] == pattern(12 << 20, 41)[object_size..2 * object_size],
        "librbd reads every object when the map is invalid"
    );
    let at = head.at_snapshot("s").await.unwrap();
    assert!(
        read_by(&at, 1 << 20).await == theirs,
        "{snap} flagged invalid"
    );
    let clone_at = clone_img.at_snapshot("cs").await.unwrap();
    assert!(read_by(&clone_at, 1 << 20).await == bed.rbd_export(&clone_snap));

    bed.remove_image_and_snaps(&format!("volumes/{clone}"));
    bed.remove_image_and_snaps(&format!("volumes/{vol}"));
}
