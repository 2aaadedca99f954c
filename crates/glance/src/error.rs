//! The crate's one error type, and the extraction of a readable message from
//! the bodies of Keystone's and Glance's error responses.

use std::path::PathBuf;
use std::time::Duration;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to Keystone or Glance.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cloud configuration is incomplete or contradictory.
    #[error("cloud configuration: {0}")]
    Config(String),

    /// A configuration file (clouds.yaml, secure.yaml, a CA bundle) could not
    /// be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },

    /// A clouds.yaml/secure.yaml file is not valid YAML of the expected shape.
    #[error("cannot parse {}: {message}", path.display())]
    ParseConfig {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },

    /// The TLS settings (CA bundle, client construction) are unusable.
    #[error("TLS setup: {0}")]
    Tls(String),

    /// The request never got an HTTP answer: the server could not be reached,
    /// the connection broke, or the request timed out.
    #[error("{method} {url}: cannot reach the server: {message}")]
    Connect {
        /// The HTTP method.
        method: String,
        /// The URL requested.
        url: String,
        /// What failed, with its causes.
        message: String,
    },

    /// A transfer of image data made no progress for the read timeout
    /// ([`crate::CloudConfig::read_timeout`]): Glance took none of the
    /// data, did not answer once it had it all, or sent nothing of a
    /// download. The request was abandoned.
    #[error("{method} {url}: {what} for {} s (the read timeout); the transfer was abandoned", limit.as_secs_f64())]
    Stalled {
        /// The HTTP method.
        method: String,
        /// The URL requested.
        url: String,
        /// What the server did not do.
        what: String,
        /// The read timeout that passed.
        limit: Duration,
    },

    /// The server answered with an HTTP error status.
    #[error("{method} {url}: HTTP {status}: {message}")]
    Http {
        /// The HTTP method.
        method: String,
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The server's message, extracted from its HTML or JSON body.
        message: String,
    },

    /// The server answered with a success status but a body or headers this
    /// client could not understand.
    #[error("{method} {url}: unexpected response: {message}")]
    InvalidResponse {
        /// The HTTP method.
        method: String,
        /// The URL requested.
        url: String,
        /// What was wrong with the answer.
        message: String,
    },

    /// The service catalog has no endpoint that matches.
    #[error("service catalog: {0}")]
    Catalog(String),

    /// An image reached a status it cannot leave towards the one waited for.
    #[error("image {id} became {status} while waiting for {expected}")]
    ImageFailed {
        /// The image id.
        id: String,
        /// The status it reached (`killed`, `deleted`, ...).
        status: String,
        /// The statuses that were waited for, comma separated.
        expected: String,
    },

    /// An image did not reach the wanted status in time.
    #[error("image {id} is still {status} after {waited:?} (waiting for {expected})")]
    Timeout {
        /// The image id.
        id: String,
        /// Its last status seen.
        status: String,
        /// The statuses that were waited for, comma separated.
        expected: String,
        /// How long the wait lasted.
        waited: Duration,
    },

    /// Reading the data to upload, or the downloaded data, failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// The HTTP status of an [`Error::Http`], if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether this is an HTTP 404 answer.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether this is an HTTP 401 answer.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// Whether this is an HTTP 409 answer (the image is busy, or in a state
    /// that forbids the request).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// An [`Error::Connect`] for a transport error of `method url`, with the
    /// whole chain of causes (reqwest's own message is terse).
    pub(crate) fn connect(method: &reqwest::Method, url: &str, err: &reqwest::Error) -> Error {
        let mut message = if err.is_timeout() {
            "timed out".to_string()
        } else if err.is_connect() {
            "connection failed".to_string()
        } else {
            err.to_string()
        };
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        Error::Connect {
            method: method.to_string(),
            url: url.to_string(),
            message,
        }
    }
}

/// The longest server message kept in an error, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// Extracts a readable message from the body of an HTTP error response.
///
/// JSON bodies give their `error.message` (Keystone), `message`, `detail`,
/// `title` or `faultstring` (other OpenStack services); HTML and text bodies
/// (Glance's webob pages) give their text without tags, without the
/// `<head>` and without a leading repetition of the status line
/// (`404 Not Found`). Whitespace is collapsed and the result truncated to
/// [`MAX_MESSAGE_CHARS`]. An empty body gives the status's reason phrase.
pub fn extract_message(status: u16, body: &str) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => json_message(&v).unwrap_or_else(|| collapse(body)),
        Err(_) => {
            let text = collapse(&strip_tags(body));
            strip_status_line(&text, status, reason).to_string()
        }
    };
    let text = if text.is_empty() {
        if reason.is_empty() {
            "no message".to_string()
        } else {
            reason.to_string()
        }
    } else {
        text
    };
    truncate(&text, MAX_MESSAGE_CHARS)
}

fn json_message(v: &serde_json::Value) -> Option<String> {
    let str_at = |v: &serde_json::Value, key: &str| -> Option<String> {
        v.get(key)
            .and_then(|m| m.as_str())
            .map(collapse)
            .filter(|m| !m.is_empty())
    };
    if let Some(err) = v.get("error") {
        if let Some(s) = err.as_str() {
            return Some(collapse(s));
        }
        if let Some(m) = str_at(err, "message") {
            return Some(m);
        }
    }
    for key in ["message", "detail", "faultstring", "title"] {
        if let Some(m) = str_at(v, key) {
            return Some(m);
        }
    }
    // Some services wrap the fault in a single-key object:
    // {"itemNotFound": {"message": ..., "code": 404}}.
    if let Some(obj) = v.as_object() {
        if obj.len() == 1 {
            if let Some(inner) = obj.values().next() {
                if let Some(m) = str_at(inner, "message") {
                    return Some(m);
                }
            }
        }
    }
    None
}

