//! Images whose data lives in cluster main's erasure-coded pool (`rbd
//! create --data-pool`, the layout operators use for capacity), with
//! librbd as the oracle: librbd's read identically here; ours (created,
//! written, snapshotted and cloned here) are what `rbd info` and `rbd
//! export` show, and go without leaving an object. An image whose header
//! would be in the EC pool is refused with a message that says why.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use bytes::Bytes;
use ceph_rbd::image::{
    create_image, remove_image, CloneFormat, CloneOptions, CreateOptions, Image,
};
use rbd_native_tests::{pattern, run_ok, unique_name, ScratchDir, Testbed};

async fn read_all(img: &Image) -> Vec<u8> {
    let mut out = Vec::new();
    while (out.len() as u64) < img.size() {
        let chunk = img.read(out.len() as u64, 16 << 20).await.unwrap();
        assert!(!chunk.is_empty());
        out.extend_from_slice(&chunk);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_with_an_erasure_coded_data_pool_are_what_librbd_sees() {
    let bed = Testbed::load();
    let ec = bed.var("RBD_NATIVE_EC_POOL");
    let rados = bed.rados_admin().await;
    let io = rados.ioctx("volumes").unwrap();
    let images_io = rados.ioctx("images").unwrap();
    let ec_id = rados.objecter().pool_id(&ec).unwrap();

    // librbd's: data written with `rbd import` into a data-pool image.
    let theirs = unique_name("ec-theirs");
    let data = pattern(9 << 20, 3);
    let dir = ScratchDir::new("ec-rbd");
    let f = dir.path().join("v");
    std::fs::write(&f, &data).unwrap();
    bed.rbd_ok(&[
        "import",
        "--no-progress",
        "--data-pool",
        &ec,
        &f.to_string_lossy(),
        &format!("volumes/{theirs}"),
    ]);
    let img = Image::open(&rados, &io, &theirs).await.unwrap();
    assert_eq!(img.meta().data_pool_id, ec_id);
    assert!(read_all(&img).await == data);
    drop(img);
    bed.remove_image_and_snaps(&format!("volumes/{theirs}"));

    // Ours: created with the data pool, written, snapshotted, written
    // again, cloned from the snapshot.
    let vol = unique_name("ec-ours");
    let size = 24u64 << 20;
    let opts = CreateOptions {
        data_pool: Some(ec_id),
        ..CreateOptions::default()
    };
    let id = create_image(&rados, &io, &vol, size, &opts).await.unwrap();
    let info = bed.rbd_json(&["info", &format!("volumes/{vol}")]);
    assert_eq!(info["data_pool"], ec.as_str(), "{info}");
    assert_eq!(
        info["block_name_prefix"],
        format!("rbd_data.{}.{id}", io.pool_id()),
        "{info}"
    );
    let mut model = vec![0u8; size as usize];
    let mut img = Image::open(&rados, &io, &vol).await.unwrap();
    for (off, len, seed) in [
        (0usize, 100_000usize, 1u64),
        ((4 << 20) - 7000, 20_000, 2),
        (10 << 20, 5 << 20, 4),
    ] {
        let d = pattern(len, seed);
        img.write(off as u64, Bytes::from(d.clone())).await.unwrap();
        model[off..off + len].copy_from_slice(&d);
    }
    img.snap_create("s1", None).await.unwrap();
    let at_snap = model.clone();
    let d = pattern(3 << 20, 5);
    img.write(1 << 20, Bytes::from(d.clone())).await.unwrap();
    model[1 << 20..(1 << 20) + d.len()].copy_from_slice(&d);
    img.close().await.unwrap();

    let child = unique_name("ec-child");
    let mut img = Image::open(&rados, &io, &vol).await.unwrap();
    img.clone_to(
        "s1",
        &images_io,
        &child,
        &CloneOptions {
            format: CloneFormat::V2,
            features: Some(1),
            order: None,
            data_pool: None,
        },
    )
    .await
    .unwrap();

    assert!(bed.rbd_export(&format!("volumes/{vol}")) == model);
    assert!(bed.rbd_export(&format!("volumes/{vol}@s1")) == at_snap);
    assert!(bed.rbd_export(&format!("images/{child}")) == at_snap);
    assert!(read_all(&img.at_snapshot("s1").await.unwrap()).await == at_snap);
    let c = Image::open(&rados, &images_io, &child).await.unwrap();
    assert!(read_all(&c).await == at_snap);
    drop(c);

    // Gone without a trace, in either pool.
    remove_image(&rados, &images_io, &child).await.unwrap();
    img.snap_remove("s1").await.unwrap();
    drop(img);
    remove_image(&rados, &io, &vol).await.unwrap();
    // The writes after s1 made clones: their objects go when the OSDs trim
    // the removed snapshot, in the background.
    let left = bed.objects_of_once_trimmed(&ec, &id, 120);
    assert!(
        left.is_empty(),
        "data objects of {id} left in {ec}: {left:?}"
    );
    assert!(bed.objects_of("volumes", &id).is_empty());

    // A header in the EC pool: refused, with the way out.
    let ec_io = rados.ioctx(&ec).unwrap();
    let e = create_image(&rados, &ec_io, "never", 1 << 20, &CreateOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("erasure-coded") && e.contains("--data-pool"),
        "{e}"
    );
    let mut c = bed.ceph_tool("rados", "CEPH_CONF", "admin");
    c.args(["-p", &ec, "ls"]);
    let left = String::from_utf8_lossy(&run_ok(&mut c).stdout).into_owned();
    assert!(!left.contains("rbd_id.never"), "{left}");
}
