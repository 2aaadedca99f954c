//! RBD image commands with the `rbd` tool's syntax: create, info, rm,
//! snap create|ls|protect|unprotect|rm, clone, children; import, export,
//! ls, du, resize and trash are in [`super::rbd_io`], what they share in
//! [`super::image_spec`].

use std::io::Write;

use ceph_rados::config::ClientSettings;
use ceph_rados::Rados;
use ceph_rbd::image::{create_image, remove_image, CloneFormat, CloneOptions, CreateOptions};
use clap::{Args, Subcommand};

use super::image_spec::{
    data_pool_id, feature_bits, ioctx, open, open_at_snap, parse_size, rbd_err, ImageArgs,
    ImageSpec,
};
use super::rbd_io::{self, ExportArgs, ImportArgs, LsArgs, ResizeArgs, TrashAction};
use crate::error::Error;
use crate::global::GlobalArgs;

/// `create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The image.
    #[command(flatten)]
    pub image: ImageArgs,
    /// Size, with an optional K/M/G/T suffix (MiB without one).
    #[arg(short = 's', long = "size")]
    pub size: String,
    /// Feature names (repeatable), instead of the default set.
    #[arg(long = "image-feature")]
    pub features: Vec<String>,
    /// Object order.
    #[arg(long = "order", default_value_t = 22)]
    pub order: u8,
    /// A pool for the image's data objects, such as an erasure-coded pool
    /// with overwrites allowed; the header stays in the image's pool.
    #[arg(long = "data-pool")]
    pub data_pool: Option<String>,
}

/// `clone`.
#[derive(Args, Debug)]
pub struct CloneArgs {
    /// The parent snapshot, `[pool/]image@snap`.
    pub parent: String,
    /// The new image, `[pool/]image`.
    pub child: String,
    /// Clone format: 1, 2 or auto.
    #[arg(long = "rbd-default-clone-format", default_value = "auto")]
    pub clone_format: String,
    /// Feature names (repeatable).
    #[arg(long = "image-feature")]
    pub features: Vec<String>,
    /// A pool for the clone's data objects (erasure-coded pools need it:
    /// the header stays in the clone's pool).
    #[arg(long = "data-pool")]
    pub data_pool: Option<String>,
}

/// `snap ...`.
#[derive(Subcommand, Debug)]
pub enum SnapAction {
    /// Create a snapshot.
    Create(ImageArgs),
    /// List snapshots.
    Ls(ImageArgs),
    /// Protect a snapshot.
    Protect(ImageArgs),
    /// Unprotect a snapshot.
    Unprotect(ImageArgs),
    /// Remove a snapshot.
    Rm(ImageArgs),
}

/// The image commands.
#[derive(Subcommand, Debug)]
pub enum RbdAction {
    /// Create an image.
    Create(CreateArgs),
    /// Show an image.
    Info(ImageArgs),
    /// Remove an image.
    Rm(ImageArgs),
    /// Write an image (or a snapshot) to a file, `-` for standard output.
    Export(ExportArgs),
    /// Make an image from a file, `-` for standard input.
    Import(ImportArgs),
    /// List a pool's images.
    Ls(LsArgs),
    /// Show an image's provisioned and used space.
    Du(ImageArgs),
    /// Change an image's size.
    Resize(ResizeArgs),
    /// Trash commands.
    #[command(subcommand)]
    Trash(TrashAction),
    /// Snapshot commands.
    #[command(subcommand)]
    Snap(SnapAction),
    /// Clone a snapshot.
    Clone(CloneArgs),
    /// List a snapshot's children.
    Children(ImageArgs),
}

