//! The ceph.conf file: read by the shared INI reader ([`ceph_common::ini`]:
//! sections, `name = value` lines, comments with `#` or `;`, lines
//! continued with `\`), every option inside a section, values optionally
//! quoted. Option names are compared with spaces, dashes and underscores
//! taken as the same character, as Ceph does (`mon host` = `mon_host`).

use std::collections::BTreeMap;

use ceph_common::ini::{self, normalize_name, unquote_value, Item, Line};

/// A parsed ceph.conf: sections in file order, each a map of options.
/// Its `Debug` output hides the values of secret options (`key`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConfFile {
    sections: Vec<(String, BTreeMap<String, String>)>,
}

/// Options (normalized names) whose values are secrets.
const SECRET_OPTIONS: &[&str] = &["key"];

/// `Debug` of an option map with the values of [`SECRET_OPTIONS`] hidden.
pub(crate) struct RedactedOptions<'a>(pub(crate) &'a BTreeMap<String, String>);

impl std::fmt::Debug for RedactedOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                let shown: &str = if SECRET_OPTIONS.contains(&k.as_str()) {
                    "<hidden>"
                } else {
                    v
                };
                (k, shown)
            }))
            .finish()
    }
}

impl std::fmt::Debug for ConfFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.sections
                    .iter()
                    .map(|(name, options)| (name, RedactedOptions(options))),
            )
            .finish()
    }
}

impl ConfFile {
    /// Parses the text of a ceph.conf. Errors name the line.
    pub fn parse(text: &str) -> Result<ConfFile, String> {
        let mut conf = ConfFile::default();
        let mut current: Option<usize> = None;
        for line in ini::lines(text) {
            let Line { number, item } = line.map_err(|e| e.to_string())?;
            match item {
                Item::Section(name) => {
                    current = Some(match conf.sections.iter().position(|(s, _)| *s == name) {
                        Some(i) => i,
                        None => {
                            conf.sections.push((name, BTreeMap::new()));
                            conf.sections.len() - 1
                        }
                    });
                }
                Item::Entry { key, value } => {
                    let idx = current
                        .ok_or_else(|| format!("line {number}: option outside of a [section]"))?;
                    let value = unquote_value(&value).map_err(|e| format!("line {number}: {e}"))?;
                    if let Some((_, map)) = conf.sections.get_mut(idx) {
                        map.insert(normalize_name(&key), value);
                    }
                }
            }
        }
        Ok(conf)
    }

    /// The value of `option` in `section`, if set there.
    pub fn get_in(&self, section: &str, option: &str) -> Option<&str> {
        let key = normalize_name(option);
        self.sections
            .iter()
            .find(|(s, _)| s == section)
            .and_then(|(_, m)| m.get(&key))
            .map(String::as_str)
    }

    /// The value of `option` for `entity` (`client.admin`): looked up in
    /// `[client.admin]`, then `[client]`, then `[global]`.
    pub fn get(&self, entity: &str, option: &str) -> Option<&str> {
        let type_section = entity.split('.').next().unwrap_or(entity);
        [entity, type_section, "global"]
            .into_iter()
            .find_map(|s| self.get_in(s, option))
    }

    /// The section names, in file order.
    pub fn sections(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|(s, _)| s.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ceph.conf can hold a client's key (`key = ...`): not in `Debug`.
    #[test]
    fn debug_output_hides_keys() {
        let conf =
            ConfFile::parse("[client.admin]\nkey = AQBSECRETSECRETSECRET==\nmon host = 10.0.0.1\n")
                .unwrap();
        let text = format!("{conf:?}");
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("10.0.0.1") && text.contains("key"), "{text}");
    }

    const CONF: &str = r#"
# a comment
[global]
    fsid = 4818ef26-98b3-4b5b-9577-ff0a7e5e3248
    mon host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]  ; trailing
    keyring = /etc/ceph/$cluster.$name.keyring
[client]
    ms-client-mode = "secure crc"   # quoted
[client.cinder]
    keyring = /etc/ceph/cinder.keyring
    long_option = a \
b
"#;

    #[test]
    fn lookups_follow_ceph_precedence() {
        let c = ConfFile::parse(CONF).unwrap();
        assert_eq!(
            c.get("client.admin", "mon_host"),
            Some("[v2:127.0.0.1:3300,v1:127.0.0.1:6789]")
        );
        assert_eq!(c.get("client.admin", "ms client mode"), Some("secure crc"));
        assert_eq!(
            c.get("client.admin", "keyring"),
            Some("/etc/ceph/$cluster.$name.keyring")
        );
        assert_eq!(
            c.get("client.cinder", "keyring"),
            Some("/etc/ceph/cinder.keyring")
        );
        assert_eq!(c.get("client.cinder", "long-option"), Some("a b"));
        assert_eq!(c.get("client.admin", "nothing"), None);
        assert_eq!(
            c.sections().collect::<Vec<_>>(),
            ["global", "client", "client.cinder"]
        );
    }

    #[test]
    fn bad_files_name_the_line() {
        assert!(ConfFile::parse("x = 1").unwrap_err().contains("line 1"));
        assert!(ConfFile::parse("[global\n").unwrap_err().contains("line 1"));
        assert!(ConfFile::parse("[global]\nnovalue\n")
            .unwrap_err()
            .contains("line 2"));
        assert!(ConfFile::parse("[global]\na = \"x\n").is_err());
    }
}
