//! `rbd-native upload` failures on the test bed that `upload.rs` does not
//! cover: Glance unreachable while Keystone works; Glance refusing the
//! clone's location (an OpenStack user without the `service` role); a Ceph
//! user that may not write to the store's pool. Each says what failed and
//! what to do, fails with a non-zero exit when it cannot upload, and leaves
//! nothing behind: no Glance image of its name, no RBD image named after an
//! image id of the run, no snapshot on the volume (trash namespace
//! included), no RBD trash entry.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use rbd_native_tests::{
    glance_delete, glance_download, rbd_native_bin, run, run_ok, unique_name, ScratchDir, Testbed,
};

mod common;
use common::nothing_left::{
    admin_env, admin_glance, assert_nothing_left, image_id, report, stderr, wait_for_glance,
    STORE_POOL,
};
use common::{clone_upload, ours};

/// Uploads share one Glance (one worker): one test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `rbd-native` as Ceph user `id` (keyring file `keyring`) of cluster main
/// with the uploader's OpenStack credentials and nothing else.
fn ours_as(bed: &Testbed, id: &str, keyring: &Path, args: &[&str]) -> Output {
    let bin = rbd_native_bin(env!("CARGO_BIN_EXE_rbd-native"));
    let mut c = Command::new(bin);
    c.arg("-c")
        .arg(bed.var("CEPH_CONF"))
        .args(["--id", id, "-k"])
        .arg(keyring)
        .args(args)
        .env_remove("CEPH_ARGS")
        .env_remove("OS_CLOUD")
        .env_remove("OS_CLIENT_CONFIG_FILE")
        .env("RBD_NATIVE_CONFIG", "/dev/null")
        .envs(bed.os_env());
    run(&mut c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_unreachable_while_keystone_works() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let admin = admin_glance(&bed).await;
    wait_for_glance(&admin).await;
    let (vol, _) = bed.import_volume("upfail-vol", 4 << 20, 21);
    let spec = format!("volumes/{vol}");
    let name = unique_name("t-noglance");
    for fallback in [true, false] {
        let args = clone_upload(&spec, &name, !fallback);
        let out = ours(&bed, &args, &[("OS_IMAGE_URL", "http://127.0.0.1:9")]);
        let err = stderr(&out);
        println!("Glance unreachable (fallback {fallback}): {err}");
        assert!(!out.status.success(), "{err}");
        // What failed: Glance, at the URL given, could not be reached...
        assert!(err.contains("http://127.0.0.1:9/"), "{err}");
        assert!(err.contains("cannot reach the server"), "{err}");
        // ... and what to do.
        assert!(err.contains("hint: check that"), "{err}");
        assert!(err.contains("reachable"), "{err}");
        let r = report(&out);
        assert_eq!(image_id(&r), "", "an image was created: {r}");
        assert_nothing_left(&bed, &admin, &vol, &name, &[]).await;
    }
    bed.remove_image_and_snaps(&spec);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_refusing_the_location_undoes_the_clone() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let admin = admin_glance(&bed).await;
    wait_for_glance(&admin).await;
    // The bed's Keystone admin may read the stores detail (role admin)
    // but lacks the `service` role that Glance (2024.2+) requires of a
    // caller adding an rbd location: Glance refuses it with 403.
    let token = admin.auth().token().await.unwrap();
    assert!(
        token.has_role("admin") && !token.has_role("service"),
        "the bed's admin must have role admin and not service: {:?}",
        token.roles()
    );
    let (vol, data) = bed.import_volume("upfail-vol", 4 << 20, 22);
    let spec = format!("volumes/{vol}");
    let env = admin_env(&bed);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    // --no-fallback: fails with Glance's status and message, every clone
    // step undone, the Glance image deleted.
    let name = unique_name("t-refused");
    let out = ours(&bed, &clone_upload(&spec, &name, true), &env);
    let err = stderr(&out);
    println!("location refused, --no-fallback: {err}");
    assert!(!out.status.success(), "{err}");
    let r = report(&out);
    let id = image_id(&r);
    assert!(!id.is_empty(), "{r}");
    assert!(err.contains(&format!("/v2/images/{id}/locations")), "{err}");
    assert!(err.contains("HTTP 403"), "{err}");
    assert!(
        err.contains("http store must be enabled to use location API"),
        "Glance's message: {err}"
    );
    assert!(err.contains("`service` role"), "what to do: {err}");
    // The clone had been made (its snapshot id used) before Glance refused.
    let steps: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        steps.contains(&"clone") && steps.contains(&"clone snapshot"),
        "{r}"
    );
    assert!(!steps.contains(&"location"), "{r}");
    assert_nothing_left(&bed, &admin, &vol, &name, &[id]).await;

    // Without --no-fallback: the same refusal, then a stream.
    let name = unique_name("t-refused-stream");
    let out = ours(&bed, &clone_upload(&spec, &name, false), &env);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let r = report(&out);
    println!("location refused, fallback: {r}");
    assert_eq!(r["path"], "stream", "{r}");
    let clone_error = r["clone_error"].as_str().unwrap();
    assert!(clone_error.contains("HTTP 403"), "{clone_error}");
    assert!(
        clone_error.contains("http store must be enabled to use location API"),
        "{clone_error}"
    );
    let id = image_id(&r);
    let img = admin.show_image(&id).await.unwrap();
    assert_eq!(img.status, "active");
    assert_eq!(img.size, Some(data.len() as u64));
    assert!(
        glance_download(&admin, &id).await == data,
        "the streamed image is not the volume's bytes"
    );
    // The stream's snapshot is gone, and so is the undone clone's.
    assert_eq!(
        bed.rbd_json(&["snap", "ls", "--all", &spec]),
        serde_json::json!([])
    );
    glance_delete(&admin, &id).await;
    assert_nothing_left(&bed, &admin, &vol, &name, &[id]).await;
    bed.remove_image_and_snaps(&spec);
}

