//! Clones: a new image whose unwritten data comes from a parent snapshot.
//! Format 1 needs the parent snapshot protected and registers the child in
//! `rbd_children`; format 2 registers it on the parent's header.

use ceph_rados::{IoCtx, Rados};

use super::cls_call::call;
use super::create::{create_image, remove_image, CreateOptions};
use super::handle::Image;
use super::lock;
use crate::cls::rbd::{
    AddChild, ChildAttach, MetadataList, MetadataSet, OpFeaturesSet, ParentAttach,
};
use crate::cls::types::{ChildImageSpec, ParentImageSpec};
use crate::features::{LAYERING, OP_FEATURE_CLONE_CHILD, STRIPINGV2};
use crate::names::{header_object, RBD_CHILDREN};
use crate::{Error, Result};

/// Which clone format to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneFormat {
    /// Format 1 (protected parent snapshot, `rbd_children`).
    V1,
    /// Format 2 (children recorded on the parent).
    V2,
    /// As librbd's `rbd_default_clone_format = auto`: format 2 when the
    /// cluster requires Mimic clients or newer, else format 1.
    Auto,
}

/// How to clone.
#[derive(Debug, Clone)]
pub struct CloneOptions {
    /// The format.
    pub format: CloneFormat,
    /// The child's features (`None`: librbd's defaults).
    pub features: Option<u64>,
    /// The child's object order (`None`: the parent's).
    pub order: Option<u8>,
    /// The pool of the child's data objects (`None`: with its header).
    pub data_pool: Option<i64>,
}

impl Default for CloneOptions {
    fn default() -> Self {
        CloneOptions {
            format: CloneFormat::Auto,
            features: None,
            order: None,
            data_pool: None,
        }
    }
}

/// Ceph release number of Mimic (`ceph_release_t::mimic`).
const MIMIC: u8 = 13;

impl CloneFormat {
    /// The concrete format for this cluster.
    pub fn resolve(self, rados: &Rados) -> CloneFormat {
        match self {
            CloneFormat::Auto => {
                let min = rados
                    .objecter()
                    .maps()
                    .map_or(0, |m| m.osdmap.require_min_compat_client);
                if min >= MIMIC {
                    CloneFormat::V2
                } else {
                    CloneFormat::V1
                }
            }
            f => f,
        }
    }
}

impl Image {
    /// Clones snapshot `snap_name` of this image into image `child_name`
    /// of `child_io`'s pool; returns the child's id. Anything made is
    /// removed again when a step fails.
    pub async fn clone_to(
        &self,
        snap_name: &str,
        child_io: &IoCtx,
        child_name: &str,
        opts: &CloneOptions,
    ) -> Result<String> {
        if !self.meta.has(LAYERING) {
            return Err(Error::Unsupported(format!(
                "image {} has no layering feature: it cannot be cloned",
                self.id
            )));
        }
        let snap = self.snapshot(snap_name)?.clone();
        let format = opts.format.resolve(&self.rados);
        if format == CloneFormat::V1 && !snap.is_protected() {
            return Err(Error::Refused(format!(
                "snapshot {snap_name} must be protected for a format 1 clone (`rbd snap protect`), or use clone format 2"
            )));
        }
        let create = CreateOptions {
            order: opts.order.unwrap_or(self.meta.order),
            features: opts.features.unwrap_or(super::create::DEFAULT_FEATURES) | LAYERING,
            striping: self
                .meta
                .has(STRIPINGV2)
                .then_some((self.meta.layout.stripe_unit, self.meta.layout.stripe_count)),
            data_pool: opts.data_pool,
        };
        let child_id = create_image(&self.rados, child_io, child_name, snap.size, &create).await?;
        let attached = self.attach_child(&snap, child_io, &child_id, format).await;
        if let Err(e) = attached {
            if let Err(undo) = remove_image(&self.rados, child_io, child_name).await {
                tracing::warn!("could not remove the half-made clone {child_name}: {undo}");
            }
            return Err(e);
        }
        Ok(child_id)
    }

    async fn attach_child(
        &self,
        snap: &super::meta::SnapInfo,
        child_io: &IoCtx,
        child_id: &str,
        format: CloneFormat,
    ) -> Result<()> {
        let child_header = header_object(child_id);
        let parent = ParentImageSpec {
            pool_id: self.io.pool_id(),
            pool_namespace: self.io.namespace().to_string(),
            image_id: self.id.clone(),
            snap_id: snap.id,
        };
        call(
            child_io,
            &child_header,
            &ParentAttach {
                parent,
                overlap: snap.size,
                reattach: false,
            },
        )
        .await?;
        match format {
            CloneFormat::V2 | CloneFormat::Auto => {
                // The child says it is a v2 clone before the parent counts
                // it, as librbd's AttachChildRequest does: removing a child
                // detaches it from the parent only if it says so, so a
                // clone stopped between the two steps (killed, or a failed
                // OSD op) must not leave the parent snapshot counting a
                // child that removal will not detach.
                call(
                    child_io,
                    &child_header,
                    &OpFeaturesSet {
                        op_features: OP_FEATURE_CLONE_CHILD,
                        mask: OP_FEATURE_CLONE_CHILD,
                    },
                )
                .await?;
                call(
                    &self.io,
                    &self.header_oid(),
                    &ChildAttach {
                        snap_id: snap.id,
                        child: ChildImageSpec {
                            pool_id: child_io.pool_id(),
                            image_id: child_id.to_string(),
                            pool_namespace: child_io.namespace().to_string(),
                        },
                    },
                )
                .await?;
                lock::notify_header_update(self).await;
            }
            CloneFormat::V1 => {
                call(
                    child_io,
                    RBD_CHILDREN,
                    &AddChild {
                        parent_pool_id: self.io.pool_id(),
                        parent_image_id: self.id.clone(),
                        parent_snap_id: snap.id,
                        child_image_id: child_id.to_string(),
                    },
                )
                .await?;
            }
        }
        // Image metadata (configuration overrides) follows the parent.
        let meta = call(
            &self.io,
            &self.header_oid(),
            &MetadataList {
                start_after: String::new(),
                max_return: 0,
            },
        )
        .await
        .unwrap_or_default();
        for (key, value) in meta {
            call(
                child_io,
                &child_header,
                &MetadataSet {
                    data: [(key, value)].into_iter().collect(),
                },
            )
            .await?;
        }
        Ok(())
    }
}