/// Runs an image command.
pub async fn run(global: &GlobalArgs, action: &RbdAction) -> Result<i32, Error> {
    let settings = ClientSettings::resolve(&global.client_args())?;
    let rados = Rados::connect(&settings).await?;
    let mut out = std::io::stdout().lock();
    let w = |e: std::io::Error| Error::Io {
        context: "writing the output".into(),
        source: e,
    };
    match action {
        RbdAction::Create(a) => {
            let spec = ImageSpec::parse(&a.image.spec, a.image.pool.as_deref())?;
            let mut opts = CreateOptions {
                order: a.order,
                data_pool: data_pool_id(&rados, a.data_pool.as_deref())?,
                ..CreateOptions::default()
            };
            if let Some(f) = feature_bits(&a.features)? {
                opts.features = f;
            }
            create_image(
                &rados,
                &ioctx(&rados, &spec.pool, &spec.namespace)?,
                &spec.image,
                parse_size(&a.size)?,
                &opts,
            )
            .await
            .map_err(rbd_err)?;
        }
        RbdAction::Info(a) => {
            let spec = ImageSpec::parse(&a.spec, a.pool.as_deref())?;
            let img = open_at_snap(&rados, &spec).await?;
            let m = img.meta();
            let parent = match &m.parent {
                Some(p) => serde_json::json!({
                    "pool_id": p.spec.pool_id, "image_id": p.spec.image_id,
                    "snap_id": p.spec.snap_id, "overlap": p.overlap,
                }),
                None => serde_json::Value::Null,
            };
            let v = serde_json::json!({
                "name": spec.image, "id": img.id(), "size": img.size(),
                "objects": m.layout.object_count(img.size()), "order": m.order,
                "object_size": m.layout.object_size, "block_name_prefix": m.object_prefix,
                "format": 2, "features": ceph_rbd::features::feature_names(m.features),
                "op_features": m.op_features, "flags": m.flags,
                "stripe_unit": m.layout.stripe_unit, "stripe_count": m.layout.stripe_count,
                "snapshot_count": m.snaps.len(), "parent": parent,
            });
            let mut v = v;
            if m.data_pool_id >= 0 {
                let name = rados
                    .objecter()
                    .maps()
                    .and_then(|maps| maps.osdmap.pool_name(m.data_pool_id).map(str::to_string))
                    .unwrap_or_else(|| m.data_pool_id.to_string());
                v["data_pool"] = serde_json::Value::String(name);
            }
            if a.format.is_json() {
                writeln!(out, "{v}").map_err(w)?;
            } else {
                writeln!(out, "rbd image '{}':", spec.image).map_err(w)?;
                writeln!(out, "\tsize {} in {} objects", img.size(), v["objects"]).map_err(w)?;
                writeln!(
                    out,
                    "\torder {} ({} bytes objects)",
                    m.order, m.layout.object_size
                )
                .map_err(w)?;
                writeln!(out, "\tid: {}", img.id()).map_err(w)?;
                if let Some(d) = v["data_pool"].as_str() {
                    writeln!(out, "\tdata_pool: {d}").map_err(w)?;
                }
                writeln!(out, "\tblock_name_prefix: {}", m.object_prefix).map_err(w)?;
                writeln!(
                    out,
                    "\tfeatures: {}",
                    ceph_rbd::features::feature_names(m.features).join(", ")
                )
                .map_err(w)?;
                if let Some(p) = &m.parent {
                    writeln!(
                        out,
                        "\tparent: pool {} image {} snap {}",
                        p.spec.pool_id, p.spec.image_id, p.spec.snap_id
                    )
                    .map_err(w)?;
                    writeln!(out, "\toverlap: {}", p.overlap).map_err(w)?;
                }
            }
        }
        RbdAction::Rm(a) => {
            let spec = ImageSpec::parse(&a.spec, a.pool.as_deref())?;
            remove_image(
                &rados,
                &ioctx(&rados, &spec.pool, &spec.namespace)?,
                &spec.image,
            )
            .await
            .map_err(rbd_err)?;
        }
        RbdAction::Export(a) => rbd_io::export(&rados, a).await?,
        RbdAction::Import(a) => rbd_io::import(&rados, a, feature_bits(&a.features)?).await?,
        RbdAction::Ls(a) => rbd_io::ls(&rados, a, &mut out).await?,
        RbdAction::Du(a) => rbd_io::du(&rados, a, &mut out).await?,
        RbdAction::Resize(a) => rbd_io::resize(&rados, a, parse_size(&a.size)?).await?,
        RbdAction::Trash(t) => rbd_io::trash(&rados, t, &mut out).await?,
        RbdAction::Snap(s) => {
            let (a, what) = match s {
                SnapAction::Create(a) => (a, "create"),
                SnapAction::Ls(a) => (a, "ls"),
                SnapAction::Protect(a) => (a, "protect"),
                SnapAction::Unprotect(a) => (a, "unprotect"),
                SnapAction::Rm(a) => (a, "rm"),
            };
            let spec = ImageSpec::parse(&a.spec, a.pool.as_deref())?;
            let mut img = open(&rados, &spec).await?;
            match what {
                "ls" => {
                    let list: Vec<serde_json::Value> = img
                        .meta()
                        .snaps
                        .iter()
                        .filter(|s| s.is_user())
                        .map(|s| {
                            serde_json::json!({"id": s.id, "name": s.name, "size": s.size,
                            "protected": if s.is_protected() {"true"} else {"false"}})
                        })
                        .collect();
                    if a.format.is_json() {
                        writeln!(out, "{}", serde_json::Value::Array(list)).map_err(w)?;
                    } else {
                        writeln!(out, "SNAPID  NAME  SIZE  PROTECTED").map_err(w)?;
                        for s in list {
                            writeln!(
                                out,
                                "{}  {}  {}  {}",
                                s["id"],
                                s["name"].as_str().unwrap_or_default(),
                                s["size"],
                                s["protected"].as_str().unwrap_or_default()
                            )
                            .map_err(w)?;
                        }
                    }
                }
                "create" => {
                    img.snap_create(spec.need_snap()?, None)
                        .await
                        .map_err(rbd_err)?;
                }
                "protect" => img.snap_protect(spec.need_snap()?).await.map_err(rbd_err)?,
                "unprotect" => img
                    .snap_unprotect(spec.need_snap()?)
                    .await
                    .map_err(rbd_err)?,
                _ => img.snap_remove(spec.need_snap()?).await.map_err(rbd_err)?,
            }
        }
        RbdAction::Clone(a) => {
            let parent = ImageSpec::parse(&a.parent, None)?;
            let child = ImageSpec::parse(&a.child, None)?;
            let img = open(&rados, &parent).await?;
            let format = match a.clone_format.as_str() {
                "1" => CloneFormat::V1,
                "2" => CloneFormat::V2,
                "auto" => CloneFormat::Auto,
                other => {
                    return Err(Error::Input(format!(
                        "clone format {other}: use 1, 2 or auto"
                    )))
                }
            };
            let opts = CloneOptions {
                format,
                features: feature_bits(&a.features)?,
                order: None,
                data_pool: data_pool_id(&rados, a.data_pool.as_deref())?,
            };
            img.clone_to(
                parent.need_snap()?,
                &ioctx(&rados, &child.pool, &child.namespace)?,
                &child.image,
                &opts,
            )
            .await
            .map_err(rbd_err)?;
        }
        RbdAction::Children(a) => {
            let spec = ImageSpec::parse(&a.spec, a.pool.as_deref())?;
            let img = open(&rados, &spec).await?;
            let snap = img.snapshot(spec.need_snap()?).map_err(rbd_err)?.id;
            for c in img.children(snap).await.map_err(rbd_err)? {
                let pool = rados
                    .objecter()
                    .maps()
                    .and_then(|m| m.osdmap.pool_name(c.pool_id).map(str::to_string))
                    .unwrap_or_else(|| c.pool_id.to_string());
                let mut io = rados.ioctx(&pool)?;
                io.set_namespace(&c.pool_namespace);
                let name = ceph_rbd::image::image_name(&io, &c.image_id)
                    .await
                    .unwrap_or_else(|_| c.image_id.clone());
                writeln!(out, "{pool}/{name}").map_err(w)?;
            }
        }
    }
    Ok(0)
}
