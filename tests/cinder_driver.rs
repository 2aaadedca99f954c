//! Cinder's own RBD driver (the `cinder` package of the venv, through
//! `tests/py/cinder_driver.py`) against the bed: volumes it creates, a
//! Glance image made by copy-on-write clone of one of them (as the upload
//! tool will make it), a volume it clones from that image, and what its
//! `delete_volume` does to a volume whose snapshot has a clone.
//!
//! What Cinder 29's `delete_volume` does to such a volume (asserted below):
//! the plain remove fails (the volume has a snapshot), so it *flattens every
//! child clone* - the Glance image in the images pool included - and, the
//! snapshot still being there, moves the volume to the RBD trash. The
//! snapshot is still in it, so neither `rbd trash purge` nor Cinder's
//! deferred-deletion purge can remove it: the uploader's snapshot must be
//! removed by someone (here the test's cleanup). A snapshot whose name ends
//! in `.clone_snap` (Cinder's own clone snapshots) is another story: Cinder
//! then only renames the volume to `<name>.deleted` and leaves the clone
//! unflattened.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use rbd_native_tests::{cinder, pattern, run_ok, ScratchDir, Testbed};
use reqwest::blocking::Client;
use serde_json::{json, Value};

/// A fresh Cinder-style volume name, `volume-<uuid>`.
fn volume_name() -> String {
    let out = run_ok(&mut Command::new("uuidgen"));
    format!("volume-{}", String::from_utf8_lossy(&out.stdout).trim())
}

/// Writes `file` at offset 0 of `pool/name`, or reads `len` bytes from
/// there into `file`, with librbd's Python bindings as client.cinder.
fn py_rbd(bed: &Testbed, op: &str, pool: &str, name: &str, file: &std::path::Path, len: usize) {
    const SCRIPT: &str = r#"
import os, sys, rados, rbd
op, pool, name, path, length = sys.argv[1:6]
c = rados.Rados(conffile=os.environ["CEPH_CONF"], rados_id="cinder",
                conf={"keyring": os.environ["CEPH_CINDER_KEYRING"]})
c.connect()
try:
    io = c.open_ioctx(pool)
    with rbd.Image(io, name) as img:
        if op == "write":
            img.write(open(path, "rb").read(), 0)
        else:
            open(path, "wb").write(img.read(0, int(length)))
    io.close()
finally:
    c.shutdown()
"#;
    let mut cmd = Command::new(bed.venv_python());
    cmd.args(["-c", SCRIPT, op, pool, name])
        .arg(file)
        .arg(len.to_string())
        .env("CEPH_CONF", bed.var("CEPH_CONF"))
        .env("CEPH_CINDER_KEYRING", bed.var("CEPH_CINDER_KEYRING"));
    run_ok(&mut cmd);
}

/// The uploader's token and Glance.
struct Glance {
    http: Client,
    url: String,
    token: String,
}

impl Glance {
    fn open(bed: &Testbed) -> Glance {
        let t = bed.uploader_token();
        Glance {
            http: t.http,
            url: bed.var("GLANCE_URL").trim_end_matches('/').to_string(),
            token: t.token,
        }
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder) -> reqwest::blocking::Response {
        req.header("X-Auth-Token", &self.token).send().unwrap()
    }

