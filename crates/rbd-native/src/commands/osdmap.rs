//! `rbd-native osdmap test-map-pgs|test-map-object FILE ...`: placement
//! from an OSDMap file, printed as `osdmaptool` prints it.

use std::path::PathBuf;

use ceph_encoding::Decode;
use ceph_rados::crush::{CrushMap, ITEM_NONE};
use ceph_rados::osdmap::{OsdMap, PgId};
use ceph_rados::placement::Placer;
use clap::{Args, Subcommand};

use crate::error::Error;

/// Arguments of `osdmap`.
#[derive(Args, Debug)]
pub struct OsdmapArgs {
    /// What to do with the map.
    #[command(subcommand)]
    pub action: OsdmapAction,
}

/// The `osdmap` actions.
#[derive(Subcommand, Debug)]
pub enum OsdmapAction {
    /// Every PG of every pool (or of --pool) with its OSDs and primary,
    /// as `osdmaptool FILE --test-map-pgs-dump` prints them.
    TestMapPgs {
        /// The OSDMap file (`ceph osd getmap -o FILE`).
        file: PathBuf,
        /// Only this pool.
        #[arg(long)]
        pool: Option<i64>,
    },
    /// Where one object goes, as `osdmaptool FILE --test-map-object NAME
    /// --pool ID` prints it.
    TestMapObject {
        /// The OSDMap file.
        file: PathBuf,
        /// The object's name.
        name: String,
        /// The pool.
        #[arg(long)]
        pool: i64,
    },
}

fn set(v: &[i32]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|&o| {
            if o == ITEM_NONE {
                "2147483647".to_string()
            } else {
                o.to_string()
            }
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn load(file: &PathBuf) -> Result<(OsdMap, CrushMap), Error> {
    let bytes = std::fs::read(file).map_err(|e| Error::Io {
        context: format!("reading {}", file.display()),
        source: e,
    })?;
    let map = OsdMap::from_bytes(&bytes)
        .map_err(|e| Error::Input(format!("{}: not an OSDMap: {e}", file.display())))?;
    let crush = CrushMap::decode_exact(&map.crush).map_err(|e| {
        Error::Input(format!(
            "{}: its CRUSH map does not decode: {e}",
            file.display()
        ))
    })?;
    Ok((map, crush))
}

/// Runs the action.
pub fn run(args: &OsdmapArgs) -> Result<i32, Error> {
    match &args.action {
        OsdmapAction::TestMapPgs { file, pool } => {
            let (map, crush) = load(file)?;
            let placer = Placer::new(&map, &crush);
            if let Some(p) = pool {
                if !map.pools.contains_key(p) {
                    return Err(Error::Input(format!(
                        "there is no pool {p} in {}",
                        file.display()
                    )));
                }
            }
            for (&pool_id, p) in map
                .pools
                .iter()
                .filter(|(id, _)| pool.is_none_or(|want| **id == want))
            {
                println!("pool {pool_id} pg_num {}", p.pg_num);
                for seed in 0..p.pg_num {
                    if let Some(m) = placer.pg_to_up_acting(PgId::new(pool_id, seed)) {
                        println!(
                            "{pool_id}.{seed:x}\t{}\t{}",
                            set(&m.acting),
                            m.acting_primary
                        );
                    }
                }
            }
            Ok(0)
        }
        OsdmapAction::TestMapObject { file, name, pool } => {
            let (map, crush) = load(file)?;
            let placer = Placer::new(&map, &crush);
            let (m, _) = placer
                .object_to_up_acting(*pool, name, "", "")
                .ok_or_else(|| {
                    Error::Input(format!("there is no pool {pool} in {}", file.display()))
                })?;
            println!(
                " object '{name}' -> {}.{:x} -> {}",
                m.pgid.pool,
                m.pgid.seed,
                set(&m.acting)
            );
            Ok(0)
        }
    }
}
