//! The tool's own config file: `enable_clone_optimization = true|false`
//! (an ini file; sections are ignored, `#` and `;` start comments).

use std::path::{Path, PathBuf};

use crate::error::Error;

/// Where the config file is looked for when `--config` is not given.
pub const DEFAULT_PATHS: &[&str] = &["/etc/rbd-native/rbd-native.conf"];

/// The settings the file may hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolSettings {
    /// Clone when possible (off unless set, as the spec says).
    pub enable_clone_optimization: bool,
}

impl ToolSettings {
    /// Reads `path`, or the first default path that exists; nothing found
    /// gives the defaults. A given path that cannot be read is an error.
    pub fn load(path: Option<&Path>) -> Result<ToolSettings, Error> {
        let path: Option<PathBuf> = match path {
            Some(p) => Some(p.to_path_buf()),
            None => std::env::var_os("RBD_NATIVE_CONFIG")
                .map(PathBuf::from)
                .or_else(|| DEFAULT_PATHS.iter().map(PathBuf::from).find(|p| p.exists())),
        };
        let Some(path) = path else {
            return Ok(ToolSettings::default());
        };
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Io {
            context: format!("reading the config file {}", path.display()),
            source: e,
        })?;
        Self::parse(&text).map_err(|e| Error::Input(format!("{}: {e}", path.display())))
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<ToolSettings, String> {
        use ceph_common::ini::{self, normalize_name, IniError, Item, Line};
        let mut s = ToolSettings::default();
        for line in ini::lines(text) {
            let (n, key, v) = match line {
                // Sections are ignored, whole or not.
                Ok(Line {
                    item: Item::Section(_),
                    ..
                })
                | Err(IniError::UnterminatedSection { .. }) => continue,
                Err(IniError::NotAnEntry { line }) => {
                    return Err(format!("line {line}: expected key = value"))
                }
                Ok(Line {
                    number,
                    item: Item::Entry { key, value },
                }) => (number, key, value),
            };
            if normalize_name(&key) == "enable_clone_optimization" {
                s.enable_clone_optimization = match v.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "on" | "1" => true,
                    "false" | "no" | "off" | "0" => false,
                    other => {
                        return Err(format!(
                            "line {n}: enable_clone_optimization = {other}: use true or false"
                        ))
                    }
                };
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_option() {
        let s = ToolSettings::parse("[DEFAULT]\n# c\nenable_clone_optimization = True\n").unwrap();
        assert!(s.enable_clone_optimization);
        assert!(!ToolSettings::parse("").unwrap().enable_clone_optimization);
        assert!(ToolSettings::parse("enable_clone_optimization = maybe").is_err());
        assert!(ToolSettings::parse("nonsense").is_err());
    }
}
