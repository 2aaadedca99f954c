//! Writes, resize and the trash on the live test bed, with librbd (the
//! `rbd` tool and the Python bindings) as the oracle: what we write is
//! what `rbd export` gives, `rbd object-map check` passes on what we
//! wrote, clones copy up from their parent, an image another client holds
//! is never written behind its back, and the trash round-trips both ways.
//! Every test checks that none of its objects are left in the pool.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use ceph_rados::{IoCtx, Rados};
use ceph_rbd::image::{
    create_image, list_images, remove_image, trash_list, trash_move, trash_remove, trash_restore,
    CloneFormat, CloneOptions, CreateOptions, Image,
};
use ceph_rbd::Error;
use rbd_native_tests::{pattern, run, unique_name, Testbed};

const POOL: &str = "volumes";

fn spec(image: &str) -> String {
    format!("{POOL}/{image}")
}

/// `rbd object-map check` must pass (it reports a mismatch by failing or
/// by flagging the map invalid in `rbd info`).
fn object_map_check(bed: &Testbed, image: &str) {
    bed.rbd_ok(&["object-map", "check", "--no-progress", &spec(image)]);
    let info = bed.rbd_json(&["info", &spec(image)]);
    let flags = info["flags"].as_array().cloned().unwrap_or_default();
    assert!(
        flags.is_empty(),
        "{image}: flags {flags:?} after object-map check"
    );
}

