//! Keystone and Glance of the test bed: the uploader's token and catalog,
//! Glance's stores detail, and the mechanism the project rests on - an RBD
//! image registered in Glance by an `rbd://` location becomes an active
//! image whose download gives back the image's bytes.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use rbd_native_tests::{pattern, unique_name, ScratchDir, Testbed};
use reqwest::blocking::Client;
use serde_json::{json, Value};

/// A project-scoped token of the bed's uploader and the Glance endpoint
/// from its catalog.
struct Session {
    http: Client,
    token: String,
    glance: String,
}

impl Session {
    fn open(bed: &Testbed) -> Session {
        let t = bed.uploader_token();
        let (http, token, v) = (t.http, t.token, t.body);
        let region = bed.get("OS_REGION_NAME");
        let glance = v["token"]["catalog"]
            .as_array()
            .expect("catalog")
            .iter()
            .filter(|s| s["type"] == "image")
            .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
            .find(|e| {
                e["interface"] == "public" && region.as_deref().is_none_or(|r| e["region_id"] == r)
            })
            .and_then(|e| {
                e["url"]
                    .as_str()
                    .map(|u| u.trim_end_matches('/').to_string())
            })
            .unwrap_or_else(|| panic!("no public image endpoint in the catalog: {v}"));
        Session {
            http,
            token,
            glance,
        }
    }

    fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.http
            .get(format!("{}{path}", self.glance))
            .header("X-Auth-Token", &self.token)
            .send()
            .unwrap()
    }

    fn get_json(&self, path: &str) -> Value {
        let resp = self.get(path);
        let status = resp.status();
        let text = resp.text().unwrap();
        assert!(status.is_success(), "GET {path}: {status}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    fn post_json(&self, path: &str, body: &Value) -> (u16, String) {
        let resp = self
            .http
            .post(format!("{}{path}", self.glance))
            .header("X-Auth-Token", &self.token)
            .json(body)
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.text().unwrap())
    }

    fn delete(&self, path: &str) -> u16 {
        self.http
            .delete(format!("{}{path}", self.glance))
            .header("X-Auth-Token", &self.token)
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }
}

#[test]
fn stores_detail_reports_both_rbd_stores_with_their_fsids() {
    let bed = Testbed::load();
    let s = Session::open(&bed);
    let v = s.get_json("/v2/info/stores/detail");
    let stores = v["stores"].as_array().expect("stores");
    let store = |id: &str| -> &Value {
        stores
            .iter()
            .find(|st| st["id"] == id)
            .unwrap_or_else(|| panic!("no store {id} in {v}"))
    };
    let ceph = store("ceph");
    assert_eq!(ceph["type"], "rbd");
    // Glance 33 reports the flag as the string "true".
    assert!(
        ceph["default"] == true || ceph["default"] == "true",
        "ceph is not the default store: {ceph}"
    );
    assert_eq!(ceph["properties"]["pool"], "images");
    assert_eq!(ceph["properties"]["fsid"], bed.fsid("CEPH_CONF").as_str());
    let other = store("other");
    assert_eq!(other["type"], "rbd");
    assert_eq!(other["properties"]["pool"], "images");
    assert_eq!(
        other["properties"]["fsid"],
        bed.fsid("CEPH_CONF_OTHER").as_str()
    );
    assert_eq!(store("local")["type"], "file");
}

/// Removes the Glance image and the RBD images (in order: clones before
/// their parents), whatever the test reached.
struct Cleanup<'a> {
    bed: &'a Testbed,
    session: &'a Session,
    image_id: Option<String>,
    rbd_images: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(id) = &self.image_id {
            self.session.delete(&format!("/v2/images/{id}"));
        }
        for spec in &self.rbd_images {
            self.bed.remove_image_and_snaps(spec);
        }
    }
}

