//! What the image commands share: the `[pool[/namespace]/]image[@snap]`
//! spec, the options every image command takes, sizes and feature names.

use ceph_rados::{IoCtx, Rados};
use ceph_rbd::image::Image;
use clap::Args;

use crate::error::Error;
use crate::format::Format;

/// `[pool[/namespace]/]image[@snap]`, as the rbd tool reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// The pool.
    pub pool: String,
    /// The RADOS namespace.
    pub namespace: String,
    /// The image's name.
    pub image: String,
    /// A snapshot.
    pub snap: Option<String>,
}

impl ImageSpec {
    /// Parses `spec`; `pool` (from `-p`) is used when the spec has none,
    /// then `rbd`, the rbd tool's default pool.
    pub fn parse(spec: &str, pool: Option<&str>) -> Result<ImageSpec, Error> {
        let (path, snap) = match spec.split_once('@') {
            Some((p, s)) if !s.is_empty() => (p, Some(s.to_string())),
            Some(_) => return Err(Error::Input(format!("{spec}: empty snapshot name"))),
            None => (spec, None),
        };
        let parts: Vec<&str> = path.split('/').collect();
        let (p, ns, image) = match parts.as_slice() {
            [image] => (pool.unwrap_or("rbd"), "", *image),
            [p, image] => (*p, "", *image),
            [p, ns, image] => (*p, *ns, *image),
            _ => {
                return Err(Error::Input(format!(
                    "{spec}: not [pool[/namespace]/]image[@snap]"
                )))
            }
        };
        if image.is_empty() || p.is_empty() {
            return Err(Error::Input(format!("{spec}: no image name")));
        }
        Ok(ImageSpec {
            pool: p.to_string(),
            namespace: ns.to_string(),
            image: image.to_string(),
            snap,
        })
    }

    /// The snapshot, which the command needs.
    pub fn need_snap(&self) -> Result<&str, Error> {
        self.snap
            .as_deref()
            .ok_or_else(|| Error::Input(format!("{}: give a snapshot (image@snap)", self.image)))
    }
}

/// Options of the image commands.
#[derive(Args, Debug)]
pub struct ImageArgs {
    /// The image, `[pool/]image[@snap]`.
    pub spec: String,
    /// The pool, when the spec has none.
    #[arg(short = 'p', long = "pool")]
    pub pool: Option<String>,
    /// Output format.
    #[arg(long = "format", value_enum, default_value_t)]
    pub format: Format,
}

/// `s` as a size: a number with an optional K/M/G/T (or B) suffix, MiB
/// without one.
pub fn parse_size(s: &str) -> Result<u64, Error> {
    let bad = || Error::Input(format!("{s}: not a size (like 10G, 512M)"));
    let (num, mult) = match s.chars().last() {
        Some('K') | Some('k') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') | Some('m') => (&s[..s.len() - 1], 1 << 20),
        Some('G') | Some('g') => (&s[..s.len() - 1], 1 << 30),
        Some('T') | Some('t') => (&s[..s.len() - 1], 1 << 40),
        Some('B') | Some('b') => (&s[..s.len() - 1], 1),
        _ => (s, 1 << 20),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(bad)
}

/// The bits of feature names (comma-separated or repeated); `None` for
/// none given (the default set).
pub fn feature_bits(names: &[String]) -> Result<Option<u64>, Error> {
    if names.is_empty() {
        return Ok(None);
    }
    let mut bits = 0;
    for n in names.iter().flat_map(|n| n.split(',')) {
        let f = ceph_rbd::features::FEATURE_NAMES
            .iter()
            .find(|(_, name)| *name == n.trim())
            .ok_or_else(|| Error::Input(format!("unknown image feature {n}")))?;
        bits |= f.0;
    }
    Ok(Some(bits))
}

/// An RBD error as the command reports it.
pub fn rbd_err(e: ceph_rbd::Error) -> Error {
    Error::Input(e.to_string())
}

/// The I/O context of `pool` and `namespace`.
pub fn ioctx(rados: &Rados, pool: &str, namespace: &str) -> Result<IoCtx, Error> {
    let mut io = rados.ioctx(pool)?;
    io.set_namespace(namespace);
    Ok(io)
}

/// An I/O error, while doing `context`, as the command reports it.
pub fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}

/// Opens the image `spec` names (at its head).
pub async fn open(rados: &Rados, spec: &ImageSpec) -> Result<Image, Error> {
    let io = ioctx(rados, &spec.pool, &spec.namespace)?;
    Image::open(rados, &io, &spec.image).await.map_err(rbd_err)
}

/// Opens the image `spec` names, at its snapshot when it names one.
pub async fn open_at_snap(rados: &Rados, spec: &ImageSpec) -> Result<Image, Error> {
    let img = open(rados, spec).await?;
    match &spec.snap {
        Some(s) => img.at_snapshot(s).await.map_err(rbd_err),
        None => Ok(img),
    }
}

/// The id of the pool named by `--data-pool`, if given.
pub fn data_pool_id(rados: &Rados, name: Option<&str>) -> Result<Option<i64>, Error> {
    name.map(|n| {
        rados
            .objecter()
            .pool_id(n)
            .map_err(|e| Error::Input(format!("data pool {n}: {e}")))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_sizes() {
        let s = ImageSpec::parse("volumes/vol@snap", None).unwrap();
        assert_eq!(
            (s.pool.as_str(), s.image.as_str(), s.snap.as_deref()),
            ("volumes", "vol", Some("snap"))
        );
        assert_eq!(ImageSpec::parse("vol", Some("p")).unwrap().pool, "p");
        assert_eq!(ImageSpec::parse("vol", None).unwrap().pool, "rbd");
        assert_eq!(ImageSpec::parse("p/ns/vol", None).unwrap().namespace, "ns");
        assert!(ImageSpec::parse("a/b/c/d", None).is_err());
        assert!(ImageSpec::parse("vol@", None).is_err());
        assert_eq!(parse_size("10").unwrap(), 10 << 20);
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert!(parse_size("x").is_err());
    }
}
