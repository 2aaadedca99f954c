//! The cloud configuration: a plain [`CloudConfig`] struct, and a
//! [`ConfigLoader`] that fills it the way the `openstack` client does, from
//! `clouds.yaml` (and `secure.yaml`) and the `OS_*` environment variables.
//!
//! # Precedence
//!
//! As in python-openstackclient, where every `--os-*` option defaults to its
//! `OS_*` variable and those options override the selected cloud's
//! `clouds.yaml` entry, a non-empty `OS_*` variable overrides the value of
//! the same setting in `clouds.yaml`; empty variables count as unset. A
//! caller (a command line) can then override any field of the loaded
//! [`CloudConfig`] with its own flags, since the struct's fields are public.
//!
//! # Which clouds.yaml
//!
//! A cloud is read only when one is named, explicitly ([`ConfigLoader::cloud`])
//! or by `OS_CLOUD`. The first file that exists among
//! `$OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`,
//! `$XDG_CONFIG_HOME/openstack/clouds.yaml` (`~/.config/openstack/clouds.yaml`)
//! and `/etc/openstack/clouds.yaml` is used - openstacksdk's order: the file
//! named by the variable comes first. Secrets may live in a `secure.yaml`
//! beside it (`$OS_CLIENT_SECURE_FILE`, then the same directories), whose
//! entry is merged over the cloud's.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde_yaml_ng::{Mapping, Value};

use crate::error::{Error, Result};
use crate::secret::Secret;

/// How to authenticate to Keystone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// `password` / `v3password`: a user and password, scoped to a project.
    Password,
    /// `v3applicationcredential`: an application credential's id (or name
    /// and user) and secret; the credential carries its own project.
    ApplicationCredential,
    /// `token` / `v3token`: an existing token, used as it is when no
    /// project is configured, else exchanged for one scoped to the project.
    Token,
}

impl FromStr for AuthType {
    type Err = Error;

    fn from_str(s: &str) -> Result<AuthType> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "password" | "v3password" => Ok(AuthType::Password),
            "v3applicationcredential" | "applicationcredential" => {
                Ok(AuthType::ApplicationCredential)
            }
            "token" | "v3token" => Ok(AuthType::Token),
            _ => Err(Error::Config(format!(
                "unsupported auth type {s:?} (expected password, v3applicationcredential or token)"
            ))),
        }
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthType::Password => "password",
            AuthType::ApplicationCredential => "v3applicationcredential",
            AuthType::Token => "token",
        })
    }
}

/// Which of a service's endpoints to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interface {
    /// The public endpoint (the default).
    #[default]
    Public,
    /// The internal endpoint.
    Internal,
    /// The admin endpoint.
    Admin,
}

impl Interface {
    /// The name Keystone's catalog uses.
    pub fn as_str(&self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }
}

impl FromStr for Interface {
    type Err = Error;

