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
use ceph_common::ini::{self, normalize_name, IniError, Item, Line};

use ceph_encoding::{Decode, Encode};

use crate::crypto::{Cipher, SecretKey};
use crate::error::CephxError;

/// A secret as Ceph encodes it (`CryptoKey`): type, creation time, bytes.
/// Its wire form is defined once, in [`crate::wire`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoKey {
    /// When the key was made (seconds, nanoseconds).
    pub created: (u32, u32),
    /// The secret, with its cipher.
    pub secret: SecretKey,
}

impl CryptoKey {
    /// Decodes Ceph's encoding: le16 type, utime (le32 s, le32 ns),
    /// le16 length, the secret. Keys of type `aes` and `aes256k` are
    /// accepted.
    pub fn from_encoded(bytes: &[u8]) -> Result<CryptoKey, CephxError> {
        CryptoKey::decode_exact(bytes).map_err(|e| CephxError::BadKey(e.to_string()))
    }

    /// Ceph's encoding of the key.
    pub fn to_encoded(&self) -> Vec<u8> {
        self.to_bytes(0).to_vec()
    }

    /// The key's cipher.
    pub fn cipher(&self) -> Cipher {
        self.secret.cipher()
    }

    /// Parses a key in the base64 form of keyrings and `ceph auth get-key`.
    pub fn from_base64(text: &str) -> Result<CryptoKey, CephxError> {
        let raw = zeroize::Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| CephxError::BadKey(format!("not base64: {e}")))?,
        );
        CryptoKey::from_encoded(&raw)
    }

    /// The base64 form of the key.
    pub fn to_base64(&self) -> String {
        let raw = zeroize::Zeroizing::new(self.to_encoded());
        base64::engine::general_purpose::STANDARD.encode(&*raw)
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

    /// Parses a keyring's text, read by the shared INI reader
    /// ([`ceph_common::ini`]): comments start with `#` or `;`; entry keys
    /// compare with spaces, dashes and underscores alike (`caps mon` =
    /// `caps_mon`); a value may stand in double quotes.
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
        for line in ini::lines(text) {
            let (n, k, v) = match line {
                Err(IniError::UnterminatedSection { line }) => {
                    return Err(format!("line {line}: unterminated section"))
                }
                Err(e) => return Err(e.to_string()),
                Ok(Line {
                    item: Item::Section(name),
                    ..
                }) => {
                    finish(current.take(), &mut entries)?;
                    current = Some((name, None, BTreeMap::new()));
                    continue;
                }
                Ok(Line {
                    number,
                    item: Item::Entry { key, value },
                }) => (number, normalize_name(&key), value),
            };
            let (_, key, caps) = current
                .as_mut()
                .ok_or_else(|| format!("line {n}: setting outside a [section]"))?;
            let v = v.trim_matches('"').to_string();
            if k == "key" {
                *key = Some(CryptoKey::from_base64(&v).map_err(|e| format!("line {n}: {e}"))?);
            } else if let Some(service) = k.strip_prefix("caps_") {
                caps.insert(service.to_string(), v);
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

    /// Written by hand in Ceph's encoding: type 2, created 2026-12-02,
    /// 32 bytes 0x00..0x1f.
    const AES256K_KEY: &str = "AgCAoTBpAAAAACAAAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

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

    /// A key made by Ceph 20.2.4 (`ceph auth get-or-create`, the default
    /// aes256k type): type 2, 32 secret bytes, and back to the same text.
    #[test]
    fn parses_an_aes256k_key() {
        let text = AES256K_KEY;
        let k = CryptoKey::from_base64(text).unwrap();
        assert_eq!(k.cipher(), Cipher::Aes256k);
        assert_eq!(k.secret.as_bytes().len(), 32);
        assert_eq!(k.to_base64(), text);
    }

    #[test]
    fn rejects_bad_keyrings() {
        assert!(Keyring::parse("key = AQ==").is_err());
        assert!(Keyring::parse("[client.a]\ncaps mon = x\n").is_err());
        assert!(Keyring::parse("[client.a\nkey = x").is_err());
        assert!(Keyring::parse("[client.a]\nkey = !!!\n").is_err());
        assert!(CryptoKey::from_encoded(&[1, 0, 0]).is_err());
        assert!(CryptoKey::from_encoded(&[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0]).is_err());
        // A type we do not speak is named in the message.
        let mut k3 = vec![3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0];
        k3.extend_from_slice(&[0; 32]);
        let e = CryptoKey::from_encoded(&k3).unwrap_err().to_string();
        assert!(e.contains("key type"), "{e}");
    }
}