/// None of image `id`'s objects are left (snapshot clones of data
/// objects go when the OSDs trim the removed snapshots: give them time).
fn assert_gone(bed: &Testbed, id: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = bed.objects_of(POOL, id);
        if left.is_empty() {
            return;
        }
        let only_data = left.iter().all(|o| o.starts_with("rbd_data."));
        if !only_data || std::time::Instant::now() > deadline {
            panic!("objects of image {id} left: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Writes `count` random ranges (up to `max_len`, many across object
/// boundaries) through `img`, and into `model`.
async fn random_writes(img: &Image, model: &mut [u8], seed: u64, count: usize, max_len: u64) {
    let mut rng = Rng(seed);
    let size = model.len() as u64;
    for i in 0..count {
        let len = 1 + rng.below(max_len);
        let off = rng.below(size - len);
        let data = pattern(len as usize, seed * 1000 + i as u64);
        model[off as usize..(off + len) as usize].copy_from_slice(&data);
        img.write(off, Bytes::from(data)).await.unwrap();
    }
}

async fn image_id(rados: &Rados, io: &IoCtx, name: &str) -> String {
    Image::open(rados, io, name).await.unwrap().id().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_we_write_is_what_librbd_reads() {
    let bed = Testbed::load();
    let (rados, io) = bed.rados_admin_pool(POOL).await;
    let cases = [
        (
            "default",
            CreateOptions {
                order: 20,
                ..CreateOptions::default()
            },
        ),
        (
            "layering",
            CreateOptions {
                order: 20,
                features: ceph_rbd::features::LAYERING,
                ..CreateOptions::default()
            },
        ),
        (
            "striped",
            CreateOptions {
                order: 20,
                striping: Some((64 << 10, 8)),
                ..CreateOptions::default()
            },
        ),
    ];
    for (what, opts) in cases {
        let name = unique_name(&format!("w-{what}"));
        let size = 24u64 << 20;
        let id = create_image(&rados, &io, &name, size, &opts).await.unwrap();
        let mut model = vec![0u8; size as usize];
        let img = Image::open(&rados, &io, &name).await.unwrap();
        // A second handle (a clone) shares the lock and the object map.
        let other = img.clone();
        random_writes(&img, &mut model, 7, 24, 3 << 20).await;
        random_writes(&other, &mut model, 8, 8, 64 << 10).await;
        // Concurrent writes to distinct objects.
        let a = img.write(0, Bytes::from(pattern(1 << 20, 1)));
        let b = other.write(5 << 20, Bytes::from(pattern(1 << 20, 2)));
        let (ra, rb) = tokio::join!(a, b);
        ra.unwrap();
        rb.unwrap();
        model[..1 << 20].copy_from_slice(&pattern(1 << 20, 1));
        model[5 << 20..6 << 20].copy_from_slice(&pattern(1 << 20, 2));
        // Discard a whole object and parts of two.
        img.discard((10 << 20) - 4096, (1 << 20) + 8192)
            .await
            .unwrap();
        model[(10 << 20) - 4096..(11 << 20) + 4096].fill(0);
        if opts.features & ceph_rbd::features::EXCLUSIVE_LOCK != 0 {
            assert!(img.holds_lock().await);
            let locks = bed.rbd_json(&["lock", "ls", &spec(&name)]);
            assert_eq!(locks.as_array().unwrap().len(), 1, "{what}: {locks}");
        }
        // Our own reads see it before the lock is released.
        let back = img.read(0, size).await.unwrap();
        assert!(back == model[..], "{what}: our read differs");
        img.close().await.unwrap();
        other.close().await.unwrap();
        let locks = bed.rbd_json(&["lock", "ls", &spec(&name)]);
        assert!(locks.as_array().unwrap().is_empty(), "{what}: {locks}");
        assert!(
            bed.rbd_export(&spec(&name)) == model,
            "{what}: rbd export differs"
        );
        if opts.features & ceph_rbd::features::OBJECT_MAP != 0 {
            object_map_check(&bed, &name);
        }
        let du = bed.rbd_json(&["du", &spec(&name)]);
        let used = du["images"][0]["used_size"].as_u64().unwrap();
        assert!(used > 0 && used <= size, "{what}: rbd du says {du}");

        // Resize both ways.
        let mut img = Image::open(&rados, &io, &name).await.unwrap();
        img.resize(size + (5 << 20) + 12345).await.unwrap();
        model.resize((size + (5 << 20) + 12345) as usize, 0);
        img.write(size + 100, Bytes::from(pattern(3 << 20, 9)))
            .await
            .unwrap();
        model[(size + 100) as usize..(size + 100 + (3 << 20)) as usize]
            .copy_from_slice(&pattern(3 << 20, 9));
        let small = (7 << 20) + 4321;
        img.resize(small).await.unwrap();
        model.truncate(small as usize);
        // Growing again shows zeros past the old end, not stale data.
        img.resize(small + (2 << 20)).await.unwrap();
        model.resize((small + (2 << 20)) as usize, 0);
        img.close().await.unwrap();
        let info = bed.rbd_json(&["info", &spec(&name)]);
        assert_eq!(info["size"].as_u64(), Some(small + (2 << 20)), "{what}");
        assert!(
            bed.rbd_export(&spec(&name)) == model,
            "{what}: export after resize"
        );
        if opts.features & ceph_rbd::features::OBJECT_MAP != 0 {
            object_map_check(&bed, &name);
        }
        assert!(list_images(&io)
            .await
            .unwrap()
            .iter()
            .any(|(n, i)| *n == name && *i == id));
        remove_image(&rados, &io, &name).await.unwrap();
        assert_gone(&bed, &id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_to_clones_copy_up_and_snapshots_keep_their_data() {
    let bed = Testbed::load();
    let (rados, io) = bed.rados_admin_pool(POOL).await;
    for (what, striping) in [("plain", None), ("striped", Some((64u64 << 10, 4u64)))] {
        let parent = unique_name(&format!("cp-{what}"));
        let child = unique_name(&format!("cc-{what}"));
        let size = 12u64 << 20;
        let pid = create_image(
            &rados,
            &io,
            &parent,
            size,
            &CreateOptions {
                order: 20,
                striping,
                ..CreateOptions::default()
            },
        )
        .await
        .unwrap();
        let mut model = vec![0u8; size as usize];
        let p = Image::open(&rados, &io, &parent).await.unwrap();
        random_writes(&p, &mut model, 21, 10, 2 << 20).await;
        p.close().await.unwrap();
        let mut p = Image::open(&rados, &io, &parent).await.unwrap();
        p.snap_create("base", None).await.unwrap();
        let opts = CloneOptions {
            format: CloneFormat::V2,
            ..CloneOptions::default()
        };
        p.clone_to("base", &io, &child, &opts).await.unwrap();
        let mut c = Image::open(&rados, &io, &child).await.unwrap();
        let cid = c.id().to_string();
        // Inside objects that only the parent has: copy-up, then our bytes.
        random_writes(&c, &mut model, 22, 12, 300 << 10).await;
        // A snapshot taken while we hold the lock, then more writes.
        c.snap_create("mid", None).await.unwrap();
        let at_mid = model.clone();
        random_writes(&c, &mut model, 23, 6, 1 << 20).await;
        // Shrink below the overlap, then grow: the parent's tail must not
        // show through again.
        c.resize(9 << 20).await.unwrap();
        c.resize(size).await.unwrap();
        model[9 << 20..].fill(0);
        c.close().await.unwrap();
        let info = bed.rbd_json(&["info", &spec(&child)]);
        assert_eq!(info["parent"]["overlap"].as_u64(), Some(9 << 20), "{info}");
        assert!(
            bed.rbd_export(&spec(&child)) == model,
            "{what}: child export"
        );
        assert!(
            bed.rbd_export(&format!("{}@mid", spec(&child))) == at_mid,
            "{what}: child snapshot export"
        );
        object_map_check(&bed, &child);
        // The parent is untouched.
        let c2 = Image::open(&rados, &io, &child).await.unwrap();
        assert!(c2.read(0, size).await.unwrap() == model[..]);
        bed.remove_image_and_snaps(&spec(&child));
        bed.remove_image_and_snaps(&spec(&parent));
        assert_gone(&bed, &cid);
        assert_gone(&bed, &pid);
    }
}

/// A librbd write at 8 KiB of `image`, with a deadline; its exit status
/// and stderr.
fn librbd_write(bed: &Testbed, image: &str) -> (bool, String) {
    let body = "with rbd.Image(io, sys.argv[4]) as img:\n    \
                img.write(b'y' * 4096, 8192)\n\
                io.close(); c.shutdown()\n";
    let out = run(Command::new("timeout")
        .arg("60")
        .arg(bed.system_python_path())
        .args(bed.py_admin_args(body, POOL, &[image])));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exclusive_lock_is_respected_both_ways() {
    let bed = Testbed::load();
    let (rados, io) = bed.rados_admin_pool(POOL).await;
    let name = unique_name("lockw");
    bed.rbd_ok(&["create", "--size", "8M", &spec(&name)]);
    let id = image_id(&rados, &io, &name).await;

    // librbd holds it: our write is refused, naming the holder.
    let mut holder = bed.librbd_holder(POOL, &name);
    let before = bed.rbd_json(&["lock", "ls", &spec(&name)]);
    let img = Image::open(&rados, &io, &name).await.unwrap();
    let r = img.write(4096, Bytes::from_static(b"z")).await;
    let after = bed.rbd_json(&["lock", "ls", &spec(&name)]);
    drop(holder.stdin.take());
    let _ = holder.wait();
    let e = r.unwrap_err();
    assert!(matches!(e, Error::Refused(_)), "{e:?}");
    let msg = e.to_string();
    assert!(msg.starts_with("image in use by client."), "{msg}");
    assert_eq!(before, after, "the holder's lock was left alone");
    assert!(!img.holds_lock().await);
    assert!(bed.rbd_export(&spec(&name))[4096] == 0);

    // We hold it: a librbd writer is told we keep it (no hang), and
    // succeeds once we close.
    let mut model = bed.rbd_export(&spec(&name));
    img.write(100, Bytes::from_static(b"ours")).await.unwrap();
    model[100..104].copy_from_slice(b"ours");
    let t = std::time::Instant::now();
    let (ok, err) = librbd_write(&bed, &name);
    assert!(!ok, "librbd wrote behind our lock");
    assert!(t.elapsed() < Duration::from_secs(50), "librbd hung: {err}");
    img.close().await.unwrap();
    let (ok, err) = librbd_write(&bed, &name);
    assert!(ok, "{err}");
    model[8192..8192 + 4096].fill(b'y');
    assert!(bed.rbd_export(&spec(&name)) == model);
    object_map_check(&bed, &name);
    remove_image(&rados, &io, &name).await.unwrap();
    assert_gone(&bed, &id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trash_round_trips_with_librbd() {
    let bed = Testbed::load();
    let (rados, io) = bed.rados_admin_pool(POOL).await;
    let name = unique_name("trash");
    let id = create_image(&rados, &io, &name, 4 << 20, &CreateOptions::default())
        .await
        .unwrap();
    let img = Image::open(&rados, &io, &name).await.unwrap();
    img.write(1000, Bytes::from(pattern(5000, 3)))
        .await
        .unwrap();
    img.close().await.unwrap();
    let data = bed.rbd_export(&spec(&name));

    // Ours moves, librbd sees it in the trash and restores it. Every move
    // here defers deletion: the bed's Cinder backends share the pool and
    // purge expired trash entries on a timer of their own.
    let moved = trash_move(&rados, &io, &name, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(moved, id);
    let ls = bed.rbd_json(&["trash", "ls", POOL]);
    assert!(
        ls.as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id.as_str() && e["name"] == name.as_str()),
        "{ls}"
    );
    assert!(!bed.rbd_ok(&["ls", POOL]).lines().any(|l| l == name));
    assert!(!list_images(&io)
        .await
        .unwrap()
        .iter()
        .any(|(n, _)| *n == name));
    bed.rbd_ok(&["trash", "restore", &format!("{POOL}/{id}")]);
    assert!(bed.rbd_export(&spec(&name)) == data);

    // librbd moves (with a delay), ours lists, restores, moves again.
    bed.rbd_ok(&["trash", "mv", "--expires-at", "1 hour", &spec(&name)]);
    let e = trash_list(&io)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.id == id)
        .unwrap();
    assert_eq!(e.spec.name, name);
    assert!(e.spec.deferment_end_time > e.spec.deletion_time);
    let renamed = format!("{name}-back");
    trash_restore(&io, &id, Some(&renamed)).await.unwrap();
    assert!(bed.rbd_export(&spec(&renamed)) == data);
    trash_move(&rados, &io, &renamed, Duration::from_secs(3600))
        .await
        .unwrap();
    // Not before its time, unless forced.
    let r = trash_remove(&rados, &io, &id, false).await;
    assert!(matches!(r, Err(Error::Refused(_))), "{r:?}");
    trash_remove(&rados, &io, &id, true).await.unwrap();
    let ls = bed.rbd_json(&["trash", "ls", POOL]);
    assert!(
        !ls.as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id.as_str()),
        "{ls}"
    );
    assert_gone(&bed, &id);

    // librbd removes what we moved.
    let name2 = unique_name("trash2");
    let id2 = create_image(&rados, &io, &name2, 4 << 20, &CreateOptions::default())
        .await
        .unwrap();
    trash_move(&rados, &io, &name2, Duration::from_secs(3600))
        .await
        .unwrap();
    bed.rbd_ok(&[
        "trash",
        "rm",
        "--force",
        "--no-progress",
        &format!("{POOL}/{id2}"),
    ]);
    assert!(trash_list(&io).await.unwrap().iter().all(|e| e.id != id2));
    assert_gone(&bed, &id2);
}
