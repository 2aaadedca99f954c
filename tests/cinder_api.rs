//! Uploads of Cinder volumes to Glance images through Cinder's own API, as
//! a user does it (`openstack image create --volume`, Cinder's
//! `os-volume_upload_image` action), with the bed's real Cinder services:
//! cinder-api, cinder-scheduler and cinder-volume, whose backends
//! `rbd-native` (this repository's driver, clone optimization on),
//! `rbd-native-off` (the same driver, off) and `rbd-stock` (Cinder's own
//! RBD driver) keep their volumes in cluster main's `volumes` pool.
//!
//! The scenarios are the spec's (issue 17): a basic upload by clone; the
//! volume deleted first; the image deleted first; a volume made from the
//! image, whose image Glance then refuses to delete; the optimization off
//! (Cinder's own path); the tool killed in the middle (Cinder's manager
//! then deletes its image). After each, once the driver's purge of
//! deleted volumes has run, nothing is left in either pool.
//!
//! The user is the bed's `demo` (role `member` only): the driver passes its
//! token, and Cinder's service token for Glance's locations API.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rbd_native_tests::{pattern, run_ok, unique_name, ScratchDir, Testbed};
use reqwest::blocking::Client;
use serde_json::{json, Value};

/// The volume size of every scenario (Cinder's smallest).
const GIB: u64 = 1 << 30;
/// Where the known data goes in each volume: (offset, length, seed).
const REGIONS: [(u64, usize, u64); 3] = [
    (0, 4 << 20, 71),
    (300 << 20, 1 << 20, 72),
    (GIB - (2 << 20), 2 << 20, 73),
];

/// The bytes a volume holds at `offset` (the regions' patterns, zeros
/// elsewhere), `buf.len()` of them.
fn expected(offset: u64, buf: &mut [u8]) {
    buf.fill(0);
    for (at, len, seed) in REGIONS {
        let data = pattern(len, seed);
        let start = offset.max(at);
        let end = (offset + buf.len() as u64).min(at + len as u64);
        if start < end {
            let (s, e) = ((start - at) as usize, (end - at) as usize);
            buf[(start - offset) as usize..(end - offset) as usize].copy_from_slice(&data[s..e]);
        }
    }
}

/// A Keystone session of one user with the endpoints of its catalog.
struct Cloud {
    http: Client,
    token: String,
    cinder: String,
    glance: String,
}

