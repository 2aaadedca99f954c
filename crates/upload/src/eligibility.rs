//! Whether an upload may be done by copy-on-write clone, and if not, why.
//! Pure logic: the facts are gathered elsewhere.

use serde::Serialize;

/// What the decision rests on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The optimization is on (command line or config file).
    pub optimization_on: bool,
    /// The image's disk format.
    pub disk_format: String,
    /// The image's container format.
    pub container_format: String,
    /// The target store: its id and type, if Glance reported it.
    pub store: Option<StoreFacts>,
    /// Our cluster's fsid.
    pub our_fsid: String,
    /// The store's pool exists in our cluster.
    pub pool_exists: bool,
    /// Our Ceph user may write to that pool.
    pub pool_writable: bool,
}

/// What Glance says about the target store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreFacts {
    /// Its id.
    pub id: String,
    /// Its type (`rbd`, `file`...).
    pub store_type: String,
    /// Its pool (rbd stores).
    pub pool: Option<String>,
    /// Its cluster's fsid (rbd stores, recent Glance).
    pub fsid: Option<String>,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "path", rename_all = "lowercase")]
pub enum Decision {
    /// Clone into `pool` of our cluster.
    Clone {
        /// The store's pool.
        pool: String,
    },
    /// Stream the data, for `reason`.
    Stream {
        /// Why not a clone.
        reason: String,
    },
}

/// Decides, checking the conditions in the order a reader would.
pub fn decide(f: &Facts) -> Decision {
    let stream = |reason: String| Decision::Stream { reason };
    if !f.optimization_on {
        return stream(
            "the clone optimization is off (pass --clone-optimization or set enable_clone_optimization = true)"
                .into(),
        );
    }
    if f.disk_format != "raw" {
        return stream(format!(
            "disk format {} is not raw (a clone shares the volume's raw bytes)",
            f.disk_format
        ));
    }
    if f.container_format != "bare" {
        return stream(format!(
            "container format {} is not bare",
            f.container_format
        ));
    }
    let Some(store) = &f.store else {
        return stream("Glance reports no default store and none was given".into());
    };
    if store.store_type != "rbd" {
        return stream(format!(
            "store {} is of type {}, not rbd",
            store.id, store.store_type
        ));
    }
    let Some(fsid) = &store.fsid else {
        return stream(format!(
            "Glance reports no cluster fsid for store {} (Glance too old, or it cannot reach its cluster)",
            store.id
        ));
    };
    if !fsid.eq_ignore_ascii_case(&f.our_fsid) {
        return stream(format!(
            "store {} is in another Ceph cluster (fsid {fsid}, ours {})",
            store.id, f.our_fsid
        ));
    }
    let Some(pool) = &store.pool else {
        return stream(format!("Glance reports no pool for store {}", store.id));
    };
    if !f.pool_exists {
        return stream(format!(
            "store {}'s pool {pool} does not exist in our cluster",
            store.id
        ));
    }
    if !f.pool_writable {
        return stream(format!(
            "our Ceph user may not write to pool {pool} (store {}): grant it `profile rbd pool={pool}`",
            store.id
        ));
    }
    Decision::Clone { pool: pool.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eligible() -> Facts {
        Facts {
            optimization_on: true,
            disk_format: "raw".into(),
            container_format: "bare".into(),
            store: Some(StoreFacts {
                id: "ceph".into(),
                store_type: "rbd".into(),
                pool: Some("images".into()),
                fsid: Some("ABC".into()),
            }),
            our_fsid: "abc".into(),
            pool_exists: true,
            pool_writable: true,
        }
    }

    fn reason(f: &Facts) -> String {
        match decide(f) {
            Decision::Stream { reason } => reason,
            d => panic!("expected a refusal, got {d:?}"),
        }
    }

    #[test]
    fn every_condition_has_its_reason() {
        assert_eq!(
            decide(&eligible()),
            Decision::Clone {
                pool: "images".into()
            }
        );
        let mut f = eligible();
        f.optimization_on = false;
        assert!(reason(&f).contains("optimization is off"));
        let mut f = eligible();
        f.disk_format = "qcow2".into();
        assert!(reason(&f).contains("qcow2"));
        let mut f = eligible();
        f.container_format = "ovf".into();
        assert!(reason(&f).contains("ovf"));
        let mut f = eligible();
        f.store = None;
        assert!(reason(&f).contains("no default store"));
        let mut f = eligible();
        f.store.as_mut().unwrap().store_type = "file".into();
        assert!(reason(&f).contains("type file"));
        let mut f = eligible();
        f.store.as_mut().unwrap().fsid = None;
        assert!(reason(&f).contains("no cluster fsid"));
        let mut f = eligible();
        f.our_fsid = "other".into();
        assert!(reason(&f).contains("another Ceph cluster"));
        let mut f = eligible();
        f.pool_exists = false;
        assert!(reason(&f).contains("does not exist"));
        let mut f = eligible();
        f.pool_writable = false;
        assert!(reason(&f).contains("may not write"));
    }
}
