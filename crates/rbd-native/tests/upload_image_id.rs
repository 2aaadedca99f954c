//! `rbd-native upload --image-id`: filling a `queued` Glance image that
//! its owner made (as Cinder makes the image before it asks its driver for
//! the data), on the test bed. The upload never creates nor deletes that
//! image: by clone or by stream it makes it `active`; when it cannot clone
//! and may not stream it exits 4 with the image still `queued` and nothing
//! else made; when it fails or is stopped (SIGTERM) it undoes all it made
//! and leaves the image `queued` for its owner to delete. With a user token
//! that lacks Glance's `service` role, a service token (`X-Service-Token`,
//! as Cinder sends one) lets the clone's location through.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use glance_client::{Glance, NewImage};
use rbd_native_tests::{
    glance_delete, glance_download, rbd_native_bin, run, unique_name, with_given_token, Testbed,
};

mod common;
use common::nothing_left::{
    admin_glance, assert_nothing_left, image_id, report, stderr, wait_for_glance,
};
use common::ours;

/// Uploads share one Glance (one worker): one test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A `queued` image named `name` made by `g`'s user, with `disk_format`
/// and container format bare: what Cinder's API makes before the upload.
async fn queued_image(g: &Glance, name: &str, disk_format: &str) -> String {
    let image = g
        .create_image(&NewImage {
            name: Some(name.to_string()),
            disk_format: Some(disk_format.into()),
            container_format: Some("bare".into()),
            ..NewImage::default()
        })
        .await
        .expect("create a queued image");
    assert_eq!(image.status, "queued");
    image.id
}

/// The image's status.
async fn status(g: &Glance, id: &str) -> String {
    g.show_image(id).await.expect("show image").status
}

/// The owner deletes image `id`; then `upload --cleanup` removes the
/// volume's trashed clone snapshot, which Glance's Ceph user (read-only on
/// the volumes pool) cannot remove when it deletes the clone.
async fn owner_deletes(bed: &Testbed, g: &Glance, id: &str) {
    glance_delete(g, id).await;
    let out = ours(bed, &["upload", "--cleanup", id, "--pool", "volumes"], &[]);
    assert!(out.status.success(), "--cleanup {id}: {}", stderr(&out));
}

