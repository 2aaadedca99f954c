//! An image whose header claims a huge size (as a crafted or corrupt
//! header can: the size comes from the network) holds only the objects
//! written to it: `used_bytes` and removal find those by listing the data
//! pool, not by one op per object number up to 2^42, so both finish
//! quickly, and `rados ls` (the oracle) shows nothing left.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use ceph_rbd::image::{create_image, remove_image, CreateOptions, Image};
use rbd_native_tests::{pattern, unique_name, Testbed};

/// Far more than either walk needs when it acts only on what exists; the
/// old walk over every object number would take years.
const DEADLINE: Duration = Duration::from_secs(120);

/// The size a crafted header says: 2^64 - 4 MiB bytes, 2^42 objects.
const HUGE: u64 = u64::MAX - (4 << 20) + 1;

/// Writes [`HUGE`] into the header of image `id`.
async fn set_huge_size(io: &ceph_rados::IoCtx, id: &str) {
    io.call(
        &format!("rbd_header.{id}"),
        "rbd",
        "set_size",
        &HUGE.to_le_bytes(),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_size_costs_what_the_image_holds() {
    let bed = Testbed::load();
    let ec = bed.var("RBD_NATIVE_EC_POOL");
    let rados = bed.rados_admin().await;
    let io = rados.ioctx("volumes").unwrap();
    let ec_id = rados.objecter().pool_id(&ec).unwrap();

    // The data in the header's pool, and in a separate (EC) data pool
    // (object names then carry the header pool's id).
    for data_pool in [None, Some(ec_id)] {
        let name = unique_name("huge");
        let opts = CreateOptions {
            features: ceph_rbd::features::LAYERING,
            data_pool,
            ..CreateOptions::default()
        };
        let id = create_image(&rados, &io, &name, 64 << 20, &opts)
            .await
            .unwrap();
        let img = Image::open(&rados, &io, &name).await.unwrap();
        let data_pool_name = img.data_ioctx().pool_name().to_string();
        // Objects 0, 1 and 10 (4 MiB objects).
        let writes = [(0u64, 100_000usize), ((5 << 20) + 3, 1000), (40 << 20, 10)];
        for (i, (off, len)) in writes.iter().enumerate() {
            img.write(*off, Bytes::from(pattern(*len, i as u64)))
                .await
                .unwrap();
        }
        img.close().await.unwrap();
        drop(img);
        let expected: u64 = 100_000 + (1 << 20) + 3 + 1000 + 10;
        let data_objects = |pool: &str| -> Vec<String> {
            bed.objects_of(pool, &id)
                .into_iter()
                .filter(|o| o.starts_with("rbd_data."))
                .collect()
        };
        let objects = data_objects(&data_pool_name);
        assert_eq!(objects.len(), 3, "{objects:?}");

        // The header now says 2^64 - 4 MiB bytes: 2^42 objects.
        set_huge_size(&io, &id).await;
        let info = bed.rbd_json(&["info", &format!("volumes/{name}")]);
        assert_eq!(info["size"].as_u64(), Some(HUGE), "{info}");

        let img = Image::open(&rados, &io, &name).await.unwrap();
        assert_eq!(img.size(), HUGE);
        let t = Instant::now();
        let used = tokio::time::timeout(DEADLINE, img.used_bytes())
            .await
            .unwrap_or_else(|_| panic!("used_bytes still running after {DEADLINE:?}"))
            .unwrap();
        assert_eq!(used, expected, "data pool {data_pool:?}");
        eprintln!("used_bytes of a 2^64-byte image: {:?}", t.elapsed());
        drop(img);

        let t = Instant::now();
        tokio::time::timeout(DEADLINE, remove_image(&rados, &io, &name))
            .await
            .unwrap_or_else(|_| panic!("remove_image still running after {DEADLINE:?}"))
            .unwrap();
        eprintln!("remove_image of a 2^64-byte image: {:?}", t.elapsed());
        let left = bed.objects_of(&data_pool_name, &id);
        assert!(left.is_empty(), "left in {data_pool_name}: {left:?}");
        let left = bed.objects_of("volumes", &id);
        assert!(left.is_empty(), "left in volumes: {left:?}");
        let listed = bed.rbd_ok(&["ls", "volumes"]);
        assert!(!listed.lines().any(|l| l == name), "{listed}");
    }
}

/// Shrinking an image whose header claims 2^64 bytes back to a real size
/// trims only the objects that exist past the new end, and keeps the data
/// before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shrinking_a_huge_size_costs_what_the_image_holds() {
    let bed = Testbed::load();
    let rados = bed.rados_admin().await;
    let io = rados.ioctx("volumes").unwrap();
    let name = unique_name("huge-shrink");
    let opts = CreateOptions {
        features: ceph_rbd::features::LAYERING,
        ..CreateOptions::default()
    };
    let id = create_image(&rados, &io, &name, 64 << 20, &opts)
        .await
        .unwrap();
    let img = Image::open(&rados, &io, &name).await.unwrap();
    // Objects 0, 1 and 10 (4 MiB objects); the new end falls inside
    // object 1, past the bytes written there.
    let a = pattern(100_000, 1);
    let b = pattern(1000, 2);
    img.write(0, Bytes::from(a.clone())).await.unwrap();
    img.write((5 << 20) + 3, Bytes::from(b.clone()))
        .await
        .unwrap();
    img.write(40 << 20, Bytes::from(pattern(10, 3)))
        .await
        .unwrap();
    img.close().await.unwrap();
    drop(img);
    set_huge_size(&io, &id).await;

    let mut img = Image::open(&rados, &io, &name).await.unwrap();
    let new_size = (6 << 20) + 5;
    let t = Instant::now();
    tokio::time::timeout(DEADLINE, img.resize(new_size))
        .await
        .unwrap_or_else(|_| panic!("resize still running after {DEADLINE:?}"))
        .unwrap();
    eprintln!("shrinking a 2^64-byte image: {:?}", t.elapsed());
    assert_eq!(img.size(), new_size);
    assert_eq!(img.read(0, a.len() as u64).await.unwrap(), a);
    assert_eq!(img.read((5 << 20) + 3, b.len() as u64).await.unwrap(), b);
    img.close().await.unwrap();
    drop(img);
    let info = bed.rbd_json(&["info", &format!("volumes/{name}")]);
    assert_eq!(info["size"].as_u64(), Some(new_size), "{info}");
    let mut objects: Vec<String> = bed
        .objects_of("volumes", &id)
        .into_iter()
        .filter(|o| o.starts_with("rbd_data."))
        .collect();
    objects.sort();
    assert_eq!(
        objects,
        [
            format!("rbd_data.{id}.0000000000000000"),
            format!("rbd_data.{id}.0000000000000001")
        ],
    );
    remove_image(&rados, &io, &name).await.unwrap();
    assert!(bed.objects_of("volumes", &id).is_empty());
}
