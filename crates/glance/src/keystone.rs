//! Keystone v3 authentication: the token request for each method (or, for
//! a given token with no project to scope to, Keystone's description of
//! that token), and a [`Keystone`] session that keeps its token,
//! re-authenticates shortly before the token expires, and on demand after
//! a 401.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::{Client, Method};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::catalog::Catalog;
use crate::config::{AuthType, CloudConfig};
use crate::error::{Error, Result};
use crate::http;
use crate::secret::Secret;

/// How long before its expiry a token is replaced (at most half its
/// lifetime).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(120);

/// A Keystone token with what came with it.
#[derive(Clone)]
pub struct Token {
    value: Secret,
    expires_at: Option<String>,
    /// When the token stops being valid, on this host's monotonic clock
    /// (from Keystone's `expires_at - issued_at`, so clock skew between
    /// the hosts does not matter).
    deadline: Option<Instant>,
    lifetime: Option<Duration>,
    project_id: Option<String>,
    user_id: Option<String>,
    roles: Vec<String>,
    catalog: Catalog,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("project_id", &self.project_id)
            .field("user_id", &self.user_id)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// The token itself, for the `X-Auth-Token` header.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Keystone's `expires_at`, as it sent it.
    pub fn expires_at(&self) -> Option<&str> {
        self.expires_at.as_deref()
    }

    /// The time left before the token expires, if Keystone said when.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Whether the token expires within [`REFRESH_MARGIN`] (or within half
    /// its lifetime, for short-lived tokens).
    pub fn needs_refresh(&self) -> bool {
        let margin = self
            .lifetime
            .map_or(REFRESH_MARGIN, |l| REFRESH_MARGIN.min(l / 2));
        self.remaining().is_some_and(|r| r <= margin)
    }

    /// The project the token is scoped to.
    pub fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    /// The user the token is for.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// The names of the user's roles in the token's scope.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }

    /// Whether the token carries role `name` (`service`, `admin`, ...).
    pub fn has_role(&self, name: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(name))
    }

    /// The service catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }
}

/// An authenticated session with Keystone: the HTTP client, the
/// configuration and the current token.
pub struct Keystone {
    http: Client,
    config: CloudConfig,
    auth_url: String,
    token: Mutex<Option<Arc<Token>>>,
}

