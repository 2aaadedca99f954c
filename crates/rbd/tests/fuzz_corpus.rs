//! Replays the `cls_rbd_reply` fuzzer's corpus through the function the
//! target calls. `RBD_WRITE_SEEDS=1` first (re)writes the seeds made from
//! the captured fixtures (decoder index byte, then the reply bytes).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use ceph_rbd::fuzzing::{decoder_index, replies, DECODERS};

/// Fixture (`<name>.out.bin`, or a notify payload) -> decoder name.
const SEEDS: &[(&str, &str)] = &[
    ("get_size.out.bin", "get_size"),
    ("get_features.out.bin", "get_features"),
    ("get_object_prefix.out.bin", "get_object_prefix"),
    ("get_data_pool.out.bin", "get_data_pool"),
    ("get_snapcontext-two.out.bin", "get_snapcontext"),
    ("get_stripe_unit_count.out.bin", "get_stripe_unit_count"),
    ("get_flags.out.bin", "get_flags"),
    ("get_create_timestamp.out.bin", "get_create_timestamp"),
    ("op_features_get-parent.out.bin", "op_features_get"),
    ("get_parent.out.bin", "get_parent"),
    ("parent_get.out.bin", "parent_get"),
    ("parent_overlap_get.out.bin", "parent_overlap_get"),
    ("snapshot_get.out.bin", "snapshot_get"),
    ("snapshot_get-trash.out.bin", "snapshot_get"),
    ("snapshot_get-group.out.bin", "snapshot_get"),
    ("get_protection_status.out.bin", "get_protection_status"),
    ("get_snapshot_name.out.bin", "get_snapshot_name"),
    ("get_snapshot_timestamp.out.bin", "get_snapshot_timestamp"),
    ("snapshot_get_limit.out.bin", "snapshot_get_limit"),
    ("get_children.out.bin", "get_children"),
    ("children_list.out.bin", "children_list"),
    ("get_id.out.bin", "get_id"),
    ("dir_get_id.out.bin", "dir_get_id"),
    ("dir_list.out.bin", "dir_list"),
    ("trash_list.out.bin", "trash_list"),
    ("trash_get.out.bin", "trash_get"),
    ("metadata_list.out.bin", "metadata_list"),
    ("metadata_get.out.bin", "metadata_get"),
    ("get_all_features.out.bin", "get_all_features"),
    ("object_map_load.out.bin", "object_map_load"),
    ("lock_get_info.out.bin", "lock.get_info"),
    ("lock_get_info-shared.out.bin", "lock.get_info"),
    ("lock_list_locks.out.bin", "lock.list_locks"),
    ("notify-op0.bin", "notify"),
    ("notify-op2.bin", "notify"),
    ("notify-op7.bin", "notify"),
    ("notify-op8.bin", "notify"),
    ("notify-op9.bin", "notify"),
    ("notify-op14.bin", "notify"),
    ("notify-op15.bin", "notify"),
    ("notify-op20.bin", "notify"),
    ("lock.in.bin", "in.lock"),
];

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/cls_rbd_reply")
}

#[test]
fn seeds_from_fixtures_decode() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let write = std::env::var_os("RBD_WRITE_SEEDS").is_some();
    if write {
        std::fs::create_dir_all(corpus()).unwrap();
    }
    for (file, decoder) in SEEDS {
        let index = decoder_index(decoder).unwrap_or_else(|| panic!("no decoder {decoder}"));
        let mut seed = vec![index];
        seed.extend(std::fs::read(fixtures.join(file)).unwrap());
        replies(&seed);
        if write {
            let name = format!("seed-{}", file.trim_end_matches(".bin"));
            std::fs::write(corpus().join(name), &seed).unwrap();
        }
    }
    // Every decoder survives empty and short inputs.
    for i in 0..DECODERS.len() {
        for len in 0..12 {
            let mut data = vec![i as u8];
            data.extend(std::iter::repeat_n(0xff, len));
            replies(&data);
        }
    }
}

#[test]
fn replay_cls_rbd_reply_corpus() {
    let n = rbd_native_tests::replay_fuzz_corpus("cls_rbd_reply", replies);
    eprintln!("replayed {n} cls_rbd_reply inputs");
}

/// An `rbd_layout` input: order, stripe unit, stripe count, size, offset
/// and length as little-endian words.
fn layout_input(words: [u64; 6]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Seeds of `rbd_layout` from the captured `get_size` and
/// `get_stripe_unit_count` replies, plus hostile headers; written to the
/// corpus with `RBD_WRITE_SEEDS=1`.
#[test]
fn layout_seeds() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let size = std::fs::read(fixtures.join("get_size.out.bin")).unwrap();
    let stripe = std::fs::read(fixtures.join("get_stripe_unit_count.out.bin")).unwrap();
    let word = |b: &[u8]| u64::from_le_bytes(b[..8].try_into().unwrap());
    let (order, image_size) = (u64::from(size[0]), word(&size[1..]));
    let (unit, count) = (word(&stripe), word(&stripe[8..]));
    let seeds = [
        (
            "seed-captured",
            [order, unit, count, image_size, 12345, 1 << 20],
        ),
        ("seed-plain", [order, 0, 0, image_size, 0, 4 << 20]),
        (
            "seed-fancy",
            [22, 64 << 10, 8, 1 << 30, (4 << 20) - 7, 1 << 21],
        ),
        ("seed-huge-order", [40, 0, 0, u64::MAX, 0, 1]),
        (
            "seed-huge-count",
            [25, 1 << 20, 1 << 40, u64::MAX, u64::MAX - 9, 100],
        ),
        ("seed-tiny-unit", [12, 1, 3, 1 << 40, 77, 5000]),
    ];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/rbd_layout");
    let write = std::env::var_os("RBD_WRITE_SEEDS").is_some();
    for (name, words) in seeds {
        let data = layout_input(words);
        ceph_rbd::fuzzing::layout(&data);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), &data).unwrap();
        }
    }
}

#[test]
fn replay_rbd_layout_corpus() {
    let n = rbd_native_tests::replay_fuzz_corpus("rbd_layout", ceph_rbd::fuzzing::layout);
    eprintln!("replayed {n} rbd_layout inputs");
}
