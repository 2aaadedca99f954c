//! Cinder of the test bed, through its HTTP API as the bed's plain user
//! `demo`: the three backends are up, and Cinder's stock RBD driver
//! uploads a volume to a Glance image (`os-volume_upload_image`) that
//! downloads the volume's bytes, and a volume made from that image is a
//! clone of it (Cinder sees the image's RBD location); deleting them all
//! leaves nothing in either pool once the driver's purge of deleted volumes
//! ran (the `rbd` tool as oracle).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use rbd_native_tests::{pattern, unique_name, CloudCleanup, Testbed};

/// The backends (and volume types) the bed configures.
const BACKENDS: [&str; 3] = ["rbd-native", "rbd-native-off", "rbd-stock"];

#[test]
fn catalog_has_cinder_and_the_three_backends_are_up() {
    let bed = Testbed::load();
    let admin = bed.admin_session();
    assert_eq!(
        admin.cinder,
        bed.var("CINDER_URL").trim_end_matches('/'),
        "the catalog's block-storage endpoint is not the bed's CINDER_URL"
    );
    let services = admin.cinder_get("/os-services");
    let services = services["services"].as_array().expect("services");
    let up = |binary: &str, backend: Option<&str>| {
        services.iter().any(|s| {
            s["binary"] == binary
                && s["state"] == "up"
                && s["status"] == "enabled"
                && backend.is_none_or(|b| {
                    s["host"]
                        .as_str()
                        .is_some_and(|h| h.ends_with(&format!("@{b}")))
                })
        })
    };
    assert!(
        up("cinder-scheduler", None),
        "no scheduler up: {services:?}"
    );
    for b in BACKENDS {
        assert!(
            up("cinder-volume", Some(b)),
            "backend {b} is not up: {services:?}"
        );
    }
    // Each backend's driver reported its pool to the scheduler.
    let pools = admin.cinder_get("/scheduler-stats/get_pools?detail=true");
    for b in BACKENDS {
        let pool = pools["pools"]
            .as_array()
            .expect("pools")
            .iter()
            .find(|p| p["capabilities"]["volume_backend_name"] == b)
            .unwrap_or_else(|| panic!("no pool of backend {b}: {pools}"));
        assert_eq!(pool["capabilities"]["storage_protocol"], "ceph", "{pool}");
    }

    // The plain user sees the volume types (one a backend), rbd-native the default.
    let demo = bed.demo_session();
    let types = demo.cinder_get("/types");
    for b in BACKENDS {
        assert!(
            types["volume_types"]
                .as_array()
                .expect("volume_types")
                .iter()
                .any(|t| t["name"] == b),
            "no volume type {b} for demo: {types}"
        );
    }
    assert_eq!(
        demo.cinder_get("/types/default")["volume_type"]["name"],
        "rbd-native"
    );
}

#[test]
fn stock_driver_uploads_a_volume_to_an_image_and_cleans_up() {
    let bed = Testbed::load();
    let s = bed.demo_session();
    let mut cleanup = CloudCleanup::new(&s);

    let name = unique_name("bed-cinder");
    let volume = s.create_volume(&name, 1, "rbd-stock");
    cleanup.volumes.push(volume.clone());
    let v = s.wait_volume(&volume, "available", 120);
    assert_eq!(v["volume_type"], "rbd-stock", "{v}");
    assert!(
        v["os-vol-host-attr:host"].is_null()
            || v["os-vol-host-attr:host"]
                .as_str()
                .is_some_and(|h| h.contains("@rbd-stock")),
        "{v}"
    );

    // Known bytes at the volume's start, written to its RBD image.
    let rbd_name = format!("volume-{volume}");
    assert!(
        bed.rbd(&["info", &format!("volumes/{rbd_name}")])
            .status
            .success(),
        "Cinder made no RBD image volumes/{rbd_name}"
    );
    let head = pattern(3 * 1024 * 1024 + 511, 0xc1de);
    bed.rbd_write("volumes", &rbd_name, 0, &head);

    let image = s.upload_to_image(&volume, &format!("{name}-image"));
    cleanup.images.push(image.clone());
    let img = s.wait_image(&image, "active", 300);
    s.wait_volume(&volume, "available", 120);
    assert_eq!(img["size"].as_u64(), Some(1 << 30), "{img}");
    assert_eq!(img["disk_format"], "raw", "{img}");
    assert_eq!(img["owner"], s.project_id.as_str(), "{img}");

    // A few MiB of it, through Glance: the bytes written, then zeros.
    let got = s.image_head(&image, 4 * 1024 * 1024);
    assert_eq!(got.len(), 4 * 1024 * 1024);
    assert!(
        got[..head.len()] == head[..],
        "the image's first bytes differ"
    );
    assert!(
        got[head.len()..].iter().all(|&b| b == 0),
        "the image is not zero after the bytes written"
    );

    // Cinder sees the image's RBD location (Glance's locations API, with
    // the service role of Cinder's [glance] user): a volume made from the
    // image is a copy-on-write clone of the image's snapshot.
    let from_image =
        s.create_volume_from_image(&format!("{name}-from-image"), 1, "rbd-stock", &image);
    cleanup.volumes.insert(0, from_image.clone());
    s.wait_volume(&from_image, "available", 120);
    let info = bed.rbd_ok(&[
        "info",
        "--format",
        "json",
        &format!("volumes/volume-{from_image}"),
    ]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["parent"]["pool"], "images", "not a clone: {info}");
    assert_eq!(info["parent"]["image"], image.as_str(), "{info}");
    assert_eq!(info["parent"]["snapshot"], "snap", "{info}");
    s.delete_volume(&from_image, 120);

    s.delete_image(&image, 60);
    s.delete_volume(&volume, 120);
    cleanup.images.clear();
    cleanup.volumes.clear();
    // The volumes go to the RBD trash, which the driver's periodic purge
    // (every few seconds on the bed) empties.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let mut left = Vec::new();
        for (pool, needle) in [
            ("volumes", volume.as_str()),
            ("volumes", from_image.as_str()),
            ("images", image.as_str()),
            ("volumes", image.as_str()),
            ("images", volume.as_str()),
        ] {
            left.extend(bed.rbd_names_with(pool, needle));
        }
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left behind after the purge: {left:?}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}
