//! RBD images on the live test bed with librbd (the `rbd` tool and the
//! Python bindings) as the oracle: images librbd made read identically
//! here (plain, fancy striping, clone chains), and snapshots, protection
//! and clones made here are what `rbd` shows, exports and removes. A
//! snapshot of an image another client holds open for writing is taken
//! by that client, through the header's watch/notify.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

use ceph_rados::config::{ClientArgs, ClientSettings};
use ceph_rados::{IoCtx, Rados};
use ceph_rbd::image::{remove_image, CloneFormat, CloneOptions, Image};
use rbd_native_tests::{pattern, run, run_ok, unique_name, ScratchDir, Testbed};

async fn connect(bed: &Testbed) -> Rados {
    let s = ClientSettings::resolve(&ClientArgs {
        conf: Some(bed.var("CEPH_CONF").into()),
        name: Some("client.admin".into()),
        keyring: Some(bed.var("CEPH_ADMIN_KEYRING").into()),
        ..ClientArgs::default()
    })
    .unwrap();
    Rados::connect(&s).await.unwrap()
}

fn rbd(bed: &Testbed) -> Command {
    bed.ceph_tool("rbd", "CEPH_CONF", "admin")
}

fn rbd_ok(bed: &Testbed, args: &[&str]) -> String {
    let mut c = rbd(bed);
    c.args(args);
    String::from_utf8_lossy(&run_ok(&mut c).stdout).into_owned()
}

fn rbd_json(bed: &Testbed, args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    serde_json::from_str(&rbd_ok(bed, &a)).unwrap()
}

fn export(bed: &Testbed, spec: &str) -> Vec<u8> {
    let mut c = rbd(bed);
    c.args(["export", spec, "-"]);
    run_ok(&mut c).stdout
}

/// Writes `data` at `offset` of image `spec` with `rbd import`-free
/// means: `rbd bench`-less, through a scratch file and `rbd import --image-format 2`
/// would replace the image, so this uses the Python bindings.
fn py_write(bed: &Testbed, pool: &str, image: &str, offset: u64, data: &[u8]) {
    let dir = ScratchDir::new("rbd-write");
    let f = dir.path().join("data");
    std::fs::write(&f, data).unwrap();
    let script = r#"
import rados, rbd, sys
c = rados.Rados(conffile=sys.argv[1], name='client.admin', conf={'keyring': sys.argv[2]})
c.connect()
io = c.open_ioctx(sys.argv[3])
with rbd.Image(io, sys.argv[4]) as img:
    img.write(open(sys.argv[6], 'rb').read(), int(sys.argv[5]))
io.close(); c.shutdown()
"#;
    run_ok(Command::new("/usr/bin/python3").args([
        "-c",
        script,
        &bed.var("CEPH_CONF"),
        &bed.var("CEPH_ADMIN_KEYRING"),
        pool,
        image,
        &offset.to_string(),
        f.to_str().unwrap(),
    ]));
}

async fn read_all(img: &Image) -> Vec<u8> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < img.size() {
        let chunk = img.read(off, 16 << 20).await.unwrap();
        assert!(!chunk.is_empty());
        off += chunk.len() as u64;
        out.extend_from_slice(&chunk);
    }
    out
}

