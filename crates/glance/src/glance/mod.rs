//! The Glance v2 client: the endpoint, and authenticated requests that
//! re-authenticate once when Glance answers 401. The calls themselves are
//! in [`stores`], [`images`] and [`locations`]; [`status_board`] shares
//! the status polls of many waiters.

pub mod images;
pub mod locations;
pub mod status_board;
pub mod stores;
mod watchdog;

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response};

use crate::error::Result;
use crate::http;
use crate::keystone::{Keystone, Token};

/// A Glance v2 client on a Keystone session.
#[derive(Debug, Clone)]
pub struct Glance {
    auth: Arc<Keystone>,
    endpoint: String,
}

impl Glance {
    /// A client for the Glance endpoint of the configuration's
    /// `image_endpoint_override`, or else of the catalog (service type
    /// `image`, the configured interface and region); authenticates if
    /// needed.
    pub async fn connect(auth: Arc<Keystone>) -> Result<Glance> {
        let endpoint = match &auth.config().image_endpoint_override {
            Some(url) => url.clone(),
            None => auth.endpoint("image").await?,
        };
        Ok(Glance::with_endpoint(auth, endpoint))
    }

    /// A client for the Glance at `endpoint` (with or without a trailing
    /// `/v2`).
    pub fn with_endpoint(auth: Arc<Keystone>, endpoint: impl Into<String>) -> Glance {
        let endpoint = normalize_endpoint(&endpoint.into());
        tracing::debug!(%endpoint, "Glance endpoint");
        Glance { auth, endpoint }
    }

    /// Glance's base URL (without `/v2`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The Keystone session.
    pub fn auth(&self) -> &Arc<Keystone> {
        &self.auth
    }

    /// The URL of API path `path` (starting with `/v2/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint)
    }

    /// Sends an authenticated request built by `build` from a
    /// [`RequestBuilder`] of `method` on `path`; on a 401 the token is
    /// dropped and the request built and sent once more with a new one. A
    /// `GET` that fails transiently (connection, HTTP 500/502/503/504) is
    /// tried again, twice at most.
    /// `timeout` bounds the whole exchange (None: no bound).
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        timeout: Option<Duration>,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response> {
        let url = self.url(path);
        let mut retried = false;
        let mut transient_retries = 0;
        let idempotent = method == Method::GET || method == Method::HEAD;
        loop {
            let token = self.auth.token().await?;
            let mut request = self.with_service_token(
                self.auth
                    .http()
                    .request(method.clone(), &url)
                    .header("X-Auth-Token", token.value()),
            );
            if let Some(t) = timeout {
                request = request.timeout(t);
            }
            match http::send(self.auth.http(), build(request)).await {
                Err(e) if e.is_unauthorized() && !retried => {
                    tracing::info!(%method, %url, "Glance refused the token; re-authenticating");
                    self.auth.invalidate(&token).await;
                    retried = true;
                }
                Err(e)
                    if idempotent
                        && http::is_transient(&e)
                        && transient_retries < http::TRANSIENT_RETRIES =>
                {
                    transient_retries += 1;
                    tracing::warn!(%method, %url, error = %e, "transient failure; trying again");
                    tokio::time::sleep(http::retry_delay(transient_retries)).await;
                }
                other => return other,
            }
        }
    }

    /// Sends a request whose body cannot be built twice (a stream): with a
    /// token that is not about to expire, and without a retry on 401.
    pub(crate) async fn request_once(
        &self,
        method: Method,
        path: &str,
        build: impl FnOnce(RequestBuilder, &Token) -> RequestBuilder,
    ) -> Result<Response> {
        let url = self.url(path);
        let token = self.auth.token().await?;
        let request = self.with_service_token(
            self.auth
                .http()
                .request(method, &url)
                .header("X-Auth-Token", token.value()),
        );
        let request = build(request, &token);
        let result = http::send(self.auth.http(), request).await;
        if let Err(e) = &result {
            if e.is_unauthorized() {
                // The next call authenticates anew.
                self.auth.invalidate(&token).await;
            }
        }
        result
    }

    /// `request` with the configured service token, if any, as
    /// `X-Service-Token`.
    fn with_service_token(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.auth.config().service_token {
            Some(t) => request.header("X-Service-Token", t.expose()),
            None => request,
        }
    }

    /// `GET` of `path` with the configured service token as the request's
    /// own token (`X-Auth-Token`), the answer parsed as `T`: for what
    /// Glance shows only to its services (its stores' detail), when the
    /// user's token is refused. An error when no service token is set.
    pub(crate) async fn get_as_service<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T> {
        let url = self.url(path);
        let token =
            self.auth.config().service_token.as_deref().ok_or_else(|| {
                crate::error::Error::Config("no service token is configured".into())
            })?;
        let request = self
            .auth
            .http()
            .get(&url)
            .header("X-Auth-Token", token)
            .timeout(self.auth.api_timeout());
        let response = http::send(self.auth.http(), request).await?;
        http::json(&Method::GET, &url, response).await
    }

    /// A JSON API call: `GET`/`POST`/... of `path` with an optional JSON
    /// body, the answer parsed as `T`.
    pub(crate) async fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T> {
        let response = self
            .request(
                method.clone(),
                path,
                Some(self.auth.api_timeout()),
                |r| match body {
                    Some(b) => r.json(b),
                    None => r,
                },
            )
            .await?;
        http::json(&method, &self.url(path), response).await
    }
}

/// Removes a trailing `/` and a trailing `/v2` (catalogs list Glance both
/// ways).
pub fn normalize_endpoint(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    url.strip_suffix("/v2")
        .unwrap_or(url)
        .trim_end_matches('/')
        .to_string()
}

/// Escapes an image id (or any path segment) for use in a URL path.
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(normalize_endpoint("http://g:9292/"), "http://g:9292");
        assert_eq!(normalize_endpoint("http://g:9292/v2/"), "http://g:9292");
        assert_eq!(normalize_endpoint("https://g/image/v2"), "https://g/image");
    }

    #[test]
    fn segments() {
        assert_eq!(segment("0a1b-c_d.e~"), "0a1b-c_d.e~");
        assert_eq!(segment("a/b c?"), "a%2Fb%20c%3F");
    }
}
