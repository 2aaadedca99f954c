//! The INI reader of ceph.conf, keyrings and the tool's own config file,
//! with Ceph's rules:
//!
//! - a line ending in `\` goes on on the next line (the `\` dropped);
//! - blank lines and lines starting with `#` or `;` are passed over;
//! - `[name]` starts a section (what follows the `]` is ignored);
//! - any other line is `key = value`, split at the first `=`, both sides
//!   trimmed.
//!
//! [`lines`] yields the sections and entries in file order with their line
//! numbers, and an [`IniError`] for a line that is neither; each caller
//! gives them its own meaning (which sections it reads, whether an entry
//! may stand before any section, how a value is written). Keys compare by
//! [`normalize_name`]: spaces, dashes and underscores are the same
//! character (`mon host` = `mon-host` = `mon_host`). [`unquote_value`]
//! is ceph.conf's value rule (quotes, trailing comments).

/// A line the reader cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IniError {
    /// A `[` without its `]`.
    #[error("line {line}: unterminated section header")]
    UnterminatedSection {
        /// The line (1-based; for a continued line, its first).
        line: usize,
    },
    /// A line that is neither a section, a comment nor `key = value`.
    #[error("line {line}: expected `name = value`")]
    NotAnEntry {
        /// The line (1-based; for a continued line, its first).
        line: usize,
    },
}

/// What a logical line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `[name]`: the name, trimmed.
    Section(String),
    /// `key = value`: both trimmed, the value as written (quotes and any
    /// trailing comment kept).
    Entry {
        /// The key as written.
        key: String,
        /// The value as written.
        value: String,
    },
}

/// A section or entry and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line number (1-based; for a continued line, its first).
    pub number: usize,
    /// What it holds.
    pub item: Item,
}

/// The sections and entries of `text`, in file order, and an error for
/// each line that is neither (reading goes on after it).
pub fn lines(text: &str) -> impl Iterator<Item = Result<Line, IniError>> + '_ {
    let mut physical = text.lines().enumerate();
    std::iter::from_fn(move || loop {
        let (n, first) = physical.next()?;
        let number = n + 1;
        let mut logical = String::new();
        let mut raw = first;
        while let Some(cont) = raw.strip_suffix('\\') {
            logical.push_str(cont);
            match physical.next() {
                Some((_, next)) => raw = next,
                None => {
                    raw = "";
                    break;
                }
            }
        }
        logical.push_str(raw);
        if let Some(parsed) = parse_line(logical.trim(), number) {
            return Some(parsed);
        }
    })
}

/// One logical line, trimmed: `None` for a blank or comment line.
fn parse_line(line: &str, number: usize) -> Option<Result<Line, IniError>> {
    if line.is_empty() || line.starts_with(['#', ';']) {
        return None;
    }
    let item = if let Some(rest) = line.strip_prefix('[') {
        match rest.find(']') {
            Some(end) => Ok(Item::Section(rest[..end].trim().to_string())),
            None => Err(IniError::UnterminatedSection { line: number }),
        }
    } else {
        match line.split_once('=') {
            Some((key, value)) => Ok(Item::Entry {
                key: key.trim().to_string(),
                value: value.trim().to_string(),
            }),
            None => Err(IniError::NotAnEntry { line: number }),
        }
    };
    Some(item.map(|item| Line { number, item }))
}

/// Ceph's canonical form of an option name: lower-case, and one `_` for
/// each run of spaces, tabs, dashes and underscores.
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

/// ceph.conf's value rule: a value in double quotes is what lies between
/// them (only a comment may follow); an unquoted one ends at a `#` or `;`.
pub fn unquote_value(raw: &str) -> Result<String, &'static str> {
    let raw = raw.trim();
    if let Some(rest) = raw.strip_prefix('"') {
        let end = rest.find('"').ok_or("unterminated quote")?;
        let after = rest[end + 1..].trim();
        if !(after.is_empty() || after.starts_with(['#', ';'])) {
            return Err("text after a quoted value");
        }
        return Ok(rest[..end].to_string());
    }
    let cut = raw.find(['#', ';']).unwrap_or(raw.len());
    Ok(raw[..cut].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(number: usize, key: &str, value: &str) -> Result<Line, IniError> {
        Ok(Line {
            number,
            item: Item::Entry {
                key: key.into(),
                value: value.into(),
            },
        })
    }

    #[test]
    fn sections_entries_comments_and_continuations() {
        let text = "# c\n; c\n\n[global] ; c\n  mon host = a \\\n b  \nx=\"y\" # z\n[ s ]\n";
        let got: Vec<_> = lines(text).collect();
        assert_eq!(
            got,
            vec![
                Ok(Line {
                    number: 4,
                    item: Item::Section("global".into())
                }),
                entry(5, "mon host", "a  b"),
                entry(7, "x", "\"y\" # z"),
                Ok(Line {
                    number: 8,
                    item: Item::Section("s".into())
                }),
            ]
        );
    }

    #[test]
    fn bad_lines_are_reported_and_reading_goes_on() {
        let got: Vec<_> = lines("[global\nnovalue\nk = v\nlast = \\").collect();
        assert_eq!(
            got,
            vec![
                Err(IniError::UnterminatedSection { line: 1 }),
                Err(IniError::NotAnEntry { line: 2 }),
                entry(3, "k", "v"),
                entry(4, "last", ""),
            ]
        );
        assert_eq!(
            IniError::NotAnEntry { line: 2 }.to_string(),
            "line 2: expected `name = value`"
        );
    }

    #[test]
    fn names_normalize() {
        assert_eq!(normalize_name("Mon  Host"), "mon_host");
        assert_eq!(normalize_name("ms-mon_client mode"), "ms_mon_client_mode");
    }

    #[test]
    fn values_unquote() {
        assert_eq!(
            unquote_value("\"secure crc\"   # q"),
            Ok("secure crc".into())
        );
        assert_eq!(unquote_value("a b ; c"), Ok("a b".into()));
        assert!(unquote_value("\"x").is_err());
        assert!(unquote_value("\"x\" y").is_err());
    }
}
