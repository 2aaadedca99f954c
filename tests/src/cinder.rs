//! Cinder of the test bed through its HTTP API, as a user of the cloud
//! would drive it: the bed's plain user `demo` (member of project `demo`)
//! or its admin, with the block-storage and image endpoints of the
//! Keystone catalog.

use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{json, Value};

use crate::{run_ok, ScratchDir, Testbed};

/// The block-storage microversion the helpers ask for (Cinder 29 serves
/// up to 3.71; 3.67 and later take URLs without a project id).
pub const VOLUME_MICROVERSION: &str = "volume 3.70";

/// A project-scoped Keystone token and the endpoints of its catalog.
pub struct CloudSession {
    /// A blocking client (120 s timeout).
    pub http: Client,
    /// The token (`X-Auth-Token`).
    pub token: String,
    /// The project the token is scoped to.
    pub project_id: String,
    /// Cinder's public `block-storage` endpoint (`.../v3`, no trailing `/`).
    pub cinder: String,
    /// Glance's public `image` endpoint (no trailing `/`).
    pub glance: String,
}

impl Testbed {
    /// A session of the bed's plain user `demo` (`DEMO_*` of the env file).
    pub fn demo_session(&self) -> CloudSession {
        self.cloud_session(
            &self.var("DEMO_USERNAME"),
            &self.var("DEMO_PASSWORD"),
            &self.var("DEMO_PROJECT_NAME"),
        )
    }

    /// A session of the bed's admin (`OS_ADMIN_*` of the env file).
    pub fn admin_session(&self) -> CloudSession {
        self.cloud_session(
            &self.var("OS_ADMIN_USERNAME"),
            &self.var("OS_ADMIN_PASSWORD"),
            &self.var("OS_ADMIN_PROJECT_NAME"),
        )
    }

    /// Authenticates `user` (password, scoped to `project`, both in the
    /// bed's domain) and reads Cinder's and Glance's public endpoints from
    /// the catalog, failing the test when Keystone refuses or the catalog
    /// lacks them.
    pub fn cloud_session(&self, user: &str, password: &str, project: &str) -> CloudSession {
        let crate::UploaderToken {
            http,
            token,
            body: v,
        } = self.password_token(user, password, project);
        let region = self.get("OS_REGION_NAME");
        let endpoint = |stype: &str| -> String {
            v["token"]["catalog"]
                .as_array()
                .expect("catalog")
                .iter()
                .filter(|s| s["type"] == stype)
                .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
                .find(|e| {
                    e["interface"] == "public"
                        && region.as_deref().is_none_or(|r| e["region_id"] == r)
                })
                .and_then(|e| {
                    e["url"]
                        .as_str()
                        .map(|u| u.trim_end_matches('/').to_string())
                })
                .unwrap_or_else(|| panic!("no public {stype} endpoint in {user}'s catalog: {v}"))
        };
        CloudSession {
            cinder: endpoint("block-storage"),
            glance: endpoint("image"),
            project_id: v["token"]["project"]["id"]
                .as_str()
                .expect("project id")
                .to_string(),
            http,
            token,
        }
    }

    /// Writes `data` at `offset` of RBD image `pool/image` of cluster main
    /// (librbd's Python bindings as client.admin: the volume keeps its
    /// size and features, which `rbd import` would not).
    pub fn rbd_write(&self, pool: &str, image: &str, offset: u64, data: &[u8]) {
        let dir = ScratchDir::new("rbd-write");
        let f = dir.path().join("data");
        std::fs::write(&f, data).unwrap();
        let body = "with rbd.Image(io, sys.argv[4]) as img:\n    \
                    img.write(open(sys.argv[6], 'rb').read(), int(sys.argv[5]))\n\
                    io.close(); c.shutdown()\n";
        run_ok(self.system_python().args(self.py_admin_args(
            body,
            pool,
            &[image, &offset.to_string(), f.to_str().unwrap()],
        )));
    }

