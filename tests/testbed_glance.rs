//! Keystone and Glance of the test bed: the uploader's token and catalog,
//! Glance's stores detail, and the mechanism the project rests on - an RBD
//! image registered in Glance by an `rbd://` location becomes an active
//! image whose download gives back the image's bytes.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use rbd_native_tests::{pattern, run, run_ok, unique_name, ScratchDir, Testbed};
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
        let http = Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": bed.var("OS_USERNAME"),
                "domain": {"name": bed.var("OS_USER_DOMAIN_NAME")},
                "password": bed.var("OS_PASSWORD"),
            }}},
            "scope": {"project": {
                "name": bed.var("OS_PROJECT_NAME"),
                "domain": {"name": bed.var("OS_PROJECT_DOMAIN_NAME")},
            }},
        }});
        let url = format!(
            "{}/auth/tokens",
            bed.var("OS_AUTH_URL").trim_end_matches('/')
        );
        let resp = http
            .post(&url)
            .json(&body)
            .send()
            .unwrap_or_else(|e| panic!("Keystone at {url} unreachable: {e}"));
        assert_eq!(resp.status().as_u16(), 201, "Keystone refused the uploader");
        let token = resp
            .headers()
            .get("X-Subject-Token")
            .expect("token header")
            .to_str()
            .unwrap()
            .to_string();
        let v: Value = resp.json().unwrap();
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
    assert_eq!(
        ceph["default"], true,
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

/// Removes the Glance image and the RBD image, whatever the test reached.
struct Cleanup<'a> {
    bed: &'a Testbed,
    session: &'a Session,
    image_id: Option<String>,
    rbd_image: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(id) = &self.image_id {
            self.session.delete(&format!("/v2/images/{id}"));
        }
        let spec = format!("images/{}", self.rbd_image);
        let exists = run(self
            .bed
            .ceph_tool("rbd", "CEPH_CONF", "admin")
            .args(["info", &spec]))
        .status
        .success();
        if exists {
            let snap = format!("{spec}@snap");
            run(self
                .bed
                .ceph_tool("rbd", "CEPH_CONF", "admin")
                .args(["snap", "unprotect", &snap]));
            run(self
                .bed
                .ceph_tool("rbd", "CEPH_CONF", "admin")
                .args(["snap", "purge", &spec]));
            run(self
                .bed
                .ceph_tool("rbd", "CEPH_CONF", "admin")
                .args(["rm", &spec]));
        }
    }
}

#[test]
fn rbd_location_becomes_active_and_downloads_the_same_bytes() {
    let bed = Testbed::load();
    let s = Session::open(&bed);
    let fsid = bed.fsid("CEPH_CONF");

    // An RBD image made with the rbd tool, as Glance's store makes them:
    // data, then a protected snapshot named `snap`.
    let dir = ScratchDir::new("bed-glance");
    let data = pattern(8 * 1024 * 1024 + 4096 + 17, 0x5eed);
    let file = dir.path().join("image.raw");
    std::fs::write(&file, &data).unwrap();
    let name = unique_name("bed-location");
    let mut cleanup = Cleanup {
        bed: &bed,
        session: &s,
        image_id: None,
        rbd_image: name.clone(),
    };
    let spec = format!("images/{name}");
    run_ok(
        bed.ceph_tool("rbd", "CEPH_CONF", "admin")
            .arg("import")
            .arg(&file)
            .arg(&spec),
    );
    let snap = format!("{spec}@snap");
    run_ok(
        bed.ceph_tool("rbd", "CEPH_CONF", "admin")
            .args(["snap", "create", &snap]),
    );
    run_ok(
        bed.ceph_tool("rbd", "CEPH_CONF", "admin")
            .args(["snap", "protect", &snap]),
    );

    // The Glance image, then its location through the 2024.2 locations API.
    let (status, body) = s.post_json(
        "/v2/images",
        &json!({"name": name, "disk_format": "raw", "container_format": "bare"}),
    );
    assert_eq!(status, 201, "image create: {body}");
    let image: Value = serde_json::from_str(&body).unwrap();
    let id = image["id"].as_str().expect("image id").to_string();
    cleanup.image_id = Some(id.clone());
    assert_eq!(image["status"], "queued");

    let url = format!("rbd://{fsid}/images/{name}/snap");
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
            other => panic!("image {id} ended {other:?}, not active: {image}"),
        }
    };
    assert_eq!(image["size"].as_u64(), Some(data.len() as u64), "{image}");
    assert_eq!(image["direct_url"], url.as_str(), "{image}");

    let resp = s.get(&format!("/v2/images/{id}/file"));
    assert_eq!(resp.status().as_u16(), 200);
    let got = resp.bytes().unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got.as_ref() == data.as_slice(), "downloaded bytes differ");

    // Deleting the image makes Glance's store delete the RBD image it owns.
    assert_eq!(s.delete(&format!("/v2/images/{id}")), 204);
    cleanup.image_id = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while run(bed
        .ceph_tool("rbd", "CEPH_CONF", "admin")
        .args(["info", &spec]))
    .status
    .success()
    {
        assert!(
            Instant::now() < deadline,
            "Glance left the RBD image {spec} behind"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
