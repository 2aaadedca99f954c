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

/// Whether mapping with `map` is cheap: few bucket items and devices,
/// and retry counts and choose widths like a real cluster's (for fuzz
/// bodies that place objects with maps they do not bound themselves).
pub fn cheap_to_map(map: &CrushMap) -> bool {
    const TRIES: u32 = 100;
    let items: usize = map.buckets.iter().flatten().map(|b| b.items.len()).sum();
    let t = &map.tunables;
    let steps_ok = map
        .rules
        .iter()
        .flatten()
        .flat_map(|r| &r.steps)
        .all(|s| match s.op {
            StepOp::ChooseFirstN
            | StepOp::ChooseIndep
            | StepOp::ChooseLeafFirstN
            | StepOp::ChooseLeafIndep
            | StepOp::ChooseMsr => (-16..=16).contains(&s.arg1),
            StepOp::SetMsrDescents | StepOp::SetMsrCollisionTries => s.arg1 <= TRIES as i32,
            StepOp::SetChooseTries
            | StepOp::SetChooseLeafTries
            | StepOp::SetChooseLocalTries
            | StepOp::SetChooseLocalFallbackTries => s.arg1 <= TRIES as i32,
            _ => true,
        });
    let devices_ok = map
        .buckets
        .iter()
        .flatten()
        .flat_map(|b| &b.items)
        .all(|&i| i <= 1024);
    items <= MAX_ITEMS_TO_MAP
        && t.choose_total_tries <= TRIES
        && t.choose_local_tries <= 10
        && t.choose_local_fallback_tries <= 10
        && t.msr_descents <= TRIES
        && t.msr_collision_tries <= TRIES
        && steps_ok
        && devices_ok
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