    fn from_str(s: &str) -> Result<Interface> {
        let s = s.trim().to_ascii_lowercase();
        match s.strip_suffix("url").unwrap_or(&s) {
            "public" => Ok(Interface::Public),
            "internal" => Ok(Interface::Internal),
            "admin" => Ok(Interface::Admin),
            _ => Err(Error::Config(format!(
                "unknown interface {s:?} (expected public, internal or admin)"
            ))),
        }
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything needed to reach Keystone and Glance. Build one with
/// [`ConfigLoader`] (or [`CloudConfig::load`]), or fill the fields directly
/// (from command-line flags, say).
///
/// `Debug` prints secrets (password, application credential secret, token)
/// as `<redacted>`.
#[derive(Clone, Default, PartialEq)]
pub struct CloudConfig {
    /// The clouds.yaml entry this came from, if any.
    pub cloud: Option<String>,
    /// Keystone's URL (`.../v3`; a URL without a version gets `/v3`).
    pub auth_url: Option<String>,
    /// The authentication method; inferred by
    /// [`CloudConfig::effective_auth_type`] when unset.
    pub auth_type: Option<AuthType>,
    /// User name (password auth, or application credential by name).
    pub username: Option<String>,
    /// User id, preferred over the name.
    pub user_id: Option<String>,
    /// Password.
    pub password: Option<Secret>,
    /// User domain name.
    pub user_domain_name: Option<String>,
    /// User domain id, preferred over the name.
    pub user_domain_id: Option<String>,
    /// Project to scope to, by name.
    pub project_name: Option<String>,
    /// Project to scope to, by id (preferred over the name).
    pub project_id: Option<String>,
    /// Project domain name.
    pub project_domain_name: Option<String>,
    /// Project domain id, preferred over the name.
    pub project_domain_id: Option<String>,
    /// Application credential id.
    pub application_credential_id: Option<String>,
    /// Application credential name (with the user).
    pub application_credential_name: Option<String>,
    /// Application credential secret.
    pub application_credential_secret: Option<Secret>,
    /// An existing token (token auth).
    pub token: Option<Secret>,
    /// A service token, sent to Glance beside the user's token as
    /// `X-Service-Token` (as Cinder and Nova send theirs): Glance then
    /// grants the service token's roles too (its locations API wants
    /// `service`) and accepts a user token that expires meanwhile.
    pub service_token: Option<Secret>,
    /// Region of the endpoints to use.
    pub region_name: Option<String>,
    /// Interface of the endpoints to use.
    pub interface: Interface,
    /// A PEM bundle of CA certificates added to the trusted roots.
    pub cacert: Option<PathBuf>,
    /// Skip TLS certificate verification (`verify: false`, `OS_INSECURE`).
    pub insecure: bool,
    /// Glance's URL, used instead of the catalog's image endpoint.
    pub image_endpoint_override: Option<String>,
    /// Timeout of each API call (not of data uploads and downloads, which
    /// have none); `api_timeout` in clouds.yaml. Unset: 120 s.
    pub api_timeout: Option<Duration>,
    /// How long a transfer of image data (an upload or a download, which
    /// have no overall timeout) may go without progress: Glance taking
    /// none of the data sent, no answer once it is all sent, nothing read
    /// of a download. Unset: 60 s ([`crate::DEFAULT_READ_TIMEOUT`]);
    /// zero: no such limit.
    pub read_timeout: Option<Duration>,
}

impl fmt::Debug for CloudConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |s: &Option<Secret>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("CloudConfig")
            .field("cloud", &self.cloud)
            .field("auth_url", &self.auth_url)
            .field("auth_type", &self.auth_type)
            .field("username", &self.username)
            .field("user_id", &self.user_id)
            .field("password", &secret(&self.password))
            .field("user_domain_name", &self.user_domain_name)
            .field("user_domain_id", &self.user_domain_id)
            .field("project_name", &self.project_name)
            .field("project_id", &self.project_id)
            .field("project_domain_name", &self.project_domain_name)
            .field("project_domain_id", &self.project_domain_id)
            .field("application_credential_id", &self.application_credential_id)
            .field(
                "application_credential_name",
                &self.application_credential_name,
            )
            .field(
                "application_credential_secret",
                &secret(&self.application_credential_secret),
            )
            .field("token", &secret(&self.token))
            .field("service_token", &secret(&self.service_token))
            .field("region_name", &self.region_name)
            .field("interface", &self.interface)
            .field("cacert", &self.cacert)
            .field("insecure", &self.insecure)
            .field("image_endpoint_override", &self.image_endpoint_override)
            .field("api_timeout", &self.api_timeout)
            .field("read_timeout", &self.read_timeout)
            .finish()
    }
}

impl CloudConfig {
    /// Loads the configuration from the process environment and, when
    /// `cloud` is given or `OS_CLOUD` is set, from clouds.yaml.
    pub fn load(cloud: Option<&str>) -> Result<CloudConfig> {
        let mut loader = ConfigLoader::from_process_env();
        if let Some(c) = cloud {
            loader = loader.cloud(c);
        }
        loader.load()
    }

    /// The authentication method: the configured one, or else an
    /// application credential if a secret is set, a token if a token is
    /// set and no password, and a password otherwise.
    pub fn effective_auth_type(&self) -> AuthType {
        if let Some(t) = self.auth_type {
            return t;
        }
        if self.application_credential_secret.is_some() {
            AuthType::ApplicationCredential
        } else if self.token.is_some() && self.password.is_none() {
            AuthType::Token
        } else {
            AuthType::Password
        }
    }

