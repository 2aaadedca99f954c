//! Glance's stores: `GET /v2/info/stores` and `GET /v2/info/stores/detail`
//! (the latter needs the `admin` or `service` role).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::Glance;
use crate::error::Result;

/// A store as `GET /v2/info/stores` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Store {
    /// The store id (`ceph`, `local`, ...).
    pub id: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it is the default store.
    #[serde(default, rename = "default", deserialize_with = "flag")]
    pub is_default: bool,
}

/// A store as `GET /v2/info/stores/detail` describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoreDetail {
    /// The store id.
    pub id: String,
    /// The backend type (`rbd`, `file`, `swift`, ...).
    #[serde(rename = "type")]
    pub store_type: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it is the default store.
    #[serde(default, rename = "default", deserialize_with = "flag")]
    pub is_default: bool,
    /// The store's weight, if reported.
    #[serde(default)]
    pub weight: Option<i64>,
    /// The backend's properties as Glance reports them.
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
}

/// The properties of an `rbd` store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RbdStoreProperties {
    /// The pool that holds the images.
    pub pool: Option<String>,
    /// The cluster's fsid (missing on older Glance, or when Glance could
    /// not reach the cluster).
    pub fsid: Option<String>,
    /// The object size of the images Glance writes, in bytes.
    pub chunk_size: Option<u64>,
    /// Whether Glance writes sparse images.
    pub thin_provisioning: Option<bool>,
}

impl StoreDetail {
    /// Whether this is an RBD store.
    pub fn is_rbd(&self) -> bool {
        self.store_type == "rbd"
    }

    /// Property `key` as a string (numbers and booleans converted), if
    /// set and not empty.
    pub fn property(&self, key: &str) -> Option<String> {
        match self.properties.get(key)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The RBD properties, if this is an RBD store.
    pub fn rbd(&self) -> Option<RbdStoreProperties> {
        if !self.is_rbd() {
            return None;
        }
        Some(RbdStoreProperties {
            pool: self.property("pool"),
            fsid: self.property("fsid"),
            chunk_size: self.property("chunk_size").and_then(|s| s.parse().ok()),
            thin_provisioning: self
                .property("thin_provisioning")
                .and_then(|s| s.parse().ok()),
        })
    }
}

/// The default store among `stores`.
pub fn default_store(stores: &[StoreDetail]) -> Option<&StoreDetail> {
    stores.iter().find(|s| s.is_default)
}

/// A flag Glance sends as a boolean or (Glance 33) as the string `"true"`.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "on"
        ),
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    })
}

/// The body of `GET /v2/info/stores[/detail]`.
#[derive(Deserialize)]
pub(crate) struct StoresBody<T> {
    pub(crate) stores: Vec<T>,
}

impl Glance {
    /// `GET /v2/info/stores`: the enabled stores (multi-store Glance).
    pub async fn stores(&self) -> Result<Vec<Store>> {
        let body: StoresBody<Store> = self.call_json(Method::GET, "/v2/info/stores", None).await?;
        Ok(body.stores)
    }

    /// `GET /v2/info/stores/detail`: the stores with their types and
    /// backend properties. Glance shows them to admins and services only:
    /// when it refuses the user's token (403) and a service token is
    /// configured, they are asked again with the service token alone
    /// (Glance's policy checks the request token's own roles there, not a
    /// service token's).
    pub async fn stores_detail(&self) -> Result<Vec<StoreDetail>> {
        const PATH: &str = "/v2/info/stores/detail";
        let body: StoresBody<StoreDetail> = match self.call_json(Method::GET, PATH, None).await {
            Err(e) if e.status() == Some(403) && self.auth().config().service_token.is_some() => {
                tracing::debug!(error = %e, "stores detail refused to the user; asking with the service token");
                self.get_as_service(PATH).await?
            }
            other => other?,
        };
        Ok(body.stores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DETAIL: &str = r#"{"stores": [
      {"id": "ceph", "description": "RBD store on cluster main (default)", "default": "true", "type": "rbd",
       "properties": {"chunk_size": 8388608, "pool": "images", "thin_provisioning": false,
                      "fsid": "c646adcf-b015-498e-b5bb-9759bccefa97"}, "weight": 0},
      {"id": "other", "type": "rbd", "properties": {"chunk_size": 8388608, "pool": "images"}},
      {"id": "local", "description": "file store", "type": "file", "default": false,
       "properties": {"data_dir": "/var/lib/glance/images", "chunk_size": 65536}}
    ]}"#;

    #[test]
    fn parses_stores_detail() {
        let body: StoresBody<StoreDetail> = serde_json::from_str(DETAIL).unwrap();
        let stores = body.stores;
        assert_eq!(stores.len(), 3);
        let ceph = &stores[0];
        assert!(ceph.is_default);
        assert_eq!(
            ceph.rbd().unwrap(),
            RbdStoreProperties {
                pool: Some("images".into()),
                fsid: Some("c646adcf-b015-498e-b5bb-9759bccefa97".into()),
                chunk_size: Some(8 << 20),
                thin_provisioning: Some(false),
            }
        );
        let other = stores[1].rbd().unwrap();
        assert_eq!(other.fsid, None);
        assert!(!stores[1].is_default);
        assert_eq!(stores[2].rbd(), None);
        assert_eq!(
            stores[2].property("data_dir").as_deref(),
            Some("/var/lib/glance/images")
        );
        assert_eq!(default_store(&stores).map(|s| s.id.as_str()), Some("ceph"));
    }

    #[test]
    fn default_flag_shapes() {
        for (json, want) in [
            (r#"{"id": "a", "default": true}"#, true),
            (r#"{"id": "a", "default": "true"}"#, true),
            (r#"{"id": "a", "default": "True"}"#, true),
            (r#"{"id": "a", "default": "false"}"#, false),
            (r#"{"id": "a", "default": null}"#, false),
            (r#"{"id": "a"}"#, false),
        ] {
            let s: Store = serde_json::from_str(json).unwrap();
            assert_eq!(s.is_default, want, "{json}");
        }
    }
}