impl Cloud {
    /// Logs in as `user` (password auth, scoped to `project`).
    fn login(bed: &Testbed, user: &str, password: &str, project: &str) -> Cloud {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap();
        let domain = bed.var("OS_USER_DOMAIN_NAME");
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"name": domain}, "password": password,
            }}},
            "scope": {"project": {"name": project, "domain": {"name": bed.var("OS_PROJECT_DOMAIN_NAME")}}},
        }});
        let url = format!(
            "{}/auth/tokens",
            bed.var("OS_AUTH_URL").trim_end_matches('/')
        );
        let resp = http.post(&url).json(&body).send().expect("Keystone");
        assert_eq!(resp.status().as_u16(), 201, "Keystone refused {user}");
        let token = resp.headers()["X-Subject-Token"]
            .to_str()
            .unwrap()
            .to_string();
        let body: Value = resp.json().unwrap();
        let project = body["token"]["project"]["id"].as_str().unwrap().to_string();
        let endpoint = |types: &[&str]| -> Option<String> {
            let catalog = body["token"]["catalog"].as_array()?;
            let service = catalog
                .iter()
                .find(|s| types.contains(&s["type"].as_str().unwrap_or_default()))?;
            let e = service["endpoints"]
                .as_array()?
                .iter()
                .find(|e| e["interface"] == "public")?;
            Some(e["url"].as_str()?.trim_end_matches('/').to_string())
        };
        let cinder = endpoint(&["block-storage", "volumev3"])
            .or_else(|| bed.get("CINDER_URL"))
            .expect("Cinder in the catalog (or CINDER_URL)");
        // The URL with the project, as every Cinder release takes it.
        let cinder = if cinder.contains(&project) {
            cinder
        } else {
            format!(
                "{}/{project}",
                cinder.replace("%(project_id)s", "").trim_end_matches('/')
            )
        };
        let glance = endpoint(&["image"]).expect("Glance in the catalog");
        Cloud {
            http,
            token,
            cinder,
            glance,
        }
    }

    /// The bed's plain user.
    fn demo(bed: &Testbed) -> Cloud {
        Cloud::login(
            bed,
            &bed.var("DEMO_USERNAME"),
            &bed.var("DEMO_PASSWORD"),
            &bed.var("DEMO_PROJECT_NAME"),
        )
    }

    /// The bed's Keystone admin (sees every project's images).
    fn admin(bed: &Testbed) -> Cloud {
        Cloud::login(
            bed,
            &bed.var("OS_ADMIN_USERNAME"),
            &bed.var("OS_ADMIN_PASSWORD"),
            &bed.var("OS_ADMIN_PROJECT_NAME"),
        )
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder) -> (u16, Value) {
        let resp = req
            .header("X-Auth-Token", &self.token)
            .header("OpenStack-API-Version", "volume 3.0")
            .send()
            .expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(json!(text)))
    }

    fn cinder_get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.cinder)))
    }

    fn cinder_post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.cinder)).json(&body))
    }

    fn cinder_delete(&self, path: &str) -> (u16, Value) {
        self.send(self.http.delete(format!("{}{path}", self.cinder)))
    }

    /// Creates a volume of type `vtype` (from image `image`, if given);
    /// its id, once `available`.
    fn create_volume(&self, name: &str, vtype: &str, image: Option<&str>) -> String {
        let mut v = json!({"size": GIB >> 30, "name": name, "volume_type": vtype});
        if let Some(i) = image {
            v["imageRef"] = json!(i);
        }
        let (st, body) = self.cinder_post("/volumes", json!({ "volume": v }));
        assert_eq!(st, 202, "create volume: {body}");
        let id = body["volume"]["id"].as_str().unwrap().to_string();
        self.wait_volume(&id, "available");
        id
    }

    /// Waits (10 minutes at most) for volume `id` to reach `status`;
    /// fails on `error`.
    fn wait_volume(&self, id: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let (st, body) = self.cinder_get(&format!("/volumes/{id}"));
            assert_eq!(st, 200, "volume {id}: {body}");
            let now = body["volume"]["status"].as_str().unwrap_or_default();
            if now == status {
                return body["volume"].clone();
            }
            assert!(
                !now.starts_with("error"),
                "volume {id} is {now}: {}",
                self.messages(id)
            );
            assert!(
                Instant::now() < deadline,
                "volume {id} still {now}, not {status}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Deletes volume `id` and waits (10 minutes at most) until Cinder no
    /// longer has it.
    fn delete_volume(&self, id: &str) {
        let (st, body) = self.cinder_delete(&format!("/volumes/{id}"));
        assert_eq!(st, 202, "delete volume {id}: {body}");
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let (st, body) = self.cinder_get(&format!("/volumes/{id}"));
            if st == 404 {
                return;
            }
            let now = body["volume"]["status"].as_str().unwrap_or_default();
            assert!(
                now != "error_deleting",
                "volume {id} {now}: {}",
                self.messages(id)
            );
            assert!(Instant::now() < deadline, "volume {id} still {now}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Cinder's user messages about resource `id` (what failed).
    fn messages(&self, id: &str) -> String {
        let (_, body) = self.send(
            self.http
                .get(format!("{}/messages?resource_uuid={id}", self.cinder))
                .header("OpenStack-API-Version", "volume 3.3"),
        );
        body.to_string()
    }

    /// Cinder's `os-volume_upload_image` of volume `id` as image `name`
    /// (raw, bare); the new image's id.
    fn upload(&self, id: &str, name: &str) -> String {
        let (st, body) = self.cinder_post(
            &format!("/volumes/{id}/action"),
            json!({"os-volume_upload_image": {
                "image_name": name, "disk_format": "raw",
                "container_format": "bare", "force": false,
            }}),
        );
        assert_eq!(st, 202, "upload volume {id}: {body}");
        body["os-volume_upload_image"]["image_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Glance image `id`, or `None` when Glance has none (404).
    fn image(&self, id: &str) -> Option<Value> {
        let (st, body) = self.send(self.http.get(format!("{}/v2/images/{id}", self.glance)));
        match st {
            200 => Some(body),
            404 => None,
            _ => panic!("Glance image {id}: HTTP {st} {body}"),
        }
    }

    /// Waits (10 minutes at most) until image `id` is `status`.
    fn wait_image(&self, id: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let now = self.image(id).map(|i| i["status"].clone());
            if now == Some(json!(status)) {
                return self.image(id).unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "image {id} still {now:?}, not {status}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Deletes Glance image `id`; Glance's HTTP status.
    fn delete_image(&self, id: &str) -> u16 {
        self.send(self.http.delete(format!("{}/v2/images/{id}", self.glance)))
            .0
    }

    /// Whether image `id`'s data is the volume's known content.
    fn image_holds_the_data(&self, id: &str) -> bool {
        let mut resp = self
            .http
            .get(format!("{}/v2/images/{id}/file", self.glance))
            .header("X-Auth-Token", &self.token)
            .send()
            .expect("download");
        assert_eq!(resp.status().as_u16(), 200, "download of {id}");
        let mut offset = 0u64;
        let mut got = vec![0u8; 4 << 20];
        let mut want = vec![0u8; 4 << 20];
        loop {
            let mut n = 0;
            while n < got.len() {
                let r = resp.read(&mut got[n..]).expect("read the download");
                if r == 0 {
                    break;
                }
                n += r;
            }
            if n == 0 {
                return offset == GIB;
            }
            expected(offset, &mut want[..n]);
            if got[..n] != want[..n] {
                eprintln!("image {id} differs from the volume near offset {offset}");
                return false;
            }
            offset += n as u64;
        }
    }
}

/// Writes the known data into volume `vol_id` (`volumes/volume-<id>`)
/// with librbd's Python bindings as Ceph user cinder: what a guest would
/// have written.
fn write_known_data(bed: &Testbed, vol_id: &str) {
    const SCRIPT: &str = r#"
import os, sys, rados, rbd
name = sys.argv[1]
c = rados.Rados(conffile=os.environ["CEPH_CONF"], rados_id="cinder",
                conf={"keyring": os.environ["CEPH_CINDER_KEYRING"]})
c.connect()
try:
    io = c.open_ioctx("volumes")
    with rbd.Image(io, name) as img:
        for arg in sys.argv[2:]:
            off, path = arg.split("=", 1)
            img.write(open(path, "rb").read(), int(off))
    io.close()
finally:
    c.shutdown()
"#;
    let dir = ScratchDir::new("cinder-api-data");
    let mut args = vec![format!("volume-{vol_id}")];
    for (i, (at, len, seed)) in REGIONS.iter().enumerate() {
        let f = dir.path().join(format!("r{i}"));
        std::fs::write(&f, pattern(*len, *seed)).unwrap();
        args.push(format!("{at}={}", f.display()));
    }
    let mut cmd = Command::new(bed.venv_python());
    cmd.args(["-c", SCRIPT])
        .args(&args)
        .env("CEPH_CONF", bed.var("CEPH_CONF"))
        .env("CEPH_CINDER_KEYRING", bed.var("CEPH_CINDER_KEYRING"));
    run_ok(&mut cmd);
}

/// The parent (`pool/image@snap`) of RBD image `spec`, if it is a clone.
fn parent_of(bed: &Testbed, spec: &str) -> Option<String> {
    let info = bed.rbd_json(&["info", spec]);
    let p = info.get("parent")?;
    Some(format!(
        "{}/{}@{}",
        p["pool"].as_str()?,
        p["image"].as_str()?,
        p["snapshot"].as_str().unwrap_or_default()
    ))
}

/// Whether RBD image `spec` exists.
fn exists(bed: &Testbed, spec: &str) -> bool {
    bed.rbd(&["info", spec]).status.success()
}

/// Waits (3 minutes at most: the driver's purge of deleted volumes runs
/// every few seconds on the bed) until neither pool holds anything of
/// volumes `vols` or images `images`: no image, trash entry or snapshot;
/// and Glance has none of `images` but as `deleted`.
fn wait_nothing_left(bed: &Testbed, admin: &Cloud, vols: &[&str], images: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let mut left = Vec::new();
        let listed = bed.rbd_json(&["ls", "volumes"]).to_string();
        let trash = bed
            .rbd_json(&["trash", "ls", "--all", "volumes"])
            .to_string();
        let images_trash = bed
            .rbd_json(&["trash", "ls", "--all", "images"])
            .to_string();
        for v in vols {
            let name = format!("volume-{v}");
            if listed.contains(&name) {
                left.push(format!("volumes/{name}"));
            }
            if trash.contains(&name) {
                left.push(format!("volumes trash: {name}"));
            }
        }
        for i in images {
            if exists(bed, &format!("images/{i}")) {
                left.push(format!("images/{i}"));
            }
            if images_trash.contains(i) {
                left.push(format!("images trash: {i}"));
            }
            if let Some(img) = admin.image(i) {
                if img["status"] != "deleted" {
                    left.push(format!("Glance image {i} ({})", img["status"]));
                }
            }
        }
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left behind after the purge: {left:?}\nvolumes trash: {trash}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// A volume of `vtype` with the known data, uploaded through Cinder's API
/// as image `name`: (volume id, image id), the image `active` and the
/// volume `available` again.
fn volume_uploaded(bed: &Testbed, demo: &Cloud, vtype: &str, name: &str) -> (String, String) {
    let vol = demo.create_volume(&format!("{name}-vol"), vtype, None);
    write_known_data(bed, &vol);
    let t = Instant::now();
    let image = demo.upload(&vol, name);
    demo.wait_image(&image, "active");
    println!(
        "{vtype}: volume {vol} to image {image} active in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    demo.wait_volume(&vol, "available");
    (vol, image)
}

/// The bed, which must run Cinder.
fn bed_with_cinder() -> Testbed {
    let bed = Testbed::load();
    assert!(
        bed.get("DEMO_USERNAME").is_some(),
        "the bed has no Cinder (no DEMO_USERNAME in its env): run `make testbed`"
    );
    bed
}

/// One scenario at a time: they share cinder-volume and Glance.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn basic_upload_is_a_clone_with_the_volumes_bytes() {
    let _one = serial();
    let bed = bed_with_cinder();
    let (demo, admin) = (Cloud::demo(&bed), Cloud::admin(&bed));
    let name = unique_name("t-cinder-basic");
    let (vol, image) = volume_uploaded(&bed, &demo, "rbd-native", &name);
    let parent = parent_of(&bed, &format!("images/{image}"));
    assert_eq!(
        parent.as_deref(),
        Some(format!("volumes/volume-{vol}@image-{image}.clone_snap").as_str()),
        "the image is not a clone of the volume"
    );
    let img = demo.image(&image).unwrap();
    assert_eq!(img["size"], json!(GIB), "{img}");
    assert!(demo.image_holds_the_data(&image));
    // The volume keeps no visible snapshot (clone format 2: it is in the
    // snapshot trash while the clone lives).
    let snaps = bed.rbd_json(&["snap", "ls", &format!("volumes/volume-{vol}")]);
    assert_eq!(snaps, json!([]), "visible snapshots on the volume");
    assert_eq!(demo.delete_image(&image), 204);
    demo.delete_volume(&vol);
    wait_nothing_left(&bed, &admin, &[&vol], &[&image]);
}

#[test]
fn volume_deleted_first_then_image() {
    let _one = serial();
    let bed = bed_with_cinder();
    let (demo, admin) = (Cloud::demo(&bed), Cloud::admin(&bed));
    let name = unique_name("t-cinder-voldel");
    let (vol, image) = volume_uploaded(&bed, &demo, "rbd-native", &name);
    demo.delete_volume(&vol);
    // The image still reads: its data stays, whatever keeps it.
    assert_eq!(demo.image(&image).unwrap()["status"], "active");
    assert!(demo.image_holds_the_data(&image));
    assert_eq!(demo.delete_image(&image), 204);
    wait_nothing_left(&bed, &admin, &[&vol], &[&image]);
}

#[test]
fn image_deleted_first_then_volume() {
    let _one = serial();
    let bed = bed_with_cinder();
    let (demo, admin) = (Cloud::demo(&bed), Cloud::admin(&bed));
    let name = unique_name("t-cinder-imgdel");
    let (vol, image) = volume_uploaded(&bed, &demo, "rbd-native", &name);
    assert_eq!(demo.delete_image(&image), 204);
    // The volume is whole and usable: upload it again, by clone.
    let again = demo.upload(&vol, &format!("{name}-again"));
    demo.wait_image(&again, "active");
    demo.wait_volume(&vol, "available");
    assert!(demo.image_holds_the_data(&again));
    assert_eq!(demo.delete_image(&again), 204);
    demo.delete_volume(&vol);
    wait_nothing_left(&bed, &admin, &[&vol], &[&image, &again]);
}

#[test]
fn volume_from_the_image_keeps_the_image() {
    let _one = serial();
    let bed = bed_with_cinder();
    let (demo, admin) = (Cloud::demo(&bed), Cloud::admin(&bed));
    let name = unique_name("t-cinder-fromimg");
    let (vol, image) = volume_uploaded(&bed, &demo, "rbd-native", &name);
    let child = demo.create_volume(&format!("{name}-child"), "rbd-native", Some(&image));
    // Glance refuses to delete an image a volume was cloned from.
    let st = demo.delete_image(&image);
    assert!(
        st == 409 || st == 400,
        "Glance deleted the image: HTTP {st}"
    );
    assert_eq!(demo.image(&image).unwrap()["status"], "active");
    assert!(demo.image_holds_the_data(&image));
    // The new volume holds the data too: upload it and read it back.
    let copy = demo.upload(&child, &format!("{name}-copy"));
    demo.wait_image(&copy, "active");
    demo.wait_volume(&child, "available");
    assert!(demo.image_holds_the_data(&copy));
    // Then everything goes, the child first.
    assert_eq!(demo.delete_image(&copy), 204);
    demo.delete_volume(&child);
    demo.delete_volume(&vol);
    assert_eq!(demo.delete_image(&image), 204);
    wait_nothing_left(&bed, &admin, &[&vol, &child], &[&image, &copy]);
}

#[test]
fn optimization_off_streams_through_cinders_path() {
    let _one = serial();
    let bed = bed_with_cinder();
    let (demo, admin) = (Cloud::demo(&bed), Cloud::admin(&bed));
    let name = unique_name("t-cinder-off");
    let (vol, image) = volume_uploaded(&bed, &demo, "rbd-native-off", &name);
    assert_eq!(
        parent_of(&bed, &format!("images/{image}")),
        None,
        "with the optimization off the image must not be a clone"
    );
    assert!(demo.image_holds_the_data(&image));
    assert_eq!(demo.delete_image(&image), 204);
    demo.delete_volume(&vol);
    wait_nothing_left(&bed, &admin, &[&vol], &[&image]);
}

/// The pids of the running `rbd-native` processes whose command line
/// holds `needle`.
fn tool_pids(needle: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(Path::new("/proc").join(pid.to_string()).join("cmdline"))
        else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains("rbd-native") && cmd.contains(needle) {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn the_tool_killed_midway_leaves_nothing() {
    let _one = serial();
    let bed = bed_with_cinder();
    let (demo, admin) = (Cloud::demo(&bed), Cloud::admin(&bed));
    let name = unique_name("t-cinder-kill");
    let vol = demo.create_volume(&format!("{name}-vol"), "rbd-native", None);
    write_known_data(&bed, &vol);
    let image = demo.upload(&vol, &name);
    // Kill the tool (SIGKILL: it undoes nothing itself) once it has made
    // the clone in Glance's pool, or failing that as soon as it runs.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut killed = None;
    while killed.is_none() && Instant::now() < deadline {
        let pids = tool_pids(&format!("--image-id {image}"));
        if !pids.is_empty() && exists(&bed, &format!("images/{image}")) {
            for p in &pids {
                let _ = Command::new("kill")
                    .args(["-KILL", &p.to_string()])
                    .status();
            }
            killed = Some("after the clone");
        } else if demo.image(&image).is_some_and(|i| i["status"] == "active") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = killed.expect("the tool finished before it could be killed");
    println!("killed the tool {killed}");
    // Cinder's manager deletes its image; the volume is available again.
    demo.wait_volume(&vol, "available");
    let img = admin.image(&image);
    assert!(
        img.is_none() || img.as_ref().unwrap()["status"] == "deleted",
        "the image after the failure: {img:?}"
    );
    assert!(
        !exists(&bed, &format!("images/{image}")),
        "the clone is left in Glance's pool"
    );
    let snaps = bed.rbd_json(&["snap", "ls", "--all", &format!("volumes/volume-{vol}")]);
    assert_eq!(snaps, json!([]), "snapshots left on the volume");
    println!("Cinder's messages: {}", demo.messages(&vol));
    demo.delete_volume(&vol);
    wait_nothing_left(&bed, &admin, &[&vol], &[&image]);
}