    /// Checks that the settings the authentication method needs are
    /// present, naming the missing ones as `OS_*` variables.
    pub fn validate(&self) -> Result<()> {
        let mut missing = Vec::new();
        if self.auth_url.is_none() {
            missing.push("auth_url (OS_AUTH_URL)");
        }
        match self.effective_auth_type() {
            AuthType::Password => {
                if self.username.is_none() && self.user_id.is_none() {
                    missing.push("username or user_id (OS_USERNAME / OS_USER_ID)");
                }
                if self.password.is_none() {
                    missing.push("password (OS_PASSWORD)");
                }
                if self.user_id.is_none()
                    && self.user_domain_id.is_none()
                    && self.user_domain_name.is_none()
                {
                    missing.push(
                        "user_domain_name or user_domain_id (OS_USER_DOMAIN_NAME / OS_USER_DOMAIN_ID)",
                    );
                }
                if self.project_id.is_none()
                    && self.project_name.is_some()
                    && self.project_domain_id.is_none()
                    && self.project_domain_name.is_none()
                {
                    missing.push(
                        "project_domain_name or project_domain_id (OS_PROJECT_DOMAIN_NAME / OS_PROJECT_DOMAIN_ID)",
                    );
                }
            }
            AuthType::ApplicationCredential => {
                if self.application_credential_secret.is_none() {
                    missing
                        .push("application_credential_secret (OS_APPLICATION_CREDENTIAL_SECRET)");
                }
                if self.application_credential_id.is_none() {
                    if self.application_credential_name.is_none() {
                        missing.push(
                            "application_credential_id or application_credential_name (OS_APPLICATION_CREDENTIAL_ID / _NAME)",
                        );
                    } else if self.user_id.is_none() && self.username.is_none() {
                        missing.push("username or user_id, to find the application credential by name (OS_USERNAME / OS_USER_ID)");
                    } else if self.user_id.is_none()
                        && self.user_domain_id.is_none()
                        && self.user_domain_name.is_none()
                    {
                        missing.push("user_domain_name or user_domain_id (OS_USER_DOMAIN_NAME / OS_USER_DOMAIN_ID)");
                    }
                }
            }
            AuthType::Token => {
                if self.token.is_none() {
                    missing.push("token (OS_TOKEN)");
                }
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "{} authentication{} needs {}",
                self.effective_auth_type(),
                self.cloud
                    .as_deref()
                    .map(|c| format!(" (cloud {c})"))
                    .unwrap_or_default(),
                missing.join(", ")
            )))
        }
    }
}

/// Fills a [`CloudConfig`] from clouds.yaml and `OS_*` variables; see the
/// module documentation for the rules. Its `Debug` output counts the
/// environment's variables and shows none of them (they hold passwords).
#[derive(Clone, Default)]
pub struct ConfigLoader {
    env: HashMap<String, String>,
    cloud: Option<String>,
    config_files: Option<Vec<PathBuf>>,
    secure_files: Option<Vec<PathBuf>>,
}

impl fmt::Debug for ConfigLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigLoader")
            .field("env", &format_args!("{} variables", self.env.len()))
            .field("cloud", &self.cloud)
            .field("config_files", &self.config_files)
            .field("secure_files", &self.secure_files)
            .finish()
    }
}

