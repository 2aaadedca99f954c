//! Bodies of the OSDMap fuzz targets, public so that ordinary tests replay
//! the fuzzers' saved corpora through exactly the same code.
//!
//! Each function accepts any bytes and panics only when it finds a bug.
//! The crc check is skipped (a mutated input would almost never pass it,
//! and the decoder behind it would go unexercised); the checked path is
//! run too.

use ceph_encoding::{Decode, Reader};

use super::constants::osd_state;
use super::{Incremental, OsdMap, PgPool};

/// Decodes `data` as a full map (with and without the crc check) and as a
/// lone `pg_pool_t`; a map that decodes is queried for every OSD and pool,
/// and an empty incremental for the next epoch is applied to it.
///
/// # Panics
///
/// When decoding or applying panics (a bug), or when an empty incremental
/// changes anything but the epoch and the modification time.
pub fn full(data: &[u8]) {
    let _ = OsdMap::from_bytes(data);
    let _ = PgPool::decode_exact(data);
    let mut reader = Reader::new(data);
    let Ok(mut map) = OsdMap::decode_from(&mut reader, false) else {
        return;
    };
    exercise(&map);
    let before = map.clone();
    let inc = Incremental::new(map.fsid, map.epoch.wrapping_add(1));
    if map.apply_incremental(&inc).is_ok() {
        assert_eq!(map.pools, before.pools, "empty incremental keeps pools");
        assert_eq!(
            map.osd_state, before.osd_state,
            "empty incremental keeps states"
        );
        assert_eq!(
            map.pg_temp, before.pg_temp,
            "empty incremental keeps pg_temp"
        );
    }
}

/// Decodes `data` as an incremental (with and without the crc check) and
/// applies it to a small map of three OSDs; the result is queried.
///
/// # Panics
///
/// When decoding or applying panics (a bug).
pub fn incremental(data: &[u8]) {
    let _ = Incremental::from_bytes(data);
    let mut reader = Reader::new(data);
    let Ok(inc) = Incremental::decode_from(&mut reader, false) else {
        return;
    };
    let mut map = base_map(&inc);
    let before = map.clone();
    match map.apply_incremental(&inc) {
        Ok(()) => exercise(&map),
        Err(_) => assert_eq!(map, before, "a failed apply leaves the map unchanged"),
    }
}

/// A map of three OSDs (0 and 1 up, 2 down) at the epoch before `inc`'s.
fn base_map(inc: &Incremental) -> OsdMap {
    let mut map = OsdMap {
        fsid: inc.fsid,
        epoch: inc.epoch.wrapping_sub(1),
        max_osd: 3,
        osd_state: vec![
            osd_state::EXISTS | osd_state::UP,
            osd_state::EXISTS | osd_state::UP,
            osd_state::EXISTS,
        ],
        osd_weight: vec![0x10000; 3],
        ..OsdMap::default()
    };
    map.osd_addrs.resize(3, Default::default());
    map
}

fn exercise(map: &OsdMap) {
    for osd in -1..=map.max_osd.min(4096) {
        let _ = (map.is_up(osd), map.is_in(osd), map.primary_affinity(osd));
        let _ = (map.addrs(osd), map.state_names(osd));
    }
    for pool in map.pools.values() {
        let _ = (pool.pg_num_mask(), pool.pgp_num_mask(), pool.flag_names());
    }
    let _ = (map.num_osds(), map.num_up_osds(), map.num_in_osds());
}

#[cfg(test)]
mod tests {
    #[test]
    fn accepts_junk() {
        for data in [
            &[][..],
            &[8, 7, 0, 0, 0, 0],
            &[0xff; 64],
            &[8, 7, 4, 0, 0, 0, 1, 1, 0],
        ] {
            super::full(data);
            super::incremental(data);
        }
    }
}
