//! `rbd-native upload` on the test bed: by clone and by stream, each image
//! downloaded from Glance and compared with the volume; every reason not
//! to clone; the failures a user can meet, each with a clear message, a
//! non-zero exit and nothing left behind; `--cleanup` after a run killed
//! half-way; `check`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

use rbd_native_tests::{glance_delete, glance_download, run, run_ok, unique_name, Testbed};

mod common;
use common::ours;

/// Uploads share one Glance (one worker): one test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn upload_json(bed: &Testbed, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["upload", "--format", "json"];
    a.extend_from_slice(args);
    let out = ours(bed, &a, &[]);
    assert!(
        out.status.success(),
        "upload {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Uploads volume `spec` as image `name` with the clone optimization, checks
/// that it cloned, and returns the image id.
fn upload_by_clone(bed: &Testbed, spec: &str, name: &str) -> String {
    let r = upload_json(
        bed,
        &["--volume", spec, "--name", name, "--clone-optimization"],
    );
    assert_eq!(r["path"], "clone", "{r}");
    r["image_id"].as_str().unwrap().to_string()
}

/// `rbd snap ls` of volume `name` (`--all`: every namespace), as JSON.
fn snap_ls(bed: &Testbed, name: &str, all: bool) -> Vec<serde_json::Value> {
    let spec = format!("volumes/{name}");
    let mut args = vec!["snap", "ls", &spec, "--format", "json"];
    if all {
        args.push("--all");
    }
    let out = bed.rbd(&args);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v.as_array().cloned().unwrap_or_default()
}

fn snapshots(bed: &Testbed, name: &str) -> Vec<String> {
    snap_ls(bed, name, false)
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_and_stream_uploads_download_as_the_volume() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let g = bed.glance().await;
    let (vol, data) = bed.import_volume("upload-vol", 20 << 20, 11);
    let spec = format!("volumes/{vol}");

    let cloned = upload_by_clone(&bed, &spec, "t-clone");
    let info: serde_json::Value = serde_json::from_slice(
        &bed.rbd(&["info", &format!("images/{cloned}"), "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(info["parent"]["image"], vol.as_str());
    // Layering only (as Glance makes its images); a format 2 clone also
    // shows `operations` (its clone-child op feature), as librbd's do.
    let features: Vec<&str> = info["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        features
            .iter()
            .all(|f| ["layering", "operations"].contains(f))
            && features.contains(&"layering"),
        "{features:?}"
    );

    let r = upload_json(&bed, &["--volume", &spec, "--name", "t-stream"]);
    assert_eq!(r["path"], "stream");
    assert!(r["reason"]
        .as_str()
        .unwrap()
        .contains("optimization is off"));
    let streamed = r["image_id"].as_str().unwrap().to_string();

    // Writing to the volume afterwards changes neither image.
    bed.rbd_bench_write(&spec, "8M", "seq");
    for id in [&cloned, &streamed] {
        assert!(
            glance_download(&g, id).await == data,
            "image {id} differs from the volume at upload"
        );
    }
    // The stream's snapshot is gone; the clone's parent snapshot is in
    // the snapshot trash (clone format 2), out of the user's sight.
    assert!(snapshots(&bed, &vol).is_empty());
    let all =
        String::from_utf8_lossy(&bed.rbd(&["snap", "ls", "--all", &spec]).stdout).into_owned();
    // (Pacific shows `trash (NAME)`, Tentacle `trash (user NAME)`.)
    assert!(
        all.lines()
            .any(|l| l.contains("trash (") && l.contains(&format!("image-{cloned}.clone_snap)"))),
        "{all}"
    );

    for id in [&cloned, &streamed] {
        glance_delete(&g, id).await;
    }
    bed.remove_image_and_snaps(&format!("volumes/{vol}"));
    assert!(!bed
        .rbd(&["info", &format!("images/{cloned}")])
        .status
        .success());
}

/// A volume whose data is in the bed's erasure-coded pool (its header in
/// `volumes`) uploads by clone and by stream; both images download as the
/// volume, and deleting them leaves nothing in any pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_with_an_erasure_coded_data_pool_uploads_both_ways() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let ec = bed.var("RBD_NATIVE_EC_POOL");
    let g = bed.glance().await;
    let (vol, data) = bed.import_volume_with("upload-ec", 12 << 20, 17, &["--data-pool", &ec]);
    let spec = format!("volumes/{vol}");
    let vol_id = bed.rbd_json(&["info", &spec])["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!bed.objects_of(&ec, &vol_id).is_empty());

    let cloned = upload_by_clone(&bed, &spec, "t-ec-clone");
    let r = upload_json(&bed, &["--volume", &spec, "--name", "t-ec-stream"]);
    assert_eq!(r["path"], "stream", "{r}");
    let streamed = r["image_id"].as_str().unwrap().to_string();
    for id in [&cloned, &streamed] {
        assert!(
            glance_download(&g, id).await == data,
            "image {id} differs from the EC-backed volume"
        );
    }
    for id in [&cloned, &streamed] {
        glance_delete(&g, id).await;
    }
    bed.remove_image_and_snaps(&spec);
    for pool in [ec.as_str(), "volumes", "images"] {
        assert!(
            bed.objects_of(pool, &vol_id).is_empty(),
            "{vol_id} left in {pool}"
        );
        assert!(
            bed.objects_of(pool, &cloned).is_empty(),
            "{cloned} left in {pool}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reason_not_to_clone_streams_and_says_why() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let g = bed.glance().await;
    let (vol, data) = bed.import_volume("upload-vol", 4 << 20, 12);
    let spec = format!("volumes/{vol}");
    let cases: &[(&[&str], &str)] = &[
        (&["--store", "local"], "type file"),
        (&["--store", "other"], "another Ceph cluster"),
        (&["--container-format", "ovf"], "ovf"),
    ];
    for (extra, why) in cases {
        let mut args = vec![
            "--volume",
            spec.as_str(),
            "--name",
            "t-reason",
            "--clone-optimization",
        ];
        args.extend_from_slice(extra);
        let r = upload_json(&bed, &args);
        assert_eq!(r["path"], "stream", "{extra:?}: {r}");
        let reason = r["reason"].as_str().unwrap();
        assert!(reason.contains(why), "{extra:?}: {reason}");
        let id = r["image_id"].as_str().unwrap();
        assert!(glance_download(&g, id).await == data);
        glance_delete(&g, id).await;
    }
    assert!(snapshots(&bed, &vol).is_empty());
    bed.remove_image_and_snaps(&format!("volumes/{vol}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_clear_and_leave_nothing() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let g = bed.glance().await;
    let (vol, _) = bed.import_volume("upload-vol", 4 << 20, 13);
    let spec = format!("volumes/{vol}");
    let name = unique_name("t-fail");
    let base = [
        "upload",
        "--volume",
        spec.as_str(),
        "--name",
        name.as_str(),
        "--clone-optimization",
    ];

    let out = ours(&bed, &base, &[("OS_PASSWORD", "wrong")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401"), "{err}");
    assert!(err.contains("credentials"), "{err}");

    let out = ours(&bed, &base, &[("OS_AUTH_URL", "http://127.0.0.1:9/v3")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("127.0.0.1:9"), "{err}");

    let missing = [
        "upload",
        "--volume",
        "volumes/no-such-volume",
        "--name",
        name.as_str(),
    ];
    let out = ours(&bed, &missing, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-volume") && err.contains("does not exist"),
        "{err}"
    );

    // Nothing half-made: no Glance image of that name, no snapshot.
    let images = run_ok(
        Command::new("curl")
            .args(["-sf", "-H"])
            .arg(format!(
                "X-Auth-Token: {}",
                g.auth().token().await.unwrap().value()
            ))
            .arg(format!("{}/v2/images?name={name}", g.endpoint())),
    )
    .stdout;
    let v: serde_json::Value = serde_json::from_slice(&images).unwrap();
    assert_eq!(v["images"], serde_json::json!([]), "{v}");
    assert!(snapshots(&bed, &vol).is_empty());
    bed.remove_image_and_snaps(&format!("volumes/{vol}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_removes_what_a_killed_run_left_and_check_reports() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let (vol, _) = bed.import_volume("upload-vol", 4 << 20, 14);
    // What a run killed after the clone leaves: a protected volume
    // snapshot and a clone named after an image Glance does not have.
    let fake = "00000000-1111-2222-3333-444444444444";
    let snap = format!("volumes/{vol}@image-{fake}.clone_snap");
    assert!(bed.rbd(&["snap", "create", &snap]).status.success());
    assert!(bed.rbd(&["snap", "protect", &snap]).status.success());
    assert!(bed
        .rbd(&[
            "clone",
            &snap,
            &format!("images/{fake}"),
            "--image-feature",
            "layering"
        ])
        .status
        .success());
    assert!(bed
        .rbd(&["snap", "create", &format!("images/{fake}@snap")])
        .status
        .success());

    let out = ours(&bed, &["upload", "--cleanup", fake], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("images/{fake}")), "{said}");
    assert!(!bed
        .rbd(&["info", &format!("images/{fake}")])
        .status
        .success());
    assert!(snapshots(&bed, &vol).is_empty());
    bed.remove_image_and_snaps(&format!("volumes/{vol}"));

    // Only what this tool makes is removed: an image named like a Glance
    // image id that is not a clone of the volume snapshot named after it
    // stays; an id that is not a UUID is refused.
    let other = "55555555-6666-7777-8888-999999999999";
    bed.rbd_ok(&["create", "--size", "4M", &format!("images/{other}")]);
    let out = ours(&bed, &["upload", "--cleanup", other], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(bed
        .rbd(&["info", &format!("images/{other}")])
        .status
        .success());
    bed.remove_image_and_snaps(&format!("images/{other}"));
    let out = ours(&bed, &["upload", "--cleanup", "../volumes/x"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("UUID"), "{err}");

    let out = ours(&bed, &["check", "--format", "json"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"]["path"], "clone", "{v}");
    assert_eq!(v["pool_writable"], true);
    let out = ours(
        &bed,
        &["check", "--store", "other", "--format", "json"],
        &[],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"]["path"], "stream", "{v}");
}

/// The original names of the volume's snapshots in the trash namespace.
fn trashed_snapshots(bed: &Testbed, name: &str) -> Vec<String> {
    snap_ls(bed, name, true)
        .iter()
        .filter(|s| s["namespace"]["type"] == "trash")
        .map(|s| {
            let original = &s["namespace"]["original_name"];
            original.as_str().unwrap_or_default().to_string()
        })
        .collect()
}

/// Glance deletes a cloned image as its own Ceph user, which may only read
/// the volumes pool: librbd then cannot remove the volume's trashed clone
/// snapshot. `--cleanup IMAGE_ID` does; so would deleting the volume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_removes_the_trashed_clone_snapshot_glance_could_not() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let g = bed.glance().await;
    let (vol, _) = bed.import_volume("upload-vol", 8 << 20, 15);
    let spec = format!("volumes/{vol}");
    let image = upload_by_clone(&bed, &spec, "t-trashed");
    let clone_snap = format!("image-{image}.clone_snap");
    assert_eq!(trashed_snapshots(&bed, &vol), vec![clone_snap.clone()]);

    rbd_native_tests::glance_wait_hashed(&g, &image).await;
    glance_delete(&g, &image).await;
    assert!(!bed
        .rbd(&["info", &format!("images/{image}")])
        .status
        .success());
    let left = trashed_snapshots(&bed, &vol);

    let out = ours(&bed, &["upload", "--cleanup", &image], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    if left.is_empty() {
        eprintln!("Glance's Ceph user removed the trashed snapshot itself");
    } else {
        assert_eq!(left, vec![clone_snap.clone()]);
        assert!(said.contains(&clone_snap), "{said}");
    }
    assert!(trashed_snapshots(&bed, &vol).is_empty());
    assert!(snapshots(&bed, &vol).is_empty());
    bed.remove_image_and_snaps(&spec);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_failing_after_the_ids_are_allotted_releases_them() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    // No layering: the clone step fails after both ids are allotted and
    // the volume snapshot is made.
    let vol = unique_name("upload-nolayering");
    let spec = format!("volumes/{vol}");
    bed.rbd_ok(&[
        "create",
        "--size",
        "4M",
        "--image-feature",
        "exclusive-lock",
        &spec,
    ]);
    let before = bed.osdmap_epoch("CEPH_CONF");
    let out = ours(
        &bed,
        &[
            "upload",
            "--volume",
            &spec,
            "--name",
            "t-nolayering",
            "--clone-optimization",
            "--no-fallback",
            "--format",
            "json",
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("layering"), "{err}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let after = bed.osdmap_epoch("CEPH_CONF");
    let ids = r["snapshot_ids"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 2, "{r}");
    for pair in ids {
        let (pool, id) = (pair[0].as_str().unwrap(), pair[1].as_u64().unwrap());
        let removed = bed.removed_snaps("CEPH_CONF", bed.pool_id("CEPH_CONF", pool), before, after);
        assert!(
            removed.contains(&id),
            "{pool} id {id} not released: {removed:?}"
        );
    }
    assert!(snapshots(&bed, &vol).is_empty());
    // And no Glance image was left queued.
    let g = bed.glance().await;
    assert!(g.show_image(r["image_id"].as_str().unwrap()).await.is_err());
    bed.remove_image_and_snaps(&format!("volumes/{vol}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_in_use_by_a_librbd_writer_uploads_by_clone() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let g = bed.glance().await;
    let (vol, _) = bed.import_volume("upload-vol", 8 << 20, 15);
    let spec = format!("volumes/{vol}");
    // A running "VM": librbd holds the volume open for writing and owns
    // its exclusive lock. The snapshot must be taken through it.
    let mut holder = bed.librbd_holder("volumes", &vol);
    let locks = bed.rbd_json(&["lock", "ls", &spec]);
    assert!(!locks.as_array().unwrap().is_empty());
    let expected = bed.rbd_export(&spec);
    let r = upload_json(
        &bed,
        &[
            "--volume",
            &spec,
            "--name",
            "t-in-use",
            "--clone-optimization",
        ],
    );
    let still = bed.rbd_json(&["lock", "ls", &spec]);
    drop(holder.stdin.take());
    let _ = holder.wait();
    assert_eq!(r["path"], "clone", "{r}");
    assert_eq!(still, locks, "the holder lost its lock");
    let id = r["image_id"].as_str().unwrap();
    assert!(
        glance_download(&g, id).await == expected,
        "the image is not the volume's bytes"
    );
    glance_delete(&g, id).await;
    bed.remove_image_and_snaps(&spec);
}

/// The uploader's command given `token` as it is (`OS_AUTH_TYPE=token`,
/// no password, no project).
fn with_token(bed: &Testbed, token: &str, args: &[&str]) -> Command {
    let bin = rbd_native_tests::rbd_native_bin(env!("CARGO_BIN_EXE_rbd-native"));
    let mut c = bed.rbd_native_uploader(&bin);
    rbd_native_tests::with_given_token(&mut c, token).args(args);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_sharing_one_given_token_upload_by_clone() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let g = bed.glance().await;
    let token = g.auth().token().await.expect("uploader's token");
    let vols: Vec<String> = (0..2)
        .map(|i| bed.import_volume("upload-tok", 4 << 20, 40 + i).0)
        .collect();
    let children: Vec<_> = vols
        .iter()
        .map(|v| {
            let spec = format!("volumes/{v}");
            with_token(
                &bed,
                token.value(),
                &[
                    "upload",
                    "--volume",
                    &spec,
                    "--name",
                    "t-token",
                    "--clone-optimization",
                    "--format",
                    "json",
                ],
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn rbd-native")
        })
        .collect();
    let mut images = Vec::new();
    for c in children {
        let out = c.wait_with_output().expect("rbd-native");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["path"], "clone", "{r}");
        images.push(r["image_id"].as_str().unwrap().to_string());
    }
    for id in &images {
        assert_eq!(g.show_image(id).await.expect("image").status, "active");
    }
    // The token the commands shared is still the uploader's session's own
    // (that no new token is made is shown by glance-client's live test).
    assert_eq!(g.auth().token().await.unwrap().value(), token.value());

    // A token Keystone does not know: one message, non-zero exit, nothing
    // made.
    let spec = format!("volumes/{}", vols[0]);
    let out = run(with_token(
        &bed,
        "gAAAAABnot-a-real-token",
        &["upload", "--volume", &spec, "--name", "t-token-bad"],
    )
    .arg("--clone-optimization"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("OS_TOKEN") && err.contains("issue a new one"),
        "{err}"
    );
    for id in &images {
        rbd_native_tests::glance_wait_hashed(&g, id).await;
        glance_delete(&g, id).await;
    }
    for v in &vols {
        bed.remove_image_and_snaps(&format!("volumes/{v}"));
    }
}