impl ConfigLoader {
    /// A loader reading the process environment.
    pub fn from_process_env() -> ConfigLoader {
        ConfigLoader::with_env(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// A loader reading the given variables instead of the process
    /// environment (for tests, or to ignore the environment: pass none).
    pub fn with_env(vars: impl IntoIterator<Item = (String, String)>) -> ConfigLoader {
        ConfigLoader {
            env: vars.into_iter().collect(),
            ..ConfigLoader::default()
        }
    }

    /// Selects the cloud `name` of clouds.yaml (instead of `OS_CLOUD`).
    pub fn cloud(mut self, name: impl Into<String>) -> ConfigLoader {
        self.cloud = Some(name.into());
        self
    }

    /// Searches these clouds.yaml files (first existing wins) instead of the
    /// standard locations.
    pub fn config_files(mut self, files: Vec<PathBuf>) -> ConfigLoader {
        self.config_files = Some(files);
        self
    }

    /// Searches these secure.yaml files instead of the standard locations.
    pub fn secure_files(mut self, files: Vec<PathBuf>) -> ConfigLoader {
        self.secure_files = Some(files);
        self
    }

    fn var(&self, name: &str) -> Option<String> {
        self.env
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// The clouds.yaml locations searched, in order.
    pub fn config_search_path(&self) -> Vec<PathBuf> {
        if let Some(files) = &self.config_files {
            return files.clone();
        }
        self.search_path("OS_CLIENT_CONFIG_FILE", "clouds.yaml")
    }

    /// The secure.yaml locations searched, in order.
    pub fn secure_search_path(&self) -> Vec<PathBuf> {
        if let Some(files) = &self.secure_files {
            return files.clone();
        }
        self.search_path("OS_CLIENT_SECURE_FILE", "secure.yaml")
    }

    fn search_path(&self, var: &str, file: &str) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        if let Some(p) = self.var(var) {
            paths.push(PathBuf::from(p));
        }
        paths.push(PathBuf::from(file));
        let config_home = self
            .var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| self.var("HOME").map(|h| Path::new(&h).join(".config")));
        if let Some(home) = config_home {
            paths.push(home.join("openstack").join(file));
        }
        paths.push(Path::new("/etc/openstack").join(file));
        paths
    }

    /// Builds the configuration.
    pub fn load(&self) -> Result<CloudConfig> {
        let mut config = CloudConfig::default();
        let cloud = self.cloud.clone().or_else(|| self.var("OS_CLOUD"));
        if let Some(name) = cloud {
            let searched = self.config_search_path();
            let Some(path) = searched.iter().find(|p| p.is_file()) else {
                return Err(Error::Config(format!(
                    "cloud {name:?} requested but no clouds.yaml found (searched {})",
                    display_paths(&searched)
                )));
            };
            let mut entry = cloud_entry(path, &name)?.ok_or_else(|| {
                Error::Config(format!(
                    "cloud {name:?} is not defined in {} (clouds: {})",
                    path.display(),
                    cloud_names(path).unwrap_or_default().join(", ")
                ))
            })?;
            tracing::debug!(cloud = %name, file = %path.display(), "using clouds.yaml");
            if let Some(secure) = self.secure_search_path().iter().find(|p| p.is_file()) {
                if let Some(extra) = cloud_entry(secure, &name)? {
                    tracing::debug!(file = %secure.display(), "merging secure.yaml");
                    merge(&mut entry, extra);
                }
            }
            apply_cloud_entry(&mut config, &entry, path)?;
            config.cloud = Some(name);
        }
        self.apply_env(&mut config)?;
        Ok(config)
    }

    fn apply_env(&self, c: &mut CloudConfig) -> Result<()> {
        let set = |field: &mut Option<String>, names: &[&str]| {
            if let Some(v) = names.iter().find_map(|n| self.var(n)) {
                *field = Some(v);
            }
        };
        let set_secret = |field: &mut Option<Secret>, name: &str| {
            if let Some(v) = self.var(name) {
                *field = Some(Secret::from(v));
            }
        };
        set(&mut c.auth_url, &["OS_AUTH_URL"]);
        set(&mut c.username, &["OS_USERNAME"]);
        set(&mut c.user_id, &["OS_USER_ID"]);
        set_secret(&mut c.password, "OS_PASSWORD");
        set(&mut c.project_name, &["OS_PROJECT_NAME", "OS_TENANT_NAME"]);
        set(&mut c.project_id, &["OS_PROJECT_ID", "OS_TENANT_ID"]);
        set(&mut c.user_domain_name, &["OS_USER_DOMAIN_NAME"]);
        set(&mut c.user_domain_id, &["OS_USER_DOMAIN_ID"]);
        set(&mut c.project_domain_name, &["OS_PROJECT_DOMAIN_NAME"]);
        set(&mut c.project_domain_id, &["OS_PROJECT_DOMAIN_ID"]);
        set(
            &mut c.application_credential_id,
            &["OS_APPLICATION_CREDENTIAL_ID"],
        );
        set(
            &mut c.application_credential_name,
            &["OS_APPLICATION_CREDENTIAL_NAME"],
        );
        set_secret(
            &mut c.application_credential_secret,
            "OS_APPLICATION_CREDENTIAL_SECRET",
        );
        set_secret(&mut c.token, "OS_TOKEN");
        set(&mut c.region_name, &["OS_REGION_NAME"]);
        set(
            &mut c.image_endpoint_override,
            &["OS_IMAGE_URL", "OS_IMAGE_ENDPOINT_OVERRIDE"],
        );
        if let Some(v) = self.var("OS_AUTH_TYPE") {
            c.auth_type = Some(v.parse()?);
        }
        if let Some(v) = self
            .var("OS_INTERFACE")
            .or_else(|| self.var("OS_ENDPOINT_TYPE"))
        {
            c.interface = v.parse()?;
        }
        if let Some(v) = self.var("OS_CACERT") {
            c.cacert = Some(PathBuf::from(v));
        }
        if let Some(v) = self.var("OS_INSECURE") {
            c.insecure = parse_bool(&v)
                .ok_or_else(|| Error::Config(format!("OS_INSECURE={v:?} is not a boolean")))?;
        }
        if let Some(v) = self.var("OS_API_TIMEOUT") {
            c.api_timeout = Some(parse_seconds(&v).ok_or_else(|| {
                Error::Config(format!("OS_API_TIMEOUT={v:?} is not a number of seconds"))
            })?);
        }
        // The default domain stands in for unset user and project domains.
        if let Some(d) = self.var("OS_DEFAULT_DOMAIN_ID") {
            c.user_domain_id.get_or_insert_with(|| d.clone());
            c.project_domain_id.get_or_insert(d);
        }
        if let Some(d) = self.var("OS_DEFAULT_DOMAIN_NAME") {
            if c.user_domain_id.is_none() {
                c.user_domain_name.get_or_insert_with(|| d.clone());
            }
            if c.project_domain_id.is_none() {
                c.project_domain_name.get_or_insert(d);
            }
        }
        Ok(())
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_yaml_file(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    parse_yaml(&text, path)
}

fn parse_yaml(text: &str, path: &Path) -> Result<Value> {
    serde_yaml_ng::from_str(text).map_err(|e| Error::ParseConfig {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn clouds_map<'a>(doc: &'a Value, path: &Path) -> Result<Option<&'a Mapping>> {
    match doc.get("clouds") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Mapping(m)) => Ok(Some(m)),
        Some(_) => Err(Error::ParseConfig {
            path: path.to_path_buf(),
            message: "`clouds` is not a mapping".into(),
        }),
    }
}

fn cloud_names(path: &Path) -> Result<Vec<String>> {
    let doc = parse_yaml_file(path)?;
    Ok(clouds_map(&doc, path)?
        .map(|m| m.keys().filter_map(scalar).collect())
        .unwrap_or_default())
}

/// The entry of cloud `name` in the clouds.yaml or secure.yaml at `path`.
fn cloud_entry(path: &Path, name: &str) -> Result<Option<Value>> {
    let doc = parse_yaml_file(path)?;
    entry_of(&doc, path, name)
}

fn entry_of(doc: &Value, path: &Path, name: &str) -> Result<Option<Value>> {
    Ok(clouds_map(doc, path)?.and_then(|m| m.get(name).cloned()))
}

/// Merges `extra` into `base`, mappings key by key (secure.yaml over
/// clouds.yaml).
fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Mapping(b), Value::Mapping(e)) => {
            for (k, v) in e {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, e) => *b = e,
    }
}

