//! `upload --cleanup ID` never touches what belongs to a Glance image
//! that is `active` (issue 16, item 3): after an upload by clone, the
//! image stays active and downloadable, and its clone and the volume's
//! clone snapshot stay.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use rbd_native_tests::{glance_delete, glance_download, Testbed};

mod common;
use common::ours;

/// `rbd snap ls --all` of volume `name`: each snapshot's name, or for one
/// in the trash its original name.
fn all_snapshots(bed: &Testbed, name: &str) -> Vec<String> {
    let out = bed.rbd(&[
        "snap",
        "ls",
        &format!("volumes/{name}"),
        "--all",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let original = &s["namespace"]["original_name"];
            original
                .as_str()
                .or(s["name"].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_of_an_active_image_leaves_it_and_its_clone() {
    let bed = Testbed::load();
    let g = bed.glance().await;
    let (vol, data) = bed.import_volume("cleanup-active", 8 << 20, 16);
    let spec = format!("volumes/{vol}");
    let out = ours(
        &bed,
        &[
            "upload",
            "--format",
            "json",
            "--volume",
            &spec,
            "--name",
            "t-cleanup-active",
            "--clone-optimization",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["path"], "clone", "{r}");
    let id = r["image_id"].as_str().unwrap().to_string();
    rbd_native_tests::glance_wait_hashed(&g, &id).await;
    let clone_snap = format!("image-{id}.clone_snap");
    assert_eq!(all_snapshots(&bed, &vol), vec![clone_snap.clone()]);

    let out = ours(&bed, &["upload", "--cleanup", &id], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!said.contains(&format!("images/{id}")), "{said}");
    assert_eq!(g.show_image(&id).await.unwrap().status, "active");
    assert!(bed.rbd(&["info", &format!("images/{id}")]).status.success());
    assert_eq!(all_snapshots(&bed, &vol), vec![clone_snap]);
    assert!(glance_download(&g, &id).await == data);

    glance_delete(&g, &id).await;
    ours(&bed, &["upload", "--cleanup", &id], &[]);
    assert!(all_snapshots(&bed, &vol).is_empty());
    bed.remove_image_and_snaps(&spec);
}