impl fmt::Debug for Keystone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystone")
            .field("auth_url", &self.auth_url)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Keystone {
    /// A session for `config` (checked with [`CloudConfig::validate`]),
    /// with an HTTP client built from its TLS settings. No request is made
    /// before the first [`Keystone::token`].
    pub fn new(config: CloudConfig) -> Result<Keystone> {
        let http = http::build_client(&config)?;
        Keystone::with_client(config, http)
    }

    /// Like [`Keystone::new`] with a client of the caller's.
    pub fn with_client(config: CloudConfig, http: Client) -> Result<Keystone> {
        config.validate()?;
        let auth_url = normalize_auth_url(config.auth_url.as_deref().unwrap_or_default())?;
        Ok(Keystone {
            http,
            config,
            auth_url,
            token: Mutex::new(None),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CloudConfig {
        &self.config
    }

    /// The HTTP client, shared with the Glance client.
    pub fn http(&self) -> &Client {
        &self.http
    }

    /// Keystone's v3 URL.
    pub fn auth_url(&self) -> &str {
        &self.auth_url
    }

    /// The timeout of API calls.
    pub fn api_timeout(&self) -> Duration {
        self.config.api_timeout.unwrap_or(http::DEFAULT_API_TIMEOUT)
    }

    /// The current token, authenticating first if there is none or it is
    /// about to expire.
    pub async fn token(&self) -> Result<Arc<Token>> {
        let mut current = self.token.lock().await;
        if let Some(token) = current.as_ref() {
            if !token.needs_refresh() {
                return Ok(token.clone());
            }
            tracing::debug!(remaining = ?token.remaining(), "token about to expire; re-authenticating");
        }
        let token = Arc::new(self.request_token().await?);
        *current = Some(token.clone());
        Ok(token)
    }

    /// Authenticates anew, replacing the current token.
    pub async fn reauthenticate(&self) -> Result<Arc<Token>> {
        let mut current = self.token.lock().await;
        let token = Arc::new(self.request_token().await?);
        *current = Some(token.clone());
        Ok(token)
    }

    /// Forgets `stale` (a token a service refused with 401) if it is still
    /// the current one, so that the next [`Keystone::token`]
    /// authenticates again.
    pub async fn invalidate(&self, stale: &Token) {
        let mut current = self.token.lock().await;
        if current.as_ref().is_some_and(|t| t.value == stale.value) {
            *current = None;
        }
    }

    /// The URL of the endpoint of `service_type` from the catalog, with the
    /// configured interface and region.
    pub async fn endpoint(&self, service_type: &str) -> Result<String> {
        let token = self.token().await?;
        token.catalog.endpoint(
            service_type,
            self.config.interface,
            self.config.region_name.as_deref(),
        )
    }

    async fn request_token(&self) -> Result<Token> {
        if reuses_token(&self.config) {
            return self.validate_given_token().await;
        }
        let url = format!("{}/auth/tokens", self.auth_url);
        let body = auth_request(&self.config)?;
        tracing::debug!(%url, method = %self.config.effective_auth_type(), "authenticating");
        let result = self
            .send_retrying(|| self.http.post(&url).timeout(self.api_timeout()).json(&body))
            .await;
        let response = with_note(result, |_| Some(describe_identity(&self.config)))?;
        let value = response
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(Secret::from)
            .ok_or_else(|| Error::InvalidResponse {
                method: "POST".into(),
                url: url.clone(),
                message: "no X-Subject-Token header".into(),
            })?;
        let body: TokenBody = http::json(&Method::POST, &url, response).await?;
        let token = token_from_body(value, body.token, Instant::now(), SystemTime::now());
        tracing::info!(
            project = token.project_id().unwrap_or("-"),
            expires_at = token.expires_at().unwrap_or("-"),
            "authenticated to Keystone"
        );
        Ok(token)
    }

    /// Sends the request `build` makes, again after a transient failure
    /// (at most [`http::TRANSIENT_RETRIES`] times).
    async fn send_retrying(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let mut attempt = 0;
        loop {
            let result = http::send(&self.http, build()).await;
            match &result {
                Err(e) if http::is_transient(e) && attempt < http::TRANSIENT_RETRIES => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "Keystone failed; trying again");
                    tokio::time::sleep(http::retry_delay(attempt)).await;
                }
                _ => return result,
            }
        }
    }

    /// The given token itself, as Keystone describes it (`GET
    /// /v3/auth/tokens`: its scope, roles, catalog and expiry): token
    /// authentication without a project to scope to uses the token as it
    /// is, so that the commands sharing one token need no new token each
    /// (nor Keystone a password check each, nor Glance a validation each).
    async fn validate_given_token(&self) -> Result<Token> {
        let url = format!("{}/auth/tokens", self.auth_url);
        let given = self
            .config
            .token
            .clone()
            .ok_or_else(|| Error::Config("token (OS_TOKEN) is not set".into()))?;
        tracing::debug!(%url, "using the given token as it is");
        let result = self
            .send_retrying(|| {
                self.http
                    .get(&url)
                    .timeout(self.api_timeout())
                    .header("X-Auth-Token", given.expose())
                    .header("X-Subject-Token", given.expose())
            })
            .await;
        let response = with_note(result, |status| {
            matches!(status, 401 | 403 | 404).then(|| {
                format!(
                    "Keystone does not accept the given token (OS_TOKEN): it has expired or was revoked; issue a new one{}",
                    self.config
                        .cloud
                        .as_deref()
                        .map(|c| format!(", cloud {c}"))
                        .unwrap_or_default()
                )
            })
        })?;
        let body: TokenBody = http::json(&Method::GET, &url, response).await?;
        let token = given_token_from_body(given, body.token, Instant::now(), SystemTime::now());
        if token.project_id().is_none() {
            return Err(Error::Config(
                "the given token (OS_TOKEN) is not scoped to a project, and Glance needs one: issue a project-scoped token, or set OS_PROJECT_NAME (or OS_PROJECT_ID) to have it exchanged for one".into(),
            ));
        }
        tracing::info!(
            project = token.project_id().unwrap_or("-"),
            expires_at = token.expires_at().unwrap_or("-"),
            "using the given Keystone token"
        );
        Ok(token)
    }
}

/// `result`, with the note `note` gives for an HTTP error's status (if
/// any) appended to the error's message in parentheses.
fn with_note(
    result: Result<reqwest::Response>,
    note: impl FnOnce(u16) -> Option<String>,
) -> Result<reqwest::Response> {
    match result {
        Err(Error::Http {
            method,
            url,
            status,
            message,
        }) => {
            let message = match note(status) {
                Some(n) => format!("{message} ({n})"),
                None => message,
            };
            Err(Error::Http {
                method,
                url,
                status,
                message,
            })
        }
        other => other,
    }
}

/// Whether `c` has the given token used as it is rather than exchanged:
/// token authentication with no project configured (an exchange without a
/// scope would only give an unscoped token, which Glance refuses).
pub fn reuses_token(c: &CloudConfig) -> bool {
    c.effective_auth_type() == AuthType::Token && scope(c).is_none()
}

/// Keystone's answer, the parts used.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenBody {
    pub(crate) token: TokenInfo,
}