    /// The names in `pool` of cluster main, its trash included (`rbd ls`,
    /// `rbd trash ls`: the oracle), that contain `needle`.
    pub fn rbd_names_with(&self, pool: &str, needle: &str) -> Vec<String> {
        let mut found = Vec::new();
        for args in [vec!["ls", pool], vec!["trash", "ls", "--all", pool]] {
            let out = run_ok(self.rbd_command().args(&args));
            found.extend(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|l| l.contains(needle))
                    .map(|l| format!("{pool}: {l}")),
            );
        }
        found
    }
}

impl CloudSession {
    fn send(&self, req: RequestBuilder, what: &str) -> Response {
        req.header("X-Auth-Token", &self.token)
            .header("OpenStack-API-Version", VOLUME_MICROVERSION)
            .header("Accept", "application/json")
            .send()
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// `METHOD {cinder}{path}` with an optional JSON body: HTTP status and
    /// the body (JSON, `Null` when empty or not JSON).
    pub fn cinder_call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.cinder);
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, &url);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = self.send(req, &format!("{method} {url}"));
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET {cinder}{path}`, failing the test unless it answers 200.
    pub fn cinder_get(&self, path: &str) -> Value {
        let (status, v) = self.cinder_call("GET", path, None);
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    /// Creates a volume of `size_gib` GiB of type `volume_type`; its id.
    pub fn create_volume(&self, name: &str, size_gib: u64, volume_type: &str) -> String {
        let (status, v) = self.cinder_call(
            "POST",
            "/volumes",
            Some(&json!({"volume": {"name": name, "size": size_gib, "volume_type": volume_type}})),
        );
        assert_eq!(status, 202, "create volume {name}: {v}");
        v["volume"]["id"].as_str().expect("volume id").to_string()
    }

    /// Creates a volume of `size_gib` GiB of type `volume_type` from Glance
    /// image `image_id`; its id.
    pub fn create_volume_from_image(
        &self,
        name: &str,
        size_gib: u64,
        volume_type: &str,
        image_id: &str,
    ) -> String {
        let (status, v) = self.cinder_call(
            "POST",
            "/volumes",
            Some(&json!({"volume": {
                "name": name,
                "size": size_gib,
                "volume_type": volume_type,
                "imageRef": image_id,
            }})),
        );
        assert_eq!(
            status, 202,
            "create volume {name} from image {image_id}: {v}"
        );
        v["volume"]["id"].as_str().expect("volume id").to_string()
    }

    /// The volume, or `None` once Cinder says 404.
    pub fn volume(&self, id: &str) -> Option<Value> {
        let (status, v) = self.cinder_call("GET", &format!("/volumes/{id}"), None);
        match status {
            200 => Some(v["volume"].clone()),
            404 => None,
            _ => panic!("GET volume {id}: HTTP {status}: {v}"),
        }
    }

    /// Waits up to `secs` for the volume to reach `status`, failing the
    /// test on an `error*` status or at the deadline; the volume.
    pub fn wait_volume(&self, id: &str, status: &str, secs: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self
                .volume(id)
                .unwrap_or_else(|| panic!("volume {id} disappeared while waiting for {status}"));
            let now = v["status"].as_str().unwrap_or("");
            if now == status {
                return v;
            }
            assert!(
                !now.starts_with("error"),
                "volume {id} went {now}, not {status}: {v}\nuser messages: {}",
                self.cinder_get("/messages")
            );
            assert!(
                Instant::now() < deadline,
                "volume {id} still {now} after {secs}s, not {status}: {v}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Deletes the volume (202 or 404 accepted) and waits up to `secs` for
    /// Cinder to forget it.
    pub fn delete_volume(&self, id: &str, secs: u64) {
        let (status, v) = self.cinder_call("DELETE", &format!("/volumes/{id}"), None);
        assert!(
            status == 202 || status == 404,
            "delete volume {id}: HTTP {status}: {v}"
        );
        let deadline = Instant::now() + Duration::from_secs(secs);
        while let Some(v) = self.volume(id) {
            assert!(
                v["status"] != "error_deleting",
                "volume {id} went error_deleting: {v}"
            );
            assert!(
                Instant::now() < deadline,
                "volume {id} not deleted after {secs}s: {v}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// `os-volume_upload_image` of the volume to a new image `image_name`
    /// (`disk_format` raw, container bare); the new image's id.
    pub fn upload_to_image(&self, volume_id: &str, image_name: &str) -> String {
        let (status, v) = self.cinder_call(
            "POST",
            &format!("/volumes/{volume_id}/action"),
            Some(&json!({"os-volume_upload_image": {
                "image_name": image_name,
                "disk_format": "raw",
                "container_format": "bare",
                "force": false,
            }})),
        );
        assert_eq!(status, 202, "upload volume {volume_id} to an image: {v}");
        v["os-volume_upload_image"]["image_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no image_id in {v}"))
            .to_string()
    }

    /// The Glance image, or `None` once Glance says 404.
    pub fn image(&self, id: &str) -> Option<Value> {
        let url = format!("{}/v2/images/{id}", self.glance);
        let resp = self.send(self.http.get(&url), &format!("GET {url}"));
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        match status {
            200 => Some(serde_json::from_str(&text).unwrap()),
            404 => None,
            _ => panic!("GET image {id}: HTTP {status}: {text}"),
        }
    }

    /// Waits up to `secs` for the image to reach `status`; fails the test
    /// if it is deleted, `killed`, or still elsewhere at the deadline.
    pub fn wait_image(&self, id: &str, status: &str, secs: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.image(id).unwrap_or_else(|| {
                panic!("image {id} was deleted while waiting for {status} (Cinder's upload failed? see cinder-volume.log)")
            });
            let now = v["status"].as_str().unwrap_or("");
            if now == status {
                return v;
            }
            assert!(
                now != "killed" && now != "deleted",
                "image {id} went {now}: {v}"
            );
            assert!(
                Instant::now() < deadline,
                "image {id} still {now} after {secs}s, not {status}: {v}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The first `len` bytes of the image's data (`GET .../file`, read
    /// until `len` bytes came).
    pub fn image_head(&self, id: &str, len: usize) -> Vec<u8> {
        use std::io::Read;
        let url = format!("{}/v2/images/{id}/file", self.glance);
        let resp = self
            .http
            .get(&url)
            .header("X-Auth-Token", &self.token)
            .send()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(resp.status().as_u16(), 200, "download of image {id}");
        let mut out = Vec::with_capacity(len);
        resp.take(len as u64).read_to_end(&mut out).unwrap();
        out
    }

    /// Asks Glance once to delete the image; its HTTP status.
    pub fn delete_image_status(&self, id: &str) -> u16 {
        let url = format!("{}/v2/images/{id}", self.glance);
        self.send(self.http.delete(&url), &format!("DELETE {url}"))
            .status()
            .as_u16()
    }

    /// Deletes the Glance image (204 or 404 accepted), retrying while
    /// Glance answers 409 (a background task holds it) for up to `secs`.
    pub fn delete_image(&self, id: &str, secs: u64) {
        let url = format!("{}/v2/images/{id}", self.glance);
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let status = self
                .send(self.http.delete(&url), &format!("DELETE {url}"))
                .status()
                .as_u16();
            if status == 204 || status == 404 {
                return;
            }
            assert!(
                status == 409 && Instant::now() < deadline,
                "delete image {id}: HTTP {status}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// Removes, when dropped, the volumes and images a test made (whatever it
/// reached), through the APIs of the session that made them.
pub struct CloudCleanup<'a> {
    session: &'a CloudSession,
    /// Glance images to delete (first).
    pub images: Vec<String>,
    /// Cinder volumes to delete (after the images).
    pub volumes: Vec<String>,
}

impl<'a> CloudCleanup<'a> {
    /// Nothing to remove yet.
    pub fn new(session: &'a CloudSession) -> CloudCleanup<'a> {
        CloudCleanup {
            session,
            images: Vec::new(),
            volumes: Vec::new(),
        }
    }
}

impl Drop for CloudCleanup<'_> {
    fn drop(&mut self) {
        let s = self.session;
        for id in &self.images {
            let _ = s
                .http
                .delete(format!("{}/v2/images/{id}", s.glance))
                .header("X-Auth-Token", &s.token)
                .send();
        }
        for id in &self.volumes {
            let _ = s
                .http
                .delete(format!("{}/volumes/{id}", s.cinder))
                .header("X-Auth-Token", &s.token)
                .header("OpenStack-API-Version", VOLUME_MICROVERSION)
                .send();
        }
    }
}