    fn json(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = self.send(req);
        let status = resp.status().as_u16();
        let text = resp.text().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn delete(&self, id: &str) -> (u16, String) {
        let resp = self.send(self.http.delete(format!("{}/v2/images/{id}", self.url)));
        (resp.status().as_u16(), resp.text().unwrap_or_default())
    }

    /// The first `len` bytes of the image's data (the rest is not read).
    fn head(&self, id: &str, len: usize) -> Vec<u8> {
        let resp = self.send(self.http.get(format!("{}/v2/images/{id}/file", self.url)));
        assert_eq!(resp.status().as_u16(), 200, "download of {id}");
        let mut buf = vec![0; len];
        resp.take(len as u64).read_exact(&mut buf).unwrap();
        buf
    }

    /// Deletes the image, waiting out Glance's background hashing (409 or,
    /// with the bed's SQLite, 500) for up to 60 s; the last status. A 409
    /// because the store's image has clones ("in use through the backend
    /// store") is final.
    fn delete_patiently(&self, id: &str) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = self.delete(id);
            let retry = status == 500 || (status == 409 && !body.contains("backend store"));
            if !retry || Instant::now() > deadline {
                return status;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// Removes whatever a test made, whatever it reached: RBD images by name
/// (from the trash too), each with its snapshots, children before parents;
/// then the Glance image.
struct Cleanup<'a> {
    bed: &'a Testbed,
    glance: Option<&'a Glance>,
    image_id: Option<String>,
    rbd_images: Vec<String>,
}

impl Cleanup<'_> {
    fn purge(&self, spec: &str) {
        let (pool, name) = spec.split_once('/').unwrap();
        // From the trash first (where Cinder may have moved it).
        let trash = self.bed.rbd(&["trash", "ls", pool, "--format", "json"]);
        let trash: Value = serde_json::from_slice(&trash.stdout).unwrap_or(Value::Null);
        for t in trash.as_array().into_iter().flatten() {
            if t["name"] == name {
                self.bed.rbd(&[
                    "trash",
                    "restore",
                    &format!("{pool}/{}", t["id"].as_str().unwrap()),
                ]);
            }
        }
        self.bed.remove_image_and_snaps(spec);
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        // Clones before their parents (the list's order), then Glance's
        // record of the image.
        for spec in &self.rbd_images {
            self.purge(spec);
        }
        if let (Some(g), Some(id)) = (self.glance, &self.image_id) {
            let _ = g.delete(id);
        }
    }
}

/// The names `pool` holds, as images and as trash entries.
fn names_in(bed: &Testbed, pool: &str) -> (Vec<String>, Vec<String>) {
    let ls = bed.rbd(&["ls", pool, "--format", "json"]);
    let images: Vec<String> = serde_json::from_slice(&ls.stdout).unwrap_or_default();
    let trash = bed.rbd(&["trash", "ls", pool, "--format", "json"]);
    let trash: Value = serde_json::from_slice(&trash.stdout).unwrap_or(Value::Null);
    let trash = trash
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect();
    (images, trash)
}

#[test]
fn cinder_driver_with_a_cow_clone_image() {
    let bed = Testbed::load();
    let glance = Glance::open(&bed);
    let dir = ScratchDir::new("cinder-driver");
    let fsid = bed.fsid("CEPH_CONF");
    let source = volume_name();
    let from_image = volume_name();
    let mut cleanup = Cleanup {
        bed: &bed,
        glance: Some(&glance),
        image_id: None,
        rbd_images: vec![format!("volumes/{from_image}"), format!("volumes/{source}")],
    };

    // A 1 GiB volume made by Cinder's driver, data written by librbd.
    let made = cinder(&bed, &["create-volume", &source, "1"]);
    assert_eq!(made["volume"], source.as_str());
    let data = pattern(5 * 1024 * 1024 + 123, 0xc1de);
    let file = dir.path().join("data");
    std::fs::write(&file, &data).unwrap();
    py_rbd(&bed, "write", "volumes", &source, &file, 0);

    // A Glance image by copy-on-write clone, as the upload tool makes it.
    let (status, image) = glance.json(
        reqwest::Method::POST,
        "/v2/images",
        Some(
            json!({"name": "cinder-driver-test", "disk_format": "raw", "container_format": "bare"}),
        ),
    );
    assert_eq!(status, 201, "image create: {image}");
    let id = image["id"].as_str().unwrap().to_string();
    cleanup.image_id = Some(id.clone());
    let clone = format!("images/{id}");
    // After the volume cloned from it, before the volume it is cloned from.
    cleanup.rbd_images.insert(1, clone.clone());
    let vsnap = format!("volumes/{source}@image-{id}");
    bed.rbd_ok(&["snap", "create", &vsnap]);
    bed.rbd_ok(&["snap", "protect", &vsnap]);
    bed.rbd_ok(&["clone", &vsnap, &clone]);
    bed.rbd_ok(&["snap", "create", &format!("{clone}@snap")]);
    bed.rbd_ok(&["snap", "protect", &format!("{clone}@snap")]);
    let url = format!("rbd://{fsid}/{clone}/snap");
    let (status, body) = glance.json(
        reqwest::Method::POST,
        &format!("/v2/images/{id}/locations"),
        Some(json!({"url": url})),
    );
    assert!(
        (200..300).contains(&status),
        "add location: {status} {body}"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, image) = glance.json(reqwest::Method::GET, &format!("/v2/images/{id}"), None);
        if image["status"] == "active" {
            break;
        }
        assert!(Instant::now() < deadline, "image not active: {image}");
        std::thread::sleep(Duration::from_millis(250));
    }

    // Cinder creates a volume from the image: its clone_image clones.
    let created = cinder(&bed, &["create-volume-from-image", &from_image, &id, "2"]);
    assert_eq!(created["path"], "clone_image", "{created:#}");
    assert_eq!(
        created["volume_state"]["parent"],
        format!("{clone}@snap").as_str(),
        "{created:#}"
    );
    assert_eq!(created["volume_state"]["size"], 2u64 << 30);
    let got = dir.path().join("got");
    py_rbd(&bed, "read", "volumes", &from_image, &got, data.len());
    assert!(
        std::fs::read(&got).unwrap() == data,
        "the cloned volume's bytes differ"
    );