/// The token's description in Keystone's answer.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenInfo {
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    issued_at: Option<String>,
    #[serde(default)]
    project: Option<IdOnly>,
    #[serde(default)]
    user: Option<IdOnly>,
    #[serde(default)]
    roles: Vec<NameOnly>,
    #[serde(default)]
    catalog: Catalog,
}

#[derive(Debug, Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Debug, Deserialize)]
struct NameOnly {
    name: String,
}

pub(crate) fn token_from_body(
    value: Secret,
    info: TokenInfo,
    now: Instant,
    wall: SystemTime,
) -> Token {
    let expires = info.expires_at.as_deref().and_then(parse_timestamp);
    let issued = info.issued_at.as_deref().and_then(parse_timestamp);
    // A span too long for a Duration or an Instant (an expiry far in the
    // future) is no deadline: the token never needs a refresh.
    let span = |secs: f64| Duration::try_from_secs_f64(secs.max(0.0)).ok();
    let (deadline, lifetime) = match (expires, issued) {
        (Some(e), Some(i)) => {
            let lifetime = span(e - i);
            (lifetime.and_then(|l| now.checked_add(l)), lifetime)
        }
        (Some(e), None) => {
            let now_secs = wall
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            (span(e - now_secs).and_then(|l| now.checked_add(l)), None)
        }
        _ => (None, None),
    };
    Token {
        value,
        expires_at: info.expires_at,
        deadline,
        lifetime,
        project_id: info.project.map(|p| p.id),
        user_id: info.user.map(|u| u.id),
        roles: info.roles.into_iter().map(|r| r.name).collect(),
        catalog: info.catalog,
    }
}

/// A token given by the user, as [`token_from_body`] makes it but with
/// its deadline from its `expires_at` and this host's clock: its
/// `issued_at` may lie long before now.
pub(crate) fn given_token_from_body(
    value: Secret,
    info: TokenInfo,
    now: Instant,
    wall: SystemTime,
) -> Token {
    let info = TokenInfo {
        issued_at: None,
        ..info
    };
    token_from_body(value, info, now, wall)
}

