//! Images: create, show, delete, data upload (streamed) and download, and
//! waiting for a status.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::AsyncRead;

use super::watchdog::BodyWatch;
use super::{segment, Glance};
use crate::error::{Error, Result};
use crate::http;

/// The statuses an image does not leave by itself: waiting for another one
/// fails at once.
pub const FAILED_STATUSES: &[&str] = &["killed", "deleted", "pending_delete"];

/// A stream of bytes downloaded from Glance.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// The properties of a new image (`POST /v2/images`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewImage {
    /// An explicit id (a UUID) instead of one chosen by Glance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The image name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `raw`, `qcow2`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_format: Option<String>,
    /// `bare`, `ovf`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_format: Option<String>,
    /// `public`, `private`, `shared` or `community`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// Whether the image is protected from deletion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// Minimum disk size in GiB to boot the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_disk: Option<u64>,
    /// Minimum RAM in MiB to boot the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ram: Option<u64>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Extra properties, as string key/values.
    #[serde(flatten)]
    pub properties: BTreeMap<String, String>,
}

impl NewImage {
    /// A `raw`/`bare` image named `name`.
    pub fn raw(name: impl Into<String>) -> NewImage {
        NewImage {
            name: Some(name.into()),
            disk_format: Some("raw".into()),
            container_format: Some("bare".into()),
            ..NewImage::default()
        }
    }

    /// Adds extra property `key` = `value`.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> NewImage {
        self.properties.insert(key.into(), value.into());
        self
    }
}

/// A location of an image, as listed when Glance shows locations.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ImageLocation {
    /// The location's URL (`rbd://fsid/pool/image/snap`, ...).
    pub url: String,
    /// Its metadata (`store`, ...).
    #[serde(default)]
    pub metadata: Value,
}

/// An image as Glance shows it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Image {
    /// The image id.
    pub id: String,
    /// The name.
    #[serde(default)]
    pub name: Option<String>,
    /// `queued`, `saving`, `active`, `killed`, `deleted`, `importing`, ...
    pub status: String,
    /// The visibility.
    #[serde(default)]
    pub visibility: Option<String>,
    /// The size of the data in bytes, once known.
    #[serde(default)]
    pub size: Option<u64>,
    /// The virtual size, if known.
    #[serde(default)]
    pub virtual_size: Option<u64>,
    /// The disk format.
    #[serde(default)]
    pub disk_format: Option<String>,
    /// The container format.
    #[serde(default)]
    pub container_format: Option<String>,
    /// The MD5 checksum of the data, once computed.
    #[serde(default)]
    pub checksum: Option<String>,
    /// The algorithm of `os_hash_value` (`sha512`).
    #[serde(default)]
    pub os_hash_algo: Option<String>,
    /// The secure hash of the data, once computed.
    #[serde(default)]
    pub os_hash_value: Option<String>,
    /// The first location's URL, when Glance shows it.
    #[serde(default)]
    pub direct_url: Option<String>,
    /// The locations, when Glance shows them.
    #[serde(default)]
    pub locations: Vec<ImageLocation>,
    /// The stores holding the data, comma separated.
    #[serde(default)]
    pub stores: Option<String>,
    /// Whether the image is protected.
    #[serde(default)]
    pub protected: bool,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The owner project.
    #[serde(default)]
    pub owner: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Every other attribute: extra properties, `min_disk`, `self`, ...
    #[serde(flatten)]
    pub properties: BTreeMap<String, Value>,
}

