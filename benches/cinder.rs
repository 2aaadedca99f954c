//! The spec's table through Cinder's API (issue 17): the time from a
//! user's upload request (`os-volume_upload_image`, as `openstack image
//! create --volume` sends it) to an `active` Glance image, with Cinder's
//! stock RBD driver (volume type `rbd-stock`: Cinder reads the volume and
//! streams it to Glance) and with this repository's driver (type
//! `rbd-native`: `rbd-native upload --image-id`, a copy-on-write clone),
//! on the bed's real Cinder services, at `CINDER_SIZES` GiB (default
//! `1,2,5`).
//!
//! Per size, one volume of each type is made and filled with data (`rbd
//! bench` sequential writes: every object allocated), then uploaded
//! `ROUNDS` times (default 5), the two types alternating and the one that
//! goes first alternating too; each image is deleted after it is timed.
//! Reported: the median time of each and the median and range of the
//! per-round ratios (stock / ours: how many times faster ours is). The
//! client is Cinder's volume service, not a process of ours: no CPU or RSS
//! figure here (the upload benchmark has them for the tool itself).
//!
//! Disk: a stock upload writes the volume's bytes again into Glance's pool
//! (times the pool's replicas). Before the volumes are filled and before
//! each stock upload, the benchmark makes sure the host has room for it,
//! restarting the bed's OSDs when their files hold enough freed space
//! (`benches/disk.rs`, as the upload benchmark does); a size that does not
//! fit is skipped, and the report says so.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    missing_docs,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::time::{Duration, Instant};

use rbd_native_benches::disk::Room;
use rbd_native_benches::method::{order, rounds, Sample, Side};
use rbd_native_benches::report::Report;
use rbd_native_tests::CloudSession;
use rbd_native_tests::{run_ok, unique_name, Testbed};

const GIB: u64 = 1 << 30;
const OURS: &str = "rbd-native";
const STOCK: &str = "rbd-stock";

fn sizes() -> Vec<u64> {
    std::env::var("CINDER_SIZES")
        .unwrap_or_else(|_| "1,2,5".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&g: &u64| g > 0)
        .collect()
}

/// Whether the host has room for `bytes` more in `pool` (see
/// [`Room::for_bytes`]); what it did or why not goes to the report.
fn room_for(room: &Room, report: &mut Report, pool: &str, bytes: u64, what: &str) -> bool {
    room.for_bytes(pool, bytes, what, &mut |m| {
        println!("[bench] {m}");
        report.note(m);
    })
}

/// Fills volume `id` (`volumes/volume-<id>`) with `gib` GiB of data.
fn fill(bed: &Testbed, id: &str, gib: u64) {
    let spec = format!("volumes/volume-{id}");
    let total = format!("{}", gib * GIB);
    let mut c = bed.rbd_command();
    c.args([
        "bench",
        "--io-type",
        "write",
        "--io-pattern",
        "seq",
        "--io-size",
        "4M",
        "--io-threads",
        "4",
        "--io-total",
        &total,
        &spec,
    ]);
    run_ok(&mut c);
}

/// One upload of volume `vol` through Cinder's API: seconds from the
/// request to the image's `active`, then the image deleted and the volume
/// `available` again.
fn timed_upload(s: &CloudSession, vol: &str, name: &str) -> f64 {
    let t = Instant::now();
    let image = s.upload_to_image(vol, name);
    let deadline = t + Duration::from_secs(1800);
    loop {
        let st = s.image(&image).map(|i| i["status"].clone());
        if st.as_ref().and_then(|v| v.as_str()) == Some("active") {
            break;
        }
        assert!(
            st.as_ref()
                .and_then(|v| v.as_str())
                .is_some_and(|v| !matches!(v, "killed" | "deleted")),
            "image {image} of volume {vol}: {st:?}"
        );
        assert!(Instant::now() < deadline, "image {image} never active");
        std::thread::sleep(Duration::from_millis(100));
    }
    let secs = t.elapsed().as_secs_f64();
    s.wait_volume(vol, "available", 600);
    s.delete_image(&image, 120);
    secs
}

fn main() {
    let bed = Testbed::load();
    let demo = bed.demo_session();
    let mut report = Report::new(
        "cinder",
        "Volume to image through Cinder's API: Cinder's stock RBD driver against rbd-native's driver",
        "Cinder's RBDDriver (type rbd-stock)",
    );
    report.note(
        "Each figure: seconds from the os-volume_upload_image request to an active Glance image, on the bed's cinder-api, cinder-scheduler and cinder-volume; the ratio is stock / ours.",
    );
    let room = Room::new(&bed);
    for gib in sizes() {
        // The two volumes first.
        let what = format!("{gib} GiB volumes");
        if !room_for(&room, &mut report, "volumes", 2 * gib * GIB, &what) {
            continue;
        }
        let ours = demo.create_volume(&unique_name("bench-ours"), gib, OURS);
        let stock = demo.create_volume(&unique_name("bench-stock"), gib, STOCK);
        for v in [&ours, &stock] {
            demo.wait_volume(v, "available", 600);
            fill(&bed, v, gib);
        }
        let label = format!("{gib} GiB: request to active");
        for round in 0..rounds() {
            for side in order(round) {
                let (vol, what) = match side {
                    Side::Ours => (&ours, "ours"),
                    Side::Reference => (&stock, "stock"),
                };
                // A stock upload writes the volume again into Glance's pool.
                let copy = format!("{gib} GiB, round {round}: stock upload");
                if side == Side::Reference
                    && !room_for(&room, &mut report, "images", gib * GIB, &copy)
                {
                    continue;
                }
                let secs = timed_upload(&demo, vol, &unique_name(&format!("bench-{what}")));
                println!("{label}, round {round}, {what}: {secs:.2} s");
                // Lower is better: the ratio is stock / ours.
                report.record(
                    &label,
                    "s",
                    false,
                    side,
                    Sample::new(secs).work(1, gib * GIB),
                );
            }
        }
        for v in [&ours, &stock] {
            demo.delete_volume(v, 600);
        }
        report.ratio_goal(&label, 1.0);
    }
    report.write();
}