/// A YAML scalar as a string (numbers and booleans too: a password of
/// digits is still a password).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_seconds(s: &str) -> Option<Duration> {
    let secs: f64 = s.trim().parse().ok()?;
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

/// Copies a cloud's entry into `c`.
fn apply_cloud_entry(c: &mut CloudConfig, entry: &Value, path: &Path) -> Result<()> {
    let bad = |message: String| Error::ParseConfig {
        path: path.to_path_buf(),
        message,
    };
    let get = |map: &Value, key: &str| map.get(key).and_then(scalar).filter(|s| !s.is_empty());
    let empty = Value::Mapping(Mapping::new());
    let auth = match entry.get("auth") {
        None | Some(Value::Null) => &empty,
        Some(a @ Value::Mapping(_)) => a,
        Some(_) => return Err(bad("`auth` is not a mapping".into())),
    };
    c.auth_url = get(auth, "auth_url");
    c.username = get(auth, "username");
    c.user_id = get(auth, "user_id");
    c.password = get(auth, "password").map(Secret::from);
    c.project_name = get(auth, "project_name").or_else(|| get(auth, "tenant_name"));
    c.project_id = get(auth, "project_id").or_else(|| get(auth, "tenant_id"));
    c.user_domain_name = get(auth, "user_domain_name");
    c.user_domain_id = get(auth, "user_domain_id");
    c.project_domain_name = get(auth, "project_domain_name");
    c.project_domain_id = get(auth, "project_domain_id");
    // `domain_name`/`domain_id` in auth stand in for both domains.
    if let Some(d) = get(auth, "domain_id") {
        c.user_domain_id.get_or_insert_with(|| d.clone());
        c.project_domain_id.get_or_insert(d);
    }
    if let Some(d) = get(auth, "domain_name") {
        c.user_domain_name.get_or_insert_with(|| d.clone());
        c.project_domain_name.get_or_insert(d);
    }
    c.application_credential_id = get(auth, "application_credential_id");
    c.application_credential_name = get(auth, "application_credential_name");
    c.application_credential_secret = get(auth, "application_credential_secret").map(Secret::from);
    c.token = get(auth, "token").map(Secret::from);
    if let Some(t) = get(entry, "auth_type") {
        c.auth_type = Some(t.parse()?);
    }
    c.region_name = get(entry, "region_name");
    if c.region_name.is_none() {
        // `regions: [RegionOne, ...]` or `regions: [{name: RegionOne}]`:
        // the first is the default, as in openstacksdk.
        if let Some(Value::Sequence(regions)) = entry.get("regions") {
            c.region_name = regions
                .first()
                .and_then(|r| scalar(r).or_else(|| get(r, "name")));
        }
    }
    if let Some(i) = get(entry, "interface").or_else(|| get(entry, "endpoint_type")) {
        c.interface = i.parse()?;
    }
    if let Some(ca) = get(entry, "cacert") {
        c.cacert = Some(PathBuf::from(ca));
    }
    if let Some(v) = get(entry, "verify") {
        c.insecure =
            !parse_bool(&v).ok_or_else(|| bad(format!("`verify: {v}` is not a boolean")))?;
    }
    if let Some(v) = get(entry, "insecure") {
        c.insecure =
            parse_bool(&v).ok_or_else(|| bad(format!("`insecure: {v}` is not a boolean")))?;
    }
    c.image_endpoint_override = get(entry, "image_endpoint_override");
    if let Some(v) = get(entry, "api_timeout") {
        c.api_timeout = Some(
            parse_seconds(&v)
                .ok_or_else(|| bad(format!("`api_timeout: {v}` is not a number of seconds")))?,
        );
    }
    if let Some(p) = get(entry, "profile") {
        tracing::warn!(profile = %p, "clouds.yaml vendor profiles are not supported; ignored");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOUDS: &str = r#"
clouds:
  testbed:
    auth:
      auth_url: http://127.0.0.1:5000/v3
      username: uploader
      password: 12345
      project_name: service
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
    interface: internal
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example:5000
      application_credential_id: abc
      application_credential_secret: s3cret
    regions:
      - name: R2
      - R3
    cacert: /etc/ssl/my-ca.pem
    verify: false
    image_endpoint_override: https://glance.example:9292
    api_timeout: 30
  domains:
    auth:
      auth_url: http://k/v3
      username: u
      password: p
      project_id: pid
      domain_name: Dom
"#;

    struct Files {
        dir: PathBuf,
    }

    impl Files {
        fn new(tag: &str, clouds: &str, secure: Option<&str>) -> Files {
            let dir = std::env::temp_dir()
                .join(format!("glance-client-config-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("clouds.yaml"), clouds).unwrap();
            if let Some(s) = secure {
                std::fs::write(dir.join("secure.yaml"), s).unwrap();
            }
            Files { dir }
        }

        fn loader(&self, env: &[(&str, &str)]) -> ConfigLoader {
            ConfigLoader::with_env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
                .config_files(vec![
                    self.dir.join("missing.yaml"),
                    self.dir.join("clouds.yaml"),
                ])
                .secure_files(vec![self.dir.join("secure.yaml")])
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// The loader holds the whole environment (OS_PASSWORD, tokens and
    /// whatever else the process has): its `Debug` output must not show it.
    #[test]
    fn the_loaders_debug_output_does_not_print_the_environment() {
        let loader = ConfigLoader::with_env([
            ("OS_PASSWORD".to_string(), "hunter2-secret".to_string()),
            ("OS_TOKEN".to_string(), "gAAAA-token".to_string()),
            (
                "AWS_SECRET_ACCESS_KEY".to_string(),
                "other-secret".to_string(),
            ),
        ]);
        let text = format!("{loader:?}");
        for leak in ["hunter2", "gAAAA", "other-secret", "AWS_SECRET"] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
        assert!(text.contains("3 variables"), "{text}");
    }

    #[test]
    fn reads_a_password_cloud() {
        let f = Files::new("pw", CLOUDS, None);
        let c = f.loader(&[("OS_CLOUD", "testbed")]).load().unwrap();
        assert_eq!(c.cloud.as_deref(), Some("testbed"));
        assert_eq!(c.auth_url.as_deref(), Some("http://127.0.0.1:5000/v3"));
        assert_eq!(c.username.as_deref(), Some("uploader"));
        assert_eq!(c.password.as_deref(), Some("12345"));
        assert_eq!(c.project_name.as_deref(), Some("service"));
        assert_eq!(c.user_domain_name.as_deref(), Some("Default"));
        assert_eq!(c.project_domain_name.as_deref(), Some("Default"));
        assert_eq!(c.region_name.as_deref(), Some("RegionOne"));
        assert_eq!(c.interface, Interface::Internal);
        assert!(!c.insecure);
        assert_eq!(c.effective_auth_type(), AuthType::Password);
        c.validate().unwrap();
        assert!(!format!("{c:?}").contains("12345"), "password in Debug");
    }

    #[test]
    fn reads_an_application_credential_cloud() {
        let f = Files::new("ac", CLOUDS, None);
        let c = f.loader(&[]).cloud("appcred").load().unwrap();
        assert_eq!(c.auth_type, Some(AuthType::ApplicationCredential));
        assert_eq!(c.application_credential_id.as_deref(), Some("abc"));
        assert_eq!(c.application_credential_secret.as_deref(), Some("s3cret"));
        assert_eq!(c.region_name.as_deref(), Some("R2"));
        assert_eq!(c.cacert, Some(PathBuf::from("/etc/ssl/my-ca.pem")));
        assert!(c.insecure);
        assert_eq!(
            c.image_endpoint_override.as_deref(),
            Some("https://glance.example:9292")
        );
        assert_eq!(c.api_timeout, Some(Duration::from_secs(30)));
        c.validate().unwrap();
    }

    #[test]
    fn domain_name_fills_both_domains() {
        let f = Files::new("dom", CLOUDS, None);
        let c = f.loader(&[]).cloud("domains").load().unwrap();
        assert_eq!(c.user_domain_name.as_deref(), Some("Dom"));
        assert_eq!(c.project_domain_name.as_deref(), Some("Dom"));
        assert_eq!(c.project_id.as_deref(), Some("pid"));
    }

    #[test]
    fn env_overrides_clouds_yaml() {
        let f = Files::new("env", CLOUDS, None);
        let c = f
            .loader(&[
                ("OS_CLOUD", "testbed"),
                ("OS_PASSWORD", "from-env"),
                ("OS_REGION_NAME", "RegionTwo"),
                ("OS_INTERFACE", "admin"),
                ("OS_INSECURE", "true"),
                ("OS_CACERT", "/tmp/ca.pem"),
                ("OS_IMAGE_URL", "http://glance:9292"),
                ("OS_USERNAME", ""), // empty: unset
            ])
            .load()
            .unwrap();
        assert_eq!(c.password.as_deref(), Some("from-env"));
        assert_eq!(c.username.as_deref(), Some("uploader"));
        assert_eq!(c.region_name.as_deref(), Some("RegionTwo"));
        assert_eq!(c.interface, Interface::Admin);
        assert!(c.insecure);
        assert_eq!(c.cacert, Some(PathBuf::from("/tmp/ca.pem")));
        assert_eq!(
            c.image_endpoint_override.as_deref(),
            Some("http://glance:9292")
        );
    }

    #[test]
    fn explicit_cloud_beats_os_cloud() {
        let f = Files::new("explicit", CLOUDS, None);
        let c = f
            .loader(&[("OS_CLOUD", "testbed")])
            .cloud("appcred")
            .load()
            .unwrap();
        assert_eq!(c.cloud.as_deref(), Some("appcred"));
    }

    #[test]
    fn env_only_without_cloud() {
        let c = ConfigLoader::with_env(
            [
                ("OS_AUTH_URL", "http://k:5000/v3"),
                ("OS_USER_ID", "uid"),
                ("OS_PASSWORD", "pw"),
                ("OS_PROJECT_ID", "pid"),
                ("OS_ENDPOINT_TYPE", "internalURL"),
                ("OS_AUTH_TYPE", "v3password"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .config_files(vec![])
        .load()
        .unwrap();
        assert_eq!(c.cloud, None);
        assert_eq!(c.user_id.as_deref(), Some("uid"));
        assert_eq!(c.interface, Interface::Internal);
        assert_eq!(c.auth_type, Some(AuthType::Password));
        c.validate().unwrap();
    }

    #[test]
    fn secure_yaml_is_merged() {
        let f = Files::new(
            "secure",
            "clouds:\n  c:\n    auth:\n      auth_url: http://k/v3\n      username: u\n      user_domain_id: default\n",
            Some("clouds:\n  c:\n    auth:\n      password: hidden\n"),
        );
        let c = f.loader(&[]).cloud("c").load().unwrap();
        assert_eq!(c.username.as_deref(), Some("u"));
        assert_eq!(c.password.as_deref(), Some("hidden"));
        c.validate().unwrap();
    }

    #[test]
    fn errors_name_the_problem() {
        let f = Files::new("errors", CLOUDS, None);
        let e = f.loader(&[]).cloud("nope").load().unwrap_err().to_string();
        assert!(e.contains("\"nope\" is not defined"), "{e}");
        assert!(e.contains("testbed"), "{e}");
        let e = ConfigLoader::with_env([])
            .config_files(vec![PathBuf::from("/nonexistent/clouds.yaml")])
            .cloud("x")
            .load()
            .unwrap_err()
            .to_string();
        assert!(e.contains("no clouds.yaml found"), "{e}");
        assert!(e.contains("/nonexistent/clouds.yaml"), "{e}");
        let e = f
            .loader(&[("OS_INSECURE", "maybe")])
            .load()
            .unwrap_err()
            .to_string();
        assert!(e.contains("OS_INSECURE"), "{e}");
        let bad = Files::new("bad", "clouds: [1, 2", None);
        let e = bad.loader(&[]).cloud("x").load().unwrap_err().to_string();
        assert!(e.contains("cannot parse"), "{e}");
    }

    #[test]
    fn validate_lists_missing_settings() {
        let c = CloudConfig {
            auth_url: Some("http://k/v3".into()),
            username: Some("u".into()),
            ..CloudConfig::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("OS_PASSWORD"), "{e}");
        assert!(e.contains("OS_USER_DOMAIN_NAME"), "{e}");
        let c = CloudConfig {
            auth_url: Some("http://k/v3".into()),
            token: Some("t".into()),
            ..CloudConfig::default()
        };
        assert_eq!(c.effective_auth_type(), AuthType::Token);
        c.validate().unwrap();
        let c = CloudConfig {
            auth_url: Some("http://k/v3".into()),
            application_credential_name: Some("n".into()),
            application_credential_secret: Some("s".into()),
            ..CloudConfig::default()
        };
        assert_eq!(c.effective_auth_type(), AuthType::ApplicationCredential);
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("OS_USERNAME"), "{e}");
    }

    #[test]
    fn search_path_order() {
        let l = ConfigLoader::with_env(
            [("OS_CLIENT_CONFIG_FILE", "/x/c.yaml"), ("HOME", "/home/u")]
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        assert_eq!(
            l.config_search_path(),
            vec![
                PathBuf::from("/x/c.yaml"),
                PathBuf::from("clouds.yaml"),
                PathBuf::from("/home/u/.config/openstack/clouds.yaml"),
                PathBuf::from("/etc/openstack/clouds.yaml"),
            ]
        );
    }

    #[test]
    fn parses_enums() {
        assert_eq!(
            "v3applicationcredential".parse::<AuthType>().unwrap(),
            AuthType::ApplicationCredential
        );
        assert_eq!(
            "v3_application-credential".parse::<AuthType>().unwrap(),
            AuthType::ApplicationCredential
        );
        assert!("kerberos".parse::<AuthType>().is_err());
        assert_eq!("publicURL".parse::<Interface>().unwrap(), Interface::Public);
        assert!("private".parse::<Interface>().is_err());
    }
}
