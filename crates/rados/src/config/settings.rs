//! The settings a client takes from its command line, the environment
//! and ceph.conf, resolved the way Ceph's tools resolve them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ceph_cephx::{CryptoKey, Keyring};
use ceph_encoding::EntityName;

use super::ceph_args::CephArgs;
use super::ini::ConfFile;
use super::mon_host::{parse_mon_host, MonAddrs};
use crate::error::{RadosError, Result};

/// msgr2 connection mode "crc".
pub const MODE_CRC: u32 = 1;
/// msgr2 connection mode "secure".
pub const MODE_SECURE: u32 = 2;

/// What the caller (a command line) says; everything else comes from
/// ceph.conf and Ceph's defaults.
#[derive(Debug, Clone, Default)]
pub struct ClientArgs {
    /// `-c/--conf`: the ceph.conf to read.
    pub conf: Option<PathBuf>,
    /// `--cluster`: the cluster name (default "ceph").
    pub cluster: Option<String>,
    /// `-n/--name` or `--id`: who we are (default `client.admin`).
    pub name: Option<String>,
    /// `-k/--keyring`: the keyring to read.
    pub keyring: Option<PathBuf>,
    /// `--keyfile`: a file holding the key alone (base64).
    pub keyfile: Option<PathBuf>,
    /// `-m/--mon-host`: monitor addresses, overriding ceph.conf.
    pub mon_host: Option<String>,
    /// `--ms-mode`: messenger mode for every connection.
    pub ms_mode: Option<String>,
    /// `--connect-timeout`: how long to look for a monitor.
    pub connect_timeout: Option<Duration>,
}

/// The resolved settings of a client.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// The ceph.conf that was read, if any.
    pub conf_path: Option<PathBuf>,
    /// The parsed ceph.conf (empty when none was read).
    pub conf: ConfFile,
    /// Who we are.
    pub name: EntityName,
    /// The monitors.
    pub mons: Vec<MonAddrs>,
    /// Our key, or `None` to authenticate with "none".
    pub key: Option<CryptoKey>,
    /// Modes for monitor connections, in order of preference.
    pub mon_modes: Vec<u32>,
    /// Modes for OSD and manager connections.
    pub modes: Vec<u32>,
    /// How long to look for a monitor (`client_mount_timeout`, 300 s).
    pub connect_timeout: Duration,
    /// The other waits, with Ceph's option names.
    pub timeouts: Timeouts,
}

/// How long a client waits, with the options librados reads and their
/// meaning there. A zero `rados_*_op_timeout` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// `rados_mon_op_timeout`: give up on a monitor command, version
    /// query or pool op after this long (default 0: wait for ever).
    pub mon_op: Option<Duration>,
    /// `rados_osd_op_timeout`: give up on an OSD op after this long
    /// (default 0: wait for ever).
    pub osd_op: Option<Duration>,
    /// `mon_client_ping_interval`: keepalive period on the monitor
    /// session (10 s).
    pub mon_ping_interval: Duration,
    /// `mon_client_ping_timeout`: drop the monitor session and hunt for
    /// another when nothing (no keepalive ack) came for this long (30 s).
    pub mon_ping_timeout: Duration,
    /// `mon_client_hunt_interval`: how long one attempt on one monitor
    /// may take while hunting (3 s).
    pub mon_hunt_interval: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            mon_op: None,
            osd_op: None,
            mon_ping_interval: Duration::from_secs(10),
            mon_ping_timeout: Duration::from_secs(30),
            mon_hunt_interval: Duration::from_secs(3),
        }
    }
}

impl Timeouts {
    /// Reads the options through `get` (CEPH_ARGS, then ceph.conf);
    /// unset or unparsable values keep Ceph's defaults.
    fn read(get: impl Fn(&str) -> Option<String>) -> Result<Timeouts> {
        let secs = |opt: &str| -> Result<Option<f64>> {
            match get(opt) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0 && *x < 1e9)
                    .map(Some)
                    .ok_or_else(|| RadosError::Config(format!("{opt} = {v:?}: expected seconds"))),
            }
        };
        let limit = |opt: &str| -> Result<Option<Duration>> {
            Ok(secs(opt)?.filter(|x| *x > 0.0).map(Duration::from_secs_f64))
        };
        let d = Timeouts::default();
        let or =
            |opt: &str, dflt: Duration| -> Result<Duration> { Ok(limit(opt)?.unwrap_or(dflt)) };
        Ok(Timeouts {
            mon_op: limit("rados_mon_op_timeout")?,
            osd_op: limit("rados_osd_op_timeout")?,
            mon_ping_interval: or("mon_client_ping_interval", d.mon_ping_interval)?,
            mon_ping_timeout: or("mon_client_ping_timeout", d.mon_ping_timeout)?,
            mon_hunt_interval: or("mon_client_hunt_interval", d.mon_hunt_interval)?,
        })
    }
}

