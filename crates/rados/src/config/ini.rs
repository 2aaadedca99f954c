//! The ceph.conf file format: ini sections, `name = value` lines, comments
//! with `#` or `;`, values optionally quoted, lines continued with `\`.
//! Option names are compared with spaces, dashes and underscores taken as
//! the same character, as Ceph does (`mon host` = `mon_host`).

use std::collections::BTreeMap;

/// A parsed ceph.conf: sections in file order, each a map of options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfFile {
    sections: Vec<(String, BTreeMap<String, String>)>,
}

/// Ceph's canonical form of an option name: lower-case, `_` for space/dash.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.trim().chars() {
        if c == ' ' || c == '-' || c == '_' || c == '\t' {
            if !last_sep {
                out.push('_');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

/// Removes a trailing comment and surrounding quotes from a raw value.
fn clean_value(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if let Some(rest) = raw.strip_prefix('"') {
        let end = rest.find('"').ok_or("unterminated quote")?;
        let after = rest[end + 1..].trim();
        if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
            return Err("text after a quoted value".into());
        }
        return Ok(rest[..end].to_string());
    }
    let cut = raw.find(['#', ';']).unwrap_or(raw.len());
    Ok(raw[..cut].trim().to_string())
}

impl ConfFile {
    /// Parses the text of a ceph.conf. Errors name the line.
    pub fn parse(text: &str) -> Result<ConfFile, String> {
        let mut conf = ConfFile::default();
        let mut current: Option<usize> = None;
        let mut pending = String::new();
        let mut pending_line = 0;
        for (n, raw) in text.lines().enumerate() {
            let line_no = n + 1;
            if pending.is_empty() {
                pending_line = line_no;
            }
            if let Some(cont) = raw.strip_suffix('\\') {
                pending.push_str(cont);
                continue;
            }
            pending.push_str(raw);
            let line = std::mem::take(&mut pending);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let end = rest
                    .find(']')
                    .ok_or_else(|| format!("line {pending_line}: unterminated section header"))?;
                let name = rest[..end].trim().to_string();
                current = Some(match conf.sections.iter().position(|(s, _)| *s == name) {
                    Some(i) => i,
                    None => {
                        conf.sections.push((name, BTreeMap::new()));
                        conf.sections.len() - 1
                    }
                });
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| format!("line {pending_line}: expected `name = value`"))?;
            let idx = current
                .ok_or_else(|| format!("line {pending_line}: option outside of a [section]"))?;
            let value = clean_value(v).map_err(|e| format!("line {pending_line}: {e}"))?;
            if let Some((_, map)) = conf.sections.get_mut(idx) {
                map.insert(normalize_name(k), value);
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

    #[test]
    fn names_normalize() {
        assert_eq!(normalize_name("Mon  Host"), "mon_host");
        assert_eq!(normalize_name("ms-mon_client mode"), "ms_mon_client_mode");
    }
}
