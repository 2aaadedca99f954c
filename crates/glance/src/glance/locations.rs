//! Adding a location to an image: the 2024.2 (Dalmatian) API
//! `POST /v2/images/{id}/locations`, with the legacy JSON-patch fallback for
//! older Glance.

use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};

use super::{segment, Glance};
use crate::error::{Error, Result};
use crate::http;

/// The image property that Glance's import and location tasks hold as a
/// lock while they run.
pub const IMPORT_LOCK: &str = "os_glance_import_task";

/// The content type of Glance's JSON patches.
pub const JSON_PATCH: &str = "application/openstack-images-v2.1-json-patch";

/// Checksum and hash of the data at a location, given so that Glance need
/// not compute them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidationData {
    /// The MD5 checksum (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// The hash algorithm (`sha512`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_hash_algo: Option<String>,
    /// The hash (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_hash_value: Option<String>,
}

/// A location to add to an image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLocation {
    /// The location's URL (`rbd://fsid/pool/image/snap`).
    pub url: String,
    /// The store the location is in: sent by the legacy API only (the new
    /// one finds the store from the URL).
    pub store: Option<String>,
    /// Checksum and hash, if known.
    pub validation_data: Option<ValidationData>,
}

impl NewLocation {
    /// A location `url` in store `store`, without validation data.
    pub fn new(url: impl Into<String>, store: Option<&str>) -> NewLocation {
        NewLocation {
            url: url.into(),
            store: store.map(str::to_string),
            validation_data: None,
        }
    }
}

/// Which API added the location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationApi {
    /// `POST /v2/images/{id}/locations` (Glance 2024.2 and later; needs the
    /// `service` role). Glance computes checksum and hash in the
    /// background unless validation data was given.
    AddLocation,
    /// The legacy `PATCH /v2/images/{id}` with `add /locations/-` (needs
    /// `show_multiple_locations` on older Glance).
    Patch,
}

/// The body of the new API's request.
pub fn add_location_body(location: &NewLocation) -> Value {
    let mut body = json!({ "url": location.url });
    if let Some(v) = &location.validation_data {
        body["validation_data"] = json!(v);
    }
    body
}

/// The JSON patch of the legacy API.
pub fn patch_body(location: &NewLocation) -> Value {
    let metadata = match &location.store {
        Some(store) => json!({ "store": store }),
        None => json!({}),
    };
    let mut value = json!({ "url": location.url, "metadata": metadata });
    if let Some(v) = &location.validation_data {
        value["validation_data"] = json!(v);
    }
    json!([{ "op": "add", "path": "/locations/-", "value": value }])
}

impl Glance {
    /// Adds `location` to image `id` with the new locations API, or, when
    /// Glance answers 404 or 405 to it (a release before 2024.2), with the
    /// legacy JSON patch. Returns the API that succeeded.
    ///
    /// A 404 of the new API is ambiguous (no such route, or no such image):
    /// the fallback then reports the missing image itself.
    ///
    /// A 5xx or a lost connection is tried again (twice at most) when the
    /// image shows that the attempt left nothing: still `queued`, without
    /// the `os_glance_import_task` lock that an accepted request takes.
    /// Glance on MySQL/MariaDB answers 500 when concurrent location
    /// requests deadlock on that lock's row ("try restarting
    /// transaction"). An image that shows the lock or has left `queued`
    /// took the location: that counts as added.
    pub async fn add_location(&self, id: &str, location: &NewLocation) -> Result<LocationApi> {
        let path = format!("/v2/images/{}/locations", segment(id));
        let body = add_location_body(location);
        let timeout = Some(self.auth().api_timeout());
        let mut retries = 0;
        loop {
            match self
                .request(Method::POST, &path, timeout, |r| r.json(&body))
                .await
            {
                Ok(_) => {
                    tracing::info!(%id, url = %location.url, "added location");
                    return Ok(LocationApi::AddLocation);
                }
                Err(
                    e @ Error::Http {
                        status: 404 | 405, ..
                    },
                ) => {
                    tracing::info!(%id, error = %e, "no locations API; falling back to the legacy JSON patch");
                    break;
                }
                Err(e) if http::is_transient(&e) && retries < http::TRANSIENT_RETRIES => {
                    retries += 1;
                    tokio::time::sleep(http::retry_delay(retries)).await;
                    let Ok(image) = self.show_image(id).await else {
                        return Err(e);
                    };
                    if image.status != "queued" || image.property(IMPORT_LOCK).is_some() {
                        tracing::info!(%id, status = %image.status, error = %e, "the location request failed, but Glance took it");
                        return Ok(LocationApi::AddLocation);
                    }
                    tracing::warn!(%id, error = %e, "adding the location failed on Glance's side; trying again");
                }
                Err(e) => return Err(e),
            }
        }
        let path = format!("/v2/images/{}", segment(id));
        let patch =
            serde_json::to_vec(&patch_body(location)).map_err(|e| Error::Config(e.to_string()))?;
        self.request(Method::PATCH, &path, timeout, |r| {
            r.header(reqwest::header::CONTENT_TYPE, JSON_PATCH)
                .body(patch.clone())
        })
        .await?;
        tracing::info!(%id, url = %location.url, "added location (legacy patch)");
        Ok(LocationApi::Patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        let mut loc = NewLocation::new("rbd://f/images/i/snap", Some("ceph"));
        assert_eq!(
            add_location_body(&loc),
            json!({"url": "rbd://f/images/i/snap"})
        );
        assert_eq!(
            patch_body(&loc),
            json!([{"op": "add", "path": "/locations/-",
                    "value": {"url": "rbd://f/images/i/snap", "metadata": {"store": "ceph"}}}])
        );
        loc.store = None;
        loc.validation_data = Some(ValidationData {
            os_hash_algo: Some("sha512".into()),
            os_hash_value: Some("ab".into()),
            checksum: None,
        });
        assert_eq!(
            add_location_body(&loc),
            json!({"url": "rbd://f/images/i/snap",
                   "validation_data": {"os_hash_algo": "sha512", "os_hash_value": "ab"}})
        );
        assert_eq!(patch_body(&loc)[0]["value"]["metadata"], json!({}));
    }
}