/// Seconds since the epoch of an ISO 8601 / RFC 3339 UTC time as Keystone
/// writes it (`2026-11-25T15:24:03.000000Z`; an offset `+hh:mm` or none is
/// accepted too).
pub fn parse_timestamp(s: &str) -> Option<f64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    // RFC 3339 years have four digits: no arithmetic below can overflow.
    if !(0..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Split off the zone: `Z`, `+hh:mm`, `-hh:mm` or nothing (UTC).
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0i64)
    } else if let Some(pos) = time.rfind(['+', '-']) {
        let (c, z) = time.split_at(pos);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let z = &z[1..];
        let (h, m) = z.split_once(':').unwrap_or((z, "0"));
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
            return None;
        }
        (c, sign * (h * 3600 + m * 60))
    } else {
        (time, 0)
    };
    let mut t = clock.splitn(3, ':');
    let hour: i64 = t.next()?.parse().ok()?;
    let minute: i64 = t.next()?.parse().ok()?;
    let second: f64 = t.next().unwrap_or("0").parse().ok()?;
    if hour > 23 || minute > 59 || !(0.0..61.0).contains(&second) {
        return None;
    }
    // Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3600 + minute * 60 - offset) as f64 + second)
}

/// Adds `/v3` to an auth URL that names no version (as keystoneauth's
/// discovery would find it).
pub fn normalize_auth_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    if url.is_empty() {
        return Err(Error::Config("auth_url (OS_AUTH_URL) is empty".into()));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(Error::Config(format!(
            "auth_url {url:?} is not an http:// or https:// URL"
        )));
    }
    let last = url.rsplit('/').next().unwrap_or_default();
    if last == "v3" || last.starts_with("v3.") {
        Ok(url.to_string())
    } else if last.starts_with("v2") {
        Err(Error::Config(format!(
            "auth_url {url} is Keystone v2, which is not supported: use the v3 URL"
        )))
    } else {
        Ok(format!("{url}/v3"))
    }
}

/// Who is authenticating, for error messages (no secrets).
fn describe_identity(c: &CloudConfig) -> String {
    let user = c
        .user_id
        .as_deref()
        .map(|id| format!("user id {id}"))
        .or_else(|| c.username.as_deref().map(|n| format!("user {n}")));
    let project = c
        .project_id
        .as_deref()
        .map(|id| format!("project id {id}"))
        .or_else(|| c.project_name.as_deref().map(|n| format!("project {n}")));
    let mut s = format!("{} authentication", c.effective_auth_type());
    match c.effective_auth_type() {
        AuthType::ApplicationCredential => {
            if let Some(id) = &c.application_credential_id {
                s.push_str(&format!(" with application credential {id}"));
            } else if let Some(name) = &c.application_credential_name {
                s.push_str(&format!(" with application credential {name}"));
            }
        }
        _ => {
            if let Some(u) = user {
                s.push_str(&format!(" as {u}"));
            }
            if let Some(p) = project {
                s.push_str(&format!(" in {p}"));
            }
        }
    }
    if let Some(cloud) = &c.cloud {
        s.push_str(&format!(" (cloud {cloud})"));
    }
    s
}

fn domain(id: &Option<String>, name: &Option<String>) -> Option<Value> {
    match (id, name) {
        (Some(id), _) => Some(json!({ "id": id })),
        (None, Some(name)) => Some(json!({ "name": name })),
        (None, None) => None,
    }
}

/// The user object of a password or application-credential request: by id,
/// or by name within its domain.
fn user(c: &CloudConfig) -> Value {
    match &c.user_id {
        Some(id) => json!({ "id": id }),
        None => {
            let mut u = json!({ "name": c.username });
            if let Some(d) = domain(&c.user_domain_id, &c.user_domain_name) {
                u["domain"] = d;
            }
            u
        }
    }
}

/// The project scope, if a project is configured.
fn scope(c: &CloudConfig) -> Option<Value> {
    if let Some(id) = &c.project_id {
        return Some(json!({ "project": { "id": id } }));
    }
    let name = c.project_name.as_ref()?;
    let mut project = json!({ "name": name });
    if let Some(d) = domain(&c.project_domain_id, &c.project_domain_name) {
        project["domain"] = d;
    }
    Some(json!({ "project": project }))
}

