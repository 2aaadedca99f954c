//! The library's API on the test bed: three volumes uploaded by clone in
//! one `Uploader::upload_many` call. All three images become active with
//! their volumes as parents, the snapshot ids are distinct, and the ids
//! were granted together, in one OSD map epoch (one monitor round), not
//! one or two rounds per upload: the batch sends its six pool operations
//! at once, and the monitor puts operations that reach it together into
//! one proposal (without the batching, three concurrent uploads were seen
//! to take two epochs).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;

use glance_client::Glance;
use rbd_native_tests::{glance_delete, glance_wait_hashed, Testbed};
use rbd_upload::{CephOptions, OpenStack, UploadOutcome, UploadRequest, Uploader};

/// Deletes a Glance image once Glance has hashed it.
async fn delete_image(g: &Glance, id: &str) {
    glance_wait_hashed(g, id).await;
    glance_delete(g, id).await;
}

/// Removes volume `name` (its snapshots first) and any RBD trash entry of
/// it, retrying a little while Glance's removal of the clones (which frees
/// the trashed parent snapshots) settles.
fn remove_volume(bed: &Testbed, name: &str) {
    let spec = format!("volumes/{name}");
    for _ in 0..20 {
        bed.remove_image_and_snaps(&spec);
        if !bed.rbd(&["info", &spec]).status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let out = bed.rbd(&["trash", "ls", "volumes", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    for e in v.as_array().cloned().unwrap_or_default() {
        if e["name"].as_str() == Some(name) {
            if let Some(id) = e["id"].as_str() {
                let _ = bed.rbd(&["trash", "rm", &format!("volumes/{id}")]);
            }
        }
    }
}

/// What the test checks, as a list of what is wrong (the images and
/// volumes are cleaned up before the test fails on it). Returns the
/// distinct epochs the ids were granted in.
async fn problems(
    bed: &Testbed,
    g: &Glance,
    vols: &[String],
    outcomes: &[UploadOutcome],
) -> (Vec<String>, BTreeSet<u32>) {
    let mut wrong = Vec::new();
    let mut ids = BTreeSet::new();
    let mut epochs = BTreeSet::new();
    if outcomes.len() != vols.len() {
        wrong.push(format!(
            "{} outcomes for {} requests",
            outcomes.len(),
            vols.len()
        ));
    }
    for (vol, o) in vols.iter().zip(outcomes) {
        let r = &o.report;
        if let Some(e) = &o.error {
            wrong.push(format!("{vol}: {e}"));
            continue;
        }
        if r.volume != format!("volumes/{vol}") || r.path != "clone" {
            wrong.push(format!("{vol}: report {r:?}"));
        }
        match g.show_image(&r.image_id).await {
            Ok(img) if img.status == "active" => {}
            Ok(img) => wrong.push(format!("{vol}: image {} is {}", r.image_id, img.status)),
            Err(e) => wrong.push(format!("{vol}: image {}: {e}", r.image_id)),
        }
        let out = bed.rbd(&[
            "info",
            &format!("images/{}", r.image_id),
            "--format",
            "json",
        ]);
        let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if info["parent"]["pool"] != "volumes" || info["parent"]["image"] != vol.as_str() {
            wrong.push(format!(
                "{vol}: images/{} has parent {}",
                r.image_id, info["parent"]
            ));
        }
        if r.snapshot_ids.len() != 2 || r.snapshot_epochs.len() != 2 {
            wrong.push(format!(
                "{vol}: ids {:?}, epochs {:?}",
                r.snapshot_ids, r.snapshot_epochs
            ));
        }
        for id in &r.snapshot_ids {
            if !ids.insert(id.clone()) {
                wrong.push(format!("{vol}: snapshot id {id:?} given twice"));
            }
        }
        epochs.extend(r.snapshot_epochs.iter().copied());
    }
    if epochs.len() > 1 {
        wrong.push(format!(
            "the ids were granted in {} epochs {epochs:?}: not in shared monitor rounds",
            epochs.len()
        ));
    }
    (wrong, epochs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_clones_in_one_call_share_monitor_rounds() {
    let bed = Testbed::load();
    let g = bed.glance().await;
    let vols: Vec<String> = (0..3)
        .map(|i| bed.import_volume("library-vol", 8 << 20, 40 + i).0)
        .collect();

    let ceph = CephOptions {
        conf: Some(bed.var("CEPH_CONF").into()),
        name: Some("client.cinder".into()),
        keyring: Some(bed.var("CEPH_CINDER_KEYRING").into()),
        ..CephOptions::default()
    };
    let uploader = Uploader::connect(&ceph, OpenStack::Config(bed.glance_config()))
        .await
        .expect("connect to the bed");
    let requests: Vec<UploadRequest> = vols
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut r = UploadRequest::new("volumes", v.as_str(), format!("t-library-{i}"));
            r.clone_optimization = true;
            // A clone or nothing: a stream would not test the rounds.
            r.fallback = false;
            r
        })
        .collect();
    let before = bed.osdmap_epoch("CEPH_CONF");
    let outcomes = uploader.upload_many(&requests).await;
    let after = bed.osdmap_epoch("CEPH_CONF");

    let (wrong, epochs) = problems(&bed, &g, &vols, &outcomes).await;
    for o in &outcomes {
        println!(
            "{}: image {} by {}, ids {:?} granted in epochs {:?}",
            o.report.volume,
            o.report.image_id,
            o.report.path,
            o.report.snapshot_ids,
            o.report.snapshot_epochs
        );
    }
    println!("distinct epochs {epochs:?} (the OSD map went from {before} to {after})");

    for o in &outcomes {
        if !o.report.image_id.is_empty() {
            delete_image(&g, &o.report.image_id).await;
        }
    }
    for v in &vols {
        remove_volume(&bed, v);
    }
    for o in &outcomes {
        let clone = format!("images/{}", o.report.image_id);
        assert!(
            o.report.image_id.is_empty() || !bed.rbd(&["info", &clone]).status.success(),
            "{clone} is left"
        );
    }
    for v in &vols {
        assert!(
            !bed.rbd(&["info", &format!("volumes/{v}")]).status.success(),
            "volumes/{v} is left"
        );
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