fn remove_all(bed: &Testbed, pool: &str, image: &str) {
    // Snapshots (unprotected first) then the image; errors ignored: this
    // is cleanup.
    let mut c = rbd(bed);
    c.args(["snap", "ls", &format!("{pool}/{image}"), "--format", "json"]);
    if let Ok(o) = c.output() {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&o.stdout) {
            for s in v.as_array().cloned().unwrap_or_default() {
                let name = s["name"].as_str().unwrap_or_default().to_string();
                let spec = format!("{pool}/{image}@{name}");
                let _ = rbd(bed).args(["snap", "unprotect", &spec]).output();
                let _ = rbd(bed).args(["snap", "rm", &spec]).output();
            }
        }
    }
    let _ = rbd(bed).args(["rm", &format!("{pool}/{image}")]).output();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_made_by_librbd_read_identically() {
    let bed = Testbed::load();
    let rados = connect(&bed).await;
    let io = rados.ioctx("volumes").unwrap();

    // Default features, sparse: data at the start, in the middle and
    // across an object boundary.
    let plain = unique_name("img-plain");
    rbd_ok(
        &bed,
        &["create", "--size", "40M", &format!("volumes/{plain}")],
    );
    py_write(&bed, "volumes", &plain, 0, &pattern(100_000, 1));
    py_write(
        &bed,
        "volumes",
        &plain,
        (4 << 20) - 5000,
        &pattern(10_000, 2),
    );
    py_write(&bed, "volumes", &plain, 33 << 20, &pattern(1 << 20, 3));

    // Fancy striping.
    let striped = unique_name("img-striped");
    rbd_ok(
        &bed,
        &[
            "create",
            "--size",
            "40M",
            "--stripe-unit",
            "64K",
            "--stripe-count",
            "8",
            &format!("volumes/{striped}"),
        ],
    );
    py_write(&bed, "volumes", &striped, 12345, &pattern(3 << 20, 4));

    for name in [&plain, &striped] {
        let img = Image::open(&rados, &io, name).await.unwrap();
        assert_eq!(img.size(), 40 << 20);
        let ours = read_all(&img).await;
        assert!(
            ours == export(&bed, &format!("volumes/{name}")),
            "{name} differs from rbd export"
        );
    }

    // A chain of three clones with partial overlap after resizes, in two
    // pools, formats 1 and 2.
    let snap = format!("volumes/{plain}@s1");
    rbd_ok(&bed, &["snap", "create", &snap]);
    rbd_ok(&bed, &["snap", "protect", &snap]);
    let c1 = unique_name("img-c1");
    rbd_ok(
        &bed,
        &[
            "clone",
            "--rbd-default-clone-format",
            "1",
            &snap,
            &format!("images/{c1}"),
        ],
    );
    py_write(&bed, "images", &c1, 2 << 20, &pattern(4096, 5));
    rbd_ok(
        &bed,
        &[
            "resize",
            "--allow-shrink",
            "--size",
            "20M",
            &format!("images/{c1}"),
        ],
    );
    rbd_ok(&bed, &["resize", "--size", "48M", &format!("images/{c1}")]);
    let snap2 = format!("images/{c1}@s2");
    rbd_ok(&bed, &["snap", "create", &snap2]);
    let c2 = unique_name("img-c2");
    rbd_ok(
        &bed,
        &[
            "clone",
            "--rbd-default-clone-format",
            "2",
            &snap2,
            &format!("volumes/{c2}"),
        ],
    );
    py_write(&bed, "volumes", &c2, 30 << 20, &pattern(8192, 6));
    let snap3 = format!("volumes/{c2}@s3");
    rbd_ok(&bed, &["snap", "create", &snap3]);
    let c3 = unique_name("img-c3");
    rbd_ok(
        &bed,
        &[
            "clone",
            "--rbd-default-clone-format",
            "2",
            &snap3,
            &format!("volumes/{c3}"),
        ],
    );
    let images_io = rados.ioctx("images").unwrap();
    for (ioc, pool, name) in [
        (&images_io, "images", &c1),
        (&io, "volumes", &c2),
        (&io, "volumes", &c3),
    ] {
        let img = Image::open(&rados, ioc, name).await.unwrap();
        assert!(img.meta().parent.is_some(), "{name} has a parent");
        let ours = read_all(&img).await;
        assert!(
            ours == export(&bed, &format!("{pool}/{name}")),
            "{name} differs"
        );
    }
    // And at a snapshot.
    let img = Image::open(&rados, &images_io, &c1).await.unwrap();
    let at = img.at_snapshot("s2").await.unwrap();
    assert!(read_all(&at).await == export(&bed, &snap2));

    for (pool, name) in [
        ("volumes", &c3),
        ("volumes", &c2),
        ("images", &c1),
        ("volumes", &plain),
        ("volumes", &striped),
    ] {
        remove_all(&bed, pool, name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_snapshots_and_clones_are_what_librbd_sees() {
    let bed = Testbed::load();
    let rados = connect(&bed).await;
    let io = rados.ioctx("volumes").unwrap();
    let images_io = rados.ioctx("images").unwrap();
    let vol = unique_name("ours-vol");
    rbd_ok(
        &bed,
        &["create", "--size", "24M", &format!("volumes/{vol}")],
    );
    py_write(&bed, "volumes", &vol, 1 << 20, &pattern(2 << 20, 7));

    let mut img = Image::open(&rados, &io, &vol).await.unwrap();
    let id = img.snap_create("snap-a", None).await.unwrap();
    img.snap_protect("snap-a").await.unwrap();
    let snaps = rbd_json(&bed, &["snap", "ls", &format!("volumes/{vol}")]);
    let s = &snaps.as_array().unwrap()[0];
    assert_eq!(s["name"], "snap-a");
    assert_eq!(s["id"].as_u64(), Some(id));
    assert_eq!(s["protected"], "true");

    // Clones of both formats, into the other pool.
    let mut children = Vec::new();
    for (format, tag) in [(CloneFormat::V1, "v1"), (CloneFormat::V2, "v2")] {
        let child = unique_name(&format!("ours-clone-{tag}"));
        img.clone_to(
            "snap-a",
            &images_io,
            &child,
            &CloneOptions {
                format,
                features: Some(1), // layering only, as Glance makes them
                order: None,
            },
        )
        .await
        .unwrap();
        let info = rbd_json(&bed, &["info", &format!("images/{child}")]);
        assert_eq!(info["parent"]["pool"], "volumes");
        assert_eq!(info["parent"]["image"], vol.as_str());
        assert_eq!(info["parent"]["snapshot"], "snap-a");
        assert!(
            export(&bed, &format!("images/{child}"))
                == export(&bed, &format!("volumes/{vol}@snap-a"))
        );
        children.push(child);
    }
    let listed = rbd_ok(&bed, &["children", &format!("volumes/{vol}@snap-a")]);
    for c in &children {
        assert!(listed.contains(c.as_str()), "{listed}");
    }
    let ours = img.children(id).await.unwrap();
    assert_eq!(ours.len(), 2);

    // Unprotect is refused while children exist.
    let err = img.snap_unprotect("snap-a").await.unwrap_err();
    assert!(err.to_string().contains("child"), "{err}");

    // A snapshot on our clone, and the clone's removal by us.
    let child_img_name = &children[1];
    let mut child = Image::open(&rados, &images_io, child_img_name)
        .await
        .unwrap();
    child.snap_create("snap", None).await.unwrap();
    child.snap_protect("snap").await.unwrap();
    let info = rbd_json(&bed, &["snap", "ls", &format!("images/{child_img_name}")]);
    assert_eq!(info[0]["protected"], "true");
    child.snap_unprotect("snap").await.unwrap();
    child.snap_remove("snap").await.unwrap();
    for c in &children {
        remove_image(&rados, &images_io, c).await.unwrap();
    }
    assert!(
        rbd_ok(&bed, &["children", &format!("volumes/{vol}@snap-a")])
            .trim()
            .is_empty()
    );
    img.snap_unprotect("snap-a").await.unwrap();
    img.snap_remove("snap-a").await.unwrap();
    assert_eq!(
        rbd_json(&bed, &["snap", "ls", &format!("volumes/{vol}")]),
        serde_json::json!([])
    );
    remove_image(&rados, &io, &vol).await.unwrap();
    let mut c = rbd(&bed);
    c.args(["info", &format!("volumes/{vol}")]);
    assert!(!run(&mut c).status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_of_an_image_in_use_is_taken_by_its_lock_owner() {
    let bed = Testbed::load();
    let rados = connect(&bed).await;
    let io: IoCtx = rados.ioctx("volumes").unwrap();
    let vol = unique_name("in-use");
    rbd_ok(&bed, &["create", "--size", "8M", &format!("volumes/{vol}")]);

    // A librbd client holds the image open and writes (so it owns the
    // exclusive lock) until told to stop.
    let script = r#"
import rados, rbd, sys
c = rados.Rados(conffile=sys.argv[1], name='client.admin', conf={'keyring': sys.argv[2]})
c.connect()
io = c.open_ioctx('volumes')
img = rbd.Image(io, sys.argv[3])
img.write(b'x' * 4096, 0)
print('holding', flush=True)
sys.stdin.read()
img.close(); io.close(); c.shutdown()
"#;
    let mut holder = Command::new("/usr/bin/python3")
        .args([
            "-c",
            script,
            &bed.var("CEPH_CONF"),
            &bed.var("CEPH_ADMIN_KEYRING"),
            &vol,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "holding");
    let status = rbd_json(&bed, &["lock", "ls", &format!("volumes/{vol}")]);
    assert!(
        !status.as_array().unwrap().is_empty(),
        "the holder owns the lock"
    );

    let mut img = Image::open(&rados, &io, &vol).await.unwrap();
    let r = img.snap_create("while-in-use", None).await;
    // The owner kept its lock (nobody broke it behind its back).
    let after = rbd_json(&bed, &["lock", "ls", &format!("volumes/{vol}")]);
    drop(holder.stdin.take());
    assert_eq!(after, status);
    let _ = holder.wait();
    r.unwrap();
    let snaps = rbd_json(&bed, &["snap", "ls", &format!("volumes/{vol}")]);
    assert_eq!(snaps[0]["name"], "while-in-use");
    remove_all(&bed, "volumes", &vol);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preallotted_snapshot_id_the_image_moved_past_is_replaced_and_released() {
    let bed = Testbed::load();
    let rados = connect(&bed).await;
    let io = rados.ioctx("volumes").unwrap();
    let vol = unique_name("prealloc");
    rbd_ok(
        &bed,
        &[
            "create",
            "--size",
            "8M",
            "--image-feature",
            "layering",
            &format!("volumes/{vol}"),
        ],
    );
    let mut img = Image::open(&rados, &io, &vol).await.unwrap();
    let before = bed.osdmap_epoch("CEPH_CONF");
    let early = img.data_ioctx().selfmanaged_snap_create().await.unwrap();
    // Another client snapshots in between: the image's snap_seq passes
    // the id we hold.
    rbd_ok(&bed, &["snap", "create", &format!("volumes/{vol}@other")]);
    let id = img.snap_create("ours", Some(early)).await.unwrap();
    assert!(id > early, "{id} <= {early}");
    let snaps = rbd_json(&bed, &["snap", "ls", &format!("volumes/{vol}")]);
    let ours = snaps
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "ours")
        .unwrap();
    assert_eq!(ours["id"].as_u64(), Some(id));
    let after = bed.osdmap_epoch("CEPH_CONF");
    let pool = bed.pool_id("CEPH_CONF", "volumes");
    let removed = bed.removed_snaps("CEPH_CONF", pool, before, after);
    assert!(
        removed.contains(&early),
        "id {early} not released: {removed:?}"
    );
    remove_all(&bed, "volumes", &vol);
}