/// Registers `rbd://fsid/pool/name/snap` as the location of a new Glance
/// image, waits for it to go active, checks size and bytes, deletes it and
/// checks that Glance removed the RBD image it owned.
fn register_and_check(
    bed: &Testbed,
    s: &Session,
    cleanup: &mut Cleanup<'_>,
    pool_image: &str,
    data: &[u8],
) {
    let fsid = bed.fsid("CEPH_CONF");
    let (status, body) = s.post_json(
        "/v2/images",
        &json!({"name": pool_image, "disk_format": "raw", "container_format": "bare"}),
    );
    assert_eq!(status, 201, "image create: {body}");
    let image: Value = serde_json::from_str(&body).unwrap();
    let id = image["id"].as_str().expect("image id").to_string();
    cleanup.image_id = Some(id.clone());
    assert_eq!(image["status"], "queued");

    let url = format!("rbd://{fsid}/{pool_image}/snap");
    let (status, body) = s.post_json(&format!("/v2/images/{id}/locations"), &json!({"url": url}));
    assert!(
        (200..300).contains(&status),
        "add location {url}: HTTP {status}: {body}"
    );

    let deadline = Instant::now() + Duration::from_secs(120);
    let image = loop {
        let image = s.get_json(&format!("/v2/images/{id}"));
        match image["status"].as_str() {
            Some("active") => break image,
            Some("queued") | Some("importing") | Some("saving") if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(250))
            }
            other => panic!(
                "image {id} ended {other:?}, not active: {image}; tasks: {}",
                s.get_json(&format!("/v2/images/{id}/tasks"))
            ),
        }
    };
    assert_eq!(image["size"].as_u64(), Some(data.len() as u64), "{image}");
    assert_eq!(image["direct_url"], url.as_str(), "{image}");

    let resp = s.get(&format!("/v2/images/{id}/file"));
    assert_eq!(resp.status().as_u16(), 200);
    let got = resp.bytes().unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got.as_ref() == data, "downloaded bytes differ");

    // Deleting the image makes Glance's store delete the RBD image it owns.
    // Glance hashes the image in the background after the location is
    // added; while that task holds the image, a delete answers 409 (or,
    // with the bed's SQLite database busy, 500): try again.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = s.delete(&format!("/v2/images/{id}"));
        if status == 204 {
            break;
        }
        assert!(
            (status == 409 || status == 500) && Instant::now() < deadline,
            "deleting image {id}: HTTP {status}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    cleanup.image_id = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while bed.rbd(&["info", pool_image]).status.success() {
        assert!(
            Instant::now() < deadline,
            "Glance left the RBD image {pool_image} behind"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn rbd_location_becomes_active_and_downloads_the_same_bytes() {
    let bed = Testbed::load();
    let s = Session::open(&bed);
    // An RBD image made with the rbd tool, as Glance's store makes them:
    // data, then a protected snapshot named `snap`.
    let dir = ScratchDir::new("bed-glance");
    let data = pattern(8 * 1024 * 1024 + 4096 + 17, 0x5eed);
    let file = dir.path().join("image.raw");
    std::fs::write(&file, &data).unwrap();
    let spec = format!("images/{}", unique_name("bed-location"));
    let mut cleanup = Cleanup {
        bed: &bed,
        session: &s,
        image_id: None,
        rbd_images: vec![spec.clone()],
    };
    bed.rbd_ok(&["import", file.to_str().unwrap(), &spec]);
    bed.rbd_ok(&["snap", "create", &format!("{spec}@snap")]);
    bed.rbd_ok(&["snap", "protect", &format!("{spec}@snap")]);
    register_and_check(&bed, &s, &mut cleanup, &spec, &data);
}

#[test]
fn clone_of_a_volume_becomes_an_active_image() {
    // The mechanism the whole project rests on: a copy-on-write clone, in
    // Glance's pool, of a snapshot of a volume in Cinder's pool.
    let bed = Testbed::load();
    let s = Session::open(&bed);
    let dir = ScratchDir::new("bed-clone");
    let data = pattern(12 * 1024 * 1024 + 5, 0xc10e);
    let file = dir.path().join("volume.raw");
    std::fs::write(&file, &data).unwrap();
    let volume = format!("volumes/{}", unique_name("volume-bed"));
    let clone = format!("images/{}", unique_name("bed-clone"));
    let mut cleanup = Cleanup {
        bed: &bed,
        session: &s,
        image_id: None,
        rbd_images: vec![clone.clone(), volume.clone()],
    };
    bed.rbd_ok(&["import", file.to_str().unwrap(), &volume]);
    let vsnap = format!("{volume}@upload");
    bed.rbd_ok(&["snap", "create", &vsnap]);
    bed.rbd_ok(&["snap", "protect", &vsnap]);
    bed.rbd_ok(&["clone", &vsnap, &clone]);
    bed.rbd_ok(&["snap", "create", &format!("{clone}@snap")]);
    bed.rbd_ok(&["snap", "protect", &format!("{clone}@snap")]);
    register_and_check(&bed, &s, &mut cleanup, &clone, &data);
}