/// The body of `POST /v3/auth/tokens` for `c`'s authentication method.
pub fn auth_request(c: &CloudConfig) -> Result<Value> {
    c.validate()?;
    let missing = |what: &str| Error::Config(format!("{what} is not set"));
    let mut auth = match c.effective_auth_type() {
        AuthType::Password => {
            let mut user = user(c);
            user["password"] = json!(c
                .password
                .as_ref()
                .ok_or_else(|| missing("password"))?
                .expose());
            json!({ "identity": { "methods": ["password"], "password": { "user": user } } })
        }
        AuthType::ApplicationCredential => {
            let secret = c
                .application_credential_secret
                .as_ref()
                .ok_or_else(|| missing("application_credential_secret"))?
                .expose();
            let cred = match &c.application_credential_id {
                Some(id) => json!({ "id": id, "secret": secret }),
                None => json!({
                    "name": c.application_credential_name,
                    "user": user(c),
                    "secret": secret,
                }),
            };
            // An application credential carries its own scope: asking for
            // one is an error.
            return Ok(json!({ "auth": {
                "identity": {
                    "methods": ["application_credential"],
                    "application_credential": cred,
                }
            }}));
        }
        AuthType::Token => {
            let token = c.token.as_ref().ok_or_else(|| missing("token"))?.expose();
            json!({ "identity": { "methods": ["token"], "token": { "id": token } } })
        }
    };
    match scope(c) {
        Some(s) => auth["scope"] = s,
        None => {
            tracing::warn!("no project configured: the token will be unscoped, without a catalog")
        }
    }
    Ok(json!({ "auth": auth }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password_config() -> CloudConfig {
        CloudConfig {
            auth_url: Some("http://k:5000/v3".into()),
            username: Some("uploader".into()),
            password: Some("pw".into()),
            user_domain_name: Some("Default".into()),
            project_name: Some("service".into()),
            project_domain_id: Some("default".into()),
            ..CloudConfig::default()
        }
    }

    #[test]
    fn password_body() {
        let body = auth_request(&password_config()).unwrap();
        assert_eq!(
            body,
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "uploader", "domain": {"name": "Default"}, "password": "pw"}}},
                "scope": {"project": {"name": "service", "domain": {"id": "default"}}}
            }})
        );
        let c = CloudConfig {
            user_id: Some("uid".into()),
            project_id: Some("pid".into()),
            ..password_config()
        };
        assert_eq!(
            auth_request(&c).unwrap(),
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "id": "uid", "password": "pw"}}},
                "scope": {"project": {"id": "pid"}}
            }})
        );
    }

    #[test]
    fn application_credential_bodies() {
        let c = CloudConfig {
            auth_url: Some("http://k/v3".into()),
            application_credential_id: Some("acid".into()),
            application_credential_secret: Some("sec".into()),
            project_name: Some("ignored".into()),
            ..CloudConfig::default()
        };
        assert_eq!(
            auth_request(&c).unwrap(),
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": "acid", "secret": "sec"}}}})
        );
        let c = CloudConfig {
            auth_url: Some("http://k/v3".into()),
            application_credential_name: Some("mycred".into()),
            application_credential_secret: Some("sec".into()),
            username: Some("u".into()),
            user_domain_id: Some("default".into()),
            ..CloudConfig::default()
        };
        assert_eq!(
            auth_request(&c).unwrap(),
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"name": "mycred",
                    "user": {"name": "u", "domain": {"id": "default"}}, "secret": "sec"}}}})
        );
    }

    #[test]
    fn token_body() {
        let c = CloudConfig {
            auth_url: Some("http://k/v3".into()),
            token: Some("tok".into()),
            project_id: Some("pid".into()),
            ..CloudConfig::default()
        };
        assert_eq!(
            auth_request(&c).unwrap(),
            json!({"auth": {
                "identity": {"methods": ["token"], "token": {"id": "tok"}},
                "scope": {"project": {"id": "pid"}}}})
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_timestamp("2026-11-25T15:24:03.000000Z"),
            Some(1_795_620_243.0)
        );
        assert_eq!(
            parse_timestamp("2026-11-25T16:24:03.5+01:00"),
            Some(1_795_620_243.5)
        );
        assert_eq!(parse_timestamp("2000-02-29T00:00:00"), Some(951_782_400.0));
        assert_eq!(parse_timestamp("garbage"), None);
        assert_eq!(parse_timestamp("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn token_lifetime_and_refresh() {
        let info: TokenInfo = serde_json::from_value(json!({
            "expires_at": "2026-11-25T15:24:03.000000Z",
            "issued_at": "2026-11-25T14:24:03.000000Z",
            "project": {"id": "p", "name": "service"},
            "user": {"id": "u"},
            "roles": [{"id": "1", "name": "member"}, {"id": "2", "name": "service"}],
            "catalog": [],
        }))
        .unwrap();
        let now = Instant::now();
        let t = token_from_body("v".into(), info, now, SystemTime::now());
        assert_eq!(t.lifetime, Some(Duration::from_secs(3600)));
        assert!(!t.needs_refresh());
        assert!(t.has_role("service"));
        assert_eq!(t.project_id(), Some("p"));
        assert!(!format!("{t:?}").contains("\"v\""));

        // Five seconds left of a one-hour token: refresh.
        let info: TokenInfo = serde_json::from_value(json!({
            "expires_at": "2026-11-25T14:24:05Z",
            "issued_at": "2026-11-25T14:24:00Z",
        }))
        .unwrap();
        let t = token_from_body("v".into(), info, now, SystemTime::now());
        // Lifetime 5 s: margin is 2.5 s, not yet.
        assert!(!t.needs_refresh());
        let t = Token {
            deadline: Some(now + Duration::from_secs(5)),
            lifetime: Some(Duration::from_secs(3600)),
            ..t
        };
        assert!(t.needs_refresh());

        // Without issued_at, the wall clock decides.
        let info: TokenInfo =
            serde_json::from_value(json!({"expires_at": "1999-01-01T00:00:00Z"})).unwrap();
        let t = token_from_body("v".into(), info, now, SystemTime::now());
        assert!(t.needs_refresh());
        // Without expiry, never.
        let info: TokenInfo = serde_json::from_value(json!({})).unwrap();
        assert!(!token_from_body("v".into(), info, now, SystemTime::now()).needs_refresh());
    }

    #[test]
    fn an_expiry_far_in_the_future_panics_nowhere() {
        let now = Instant::now();
        for (expires, issued) in [
            ("9999999999-01-01T00:00:00Z", Some("2026-01-01T00:00:00Z")),
            ("9999999999-01-01T00:00:00Z", None),
            (
                "9223372036854775807-12-31T23:59:59Z",
                Some("2026-01-01T00:00:00Z"),
            ),
            ("2026-01-01T00:00:00+9223372036854775807:00", None),
            ("2026-01-01T00:00:1e300Z", None),
            (
                "9999-12-31T23:59:59Z",
                Some("-9223372036854775807-01-01T00:00:00Z"),
            ),
        ] {
            let info: TokenInfo =
                serde_json::from_value(json!({"expires_at": expires, "issued_at": issued}))
                    .unwrap();
            let r = std::panic::catch_unwind(|| {
                let t = token_from_body("v".into(), info, now, SystemTime::now());
                t.needs_refresh()
            });
            assert_eq!(r.ok(), Some(false), "{expires} / {issued:?}");
        }
    }

    #[test]
    fn auth_urls() {
        assert_eq!(
            normalize_auth_url("http://k:5000/v3/").unwrap(),
            "http://k:5000/v3"
        );
        assert_eq!(
            normalize_auth_url("http://k:5000").unwrap(),
            "http://k:5000/v3"
        );
        assert_eq!(
            normalize_auth_url("https://k/identity").unwrap(),
            "https://k/identity/v3"
        );
        assert!(normalize_auth_url("http://k:5000/v2.0").is_err());
        assert!(normalize_auth_url("k:5000").is_err());
    }

    #[test]
    fn identity_description_has_no_secret() {
        let d = describe_identity(&password_config());
        assert_eq!(
            d,
            "password authentication as user uploader in project service"
        );
    }
}