/// A Ceph user of cluster main, removed (`ceph auth rm`) when dropped.
struct CephUser<'a> {
    bed: &'a Testbed,
    id: String,
    _dir: ScratchDir,
    keyring: std::path::PathBuf,
}

impl<'a> CephUser<'a> {
    /// Creates `client.<id>` with `caps` (pairs of service and cap) as the
    /// bed's admin; its keyring goes to a scratch file.
    fn create(bed: &'a Testbed, id: &str, caps: &[&str]) -> CephUser<'a> {
        let dir = ScratchDir::new("upfail-user");
        let keyring = dir.path().join(format!("ceph.client.{id}.keyring"));
        let mut c = bed.ceph_tool("ceph", "CEPH_CONF", "admin");
        c.arg("-k")
            .arg(bed.var("CEPH_ADMIN_KEYRING"))
            .args(["auth", "get-or-create", &format!("client.{id}")])
            .args(caps)
            .arg("-o")
            .arg(&keyring);
        run_ok(&mut c);
        CephUser {
            bed,
            id: id.to_string(),
            _dir: dir,
            keyring,
        }
    }
}

impl Drop for CephUser<'_> {
    fn drop(&mut self) {
        let mut c = self.bed.ceph_tool("ceph", "CEPH_CONF", "admin");
        c.arg("-k").arg(self.bed.var("CEPH_ADMIN_KEYRING")).args([
            "auth",
            "rm",
            &format!("client.{}", self.id),
        ]);
        let _ = c.output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ceph_user_that_may_not_write_to_the_store_pool() {
    let _one = SERIAL.lock().await;
    let bed = Testbed::load();
    let admin = admin_glance(&bed).await;
    wait_for_glance(&admin).await;
    let id = unique_name("t-ro");
    let user = CephUser::create(
        &bed,
        &id,
        &[
            "mon",
            "profile rbd",
            "osd",
            &format!("profile rbd pool=volumes, profile rbd-read-only pool={STORE_POOL}"),
        ],
    );
    let why = format!("may not write to pool {STORE_POOL}");
    let (vol, data) = bed.import_volume("upfail-vol", 4 << 20, 23);
    let spec = format!("volumes/{vol}");

    // check: not eligible, and why; a report, so exit 0.
    let out = ours_as(&bed, &id, &user.keyring, &["check", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = report(&out);
    println!("check: {v}");
    assert_eq!(v["pool_writable"], false, "{v}");
    assert_eq!(v["decision"]["path"], "stream", "{v}");
    let reason = v["decision"]["reason"].as_str().unwrap();
    assert!(reason.contains(&why), "{reason}");
    assert!(
        reason.contains(&format!("profile rbd pool={STORE_POOL}")),
        "{reason}"
    );
    let out = ours_as(&bed, &id, &user.keyring, &["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("would stream") && said.contains(&why),
        "{said}"
    );

    // upload with the optimization: streams, and says why.
    let name = unique_name("t-ro-stream");
    let out = ours_as(&bed, &id, &user.keyring, &clone_upload(&spec, &name, false));
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&out);
    println!("upload: {r}");
    assert_eq!(r["path"], "stream", "{r}");
    assert!(r["reason"].as_str().unwrap().contains(&why), "{r}");
    assert_eq!(r["snapshot_ids"], serde_json::json!([]), "{r}");
    let image = image_id(&r);
    assert!(
        glance_download(&admin, &image).await == data,
        "the streamed image is not the volume's bytes"
    );
    glance_delete(&admin, &image).await;
    assert_nothing_left(&bed, &admin, &vol, &name, &[image]).await;

    // --no-fallback: fails at once with the reason, nothing made.
    let name = unique_name("t-ro-nofallback");
    let out = ours_as(&bed, &id, &user.keyring, &clone_upload(&spec, &name, true));
    let err = stderr(&out);
    println!("upload --no-fallback: {err}");
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&why), "{err}");
    assert!(
        err.contains(&format!("grant it `profile rbd pool={STORE_POOL}`")),
        "{err}"
    );
    assert!(err.contains("--no-fallback"), "{err}");
    let r = report(&out);
    assert_eq!(image_id(&r), "", "an image was created: {r}");
    assert!(r["reason"].as_str().unwrap().contains(&why), "{r}");
    assert_nothing_left(&bed, &admin, &vol, &name, &[]).await;

    drop(user);
    let mut c = bed.ceph_tool("ceph", "CEPH_CONF", "admin");
    c.arg("-k")
        .arg(bed.var("CEPH_ADMIN_KEYRING"))
        .args(["auth", "get", &format!("client.{id}")]);
    assert!(!run(&mut c).status.success(), "client.{id} not removed");
    bed.remove_image_and_snaps(&spec);
}
