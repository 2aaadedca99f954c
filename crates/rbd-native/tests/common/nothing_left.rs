//! What a failed upload must not leave on the bed, and the bed's Glance
//! as its Keystone admin (who sees every project's images) to check it.

// Each test file uses its own part of these.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use std::process::{Command, Output};

use glance_client::{ConfigLoader, Glance};
use rbd_native_tests::{run_ok, Testbed};

/// The store pool of the bed's default (rbd) store.
pub const STORE_POOL: &str = "images";

/// The OpenStack variables of the bed's Keystone admin (`OS_ADMIN_*`) in
/// place of the uploader's.
pub fn admin_env(bed: &Testbed) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = bed
        .os_env()
        .into_iter()
        .filter(|(k, _)| !["OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME"].contains(&k.as_str()))
        .collect();
    env.push(("OS_USERNAME".into(), bed.var("OS_ADMIN_USERNAME")));
    env.push(("OS_PASSWORD".into(), bed.var("OS_ADMIN_PASSWORD")));
    env.push(("OS_PROJECT_NAME".into(), bed.var("OS_ADMIN_PROJECT_NAME")));
    env
}

/// Glance as the bed's Keystone admin: it sees the images of every
/// project, so the leftover checks miss none.
pub async fn admin_glance(bed: &Testbed) -> Glance {
    let config = ConfigLoader::with_env(admin_env(bed))
        .config_files(vec![])
        .load()
        .expect("admin config from OS_* variables");
    glance_client::connect(config)
        .await
        .expect("connect to Glance as admin")
}

/// Waits (up to 2 minutes) until Glance answers: it may be restarted by
/// someone else while the tests run.
pub async fn wait_for_glance(g: &Glance) {
    for _ in 0..60 {
        if g.stores_detail().await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    panic!("Glance at {} does not answer", g.endpoint());
}

/// The ids (as strings) of the Glance images named `name`, in any status
/// Glance lists, of any project (`g` is the admin's).
pub async fn images_named(g: &Glance, name: &str) -> Vec<String> {
    let token = g.auth().token().await.unwrap();
    let out = run_ok(
        Command::new("curl")
            .args(["-sf", "-H"])
            .arg(format!("X-Auth-Token: {}", token.value()))
            .arg(format!("{}/v2/images?name={name}&limit=100", g.endpoint())),
    )
    .stdout;
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    v["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{} ({})", i["id"], i["status"]))
        .collect()
}

/// What a run must not leave: a Glance image named `name` (in any status),
/// a Glance image or an RBD image in the store pool for any of `ids` (the
/// image ids of the run), a snapshot on volume `vol` (the snapshot trash
/// namespace included), an RBD trash entry of the volume or of those ids.
pub async fn assert_nothing_left(bed: &Testbed, g: &Glance, vol: &str, name: &str, ids: &[String]) {
    assert_eq!(
        images_named(g, name).await,
        Vec::<String>::new(),
        "Glance images named {name} left"
    );
    for id in ids.iter().filter(|id| !id.is_empty()) {
        match g.show_image(id).await {
            Err(e) if e.is_not_found() => {}
            Ok(img) if img.status == "deleted" => {}
            other => panic!("Glance image {id} left: {other:?}"),
        }
        assert!(
            !bed.rbd(&["info", &format!("{STORE_POOL}/{id}")])
                .status
                .success(),
            "RBD image {STORE_POOL}/{id} left"
        );
    }
    let snaps = bed.rbd_json(&["snap", "ls", "--all", &format!("volumes/{vol}")]);
    assert_eq!(snaps, serde_json::json!([]), "snapshots left on {vol}");
    for pool in ["volumes", STORE_POOL] {
        let trash = bed.rbd_json(&["trash", "ls", "--all", pool]);
        for entry in trash.as_array().unwrap() {
            let n = entry["name"].as_str().unwrap_or_default();
            assert!(
                n != vol && !ids.iter().any(|id| !id.is_empty() && n == id),
                "trash entry left in {pool}: {entry}"
            );
        }
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON report `--format json` prints (on failure too).
pub fn report(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

pub fn image_id(r: &serde_json::Value) -> String {
    r["image_id"].as_str().unwrap_or_default().to_string()
}
