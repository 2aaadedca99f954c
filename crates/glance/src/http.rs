//! The HTTP client (reqwest over rustls with the `ring` provider: no
//! OpenSSL, no C library to link at run time) and the helpers that turn
//! transport failures and HTTP error statuses into [`Error`]s.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Client, RequestBuilder, Response};

use crate::config::CloudConfig;
use crate::error::{extract_message, Error, Result};

/// How long establishing a TCP+TLS connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The timeout of an API call when the configuration sets none.
pub const DEFAULT_API_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a transfer of image data may go without progress when the
/// configuration does not say ([`CloudConfig::read_timeout`]): more than
/// the 30 s a Glance rbd store waits for a stalled OSD before it fails its
/// side of the upload itself.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The read timeout `config` asks for: its own, else
/// [`DEFAULT_READ_TIMEOUT`]; `None` when it is zero (no limit).
pub fn read_timeout(config: &CloudConfig) -> Option<Duration> {
    let t = config.read_timeout.unwrap_or(DEFAULT_READ_TIMEOUT);
    (!t.is_zero()).then_some(t)
}

/// How many times a request that failed transiently is tried again.
pub const TRANSIENT_RETRIES: u32 = 2;

/// Whether `e` may go away if the request is sent again: the server could
/// not be reached, or answered 500, 502, 503 or 504.
pub fn is_transient(e: &Error) -> bool {
    matches!(
        e,
        Error::Connect { .. }
            | Error::Http {
                status: 500 | 502 | 503 | 504,
                ..
            }
    )
}

/// The pause before retry number `attempt` (1, 2, ...).
pub fn retry_delay(attempt: u32) -> Duration {
    Duration::from_millis(500 * u64::from(attempt))
}

/// The most of an error body read to extract its message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Builds the HTTP client for `config`'s TLS settings: the system's roots
/// plus the PEM bundle of `cacert`, or no verification when `insecure`.
pub fn build_client(config: &CloudConfig) -> Result<Client> {
    // reqwest is built without a default crypto provider; make rustls's
    // `ring` provider the process default unless another one already is.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let base = || {
        Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(redirect_policy())
            .user_agent(concat!(
                "rbd-native-glance-client/",
                env!("CARGO_PKG_VERSION")
            ))
    };
    let mut builder = base();
    if let Some(path) = &config.cacert {
        let pem = std::fs::read(path).map_err(|source| Error::ReadFile {
            path: path.clone(),
            source,
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            Error::Tls(format!(
                "{} is not a PEM bundle of certificates: {e}",
                path.display()
            ))
        })?;
        if certs.is_empty() {
            return Err(Error::Tls(format!(
                "{} holds no PEM certificate",
                path.display()
            )));
        }
        tracing::debug!(cacert = %path.display(), count = certs.len(), "adding CA certificates");
        builder = builder.tls_certs_merge(certs);
    }
    if config.insecure {
        tracing::warn!("TLS certificate verification is disabled (insecure)");
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    match builder.build() {
        Ok(client) => Ok(client),
        // A minimal host may have no system CA store at all: plain HTTP
        // must still work, HTTPS then needs `cacert`.
        Err(e) if config.cacert.is_none() && !config.insecure => {
            tracing::warn!(
                error = %error_chain(&e),
                "no usable system CA certificates; HTTPS servers will need a cacert"
            );
            base()
                .tls_certs_only(Vec::new())
                .build()
                .map_err(|e| Error::Tls(error_chain(&e)))
        }
        Err(e) => Err(Error::Tls(error_chain(&e))),
    }
}

/// The most redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

/// Follows a redirect only to the origin (scheme, host and port) of the
/// request first sent, so that the token headers (`X-Auth-Token`,
/// `X-Service-Token`) and a Keystone password body go nowhere else, and
/// never from https down to http. reqwest's default follows 10 redirects
/// anywhere and strips only the standard `Authorization` and `Cookie`
/// headers. A redirect not followed comes back as the 3xx response, which
/// [`send`] reports as an error naming where it pointed.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| same_origin(first, attempt.url()));
        if !same {
            attempt.stop()
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    })
}

