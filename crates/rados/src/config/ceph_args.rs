//! `CEPH_ARGS`: extra command-line arguments every Ceph client reads from
//! the environment. Ceph's tools take from it the generic options (`--id`,
//! `-n`, `-c`, `-k`, `-m`, `--cluster`) and any configuration option as
//! `--option value` or `--option=value`. Dashes and underscores in option
//! names are the same; a later occurrence wins, and the command line wins
//! over `CEPH_ARGS`, which wins over ceph.conf.

use std::collections::BTreeMap;

use ceph_common::ini::normalize_name;

use crate::error::{RadosError, Result};

/// What `CEPH_ARGS` says (its `Debug` output hides a `--key`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CephArgs {
    /// `-c/--conf`.
    pub conf: Option<String>,
    /// `--cluster`.
    pub cluster: Option<String>,
    /// `-n/--name`, or `--id`/`-i` (as `client.ID`).
    pub name: Option<String>,
    /// `-k/--keyring`.
    pub keyring: Option<String>,
    /// `-m/--mon-host`.
    pub mon_host: Option<String>,
    /// Every other `--option value`, by normalized option name.
    pub options: BTreeMap<String, String>,
}

impl std::fmt::Debug for CephArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CephArgs")
            .field("conf", &self.conf)
            .field("cluster", &self.cluster)
            .field("name", &self.name)
            .field("keyring", &self.keyring)
            .field("mon_host", &self.mon_host)
            .field("options", &super::ini::RedactedOptions(&self.options))
            .finish()
    }
}

impl CephArgs {
    /// Reads `CEPH_ARGS` from the environment (empty when unset).
    pub fn from_env() -> Result<CephArgs> {
        match std::env::var("CEPH_ARGS") {
            Ok(v) => CephArgs::parse(&v),
            Err(std::env::VarError::NotPresent) => Ok(CephArgs::default()),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(RadosError::Config("CEPH_ARGS is not valid UTF-8".into()))
            }
        }
    }

    /// Parses a `CEPH_ARGS` value (split on white space, as Ceph does).
    pub fn parse(text: &str) -> Result<CephArgs> {
        let mut out = CephArgs::default();
        let words: Vec<&str> = text.split_whitespace().collect();
        let mut i = 0;
        while i < words.len() {
            let word = words[i];
            i += 1;
            let (flag, inline) = match word.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (word, None),
            };
            let short = matches!(flag, "-c" | "-n" | "-i" | "-k" | "-m");
            if !short && !flag.starts_with("--") {
                return Err(RadosError::Config(format!(
                    "CEPH_ARGS: {word:?} is not an option (expected --name value)"
                )));
            }
            let key = normalize_name(flag.trim_start_matches('-'));
            let generic = short
                || matches!(
                    key.as_str(),
                    "conf" | "cluster" | "name" | "id" | "user" | "keyring" | "mon_host"
                );
            let value = match inline {
                Some(v) => v,
                None => match words.get(i) {
                    Some(next) if generic || !next.starts_with("--") => {
                        i += 1;
                        (*next).to_string()
                    }
                    // A bare boolean flag (`--no-mon-config`).
                    _ if !generic => "true".to_string(),
                    _ => {
                        return Err(RadosError::Config(format!(
                            "CEPH_ARGS: {flag} needs a value"
                        )))
                    }
                },
            };
            match (flag, key.as_str()) {
                ("-c", _) | (_, "conf") => out.conf = Some(value),
                (_, "cluster") => out.cluster = Some(value),
                ("-n", _) | (_, "name") => out.name = Some(value),
                ("-i", _) | (_, "id") | (_, "user") => out.name = Some(format!("client.{value}")),
                ("-k", _) | (_, "keyring") => out.keyring = Some(value),
                ("-m", _) | (_, "mon_host") => out.mon_host = Some(value),
                _ => {
                    out.options.insert(key, value);
                }
            }
        }
        Ok(out)
    }

    /// The value `CEPH_ARGS` gives to a configuration option.
    pub fn get(&self, option: &str) -> Option<&str> {
        self.options
            .get(&normalize_name(option))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `CEPH_ARGS="--key ..."` gives the key on the command line: not in
    /// `Debug`.
    #[test]
    fn debug_output_hides_the_key() {
        let a = CephArgs::parse("--key AQBSECRETSECRETSECRET== --rados-osd-op-timeout 5").unwrap();
        let text = format!("{a:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("rados_osd_op_timeout"), "{text}");
    }

    #[test]
    fn generic_options_and_config_options() {
        let a = CephArgs::parse(
            "--id cinder -c /etc/ceph/x.conf --rados-osd-op-timeout=30 --rados_mon_op_timeout 5 -m 10.0.0.1 --no-mon-config --keyring=/k",
        )
        .unwrap();
        assert_eq!(a.name.as_deref(), Some("client.cinder"));
        assert_eq!(a.conf.as_deref(), Some("/etc/ceph/x.conf"));
        assert_eq!(a.mon_host.as_deref(), Some("10.0.0.1"));
        assert_eq!(a.keyring.as_deref(), Some("/k"));
        assert_eq!(a.get("rados osd op timeout"), Some("30"));
        assert_eq!(a.get("rados_mon_op_timeout"), Some("5"));
        assert_eq!(a.get("no_mon_config"), Some("true"));
    }

    #[test]
    fn the_last_occurrence_wins_and_bad_words_are_refused() {
        let a = CephArgs::parse("-n client.a --name=client.b").unwrap();
        assert_eq!(a.name.as_deref(), Some("client.b"));
        assert!(CephArgs::parse("stray").is_err());
        assert!(CephArgs::parse("--conf").is_err());
        assert_eq!(CephArgs::parse("").unwrap(), CephArgs::default());
    }
}