impl Image {
    /// Extra property `key` as a string, if it is one.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(key).and_then(Value::as_str)
    }

    /// The store ids of `stores`.
    pub fn store_ids(&self) -> Vec<&str> {
        self.stores
            .as_deref()
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn image_path(id: &str) -> String {
    format!("/v2/images/{}", segment(id))
}

impl Glance {
    /// `POST /v2/images`: creates an image record (status `queued`).
    pub async fn create_image(&self, image: &NewImage) -> Result<Image> {
        let body = serde_json::to_value(image).map_err(|e| Error::Config(e.to_string()))?;
        let image: Image = self
            .call_json(Method::POST, "/v2/images", Some(&body))
            .await?;
        tracing::info!(id = %image.id, name = image.name.as_deref().unwrap_or(""), "created image");
        Ok(image)
    }

    /// `GET /v2/images/{id}`.
    pub async fn show_image(&self, id: &str) -> Result<Image> {
        self.call_json(Method::GET, &image_path(id), None).await
    }

    /// `DELETE /v2/images/{id}`, sent again (twice at most, after 0.5 s and
    /// 1 s) when Glance answers 500, 502, 503 or 504 or cannot be reached.
    /// Glance 2025.1 and later answer 500 ("Operation file ... does not
    /// exist, cannot cancel") to a delete that arrives in the moment between
    /// the end of a location import's background hash and the end of its
    /// task; the same delete a moment later succeeds. A 404 after such a
    /// retry means an earlier attempt went through, and counts as deleted.
    pub async fn delete_image(&self, id: &str) -> Result<()> {
        let path = image_path(id);
        let mut retries = 0;
        loop {
            let sent = self
                .request(
                    Method::DELETE,
                    &path,
                    Some(self.auth().api_timeout()),
                    |r| r,
                )
                .await;
            match sent {
                Ok(_) => break,
                Err(e) if retries > 0 && e.is_not_found() => break,
                Err(e) if http::is_transient(&e) && retries < http::TRANSIENT_RETRIES => {
                    retries += 1;
                    tracing::warn!(%id, error = %e, "image delete failed on Glance's side; trying again");
                    tokio::time::sleep(http::retry_delay(retries)).await;
                }
                Err(e) => return Err(e),
            }
        }
        tracing::info!(%id, "deleted image");
        Ok(())
    }

    /// `PUT /v2/images/{id}/file`: uploads the image's data from `stream`,
    /// chunk by chunk as it comes (nothing is buffered whole), into store
    /// `store` (`X-Image-Meta-Store`) or the default store. The body goes
    /// with chunked transfer encoding, as python-glanceclient (so Cinder)
    /// sends it, which every Glance deployment takes. With `size` known,
    /// Glance is told it (`x-openstack-image-size`, as python-glanceclient
    /// does), so that its store allocates the image at once (the rbd store
    /// creates it full size instead of growing it while writing). The size
    /// is not sent as `Content-Length`: Glance's request layer (WebOb) then
    /// reads the body through two more Python wrappers, a copy of every
    /// byte more in the Python thread that takes the upload, whose time is
    /// the upload's (on the test bed its CPU per GiB went up 4 %, and the
    /// upload was slower). The call has no overall timeout, but fails with
    /// [`Error::Stalled`] when Glance takes none of the data, or does not
    /// answer once it has it all, for the read timeout
    /// ([`crate::CloudConfig::read_timeout`]; the source being slow does
    /// not count). Since a stream cannot be sent
    /// twice, a 401 is not retried: the token is refreshed beforehand if it
    /// is about to expire. An error of the stream itself is reported as
    /// [`Error::Io`].
    pub async fn upload_stream<S, E>(
        &self,
        id: &str,
        stream: S,
        store: Option<&str>,
        size: Option<u64>,
    ) -> Result<()>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        let source_error: Arc<Mutex<Option<String>>> = Arc::default();
        let seen = source_error.clone();
        let stream = stream.map_err(move |e| {
            let e: Box<dyn std::error::Error + Send + Sync> = e.into();
            if let Ok(mut slot) = seen.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
            e
        });
        let watch = BodyWatch::new();
        let body = reqwest::Body::wrap_stream(watch.wrap(stream, size));
        let path = format!("{}/file", image_path(id));
        let sent = self.request_once(Method::PUT, &path, |r, _| {
            // The token is at hand: the request goes out.
            watch.begin();
            let mut r = r
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(body);
            if let Some(n) = size {
                r = r.header("x-openstack-image-size", n);
            }
            match store {
                Some(s) => r.header("X-Image-Meta-Store", s),
                None => r,
            }
        });
        let result = match http::read_timeout(self.auth().config()) {
            None => sent.await,
            Some(limit) => tokio::select! {
                r = sent => r,
                stall = watch.stalled(limit) => {
                    tracing::warn!(%id, limit = ?limit, "{}; abandoning the upload", stall.describe());
                    Err(Error::Stalled {
                        method: Method::PUT.to_string(),
                        url: self.url(&path),
                        what: stall.describe().to_string(),
                        limit,
                    })
                }
            },
        };
        match result {
            Ok(_) => {
                tracing::info!(%id, store = store.unwrap_or("default"), "uploaded image data");
                Ok(())
            }
            Err(e) => {
                let source = source_error.lock().ok().and_then(|mut s| s.take());
                match source {
                    Some(message) => Err(Error::Io {
                        context: format!("reading the data to upload to image {id}"),
                        source: std::io::Error::other(message),
                    }),
                    None => Err(e),
                }
            }
        }
    }

    /// Like [`Glance::upload_stream`], reading the data from `reader`.
    pub async fn upload_reader<R>(&self, id: &str, reader: R, store: Option<&str>) -> Result<()>
    where
        R: AsyncRead + Send + 'static,
    {
        let stream = tokio_util::io::ReaderStream::with_capacity(reader, 1 << 20);
        self.upload_stream(id, stream, store, None).await
    }

    /// `GET /v2/images/{id}/file`: the image's data as a stream (empty if
    /// the image has none). No overall timeout applies to the transfer,
    /// but the answer and each read of it must come within the read
    /// timeout ([`crate::CloudConfig::read_timeout`]), or the download
    /// fails with [`Error::Stalled`].
    pub async fn download(&self, id: &str) -> Result<ByteStream> {
        let path = format!("{}/file", image_path(id));
        let url = self.url(&path);
        let limit = http::read_timeout(self.auth().config());
        let sent = self.request(Method::GET, &path, None, |r| r);
        let response = match limit {
            None => sent.await?,
            Some(l) => tokio::time::timeout(l, sent)
                .await
                .map_err(|_| Error::Stalled {
                    method: Method::GET.to_string(),
                    url: url.clone(),
                    what: "Glance did not answer".into(),
                    limit: l,
                })??,
        };
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(Box::pin(futures_util::stream::empty()));
        }
        let failed_url = url.clone();
        let body = response
            .bytes_stream()
            .map_err(move |e| Error::connect(&Method::GET, &failed_url, &e));
        let Some(limit) = limit else {
            return Ok(Box::pin(body));
        };
        let body =
            futures_util::stream::unfold(Some((Box::pin(body), url)), move |state| async move {
                let (mut body, url) = state?;
                match tokio::time::timeout(limit, body.next()).await {
                    Ok(Some(item)) => Some((item, Some((body, url)))),
                    Ok(None) => None,
                    // The stream ends with this error.
                    Err(_) => Some((
                        Err(Error::Stalled {
                            method: Method::GET.to_string(),
                            url,
                            what: "Glance sent no more of the data".into(),
                            limit,
                        }),
                        None,
                    )),
                }
            });
        Ok(Box::pin(body))
    }

    /// Polls the image until its status is one of `wanted`, and returns
    /// it. Fails with [`Error::ImageFailed`] if it becomes `killed`,
    /// `deleted` or `pending_delete` (or disappears), and with
    /// [`Error::Timeout`] after `timeout`. Transient failures of a poll
    /// (connection errors, HTTP 5xx) are logged and polled again.
    pub async fn wait_for_status(
        &self,
        id: &str,
        wanted: &[&str],
        timeout: Duration,
    ) -> Result<Image> {
        let mut wait = StatusWait::new(id, wanted, timeout);
        loop {
            if let Some(image) = wait.judge(self.show_image(id).await)? {
                return Ok(image);
            }
            wait.pause().await?;
        }
    }
}

