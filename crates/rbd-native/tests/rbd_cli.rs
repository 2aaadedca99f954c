//! `rbd-native` image commands against the `rbd` tool: import then
//! `rbd export` give the same bytes (sparse input, from a file and from
//! standard input), export is byte-identical to `rbd export`, `ls`,
//! `resize`, `du` and the trash agree with `rbd`. Nothing is left behind.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use rbd_native_tests::{pattern, run, unique_name, ScratchDir, Testbed};

const POOL: &str = "volumes";

/// `rbd-native` (the one cargo built) as admin of cluster main.
fn ours_command(bed: &Testbed) -> Command {
    bed.rbd_native(
        env!("CARGO_BIN_EXE_rbd-native"),
        "admin",
        "CEPH_ADMIN_KEYRING",
    )
}

fn ours(bed: &Testbed, args: &[&str]) -> Output {
    run(ours_command(bed).args(args))
}

fn ours_ok(bed: &Testbed, args: &[&str]) -> Vec<u8> {
    let out = ours(bed, args);
    assert!(
        out.status.success(),
        "rbd-native {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty() || !String::from_utf8_lossy(&out.stderr).contains('%'));
    out.stdout
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

fn sha256(data: &[u8]) -> String {
    let mut c = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(data).unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn image_id(bed: &Testbed, spec: &str) -> String {
    bed.rbd_json(&["info", spec])["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A sparse test input: data, a long hole, data across an object
/// boundary, a hole, and an odd-sized tail.
fn sparse_input(len: usize) -> Vec<u8> {
    let mut d = vec![0u8; len];
    d[..300_000].copy_from_slice(&pattern(300_000, 1));
    let mid = (4 << 20) - 5000;
    d[mid..mid + 70_000].copy_from_slice(&pattern(70_000, 2));
    d[len - 12_345..].copy_from_slice(&pattern(12_345, 3));
    d
}

#[test]
fn import_export_ls_resize_du_and_trash_agree_with_rbd() {
    let bed = Testbed::load();
    let dir = ScratchDir::new("rbd-cli");
    let data = sparse_input((9 << 20) + 12_345);
    let file = dir.path().join("in.img");
    std::fs::write(&file, &data).unwrap();
    let name = unique_name("cli-imp");
    let spec = format!("{POOL}/{name}");

    // import from a file, rbd exports the same bytes.
    ours_ok(&bed, &["import", file.to_str().unwrap(), &spec]);
    let id = image_id(&bed, &spec);
    let theirs = bed.rbd_export(&spec);
    assert_eq!(sha256(&theirs), sha256(&data));
    bed.rbd_ok(&["object-map", "check", "--no-progress", &spec]);
    // Sparse: only the objects with data exist.
    let data_objects = bed
        .objects_of(POOL, &id)
        .into_iter()
        .filter(|o| o.starts_with("rbd_data."))
        .count();
    assert_eq!(data_objects, 3, "holes were not skipped");

    // export: to stdout and to a (sparse) file.
    let out = ours_ok(&bed, &["export", &spec, "-"]);
    assert_eq!(sha256(&out), sha256(&data));
    let exported = dir.path().join("out.img");
    ours_ok(&bed, &["export", &spec, exported.to_str().unwrap()]);
    assert_eq!(sha256(&std::fs::read(&exported).unwrap()), sha256(&data));

    // ls, ls -l and du as json.
    let ls = json(&ours_ok(&bed, &["ls", POOL, "--format", "json"]));
    assert!(ls.as_array().unwrap().iter().any(|n| n == name.as_str()));
    let ls_l = json(&ours_ok(&bed, &["ls", "-l", POOL, "--format", "json"]));
    let row = ls_l
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["image"] == name.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["size"].as_u64(), Some(data.len() as u64));
    let du = json(&ours_ok(&bed, &["du", &spec, "--format", "json"]));
    let theirs = bed.rbd_json(&["du", &spec]);
    assert_eq!(
        du["images"][0]["used_size"],
        theirs["images"][0]["used_size"]
    );

    // resize: shrink refused without the flag, then both ways.
    assert!(!ours(&bed, &["resize", "--size", "2M", &spec])
        .status
        .success());
    ours_ok(&bed, &["resize", "--size", "2M", "--allow-shrink", &spec]);
    ours_ok(&bed, &["resize", "--size", "16M", &spec]);
    let info = bed.rbd_json(&["info", &spec]);
    assert_eq!(info["size"].as_u64(), Some(16 << 20));
    let mut expect = data[..2 << 20].to_vec();
    expect.resize(16 << 20, 0);
    let theirs = bed.rbd_export(&spec);
    assert_eq!(sha256(&theirs), sha256(&expect));
    bed.rbd_ok(&["object-map", "check", "--no-progress", &spec]);

    // trash: mv, ls (json), restore, mv, rm. Deletion is deferred: the
    // bed's Cinder backends share the pool and purge expired entries.
    ours_ok(&bed, &["trash", "mv", "--expires-at", "1 hour", &spec]);
    let ls = json(&ours_ok(&bed, &["trash", "ls", POOL, "--format", "json"]));
    assert!(ls
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["id"] == id.as_str()));
    let theirs = bed.rbd_json(&["trash", "ls", POOL]);
    assert!(theirs
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["id"] == id.as_str()));
    ours_ok(&bed, &["trash", "restore", &format!("{POOL}/{id}")]);
    assert_eq!(image_id(&bed, &spec), id);
    ours_ok(&bed, &["trash", "mv", "--expires-at", "1 hour", &spec]);
    assert!(!ours(&bed, &["trash", "rm", &format!("{POOL}/{id}")])
        .status
        .success());
    ours_ok(&bed, &["trash", "rm", "--force", &format!("{POOL}/{id}")]);
    assert!(bed.objects_of(POOL, &id).is_empty());
}

#[test]
fn import_from_standard_input_and_export_match_rbd() {
    let bed = Testbed::load();
    let data = sparse_input((6 << 20) + 777);
    let name = unique_name("cli-stdin");
    let spec = format!("{POOL}/{name}");
    let mut c = ours_command(&bed);
    c.args(["import", "--image-feature", "layering", "-", &spec])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = image_id(&bed, &spec);
    let info = bed.rbd_json(&["info", &spec]);
    assert_eq!(info["size"].as_u64(), Some(data.len() as u64));
    assert_eq!(info["features"], serde_json::json!(["layering"]));
    let theirs = bed.rbd_export(&spec);
    assert_eq!(sha256(&theirs), sha256(&data));
    let ours_out = ours_ok(&bed, &["export", &spec, "-"]);
    assert_eq!(sha256(&ours_out), sha256(&theirs));
    ours_ok(&bed, &["rm", &spec]);
    assert!(bed.objects_of(POOL, &id).is_empty());
}

/// `create`, `import`, `clone` and `info` with `--data-pool` (the bed's
/// erasure-coded pool), `snap create` and `export`: what `rbd` shows and
/// exports; an image whose header would be in the EC pool is refused.
#[test]
fn data_pool_images_on_an_erasure_coded_pool() {
    let bed = Testbed::load();
    let ec = bed.var("RBD_NATIVE_EC_POOL");
    let dir = ScratchDir::new("cli-ec");
    let data = pattern(6 << 20, 21);
    let f = dir.path().join("in");
    std::fs::write(&f, &data).unwrap();
    let vol = format!("{POOL}/{}", unique_name("cli-ec"));
    ours_ok(
        &bed,
        &[
            "import",
            "--no-progress",
            "--data-pool",
            &ec,
            &f.to_string_lossy(),
            &vol,
        ],
    );
    assert_eq!(bed.rbd_json(&["info", &vol])["data_pool"], ec.as_str());
    assert_eq!(
        json(&ours_ok(&bed, &["info", &vol, "--format", "json"]))["data_pool"],
        ec.as_str()
    );
    ours_ok(&bed, &["snap", "create", &format!("{vol}@s")]);
    let child = format!("images/{}", unique_name("cli-ec-child"));
    ours_ok(
        &bed,
        &[
            "clone",
            "--rbd-default-clone-format",
            "2",
            &format!("{vol}@s"),
            &child,
            "--data-pool",
            &ec,
        ],
    );
    assert_eq!(bed.rbd_json(&["info", &child])["data_pool"], ec.as_str());
    let out = dir.path().join("out");
    ours_ok(
        &bed,
        &["export", "--no-progress", &child, &out.to_string_lossy()],
    );
    assert!(std::fs::read(&out).unwrap() == data);
    assert!(bed.rbd_export(&child) == data);
    let empty = format!("{POOL}/{}", unique_name("cli-ec-new"));
    ours_ok(
        &bed,
        &["create", "--size", "8M", "--data-pool", &ec, &empty],
    );
    assert_eq!(bed.rbd_json(&["info", &empty])["data_pool"], ec.as_str());

    let bad = ours(&bed, &["create", "--size", "8M", &format!("{ec}/never")]);
    let msg = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && msg.contains("erasure-coded"),
        "{msg}"
    );

    let ids: Vec<String> = [&child, &vol, &empty]
        .iter()
        .map(|s| image_id(&bed, s))
        .collect();
    bed.remove_image_and_snaps(&child);
    bed.remove_image_and_snaps(&vol);
    bed.remove_image_and_snaps(&empty);
    for id in ids {
        assert!(
            bed.objects_of(&ec, &id).is_empty(),
            "objects of {id} left in {ec}"
        );
    }
}