/// Removes HTML tags, the `<head>` element and `<script>`/`<style>`
/// contents, turning `<br>` and block ends into spaces, and decoding the
/// common entities.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    let bytes = html.as_bytes();
    // Elements whose text is not message, and whether a search for their
    // close tag already failed: none lies further on either, so it is not
    // searched again (each search either fails once or is skipped past:
    // linear in the body, not quadratic).
    let mut skip = [
        ("<head", "</head>", true),
        ("<script", "</script>", true),
        ("<style", "</style>", true),
    ];
    while i < bytes.len() {
        if bytes[i] == b'<' {
            let mut skipped = false;
            for (open, close, may_close) in skip.iter_mut() {
                if *may_close && lower[i..].starts_with(*open) {
                    match lower[i..].find(*close) {
                        Some(end) => {
                            i += end + close.len();
                            skipped = true;
                            break;
                        }
                        None => *may_close = false,
                    }
                }
            }
            if skipped {
                out.push(' ');
                continue;
            }
            match html[i..].find('>') {
                Some(end) => {
                    i += end + 1;
                    out.push(' ');
                }
                None => break,
            }
        } else {
            let next = html[i..].find('<').map_or(html.len(), |n| i + n);
            out.push_str(&html[i..next]);
            i = next;
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn strip_status_line<'a>(text: &'a str, status: u16, reason: &str) -> &'a str {
    let code = status.to_string();
    let Some(rest) = text.strip_prefix(&code) else {
        return text;
    };
    let rest = rest.trim_start();
    // The server's own reason phrase may differ in case ("UNAUTHORIZED").
    if !reason.is_empty()
        && rest.len() >= reason.len()
        && rest.is_char_boundary(reason.len())
        && rest[..reason.len()].eq_ignore_ascii_case(reason)
    {
        let after = rest[reason.len()..].trim_start();
        if !after.is_empty() {
            return after;
        }
    }
    text
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((idx, _)) => format!("{}...", &s[..idx]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_tags_is_linear_in_the_body() {
        // Each `<head` without a close tag made strip_tags search the rest
        // of the body again: quadratic (minutes for 1 MiB).
        for unit in ["<head>", "<script x>", "<style>", "<b>"] {
            let body = unit.repeat((1 << 20) / unit.len());
            let started = std::time::Instant::now();
            let m = extract_message(502, &body);
            let took = started.elapsed();
            assert!(
                took < std::time::Duration::from_secs(5),
                "{unit:?}: {took:?}"
            );
            assert!(m.chars().count() <= MAX_MESSAGE_CHARS + 3);
        }
    }

    #[test]
    fn keystone_json_error() {
        let body = r#"{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}"#;
        assert_eq!(
            extract_message(401, body),
            "The request you have made requires authentication."
        );
    }

    #[test]
    fn glance_html_error() {
        let body = "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  No image found with ID 00000000-0000-0000-0000-000000000000<br /><br />\n\n\n\n </body>\n</html>";
        assert_eq!(
            extract_message(404, body),
            "No image found with ID 00000000-0000-0000-0000-000000000000"
        );
    }

    #[test]
    fn glance_html_error_with_two_lines() {
        let body = "<html><head><title>415 Unsupported Media Type</title></head><body><h1>415 Unsupported Media Type</h1>The request media type is not supported.<br /><br />\nImage PATCH expects Content-Type one of: a, b</body></html>";
        assert_eq!(
            extract_message(415, body),
            "The request media type is not supported. Image PATCH expects Content-Type one of: a, b"
        );
    }

    #[test]
    fn plain_text_and_other_json_shapes() {
        assert_eq!(
            extract_message(409, "409 Conflict\n\nImage is in use.\n  "),
            "Image is in use."
        );
        assert_eq!(
            extract_message(
                400,
                r#"{"message": "bad  thing", "code": "400 Bad Request"}"#
            ),
            "bad thing"
        );
        assert_eq!(
            extract_message(404, r#"{"itemNotFound": {"message": "gone", "code": 404}}"#),
            "gone"
        );
        assert_eq!(extract_message(503, ""), "Service Unavailable");
        assert_eq!(extract_message(500, "   "), "Internal Server Error");
        // A status line alone is kept rather than emptied.
        assert_eq!(extract_message(404, "404 Not Found"), "404 Not Found");
        assert_eq!(
            extract_message(401, "401 UNAUTHORIZED\n\nbad token"),
            "bad token"
        );
    }

    #[test]
    fn entities_and_scripts() {
        let body = "<p>a &amp; b &lt;c&gt;</p><script>var x = 1;</script><style>p{}</style>";
        assert_eq!(extract_message(400, body), "a & b <c>");
    }

    #[test]
    fn long_messages_are_truncated() {
        let body = "é".repeat(2000);
        let m = extract_message(500, &body);
        assert_eq!(m.chars().count(), MAX_MESSAGE_CHARS + 3);
        assert!(m.ends_with("..."));
    }

    #[test]
    fn unterminated_tag_does_not_panic() {
        assert_eq!(extract_message(500, "oops <b"), "oops");
        assert_eq!(extract_message(500, "<head>x"), "x");
        assert_eq!(extract_message(500, "<"), "Internal Server Error");
    }

    #[test]
    fn status_helpers() {
        let e = Error::Http {
            method: "GET".into(),
            url: "http://x/v2/images/y".into(),
            status: 404,
            message: "No image".into(),
        };
        assert!(e.is_not_found());
        assert!(!e.is_unauthorized());
        assert_eq!(
            e.to_string(),
            "GET http://x/v2/images/y: HTTP 404: No image"
        );
    }
}