    // Spec test 1: Cinder deletes the source volume. It flattens the
    // Glance image (the snapshot's child) and moves the volume, snapshot
    // and all, to the trash.
    let deleted = cinder(&bed, &["delete-volume", &source]);
    eprintln!(
        "delete_volume of the source: {} (flattened {})",
        deleted["outcome"], deleted["flattened_children"]
    );
    assert!(
        deleted["outcome"]
            .as_str()
            .unwrap()
            .starts_with("moved to trash"),
        "{deleted:#}"
    );
    assert_eq!(deleted["flattened_children"], json!([clone]), "{deleted:#}");
    let info = bed.rbd(&["info", &clone, "--format", "json"]);
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert!(
        info.get("parent").is_none(),
        "the clone still has a parent: {info}"
    );
    assert!(
        glance.head(&id, data.len()) == data,
        "the image's bytes changed"
    );

    // Spec test 2's order: the image cannot go while a volume is cloned from it.
    assert_eq!(
        glance.delete_patiently(&id),
        409,
        "Glance deleted an image with a clone"
    );
    let deleted = cinder(&bed, &["delete-volume", &from_image]);
    assert_eq!(deleted["outcome"], "removed", "{deleted:#}");
    assert_eq!(
        glance.delete_patiently(&id),
        204,
        "Glance could not delete the image"
    );
    cleanup.image_id = None;

    // What stays: the source volume in the trash, holding the snapshot the
    // upload made; `rbd trash rm` refuses it.
    let (images, trash) = names_in(&bed, "volumes");
    assert!(
        !images.contains(&source) && trash.contains(&source),
        "{images:?} {trash:?}"
    );
    let (images, _) = names_in(&bed, "images");
    assert!(!images.contains(&id), "Glance left {clone}");
    let listed = cinder(&bed, &["list"]);
    eprintln!("left in volumes: {:#}", listed["pools"]["volumes"]["trash"]);

    // The cleanup purges it: restore, unprotect, remove the snapshot, remove.
    let specs = std::mem::take(&mut cleanup.rbd_images);
    for spec in &specs {
        cleanup.purge(spec);
    }
    for pool in ["volumes", "images"] {
        let (images, trash) = names_in(&bed, pool);
        for name in [&source, &from_image, &id] {
            assert!(
                !images.contains(name) && !trash.contains(name),
                "{pool} still holds {name}"
            );
        }
    }
}

#[test]
fn clone_snap_named_snapshot_makes_cinder_rename_the_volume() {
    // Cinder keeps a volume whose snapshot is named `*.clone_snap` (its own
    // clones' snapshots) as `<name>.deleted` and flattens nothing. Only
    // deleting a Cinder volume whose parent snapshot is `<that volume's
    // name>.clone_snap` walks back and removes a `.deleted` parent: an
    // uploader's snapshot so named leaves a `.deleted` volume that no
    // later Cinder call removes.
    let bed = Testbed::load();
    let source = volume_name();
    let clone = format!("images/{}-cinder-test", volume_name());
    let mut cleanup = Cleanup {
        bed: &bed,
        glance: None,
        image_id: None,
        rbd_images: vec![
            clone.clone(),
            format!("volumes/{source}"),
            format!("volumes/{source}.deleted"),
        ],
    };
    cinder(&bed, &["create-volume", &source, "1"]);
    let snap = format!("volumes/{source}@upload.clone_snap");
    bed.rbd_ok(&["snap", "create", &snap]);
    bed.rbd_ok(&["snap", "protect", &snap]);
    bed.rbd_ok(&["clone", &snap, &clone]);
    let deleted = cinder(&bed, &["delete-volume", &source]);
    assert_eq!(
        deleted["outcome"],
        format!("renamed to {source}.deleted").as_str(),
        "{deleted:#}"
    );
    assert_eq!(deleted["flattened_children"], json!([]));
    let info = bed.rbd(&["info", &clone, "--format", "json"]);
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(
        info["parent"]["image"],
        format!("{source}.deleted").as_str(),
        "{info}"
    );
    // The clone goes (as Glance deletes an image): nothing removes the
    // `.deleted` volume, not even deleting the volume again.
    cleanup.purge(&clone);
    let again = cinder(&bed, &["delete-volume", &source]);
    assert_eq!(
        again["before"],
        format!("renamed to {source}.deleted").as_str()
    );
    assert_eq!(again["outcome"], again["before"], "{again:#}");
    let specs = std::mem::take(&mut cleanup.rbd_images);
    for spec in &specs {
        cleanup.purge(spec);
    }
    let (images, trash) = names_in(&bed, "volumes");
    assert!(
        !images.iter().chain(&trash).any(|n| n.starts_with(&source)),
        "{images:?} {trash:?}"
    );
}