/// `upload --image-id id` of `spec`, JSON out, with `extra` arguments.
fn fill(bed: &Testbed, spec: &str, id: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec![
        "upload",
        "--image-id",
        id,
        "--volume",
        spec,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    ours(bed, &args, env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_image_is_filled_by_clone_and_by_stream() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let admin = admin_glance(&bed).await;
    wait_for_glance(&admin).await;
    let g = bed.glance().await;
    let (vol, data) = bed.import_volume("imgid-vol", (4 << 20) + 4096, 31);
    let spec = format!("volumes/{vol}");

    for (how, flag) in [
        ("clone", "--clone-optimization"),
        ("stream", "--no-clone-optimization"),
    ] {
        let name = unique_name(&format!("t-imgid-{how}"));
        let id = queued_image(&g, &name, "raw").await;
        let out = fill(&bed, &spec, &id, &[flag], &[]);
        assert!(out.status.success(), "{how}: {}", stderr(&out));
        let r = report(&out);
        println!("--image-id by {how}: {r}");
        assert_eq!(r["path"], how, "{r}");
        assert_eq!(image_id(&r), id, "the given image is the one filled");
        let img = g.show_image(&id).await.unwrap();
        assert_eq!(img.status, "active");
        assert_eq!(img.name.as_deref(), Some(name.as_str()), "its name kept");
        assert!(
            glance_download(&g, &id).await == data,
            "{how}: the image is not the volume's bytes"
        );
        // An active image is not filled twice: refused, and left as it is.
        let again = fill(&bed, &spec, &id, &[flag], &[]);
        let err = stderr(&again);
        assert_eq!(again.status.code(), Some(1), "{err}");
        assert!(err.contains("is active"), "{err}");
        assert!(err.contains("only a queued image"), "{err}");
        assert_eq!(status(&g, &id).await, "active");
        owner_deletes(&bed, &g, &id).await;
        assert_nothing_left(&bed, &admin, &vol, &name, &[id]).await;
    }
    bed.remove_image_and_snaps(&spec);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_clone_possible_exits_4_and_leaves_the_image_queued() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let admin = admin_glance(&bed).await;
    wait_for_glance(&admin).await;
    let g = bed.glance().await;
    let (vol, _) = bed.import_volume("imgid-nc", 1 << 20, 32);
    let spec = format!("volumes/{vol}");

    // The image wants qcow2: a conversion, which is its owner's to do.
    // The file store: no clone there. Either way, with --no-fallback,
    // nothing is made and the image waits for its owner.
    let cases: [(&str, &[&str]); 2] = [
        ("qcow2", &["--clone-optimization", "--no-fallback"]),
        (
            "raw",
            &["--clone-optimization", "--no-fallback", "--store", "local"],
        ),
    ];
    for (disk_format, extra) in cases {
        let name = unique_name("t-imgid-nc");
        let id = queued_image(&g, &name, disk_format).await;
        let out = fill(&bed, &spec, &id, extra, &[]);
        let err = stderr(&out);
        println!("{disk_format} {extra:?}: {err}");
        assert_eq!(out.status.code(), Some(4), "{err}");
        assert!(err.contains("not uploaded by clone"), "{err}");
        assert!(err.contains(&format!("{id} is still queued")), "{err}");
        assert_eq!(status(&g, &id).await, "queued");
        // Its owner deletes it; nothing else is there.
        glance_delete(&g, &id).await;
        assert_nothing_left(&bed, &admin, &vol, &name, &[id]).await;
    }
    bed.remove_image_and_snaps(&spec);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_token_with_a_service_token() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let admin = admin_glance(&bed).await;
    wait_for_glance(&admin).await;
    // The bed's Keystone admin stands for a user without the `service`
    // role (Glance refuses it an rbd location); the uploader's token
    // (roles member and service) for Cinder's service token.
    let user = admin.auth().token().await.unwrap();
    assert!(!user.has_role("service"), "{:?}", user.roles());
    let service = tokio::task::block_in_place(|| bed.uploader_token().token);
    let (vol, data) = bed.import_volume("imgid-st", 2 << 20, 33);
    let spec = format!("volumes/{vol}");
    let bin = rbd_native_bin(env!("CARGO_BIN_EXE_rbd-native"));
    let as_user = |id: &str, service_token: Option<&str>| {
        let mut c = bed.rbd_native_uploader(&bin);
        with_given_token(&mut c, user.value());
        c.args([
            "upload",
            "--image-id",
            id,
            "--volume",
            &spec,
            "--clone-optimization",
            "--no-fallback",
            "--format",
            "json",
        ]);
        match service_token {
            Some(t) => c.env("RBD_NATIVE_SERVICE_TOKEN", t),
            None => c.env_remove("RBD_NATIVE_SERVICE_TOKEN"),
        };
        run(&mut c)
    };

    // The user's token alone: Glance refuses the location, the clone is
    // undone, the image still queued: exit 4 (the caller may stream).
    let name = unique_name("t-imgid-user");
    let id = queued_image(&admin, &name, "raw").await;
    let out = as_user(&id, None);
    let err = stderr(&out);
    println!("user token alone: {err}");
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("HTTP 403"), "{err}");
    assert_eq!(status(&admin, &id).await, "queued");
    assert!(
        bed.rbd_json(&["snap", "ls", "--all", &spec]) == serde_json::json!([]),
        "the undone clone's snapshot is left"
    );

    // With the service token: cloned, into the user's image.
    let out = as_user(&id, Some(&service));
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r["path"], "clone", "{r}");
    assert_eq!(status(&admin, &id).await, "active");
    assert!(glance_download(&admin, &id).await == data);
    owner_deletes(&bed, &admin, &id).await;
    assert_nothing_left(&bed, &admin, &vol, &name, &[id]).await;
    bed.remove_image_and_snaps(&spec);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_undoes_everything_but_the_given_image() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let admin = admin_glance(&bed).await;
    wait_for_glance(&admin).await;
    let g = bed.glance().await;
    let (vol, _) = bed.import_volume("imgid-term", 8 << 20, 34);
    let spec = format!("volumes/{vol}");
    let bin = rbd_native_bin(env!("CARGO_BIN_EXE_rbd-native"));

    let mut stopped = 0;
    for (how, flag) in [
        ("clone", "--clone-optimization"),
        ("stream", "--no-clone-optimization"),
    ] {
        for after_ms in [150u64, 400, 800, 1500] {
            let name = unique_name("t-imgid-term");
            let id = queued_image(&g, &name, "raw").await;
            let mut c = bed.rbd_native_uploader(&bin);
            c.args(["upload", "--image-id", &id, "--volume", &spec, flag])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let child = c.spawn().expect("start rbd-native");
            tokio::time::sleep(Duration::from_millis(after_ms)).await;
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let out = child.wait_with_output().expect("wait for rbd-native");
            let err = stderr(&out);
            let mut st = status(&g, &id).await;
            // A stream cut mid-data: Glance puts the image back to
            // `queued` once it notices (Cinder's manager deletes an image
            // it finds `queued` or `saving`).
            for _ in 0..20 {
                if st != "saving" {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                st = status(&g, &id).await;
            }
            println!(
                "{how}, SIGTERM at {after_ms} ms: {:?} {st}: {err}",
                out.status
            );
            if out.status.success() {
                // Done before the signal came.
                assert_eq!(st, "active");
                owner_deletes(&bed, &g, &id).await;
            } else {
                if err.contains("stopped (SIGTERM)") {
                    stopped += 1;
                }
                assert!(
                    st == "queued" || st == "saving",
                    "the owner's image, {st}, not queued or saving: {err}"
                );
                // Nothing for --cleanup to find but the owner's image.
                let out = ours(
                    &bed,
                    &[
                        "upload",
                        "--cleanup",
                        &id,
                        "--keep-image",
                        "--pool",
                        "volumes",
                    ],
                    &[],
                );
                let said = String::from_utf8_lossy(&out.stdout);
                assert!(out.status.success(), "{}", stderr(&out));
                assert!(said.contains("nothing left"), "--cleanup found: {said}");
                assert_ne!(status(&g, &id).await, "deleted", "--keep-image kept it");
            }
            glance_delete(&g, &id).await;
            assert_nothing_left(&bed, &admin, &vol, &name, &[id]).await;
        }
    }
    assert!(stopped > 0, "no upload was caught by the signal");
    bed.remove_image_and_snaps(&spec);
}
