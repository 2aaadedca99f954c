//! Entry points for the fuzz targets (`fuzz/fuzz_targets/crush_map.rs`),
//! kept in the crate so that `cargo test` replays the saved corpus too.

use ceph_encoding::{Decode, Encode, Reader};

use super::map::CrushMap;
use super::rule::StepOp;

/// Decodes arbitrary bytes as a CRUSH map; whatever decodes must re-encode
/// to bytes that decode to the same map. The map is then run, as it is
/// (its tunables, bucket sizes and step counts untouched: the mapper bounds
/// its own work), through rules picked by the bytes after the map (rule,
/// input `x`, result count, choose args), without them through the first
/// rules for a few inputs. Panics only on a bug.
pub fn decode_and_map(data: &[u8]) {
    let mut reader = Reader::new(data);
    let Ok(map) = CrushMap::decode(&mut reader) else {
        return;
    };
    let consumed = data.len() - reader.remaining();
    let again = map.to_bytes(0);
    match CrushMap::decode_exact(&again) {
        Ok(back) => assert_eq!(back, map, "re-encoded map decodes differently"),
        Err(e) => panic!("re-encoded map does not decode: {e}"),
    }
    // Bounded by the map's length, whatever ids it links.
    let weights = map.default_device_weights();
    let arg_sets: Vec<_> = map.choose_args.values().collect();
    let picks = &data[consumed..];
    let runs: Vec<(u32, i32, usize, usize)> = if picks.is_empty() {
        (0..map.rules.len().min(2) as u32)
            .flat_map(|rule| [(rule, 0, 3, 0), (rule, -7, 1, 1)])
            .collect()
    } else {
        picks
            .chunks(4)
            .take(4)
            .map(|c| {
                let b = |i: usize| c.get(i).copied().unwrap_or(0);
                let x = i32::from_le_bytes([b(1), b(2), b(1) ^ b(2), b(0)]);
                (
                    u32::from(b(0)),
                    x,
                    usize::from(b(3) % 32),
                    usize::from(b(3) >> 5),
                )
            })
            .collect()
    };
    for (rule, x, result_max, args) in runs {
        let args = args.checked_sub(1).and_then(|i| arg_sets.get(i)).copied();
        let out = map.do_rule(rule, x, result_max, &weights, args);
        assert!(out.len() <= result_max, "more results than asked for");
    }
}

/// Whether mapping with `map` is cheap: few bucket items and devices,
/// and retry counts and choose widths like a real cluster's (for fuzz
/// bodies that place objects with maps they do not bound themselves).
pub fn cheap_to_map(map: &CrushMap) -> bool {
    const TRIES: u32 = 100;
    const MAX_ITEMS_TO_MAP: usize = 64;
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
