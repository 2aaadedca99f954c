//! Objects in cluster main's erasure-coded pool (k=2 m=1, overwrites
//! allowed), with the `rados` tool as the oracle: what we write it reads,
//! what it writes we read and stat, partial overwrites and appends land
//! where they should, and an omap write, which EC pools cannot run,
//! fails at once with a message that says why.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;

use bytes::Bytes;
use rbd_native_tests::{pattern, run, run_ok, unique_name, ScratchDir, Testbed};

fn rados_tool(bed: &Testbed, args: &[&str]) -> Vec<u8> {
    let mut c = bed.ceph_tool("rados", "CEPH_CONF", "admin");
    c.args(args);
    run_ok(&mut c).stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_in_an_erasure_coded_pool_match_the_rados_tool() {
    let bed = Testbed::load();
    let pool = bed.var("RBD_NATIVE_EC_POOL");
    let (_rados, io) = bed.rados_admin_pool(&pool).await;
    assert!(io.is_erasure(), "{pool} should be erasure-coded");
    let dir = ScratchDir::new("ec-objects");

    // Ours, of sizes around the stripe (2 data chunks of 4 KiB by
    // default): read by the rados tool.
    for (i, len) in [1usize, 8192, 100_000, 5 << 20].into_iter().enumerate() {
        let name = unique_name(&format!("ec-ours-{i}"));
        let data = pattern(len, i as u64 + 1);
        io.write_full(&name, Bytes::from(data.clone()))
            .await
            .unwrap();
        let f = dir.path().join(&name);
        rados_tool(&bed, &["-p", &pool, "get", &name, &f.to_string_lossy()]);
        assert!(std::fs::read(&f).unwrap() == data, "{name}: {len} bytes");
        assert_eq!(io.stat(&name).await.unwrap().0, len as u64);
        io.remove(&name).await.unwrap();
        let gone = run(bed
            .ceph_tool("rados", "CEPH_CONF", "admin")
            .args(["-p", &pool, "stat", &name]));
        assert!(!gone.status.success(), "{name} still exists");
    }

    // The tool's, read and stat'ed by us; then a partial overwrite and an
    // append (EC overwrites), checked by the tool.
    let name = unique_name("ec-tool");
    let mut data = pattern(300_000, 9);
    let f = dir.path().join("tool");
    std::fs::write(&f, &data).unwrap();
    rados_tool(&bed, &["-p", &pool, "put", &name, &f.to_string_lossy()]);
    assert!(io.read_full(&name).await.unwrap() == data);
    assert_eq!(io.stat(&name).await.unwrap().0, data.len() as u64);
    assert!(io.read(&name, 12_345, 1000).await.unwrap() == data[12_345..13_345]);
    let patch = pattern(10_000, 10);
    io.write(&name, 4_000, Bytes::from(patch.clone()))
        .await
        .unwrap();
    data[4_000..14_000].copy_from_slice(&patch);
    let tail = pattern(7_000, 11);
    io.append(&name, Bytes::from(tail.clone())).await.unwrap();
    data.extend_from_slice(&tail);
    let back = dir.path().join("back");
    rados_tool(&bed, &["-p", &pool, "get", &name, &back.to_string_lossy()]);
    assert!(std::fs::read(&back).unwrap() == data);

    // An omap write: refused by the OSD (EOPNOTSUPP), explained by us.
    // (Omap reads answer empty, and so do class methods that only read.)
    let kv: BTreeMap<String, Bytes> = [("k".to_string(), Bytes::from_static(b"v"))].into();
    let e = io.omap_set(&name, &kv).await.unwrap_err().to_string();
    assert!(
        e.contains("erasure-coded") && e.contains("--data-pool") && e.contains(&pool),
        "{e}"
    );
    io.remove(&name).await.unwrap();
}