/// Parses a mode setting: `crc`, `secure`, `prefer-crc`, `prefer-secure`,
/// or a list such as `secure crc`.
pub fn parse_modes(value: &str) -> Result<Vec<u32>> {
    let v = value.trim();
    let modes = match v {
        "prefer-crc" => vec![MODE_CRC, MODE_SECURE],
        "prefer-secure" => vec![MODE_SECURE, MODE_CRC],
        _ => v
            .split([' ', ',', ';', '\t'])
            .filter(|s| !s.is_empty())
            .map(|m| match m {
                "crc" => Ok(MODE_CRC),
                "secure" => Ok(MODE_SECURE),
                other => Err(RadosError::Config(format!(
                    "unknown messenger mode {other:?} (crc, secure, prefer-crc or prefer-secure)"
                ))),
            })
            .collect::<Result<Vec<_>>>()?,
    };
    if modes.is_empty() {
        return Err(RadosError::Config("empty messenger mode".into()));
    }
    Ok(modes)
}

/// Expands Ceph's metavariables in a path or value.
pub fn expand(value: &str, cluster: &str, name: &EntityName) -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    value
        .replace("$cluster", cluster)
        .replace("${cluster}", cluster)
        .replace("$name", &name.to_string())
        .replace("${name}", &name.to_string())
        .replace("$type", name.entity_type.name().unwrap_or("client"))
        .replace("$id", &name.id)
        .replace("$host", &host)
}

fn parse_name(s: &str) -> Result<EntityName> {
    let full = if s.contains('.') {
        s.to_string()
    } else {
        format!("client.{s}")
    };
    full.parse::<EntityName>()
        .map_err(|e| RadosError::Config(format!("bad entity name {s:?}: {e}")))
}

fn find_conf(args: &ClientArgs, cluster: &str) -> Option<PathBuf> {
    if let Some(p) = &args.conf {
        return Some(p.clone());
    }
    if let Some(p) = std::env::var_os("CEPH_CONF") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut candidates = vec![PathBuf::from(format!("/etc/ceph/{cluster}.conf"))];
    if let Some(h) = home {
        candidates.push(h.join(format!(".ceph/{cluster}.conf")));
    }
    candidates.push(PathBuf::from(format!("{cluster}.conf")));
    candidates.into_iter().find(|p| p.exists())
}

fn load_key(paths: &[PathBuf], name: &EntityName) -> Result<Option<(CryptoKey, PathBuf)>> {
    for p in paths {
        if !p.exists() {
            continue;
        }
        let ring = Keyring::load(p)?;
        if let Some(e) = ring.get(&name.to_string()) {
            return Ok(Some((e.key.clone(), p.clone())));
        }
    }
    Ok(None)
}

impl ClientSettings {
    /// Resolves `args` against the environment (`CEPH_CONF`, `CEPH_ARGS`)
    /// and ceph.conf.
    pub fn resolve(args: &ClientArgs) -> Result<ClientSettings> {
        ClientSettings::resolve_with(args, &CephArgs::from_env()?)
    }

