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