/// One waiter's side of waiting for an image status: what each look at
/// the image means, and the pauses between looks (short at first - a
/// location import turns the image active within a few hundred
/// milliseconds - then backing off to spare Glance when many uploads wait
/// at once).
#[derive(Debug)]
pub(crate) struct StatusWait<'a> {
    id: &'a str,
    wanted: &'a [&'a str],
    timeout: Duration,
    start: Instant,
    interval: Duration,
    last_status: String,
}

impl<'a> StatusWait<'a> {
    pub(crate) fn new(id: &'a str, wanted: &'a [&'a str], timeout: Duration) -> StatusWait<'a> {
        StatusWait {
            id,
            wanted,
            timeout,
            start: Instant::now(),
            interval: Duration::from_millis(100),
            last_status: "unknown".to_string(),
        }
    }

    /// The image when `look` shows a wanted status, `None` to look again,
    /// or the error that ends the wait.
    pub(crate) fn judge(&mut self, look: Result<Image>) -> Result<Option<Image>> {
        let expected = || self.wanted.join(", ");
        match look {
            Ok(image) => {
                if self.wanted.iter().any(|w| *w == image.status) {
                    return Ok(Some(image));
                }
                if FAILED_STATUSES.contains(&image.status.as_str()) {
                    return Err(Error::ImageFailed {
                        id: self.id.to_string(),
                        status: image.status,
                        expected: expected(),
                    });
                }
                if image.status != self.last_status {
                    tracing::debug!(id = %self.id, status = %image.status, "image status");
                }
                self.last_status = image.status;
                Ok(None)
            }
            Err(e) if e.is_not_found() => Err(Error::ImageFailed {
                id: self.id.to_string(),
                status: "deleted (no longer found)".into(),
                expected: expected(),
            }),
            Err(e @ (Error::Connect { .. } | Error::Http { status: 500.., .. })) => {
                tracing::warn!(id = %self.id, error = %e, "polling the image failed; trying again");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Sleeps until the next look, or fails with [`Error::Timeout`].
    pub(crate) async fn pause(&mut self) -> Result<()> {
        let waited = self.start.elapsed();
        if waited >= self.timeout {
            return Err(Error::Timeout {
                id: self.id.to_string(),
                status: self.last_status.clone(),
                expected: self.wanted.join(", "),
                waited,
            });
        }
        tokio::time::sleep(self.interval.min(self.timeout - waited)).await;
        self.interval = (self.interval * 3 / 2).min(Duration::from_secs(1));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_image_body() {
        let mut img = NewImage::raw("vol").property("os_glance_x", "1");
        img.id = Some("6f1c...".into());
        img.visibility = Some("private".into());
        assert_eq!(
            serde_json::to_value(&img).unwrap(),
            json!({"id": "6f1c...", "name": "vol", "disk_format": "raw",
                   "container_format": "bare", "visibility": "private", "os_glance_x": "1"})
        );
        assert_eq!(
            serde_json::to_value(NewImage::default()).unwrap(),
            json!({})
        );
    }

    #[test]
    fn parses_an_image() {
        let image: Image = serde_json::from_value(json!({
            "id": "abc", "name": "n", "status": "active", "size": 3145728,
            "disk_format": "raw", "container_format": "bare", "visibility": "shared",
            "checksum": null, "os_hash_algo": null, "os_hash_value": null,
            "direct_url": "rbd://f/images/abc/snap", "stores": "ceph,other",
            "protected": false, "tags": [], "min_disk": 0, "min_ram": 0,
            "owner": "p", "self": "/v2/images/abc", "cinder_volume": "v1",
            "virtual_size": null, "locations": [{"url": "rbd://f/images/abc/snap",
                "metadata": {"store": "ceph"}}]
        }))
        .unwrap();
        assert_eq!(image.status, "active");
        assert_eq!(image.size, Some(3 << 20));
        assert_eq!(image.store_ids(), vec!["ceph", "other"]);
        assert_eq!(image.property("cinder_volume"), Some("v1"));
        assert_eq!(image.locations[0].metadata["store"], "ceph");
        assert_eq!(image.virtual_size, None);
    }
}
