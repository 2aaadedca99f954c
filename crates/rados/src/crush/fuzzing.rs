//! Entry points for the fuzz targets (`fuzz/fuzz_targets/crush_map.rs`),
//! kept in the crate so that `cargo test` replays the saved corpus too.

use ceph_encoding::{Decode, Encode, Reader};

use super::map::CrushMap;
use super::rule::StepOp;

/// Bucket items (summed over all buckets) above which the fuzz body only
/// decodes: mapping cost grows with the square of bucket sizes.
const MAX_ITEMS_TO_MAP: usize = 64;

/// Decodes arbitrary bytes as a CRUSH map; whatever decodes must re-encode
/// to bytes that decode to the same map, and (for small maps) is run
/// through every rule for a few inputs, with tunables and rule counts
/// clamped so that the work stays bounded. Panics only on a bug.
pub fn decode_and_map(data: &[u8]) {
    let mut reader = Reader::new(data);
    let Ok(map) = CrushMap::decode(&mut reader) else {
        return;
    };
    let again = map.to_bytes(0);
    match CrushMap::decode_exact(&again) {
        Ok(back) => assert_eq!(back, map, "re-encoded map decodes differently"),
        Err(e) => panic!("re-encoded map does not decode: {e}"),
    }
    let items: usize = map.buckets.iter().flatten().map(|b| b.items.len()).sum();
    if items > MAX_ITEMS_TO_MAP {
        return;
    }
    let map = bounded(map);
    let weights = map.default_device_weights();
    let mut arg_sets = vec![None];
    arg_sets.extend(map.choose_args.values().take(2).map(Some));
    for rule in 0..map.rules.len().min(4) as u32 {
        for x in [0, 1, -7] {
            for result_max in [1usize, 3] {
                for args in &arg_sets {
                    let out = map.do_rule(rule, x, result_max, &weights, *args);
                    assert!(out.len() <= result_max, "more results than asked for");
                }
            }
        }
    }
}

/// A copy of `map` whose retry counts and choose widths are small.
fn bounded(mut map: CrushMap) -> CrushMap {
    let t = &mut map.tunables;
    t.choose_total_tries = t.choose_total_tries.min(10);
    t.choose_local_tries = t.choose_local_tries.min(4);
    t.choose_local_fallback_tries = t.choose_local_fallback_tries.min(4);
    for rule in map.rules.iter_mut().flatten() {
        for step in &mut rule.steps {
            match step.op {
                StepOp::ChooseFirstN
                | StepOp::ChooseIndep
                | StepOp::ChooseLeafFirstN
                | StepOp::ChooseLeafIndep => step.arg1 = step.arg1.clamp(-8, 8),
                StepOp::SetChooseTries
                | StepOp::SetChooseLeafTries
                | StepOp::SetChooseLocalTries
                | StepOp::SetChooseLocalFallbackTries => step.arg1 = step.arg1.min(10),
                _ => {}
            }
        }
    }
    // Weight vectors follow max_devices; keep them small too.
    for bucket in map.buckets.iter_mut().flatten() {
        for item in &mut bucket.items {
            if *item > 1024 {
                *item = 1024;
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_inputs_do_not_panic() {
        decode_and_map(&[]);
        decode_and_map(&[0, 0, 1, 0]);
        decode_and_map(&[0xff; 64]);
        let mut b = super::super::CRUSH_MAGIC.to_le_bytes().to_vec();
        b.extend_from_slice(&[0; 24]);
        decode_and_map(&b);
    }
}
