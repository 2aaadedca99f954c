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

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rbd_native_tests::CloudSession;
use rbd_native_tests::{pattern, unique_name, Testbed};
use serde_json::json;

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

/// Writes the known data into volume `vol_id` (`volumes/volume-<id>`):
/// what a guest would have written.
fn write_known_data(bed: &Testbed, vol_id: &str) {
    for (at, len, seed) in REGIONS {
        bed.rbd_write(
            "volumes",
            &format!("volume-{vol_id}"),
            at,
            &pattern(len, seed),
        );
    }
}

/// Whether image `id`'s data is the volume's known content, read whole
/// from Glance.
fn holds_the_data(s: &CloudSession, id: &str) -> bool {
    use std::io::Read;
    let mut resp = s
        .http
        .get(format!("{}/v2/images/{id}/file", s.glance))
        .header("X-Auth-Token", &s.token)
        .timeout(Duration::from_secs(600))
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
fn wait_nothing_left(bed: &Testbed, admin: &CloudSession, vols: &[&str], images: &[&str]) {
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
fn volume_uploaded(
    bed: &Testbed,
    demo: &CloudSession,
    vtype: &str,
    name: &str,
) -> (String, String) {
    let vol = demo.create_volume(&format!("{name}-vol"), GIB >> 30, vtype);
    demo.wait_volume(&vol, "available", 600);
    write_known_data(bed, &vol);
    let t = Instant::now();
    let image = demo.upload_to_image(&vol, name);
    demo.wait_image(&image, "active", 600);
    println!(
        "{vtype}: volume {vol} to image {image} active in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    demo.wait_volume(&vol, "available", 600);
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
    let (demo, admin) = (bed.demo_session(), bed.admin_session());
    let name = unique_name("t-cinder-basic");
    let (vol, image) = volume_uploaded(&bed, &demo, "rbd-native", &name);
    // A clone of the volume's snapshot, which is in the snapshot trash
    // (clone format 2: librbd shows it by its trash name).
    let parent = parent_of(&bed, &format!("images/{image}")).unwrap_or_default();
    assert!(
        parent.starts_with(&format!("volumes/volume-{vol}@")),
        "the image is not a clone of the volume: {parent:?}"
    );
    let img = demo.image(&image).unwrap();
    assert_eq!(img["size"], json!(GIB), "{img}");
    assert!(holds_the_data(&demo, &image));
    // The volume keeps no visible snapshot (clone format 2: it is in the
    // snapshot trash while the clone lives).
    let snaps = bed.rbd_json(&["snap", "ls", &format!("volumes/volume-{vol}")]);
    assert_eq!(snaps, json!([]), "visible snapshots on the volume");
    demo.delete_image(&image, 120);
    demo.delete_volume(&vol, 600);
    wait_nothing_left(&bed, &admin, &[&vol], &[&image]);
}

#[test]
fn volume_deleted_first_then_image() {
    let _one = serial();
    let bed = bed_with_cinder();
    let (demo, admin) = (bed.demo_session(), bed.admin_session());
    let name = unique_name("t-cinder-voldel");
    let (vol, image) = volume_uploaded(&bed, &demo, "rbd-native", &name);
    demo.delete_volume(&vol, 600);
    // The image still reads: its data stays, whatever keeps it.
    assert_eq!(demo.image(&image).unwrap()["status"], "active");
    assert!(holds_the_data(&demo, &image));
    demo.delete_image(&image, 120);
    wait_nothing_left(&bed, &admin, &[&vol], &[&image]);
}

#[test]
fn image_deleted_first_then_volume() {
    let _one = serial();
    let bed = bed_with_cinder();
    let (demo, admin) = (bed.demo_session(), bed.admin_session());
    let name = unique_name("t-cinder-imgdel");
    let (vol, image) = volume_uploaded(&bed, &demo, "rbd-native", &name);
    demo.delete_image(&image, 120);
    // The volume is whole and usable: upload it again, by clone.
    let again = demo.upload_to_image(&vol, &format!("{name}-again"));
    demo.wait_image(&again, "active", 600);
    demo.wait_volume(&vol, "available", 600);
    assert!(holds_the_data(&demo, &again));
    demo.delete_image(&again, 120);
    demo.delete_volume(&vol, 600);
    wait_nothing_left(&bed, &admin, &[&vol], &[&image, &again]);
}

#[test]
fn volume_from_the_image_keeps_the_image() {
    let _one = serial();
    let bed = bed_with_cinder();
    let (demo, admin) = (bed.demo_session(), bed.admin_session());
    let name = unique_name("t-cinder-fromimg");
    let (vol, image) = volume_uploaded(&bed, &demo, "rbd-native", &name);
    let child =
        demo.create_volume_from_image(&format!("{name}-child"), GIB >> 30, "rbd-native", &image);
    demo.wait_volume(&child, "available", 600);
    // Glance refuses to delete an image a volume was cloned from.
    let st = demo.delete_image_status(&image);
    assert!(
        st == 409 || st == 400,
        "Glance deleted the image: HTTP {st}"
    );
    assert_eq!(demo.image(&image).unwrap()["status"], "active");
    assert!(holds_the_data(&demo, &image));
    // The new volume holds the data too: upload it and read it back.
    let copy = demo.upload_to_image(&child, &format!("{name}-copy"));
    demo.wait_image(&copy, "active", 600);
    demo.wait_volume(&child, "available", 600);
    assert!(holds_the_data(&demo, &copy));
    // Then everything goes, the child first.
    demo.delete_image(&copy, 120);
    demo.delete_volume(&child, 600);
    demo.delete_volume(&vol, 600);
    demo.delete_image(&image, 120);
    wait_nothing_left(&bed, &admin, &[&vol, &child], &[&image, &copy]);
}

#[test]
fn optimization_off_streams_through_cinders_path() {
    let _one = serial();
    let bed = bed_with_cinder();
    let (demo, admin) = (bed.demo_session(), bed.admin_session());
    let name = unique_name("t-cinder-off");
    let (vol, image) = volume_uploaded(&bed, &demo, "rbd-native-off", &name);
    assert_eq!(
        parent_of(&bed, &format!("images/{image}")),
        None,
        "with the optimization off the image must not be a clone"
    );
    assert!(holds_the_data(&demo, &image));
    demo.delete_image(&image, 120);
    demo.delete_volume(&vol, 600);
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
    let (demo, admin) = (bed.demo_session(), bed.admin_session());
    let name = unique_name("t-cinder-kill");
    let vol = demo.create_volume(&format!("{name}-vol"), GIB >> 30, "rbd-native");
    demo.wait_volume(&vol, "available", 600);
    write_known_data(&bed, &vol);
    let image = demo.upload_to_image(&vol, &name);
    // Kill the tool (SIGKILL: it undoes nothing itself) once it has made
    // the clone in Glance's pool and before Glance has its location: it is
    // stopped (SIGSTOP) as soon as it runs, then let go 2 ms at a time
    // until the clone is there.
    let deadline = Instant::now() + Duration::from_secs(120);
    let signal = |sig: &str, pids: &[u32]| {
        for p in pids {
            let _ = Command::new("kill").args([sig, &p.to_string()]).status();
        }
    };
    let mut killed = None;
    let mut pids = Vec::new();
    while pids.is_empty() && Instant::now() < deadline {
        pids = tool_pids(&format!("--image-id {image}"));
        if pids.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    signal("-STOP", &pids);
    while killed.is_none() && Instant::now() < deadline {
        if exists(&bed, &format!("images/{image}")) {
            let queued = demo.image(&image).is_some_and(|i| i["status"] == "queued");
            signal("-KILL", &pids);
            killed = Some(queued);
            break;
        }
        signal("-CONT", &pids);
        std::thread::sleep(Duration::from_millis(2));
        signal("-STOP", &pids);
    }
    let queued = killed.expect("the tool never made its clone");
    assert!(queued, "the tool was killed after Glance had the location");
    println!("killed the tool after its clone, before the location");
    // Cinder's manager deletes its image; the volume is available again.
    demo.wait_volume(&vol, "available", 600);
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
    println!("Cinder's messages: {}", demo.cinder_get("/messages"));
    demo.delete_volume(&vol, 600);
    wait_nothing_left(&bed, &admin, &[&vol], &[&image]);
}
