//! An MOSDMap message applied to the maps we hold: the fsid check, then
//! the epochs in order, each from a full map or an incremental on the
//! one before; a gap asks the monitor for the maps from where we are.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use ceph_encoding::{Decode, Reader, Uuid};
use tracing::{debug, info};

use crate::crush::CrushMap;
use crate::error::{RadosError, Result};
use crate::osdmap::{Incremental, OsdMap};

use super::request::Maps;

/// What an MOSDMap message made of the maps.
#[derive(Debug, Default)]
pub(super) struct MapStep {
    /// The new maps, if the epoch moved.
    pub(super) maps: Option<Maps>,
    /// Ask the monitor for the maps from this epoch (a gap).
    pub(super) want_from: Option<u32>,
}

fn decode_error(e: ceph_encoding::DecodeError) -> RadosError {
    RadosError::Decode {
        what: "MOSDMap",
        source: e,
    }
}

/// Applies the MOSDMap message `front` of cluster `fsid` to `current`.
pub(super) fn apply_osdmap_message(
    current: Option<&Maps>,
    fsid: Uuid,
    front: &[u8],
) -> Result<MapStep> {
    let mut r = Reader::new(front);
    let theirs: Uuid = r.read().map_err(decode_error)?;
    if theirs != fsid {
        return Err(RadosError::OtherCluster {
            what: "an OSD map",
            theirs,
            ours: fsid,
        });
    }
    let incrementals: BTreeMap<u32, Bytes> = r.read().map_err(decode_error)?;
    let fulls: BTreeMap<u32, Bytes> = r.read().map_err(decode_error)?;
    let mut map: Option<OsdMap> = current.map(|m| (*m.osdmap).clone());
    let mut crush_changed = false;
    let mut step = MapStep::default();
    // The epochs the message holds, in order (never the range between
    // the smallest and the largest: those come from the network).
    let epochs: BTreeSet<u32> = incrementals.keys().chain(fulls.keys()).copied().collect();
    for epoch in epochs {
        let have = map.as_ref().map_or(0, |m| m.epoch);
        if epoch <= have {
            continue;
        }
        if let Some(full) = fulls.get(&epoch) {
            let m = OsdMap::from_bytes(full).map_err(decode_error)?;
            if m.fsid != fsid {
                return Err(RadosError::OtherCluster {
                    what: "a full OSD map",
                    theirs: m.fsid,
                    ours: fsid,
                });
            }
            map = Some(m);
            crush_changed = true;
        } else if let (Some(inc), Some(m)) = (incrementals.get(&epoch), map.as_mut()) {
            if epoch != have.saturating_add(1) {
                step.want_from = Some(have.saturating_add(1));
                info!(have, "gap in OSD maps; asking from epoch {}", have + 1);
                break;
            }
            let inc = Incremental::from_bytes(inc).map_err(decode_error)?;
            crush_changed |= !inc.crush.is_empty() || !inc.fullmap.is_empty();
            m.apply_incremental(&inc)
                .map_err(|source| RadosError::OsdMap { epoch, source })?;
        } else {
            // An incremental without a map to apply it to.
            step.want_from = Some(have.saturating_add(1));
            info!(have, "no base for OSD map {epoch}; asking for the maps");
            break;
        }
    }
    let Some(map) = map else { return Ok(step) };
    if current.is_some_and(|m| m.osdmap.epoch == map.epoch) {
        return Ok(step);
    }
    let crush = match (current, crush_changed) {
        (Some(m), false) => m.crush.clone(),
        _ => Arc::new(CrushMap::decode_exact(&map.crush).map_err(decode_error)?),
    };
    debug!(epoch = map.epoch, "new OSD map");
    step.maps = Some(Maps {
        osdmap: Arc::new(map),
        crush,
    });
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objecter::fuzzing::osdmap_message;

    const E34: &[u8] = include_bytes!("../../tests/fixtures/osdmap/pacific-e34.bin");
    const E35: &[u8] = include_bytes!("../../tests/fixtures/osdmap/pacific-e35.bin");

    fn fsid() -> Uuid {
        OsdMap::from_bytes(E35).map(|m| m.fsid).unwrap_or_default()
    }

    fn full(epoch: u32, bytes: &'static [u8]) -> (u32, Bytes) {
        (epoch, Bytes::from_static(bytes))
    }

    #[test]
    fn fulls_apply_in_order_and_old_epochs_are_skipped() {
        let m = osdmap_message(fsid(), &[], &[full(34, E34), full(35, E35)]);
        let step = apply_osdmap_message(None, fsid(), &m).unwrap_or_default();
        let Some(maps) = step.maps else {
            panic!("no maps")
        };
        assert_eq!((maps.osdmap.epoch, step.want_from), (35, None));
        let old = osdmap_message(fsid(), &[], &[full(34, E34)]);
        let step = apply_osdmap_message(Some(&maps), fsid(), &old).unwrap_or_default();
        assert!(step.maps.is_none() && step.want_from.is_none());
    }

    #[test]
    fn another_clusters_maps_are_refused() {
        let other = Uuid([9; 16]);
        let m = osdmap_message(other, &[], &[full(35, E35)]);
        assert!(matches!(
            apply_osdmap_message(None, fsid(), &m),
            Err(RadosError::OtherCluster { .. })
        ));
        // A full map of another cluster inside our envelope.
        let m = osdmap_message(other, &[], &[full(35, E35)]);
        assert!(apply_osdmap_message(None, other, &m).is_err());
    }

    /// An incremental past a gap, or with no map to apply to, asks for
    /// the maps from the one after ours; keys far apart cost nothing.
    #[test]
    fn gaps_ask_for_maps_and_far_keys_do_not_spin() {
        let base = osdmap_message(fsid(), &[], &[full(35, E35)]);
        let maps = apply_osdmap_message(None, fsid(), &base)
            .ok()
            .and_then(|s| s.maps);
        let inc = |e| (e, Bytes::from_static(b"junk"));
        let m = osdmap_message(fsid(), &[inc(37)], &[]);
        let step = apply_osdmap_message(maps.as_ref(), fsid(), &m).unwrap_or_default();
        assert_eq!(step.want_from, Some(36));
        let step = apply_osdmap_message(None, fsid(), &m).unwrap_or_default();
        assert_eq!(step.want_from, Some(1));
        let m = osdmap_message(fsid(), &[inc(0), inc(u32::MAX)], &[full(35, E35)]);
        let step = apply_osdmap_message(None, fsid(), &m).unwrap_or_default();
        assert_eq!(step.maps.map(|m| m.osdmap.epoch), Some(35));
        assert_eq!(step.want_from, Some(36));
        // The next incremental is applied (and a bad one is an error).
        let m = osdmap_message(fsid(), &[inc(36)], &[]);
        assert!(apply_osdmap_message(maps.as_ref(), fsid(), &m).is_err());
    }
}
