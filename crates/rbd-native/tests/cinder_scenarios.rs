//! The spec's scenarios with Cinder's own RBD driver as the other party
//! (`tests/py/cinder_driver.py`, the `cinder` package of the venv):
//!
//! 1. upload by clone, then Cinder deletes the source volume: the delete
//!    succeeds and the image still downloads the volume's bytes as they were;
//! 2. upload (clone, and stream for comparison), Cinder creates a volume
//!    from the image, then the image is deleted through Glance: both paths
//!    get the same answer from Glance and keep the same things readable;
//! 3. the other order: the image is deleted first, then the volume;
//!
//! and after each, once everything is deleted (and the volume's RBD trash
//! entry purged with `rbd trash rm`, the documented purge), neither pool
//! holds anything the scenario made.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

use glance_client::Glance;
use rbd_native_tests::{
    cinder, glance_download, glance_wait_hashed, rbd_native_bin, run, run_ok, Testbed,
};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn upload(bed: &Testbed, volume: &str, clone: bool) -> String {
    let mut c = bed.rbd_native_uploader(&rbd_native_bin(env!("CARGO_BIN_EXE_rbd-native")));
    c.args([
        "upload",
        "--volume",
        &format!("volumes/{volume}"),
        "--name",
        "scenario",
        "--format",
        "json",
    ])
    .arg(if clone {
        "--clone-optimization"
    } else {
        "--no-clone-optimization"
    });
    let out = run(&mut c);
    assert!(
        out.status.success(),
        "upload: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["path"], if clone { "clone" } else { "stream" }, "{v}");
    v["image_id"].as_str().unwrap().to_string()
}

/// Deletes a Glance image: Ok, or Glance's HTTP status.
async fn delete_image(g: &Glance, id: &str) -> Result<(), u16> {
    glance_wait_hashed(g, id).await;
    g.delete_image(id)
        .await
        .map_err(|e| e.status().unwrap_or(0))
}

/// A Cinder volume of 1 GiB with 64 MiB of random data written.
fn make_volume(bed: &Testbed) -> (String, Vec<u8>) {
    let out = run_ok(&mut Command::new("uuidgen"));
    let name = format!("volume-{}", String::from_utf8_lossy(&out.stdout).trim());
    cinder(bed, &["create-volume", &name, "1"]);
    let spec = format!("volumes/{name}");
    bed.rbd_bench_write(&spec, "64M", "rand");
    let data = bed.rbd_export(&spec);
    (name, data)
}

/// Purges the volume's RBD trash entry, if Cinder left one (the
/// documented purge: `rbd trash rm`, or `rbd trash purge POOL`). The bed's
/// Cinder backends purge expired entries of the pool too, every few
/// seconds: an entry that one of them removes first (our `trash rm` then
/// fails, or finds it being removed) counts as purged once it is gone.
fn purge(bed: &Testbed, volume: &str) {
    let entry = || -> Option<String> {
        let out = bed.rbd(&["trash", "ls", "volumes", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v.as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .find(|e| e["name"].as_str() == Some(volume))
            .and_then(|e| e["id"].as_str().map(str::to_string))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while let Some(id) = entry() {
        let r = bed.rbd(&["trash", "rm", &format!("volumes/{id}")]);
        if r.status.success() {
            continue;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "trash rm {volume}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// Asserts that nothing of `volume` or `image` is left: no RBD image (the
/// volume, its `.deleted` rename, the image's clone), no snapshot, no
/// trash entry.
fn nothing_left(bed: &Testbed, volume: &str, image: &str) {
    for (pool, name) in [
        ("volumes", volume.to_string()),
        ("volumes", format!("{volume}.deleted")),
        ("images", image.to_string()),
    ] {
        assert!(
            !bed.rbd(&["info", &format!("{pool}/{name}")])
                .status
                .success(),
            "{pool}/{name} is left"
        );
    }
    for pool in ["volumes", "images"] {
        let out = bed.rbd(&["trash", "ls", pool, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        for e in v.as_array().cloned().unwrap_or_default() {
            let n = e["name"].as_str().unwrap_or_default();
            assert!(n != volume && n != image, "{pool} trash holds {n}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_then_cinder_deletes_the_volume() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let g = bed.glance().await;
    let (vol, data) = make_volume(&bed);
    let image = upload(&bed, &vol, true);

    let d = cinder(&bed, &["delete-volume", &vol]);
    eprintln!("Cinder's delete: {}", d["outcome"]);
    assert!(
        glance_download(&g, &image).await == data,
        "the image changed"
    );

    assert_eq!(delete_image(&g, &image).await, Ok(()));
    purge(&bed, &vol);
    nothing_left(&bed, &vol, &image);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_then_the_image_is_deleted_first_then_the_volume() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let g = bed.glance().await;
    let (vol, data) = make_volume(&bed);
    let image = upload(&bed, &vol, true);
    assert!(glance_download(&g, &image).await == data);

    assert_eq!(delete_image(&g, &image).await, Ok(()));
    let d = cinder(&bed, &["delete-volume", &vol]);
    assert_eq!(d["outcome"], "removed", "{d}");
    purge(&bed, &vol);
    nothing_left(&bed, &vol, &image);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_from_the_image_then_the_image_deleted_same_for_clone_and_stream() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let g = bed.glance().await;
    let mut outcomes = Vec::new();
    for clone in [true, false] {
        let (vol, data) = make_volume(&bed);
        let image = upload(&bed, &vol, clone);
        let from = format!("{vol}-from-image");
        let v = cinder(&bed, &["create-volume-from-image", &from, &image, "1"]);
        let first = delete_image(&g, &image).await;
        // What stays readable: the image (if Glance kept it) and the new
        // volume, both with the volume's bytes.
        let image_readable = first.is_err() && glance_download(&g, &image).await == data;
        let new_volume = bed.rbd_export(&format!("volumes/{from}"));
        let volume_ok = new_volume.get(..data.len()) == Some(&data[..]);
        outcomes.push((first, image_readable, volume_ok));
        eprintln!(
            "clone={clone}: Cinder made the volume by {}; Glance answered {first:?} to the delete",
            v["path"]
        );

        // Then everything goes, in the order a cloud would.
        cinder(&bed, &["delete-volume", &from]);
        purge(&bed, &from);
        if first.is_err() {
            assert_eq!(delete_image(&g, &image).await, Ok(()));
        }
        cinder(&bed, &["delete-volume", &vol]);
        purge(&bed, &vol);
        nothing_left(&bed, &vol, &image);
        nothing_left(&bed, &from, &image);
    }
    assert_eq!(outcomes[0], outcomes[1], "clone and stream differ");
    assert!(outcomes[0].2, "the volume made from the image is wrong");
}