/// Whether `a` and `b` have the same scheme, host and port.
fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Sends `request` and returns the response if its status is a success;
/// transport failures become [`Error::Connect`] and error statuses
/// [`Error::Http`] with the server's message, both naming method and URL.
pub async fn send(client: &Client, request: RequestBuilder) -> Result<Response> {
    let request = request
        .build()
        .map_err(|e| Error::Config(error_chain(&e)))?;
    let method = request.method().clone();
    let url = request.url().to_string();
    tracing::debug!(%method, %url, "request");
    let response = client
        .execute(request)
        .await
        .map_err(|e| Error::connect(&method, &url, &e))?;
    tracing::debug!(%method, %url, status = response.status().as_u16(), "response");
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(http_error(&method, &url, response).await)
    }
}

/// The [`Error::Http`] for an error `response` to `method url`; a
/// redirect the client did not follow (see [`redirect_policy`]) says where
/// it pointed.
pub async fn http_error(method: &reqwest::Method, url: &str, response: Response) -> Error {
    let status = response.status().as_u16();
    if response.status().is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        return Error::Http {
            method: method.to_string(),
            url: url.to_string(),
            status,
            message: format!(
                "redirected to {to:?}, not followed: this client sends its credentials only \
                 to the scheme, host and port it was given (check the endpoint URL in the \
                 configuration or the Keystone catalog)"
            ),
        };
    }
    let body = read_limited(response, MAX_ERROR_BODY).await;
    Error::Http {
        method: method.to_string(),
        url: url.to_string(),
        status,
        message: extract_message(status, &body),
    }
}

/// Up to `limit` bytes of the body, as text; a body that breaks off gives
/// what was read.
async fn read_limited(response: Response, limit: usize) -> String {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// The most of a successful response's JSON body read: far more than
/// any Keystone catalog or page of Glance's API holds.
pub const MAX_JSON_BODY: usize = 16 << 20;

/// Reads a JSON body of a successful response to `method url`, at most
/// [`MAX_JSON_BODY`] bytes; a longer body is an
/// [`Error::InvalidResponse`].
pub async fn json<T: serde::de::DeserializeOwned>(
    method: &reqwest::Method,
    url: &str,
    response: Response,
) -> Result<T> {
    let invalid = |message: String| Error::InvalidResponse {
        method: method.to_string(),
        url: url.to_string(),
        message,
    };
    let too_long = || invalid(format!("a body larger than {MAX_JSON_BODY} bytes"));
    if response
        .content_length()
        .is_some_and(|n| n > MAX_JSON_BODY as u64)
    {
        return Err(too_long());
    }
    let mut bytes = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::connect(method, url, &e))?;
        if chunk.len() > MAX_JSON_BODY.saturating_sub(bytes.len()) {
            return Err(too_long());
        }
        bytes.extend_from_slice(&chunk);
    }
    parse_json(method, url, &bytes)
}

/// Parses `bytes`, the JSON body of a successful response to `method
/// url`, as `T`; a body that is not is an [`Error::InvalidResponse`]
/// with what the parser said and the start of the body.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    method: &reqwest::Method,
    url: &str,
    bytes: &[u8],
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        // The message is taken from the body's start only.
        let head = &bytes[..bytes.len().min(MAX_ERROR_BODY)];
        Error::InvalidResponse {
            method: method.to_string(),
            url: url.to_string(),
            message: format!(
                "{e}; body: {}",
                crate::error::extract_message(200, &String::from_utf8_lossy(head))
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn origins_differ_by_scheme_host_or_port() {
        let g = url("https://glance.example:9292/v2/images");
        assert!(same_origin(&g, &url("https://glance.example:9292/other?x")));
        assert!(!same_origin(
            &g,
            &url("http://glance.example:9292/v2/images")
        ));
        assert!(!same_origin(
            &g,
            &url("https://evil.example:9292/v2/images")
        ));
        assert!(!same_origin(
            &g,
            &url("https://glance.example:9293/v2/images")
        ));
        // A port written out or left to the scheme's default is the same.
        assert!(same_origin(
            &url("https://k.example/v3"),
            &url("https://k.example:443/v3/auth")
        ));
        assert!(!same_origin(
            &url("https://k.example/v3"),
            &url("http://k.example:443/v3")
        ));
    }
}
