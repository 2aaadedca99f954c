//! Keyrings: the ini files that `ceph auth get` and `ceph-authtool` write,
//! and the base64 keys they hold.
//!
//! ```text
//! [client.admin]
//!     key = AQBV...==
//!     caps mon = "allow *"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;

use crate::crypto::{AesKey, AES_KEY_LEN};
use crate::error::CephxError;

/// Ceph's code for an AES key (`CEPH_CRYPTO_AES`).
pub const CRYPTO_AES: u16 = 1;

/// A secret as Ceph encodes it (`CryptoKey`): type, creation time, bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoKey {
    /// When the key was made (seconds, nanoseconds).
    pub created: (u32, u32),
    /// The AES secret.
    pub secret: AesKey,
}

impl CryptoKey {
    /// Length of the encoding of an AES key.
    pub const ENCODED_LEN: usize = 2 + 8 + 2 + AES_KEY_LEN;

    /// Decodes Ceph's encoding: le16 type, utime (le32 s, le32 ns),
    /// le16 length, the secret. Only AES keys are accepted.
    pub fn from_encoded(bytes: &[u8]) -> Result<CryptoKey, CephxError> {
        if bytes.len() < 12 {
            return Err(CephxError::BadKey(format!(
                "{} bytes is too short",
                bytes.len()
            )));
        }
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let kind = u16_at(0);
        if kind != CRYPTO_AES {
            return Err(CephxError::BadKey(format!(
                "key type {kind}, only AES (1) is supported"
            )));
        }
        let len = usize::from(u16_at(10));
        let secret = bytes
            .get(12..12 + len)
            .ok_or_else(|| CephxError::BadKey("secret runs past the end".into()))?;
        if bytes.len() != 12 + len {
            return Err(CephxError::BadKey("trailing bytes after the secret".into()));
        }
        Ok(CryptoKey {
            created: (u32_at(2), u32_at(6)),
            secret: AesKey::from_slice(secret)?,
        })
    }

    /// Ceph's encoding of the key.
    pub fn to_encoded(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::ENCODED_LEN);
        out.extend_from_slice(&CRYPTO_AES.to_le_bytes());
        out.extend_from_slice(&self.created.0.to_le_bytes());
        out.extend_from_slice(&self.created.1.to_le_bytes());
        out.extend_from_slice(&(AES_KEY_LEN as u16).to_le_bytes());
        out.extend_from_slice(self.secret.as_bytes());
        out
    }

    /// Parses a key in the base64 form of keyrings and `ceph auth get-key`.
    pub fn from_base64(text: &str) -> Result<CryptoKey, CephxError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| CephxError::BadKey(format!("not base64: {e}")))?;
        CryptoKey::from_encoded(&raw)
    }

    /// The base64 form of the key.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.to_encoded())
    }
}

/// One entity's entry in a keyring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyringEntry {
    /// The entity's secret.
    pub key: CryptoKey,
    /// Capabilities by service (`mon`, `osd`, ...), as written.
    pub caps: BTreeMap<String, String>,
}

/// The entries of a keyring file, by entity name (`client.admin`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyring {
    entries: BTreeMap<String, KeyringEntry>,
}

impl Keyring {
    /// Reads and parses a keyring file.
    pub fn load(path: &Path) -> Result<Keyring, CephxError> {
        let text = std::fs::read_to_string(path).map_err(|e| CephxError::Keyring {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Keyring::parse(&text).map_err(|reason| CephxError::Keyring {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Parses a keyring's text. Comments start with `#` or `;`; keys of an
    /// entry are case-sensitive and may use spaces or underscores.
    pub fn parse(text: &str) -> Result<Keyring, String> {
        let mut entries = BTreeMap::new();
        let mut current: Option<(String, Option<CryptoKey>, BTreeMap<String, String>)> = None;
        let finish = |cur: Option<(String, Option<CryptoKey>, BTreeMap<String, String>)>,
                      entries: &mut BTreeMap<String, KeyringEntry>|
         -> Result<(), String> {
            if let Some((name, key, caps)) = cur {
                let key = key.ok_or_else(|| format!("[{name}] has no key"))?;
                entries.insert(name, KeyringEntry { key, caps });
            }
            Ok(())
        };
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let name = rest
                    .strip_suffix(']')
                    .ok_or_else(|| format!("line {}: unterminated section", n + 1))?
                    .trim()
                    .to_string();
                finish(current.take(), &mut entries)?;
                current = Some((name, None, BTreeMap::new()));
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| format!("line {}: expected `name = value`", n + 1))?;
            let (_, key, caps) = current
                .as_mut()
                .ok_or_else(|| format!("line {}: setting outside a [section]", n + 1))?;
            let k = k.trim().replace('_', " ");
            let v = v.trim().trim_matches('"').to_string();
            if k == "key" {
                *key =
                    Some(CryptoKey::from_base64(&v).map_err(|e| format!("line {}: {e}", n + 1))?);
            } else if let Some(service) = k.strip_prefix("caps ") {
                caps.insert(service.trim().to_string(), v);
            }
        }
        finish(current, &mut entries)?;
        Ok(Keyring { entries })
    }

    /// The entry of `entity` (`client.admin`), if present.
    pub fn get(&self, entity: &str) -> Option<&KeyringEntry> {
        self.entries.get(entity)
    }

    /// The entity names present.
    pub fn entities(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYRING: &str = "[client.cinder]\n\tkey = AQBSiSVpzxvhMBAAbxRHYuajLEJ1XHlo5CjV8A==\n\
        \tcaps mon = \"profile rbd\"\n\tcaps osd = \"profile rbd pool=volumes\"\n";

    #[test]
    fn parses_a_real_keyring() {
        let k = Keyring::parse(KEYRING).unwrap();
        let e = k.get("client.cinder").unwrap();
        assert_eq!(e.caps["mon"], "profile rbd");
        assert_eq!(e.caps["osd"], "profile rbd pool=volumes");
        assert_eq!(
            e.key.to_base64(),
            "AQBSiSVpzxvhMBAAbxRHYuajLEJ1XHlo5CjV8A=="
        );
        assert!(k.get("client.admin").is_none());
    }

    #[test]
    fn rejects_bad_keyrings() {
        assert!(Keyring::parse("key = AQ==").is_err());
        assert!(Keyring::parse("[client.a]\ncaps mon = x\n").is_err());
        assert!(Keyring::parse("[client.a\nkey = x").is_err());
        assert!(Keyring::parse("[client.a]\nkey = !!!\n").is_err());
        assert!(CryptoKey::from_encoded(&[1, 0, 0]).is_err());
        assert!(CryptoKey::from_encoded(&[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0]).is_err());
    }
}