    /// Resolves `args`, then `env_args` (what `CEPH_ARGS` says), then
    /// ceph.conf.
    pub fn resolve_with(args: &ClientArgs, env_args: &CephArgs) -> Result<ClientSettings> {
        let merged = ClientArgs {
            conf: args
                .conf
                .clone()
                .or(env_args.conf.as_ref().map(PathBuf::from)),
            cluster: args.cluster.clone().or(env_args.cluster.clone()),
            name: args.name.clone().or(env_args.name.clone()),
            keyring: args
                .keyring
                .clone()
                .or(env_args.keyring.as_ref().map(PathBuf::from)),
            mon_host: args.mon_host.clone().or(env_args.mon_host.clone()),
            keyfile: args
                .keyfile
                .clone()
                .or(env_args.get("keyfile").map(PathBuf::from)),
            ms_mode: args
                .ms_mode
                .clone()
                .or(env_args.get("ms_mode").map(str::to_string)),
            connect_timeout: args.connect_timeout.or(env_args
                .get("connect_timeout")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|t| t.is_finite() && *t > 0.0 && *t < 1e9)
                .map(Duration::from_secs_f64)),
        };
        let args = &merged;
        let cluster = args.cluster.clone().unwrap_or_else(|| "ceph".into());
        let name = parse_name(args.name.as_deref().unwrap_or("client.admin"))?;
        let conf_path = find_conf(args, &cluster);
        let conf = match &conf_path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| RadosError::Config(format!("cannot read {}: {e}", p.display())))?;
                ConfFile::parse(&text)
                    .map_err(|e| RadosError::Config(format!("{}: {e}", p.display())))?
            }
            None => ConfFile::default(),
        };
        let who = name.to_string();
        let get = |opt: &str| {
            env_args
                .get(opt)
                .or_else(|| conf.get(&who, opt))
                .map(str::to_string)
        };

        let mon_host = args
            .mon_host
            .clone()
            .or_else(|| get("mon_host"))
            .or_else(|| legacy_mon_addrs(&conf));
        let mon_host = mon_host.ok_or_else(|| {
            RadosError::Config(match &conf_path {
                Some(p) => format!("{} sets no mon_host; pass -m or fix the file", p.display()),
                None => "no ceph.conf found (looked at $CEPH_CONF, /etc/ceph, ~/.ceph, .); pass -c PATH or -m MONITORS".into(),
            })
        })?;
        let mons =
            parse_mon_host(&mon_host).map_err(|e| RadosError::Config(format!("mon_host: {e}")))?;

        // Authentication: cephx when the cluster wants it and we have a key.
        let auth = get("auth_client_required")
            .or_else(|| get("auth_supported"))
            .unwrap_or_else(|| "cephx, none".into());
        let allows = |m: &str| auth.split([',', ' ', ';']).any(|x| x.trim() == m);
        let key = if allows("cephx") {
            let mut paths: Vec<PathBuf> = Vec::new();
            if let Some(k) = &args.keyring {
                paths.push(k.clone());
            } else {
                let list = get("keyring").unwrap_or_else(|| {
                    "/etc/ceph/$cluster.$name.keyring,/etc/ceph/$cluster.keyring,/etc/ceph/keyring,/etc/ceph/keyring.bin".into()
                });
                paths.extend(
                    list.split([',', ';'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| PathBuf::from(expand(s, &cluster, &name))),
                );
            }
            let keyfile = args
                .keyfile
                .clone()
                .or_else(|| get("keyfile").map(|f| PathBuf::from(expand(&f, &cluster, &name))));
            let inline = match (get("key"), &keyfile) {
                (Some(k), _) if args.keyfile.is_none() => Some(CryptoKey::from_base64(&k)?),
                (_, Some(f)) => {
                    let text = std::fs::read_to_string(f).map_err(|e| {
                        RadosError::Config(format!("cannot read key file {}: {e}", f.display()))
                    })?;
                    Some(CryptoKey::from_base64(&text)?)
                }
                (None, None) | (Some(_), None) => None,
            };
            match (inline, load_key(&paths, &name)?) {
                (Some(k), _) => Some(k),
                (None, Some((k, _))) => Some(k),
                (None, None)
                    if allows("none") && args.keyring.is_none() && get("keyring").is_none() =>
                {
                    None
                }
                (None, None) => {
                    return Err(RadosError::Config(format!(
                        "no key for {name} in {}; pass --keyring or --name",
                        paths
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
            }
        } else {
            None
        };

        let (mon_modes, modes) = match &args.ms_mode {
            Some(m) => (parse_modes(m)?, parse_modes(m)?),
            None => (
                parse_modes(&get("ms_mon_client_mode").unwrap_or_else(|| "secure crc".into()))?,
                parse_modes(&get("ms_client_mode").unwrap_or_else(|| "crc secure".into()))?,
            ),
        };
        let connect_timeout = match args.connect_timeout {
            Some(t) => t,
            None => Duration::from_secs_f64(
                get("client_mount_timeout")
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|v| *v > 0.0)
                    .unwrap_or(300.0),
            ),
        };
        let timeouts = Timeouts::read(get)?;
        Ok(ClientSettings {
            timeouts,
            conf_path,
            conf,
            name,
            mons,
            key,
            mon_modes,
            modes,
            connect_timeout,
        })
    }

    /// The host name to report to the monitors.
    pub fn hostname() -> String {
        std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into())
    }

    /// The path of the ceph.conf read, for messages.
    pub fn conf_display(&self) -> String {
        self.conf_path
            .as_deref()
            .map(Path::display)
            .map(|d| d.to_string())
            .unwrap_or_else(|| "(no ceph.conf)".into())
    }
}

/// Old-style configuration: `[mon.a] mon addr = ...` sections.
fn legacy_mon_addrs(conf: &ConfFile) -> Option<String> {
    let addrs: Vec<String> = conf
        .sections()
        .filter(|s| s.starts_with("mon."))
        .filter_map(|s| conf.get_in(s, "mon_addr").map(str::to_string))
        .collect();
    (!addrs.is_empty()).then(|| addrs.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        assert_eq!(parse_modes("crc").unwrap(), [MODE_CRC]);
        assert_eq!(parse_modes("secure crc").unwrap(), [MODE_SECURE, MODE_CRC]);
        assert_eq!(parse_modes("prefer-crc").unwrap(), [MODE_CRC, MODE_SECURE]);
        assert!(parse_modes("plain").is_err());
        assert!(parse_modes(" ").is_err());
    }

    #[test]
    fn resolves_a_conf_with_a_keyring() {
        let dir = std::env::temp_dir().join(format!("rados-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let keyring = dir.join("ceph.client.cinder.keyring");
        std::fs::write(
            &keyring,
            "[client.cinder]\n\tkey = AQB/xQZrZ6ryJRAAiCVm9mWgaciIEOquy9HYFA==\n",
        )
        .unwrap();
        let conf = dir.join("ceph.conf");
        std::fs::write(
            &conf,
            format!(
                "[global]\nmon host = 10.1.1.1\nkeyring = {}/ceph.$name.keyring\nms_mon_client_mode = crc\nclient mount timeout = 7\n",
                dir.display()
            ),
        )
        .unwrap();
        let s = ClientSettings::resolve(&ClientArgs {
            conf: Some(conf.clone()),
            name: Some("cinder".into()),
            ..ClientArgs::default()
        })
        .unwrap();
        assert_eq!(s.name.to_string(), "client.cinder");
        assert!(s.key.is_some());
        assert_eq!(s.mons.len(), 1);
        assert_eq!(s.mon_modes, [MODE_CRC]);
        assert_eq!(s.connect_timeout, Duration::from_secs(7));
        assert_eq!(s.timeouts, Timeouts::default());

        std::fs::write(
            &conf,
            format!(
                "[global]\nmon host = 10.1.1.1\nkeyring = {}/ceph.$name.keyring\nrados osd op timeout = 30\nrados_mon_op_timeout = 0\n",
                dir.display()
            ),
        )
        .unwrap();
        let env =
            CephArgs::parse("--id cinder --rados-mon-op-timeout 2.5 --mon_client_ping_timeout=9")
                .unwrap();
        let s = ClientSettings::resolve_with(
            &ClientArgs {
                conf: Some(conf.clone()),
                ..ClientArgs::default()
            },
            &env,
        )
        .unwrap();
        assert_eq!(s.name.to_string(), "client.cinder");
        assert_eq!(s.timeouts.osd_op, Some(Duration::from_secs(30)));
        assert_eq!(s.timeouts.mon_op, Some(Duration::from_millis(2500)));
        assert_eq!(s.timeouts.mon_ping_timeout, Duration::from_secs(9));
        assert_eq!(s.timeouts.mon_ping_interval, Duration::from_secs(10));
        let bad = CephArgs::parse("--rados-osd-op-timeout soon").unwrap();
        let e = ClientSettings::resolve_with(
            &ClientArgs {
                conf: Some(conf.clone()),
                name: Some("cinder".into()),
                ..ClientArgs::default()
            },
            &bad,
        );
        assert!(e.unwrap_err().to_string().contains("rados_osd_op_timeout"));

        let missing = ClientSettings::resolve(&ClientArgs {
            conf: Some(conf),
            name: Some("client.nobody".into()),
            ..ClientArgs::default()
        });
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("no key for client.nobody"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
