//! Shared helpers for the integration tests: finding the live test bed and
//! running the oracle tools (`ceph`, `rados`, `rbd`) against it.
//!
//! The tests take their clusters and cloud from an env file, `.testbed/env`
//! of this workspace by default, or the file named by `RBD_NATIVE_TESTBED_ENV`
//! to point them at any other cluster and cloud. A missing bed is a failure
//! that says what to run, never a silent pass.
//!
//! Feature `rados` adds clients of our own RADOS library for the bed
//! (`Testbed::rados`, `Testbed::client_settings`), feature `glance` our
//! Keystone/Glance client (`Testbed::glance`, `glance_download`); the
//! crates whose tests use them turn them on in their dev-dependency.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

mod cinder;
#[cfg(feature = "glance")]
mod glance;
#[cfg(feature = "rados")]
mod rados;

pub use cinder::{CloudCleanup, CloudSession, VOLUME_MICROVERSION};
#[cfg(feature = "glance")]
pub use glance::{glance_delete, glance_download, glance_wait_hashed};

/// The variable that names another env file than the workspace's bed.
pub const ENV_FILE_VAR: &str = "RBD_NATIVE_TESTBED_ENV";

/// Debian's Python with its `python3-rados`/`python3-rbd`, for beds whose
/// env file names no `RBD_NATIVE_SYSTEM_PYTHON`.
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// A command of the Ceph tool `name` for tests that also run without a
/// bed: the bed's ([`Testbed::tool`]) when there is one, else `name` from
/// `PATH`.
pub fn tool(name: &str) -> Command {
    match Testbed::try_load() {
        Some(bed) => bed.tool(name),
        None => Command::new(name),
    }
}

/// The settings of a live test bed, read from its env file.
#[derive(Debug, Clone)]
pub struct Testbed {
    path: PathBuf,
    vars: HashMap<String, String>,
}

impl Testbed {
    /// The bed's env file: `RBD_NATIVE_TESTBED_ENV`, else the workspace's
    /// `.testbed/env` (a link to the env of the bed brought up last).
    pub fn env_path() -> PathBuf {
        match std::env::var_os(ENV_FILE_VAR) {
            Some(p) => PathBuf::from(p),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.testbed/env"),
        }
    }

    /// Loads the bed's env file, or fails the test with what to run.
    pub fn load() -> Testbed {
        let path = Testbed::env_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the test bed is not available ({}: {e}).\n\
                 Run `make testbed` in the workspace (or `make test`, which brings it up), \
                 or set {ENV_FILE_VAR} to the env file of another bed.",
                path.display()
            )
        });
        Testbed {
            path,
            vars: parse_env(&text),
        }
    }

    /// The bed's env file when there is one, for tests that also run
    /// without a bed (on the Ceph object corpus, say).
    pub fn try_load() -> Option<Testbed> {
        let path = Testbed::env_path();
        let text = std::fs::read_to_string(&path).ok()?;
        Some(Testbed {
            path,
            vars: parse_env(&text),
        })
    }

    /// A command of the bed's Ceph tool `name` (`ceph`, `rados`, `rbd`,
    /// `osdmaptool`, `crushtool`, `monmaptool`, ...): the wrapper in
    /// `RBD_NATIVE_CEPH_BIN`, which runs the tool of the bed's Ceph release
    /// (from that release's root), or `name` from `PATH` when the env file
    /// does not name one (another cluster's bed, say).
    pub fn tool(&self, name: &str) -> Command {
        match self.get("RBD_NATIVE_CEPH_BIN") {
            Some(dir) if !dir.is_empty() => Command::new(Path::new(&dir).join(name)),
            _ => Command::new(name),
        }
    }

    /// A command of the Python that imports the bed's release's `rados` and
    /// `rbd` bindings (`RBD_NATIVE_SYSTEM_PYTHON`, else Debian's
    /// `/usr/bin/python3`).
    pub fn system_python(&self) -> Command {
        Command::new(self.system_python_path())
    }

    /// The program [`Testbed::system_python`] runs, for commands that run
    /// it through another (`timeout`, say).
    pub fn system_python_path(&self) -> PathBuf {
        match self.get("RBD_NATIVE_SYSTEM_PYTHON") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => PathBuf::from(SYSTEM_PYTHON),
        }
    }

    /// The Python of the bed's venv (Keystone, Glance, Cinder and the
    /// release's bindings): `RBD_NATIVE_VENV_PYTHON` of the env file, else
    /// [`venv_python`].
    pub fn venv_python(&self) -> PathBuf {
        match self.get("RBD_NATIVE_VENV_PYTHON") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => venv_python(),
        }
    }

    /// The value of `name`, failing the test if the env file lacks it.
    pub fn var(&self, name: &str) -> String {
        self.vars.get(name).cloned().unwrap_or_else(|| {
            panic!(
                "{} does not set {name}: recreate it with `make testbed`",
                self.path.display()
            )
        })
    }

    /// The value of `name`, if the env file sets it.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    /// The messenger modes cluster main serves: both on a crc bed, only
    /// secure on a bed made with `MS_MODE=secure`.
    pub fn ms_modes(&self) -> Vec<&'static str> {
        if self.get("RBD_NATIVE_MS_MODE").as_deref() == Some("secure") {
            vec!["secure"]
        } else {
            vec!["crc", "secure"]
        }
    }

    /// A command of the Ceph tool `tool` (`ceph`, `rados`, `rbd`) for the
    /// cluster whose ceph.conf is in variable `conf_var`, as user `id`.
    pub fn ceph_tool(&self, tool: &str, conf_var: &str, id: &str) -> Command {
        let mut cmd = self.tool(tool);
        cmd.arg("-c")
            .arg(self.var(conf_var))
            .arg("--id")
            .arg(id)
            .env_remove("CEPH_ARGS");
        if tool == "ceph" {
            cmd.args(["--connect-timeout", "30"]);
        }
        cmd
    }

    /// Runs `ceph ... -f json` on the cluster of `conf_var` as admin.
    pub fn ceph_json(&self, conf_var: &str, args: &[&str]) -> serde_json::Value {
        let mut cmd = self.ceph_tool("ceph", conf_var, "admin");
        cmd.args(args).args(["-f", "json"]);
        let out = run_ok(&mut cmd);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "`{cmd:?}` printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Waits (up to `secs` seconds) until every PG of the cluster of
    /// `conf_var` is active+clean: tests that move OSDs call it before
    /// they end, tests that place objects by the oracle's map before they
    /// start.
    pub fn wait_for_clean(&self, conf_var: &str, secs: u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let v = self.ceph_json(conf_var, &["pg", "stat"]);
            let s = v.get("pg_summary").unwrap_or(&v);
            let total = s["num_pgs"].as_u64().unwrap_or(0);
            let clean: u64 = s["num_pg_by_state"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|x| x["name"] == "active+clean")
                        .filter_map(|x| x["num"].as_u64())
                        .sum()
                })
                .unwrap_or(0);
            if total > 0 && clean == total {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "PGs of {conf_var} not all active+clean after {secs} s: {v}"
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }

    /// The fsid of the cluster of `conf_var`, as its monitor reports it.
    pub fn fsid(&self, conf_var: &str) -> String {
        let mut cmd = self.ceph_tool("ceph", conf_var, "admin");
        cmd.arg("fsid");
        String::from_utf8_lossy(&run_ok(&mut cmd).stdout)
            .trim()
            .to_string()
    }
}

/// A monitor configuration option of cluster main set for one test
/// (`ceph config set mon NAME VALUE`), removed again when dropped, even
/// when the test fails.
pub struct MonConfig<'a> {
    bed: &'a Testbed,
    name: String,
}

impl<'a> MonConfig<'a> {
    /// Sets `name` to `value` for the monitors of cluster main.
    pub fn set(bed: &'a Testbed, name: &str, value: &str) -> MonConfig<'a> {
        let mut c = bed.ceph_tool("ceph", "CEPH_CONF", "admin");
        c.args(["config", "set", "mon", name, value]);
        run_ok(&mut c);
        MonConfig {
            bed,
            name: name.to_string(),
        }
    }
}

impl Drop for MonConfig<'_> {
    fn drop(&mut self) {
        let mut c = self.bed.ceph_tool("ceph", "CEPH_CONF", "admin");
        c.args(["config", "rm", "mon", &self.name]);
        let _ = c.output();
    }
}

/// Parses `export NAME=VALUE` lines (VALUE bare, or in single or double
/// quotes without escapes); other lines are ignored.
pub fn parse_env(text: &str) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        if line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = value
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
            .unwrap_or(value);
        vars.insert(name.trim().to_string(), value.to_string());
    }
    vars
}

/// Runs `cmd` and returns its output, whatever its status.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run `{cmd:?}`: {e} (is Ceph installed? run `make deps`)")
    })
}

/// Runs `cmd`, failing the test with its stderr when it does not succeed.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    if !out.status.success() {
        panic!(
            "`{cmd:?}` failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// A name no other test run uses: `prefix` plus pid and clock.
pub fn unique_name(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // A counter too: two threads may read the clock in the same tick.
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{}-{:x}-{n}", std::process::id(), nanos)
}

/// `len` deterministic pseudo-random bytes (xorshift64*) from `seed`.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Sends the library's `tracing` events to the test's output when
/// `RUST_LOG` is set (e.g. `RUST_LOG=ceph_rados=debug`), so that a failing
/// run on the bed can be re-run with the client's log; a no-op otherwise,
/// and when a subscriber is installed already.
pub fn init_logging() {
    let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Runs a command line given as a template (e.g. the bed's
/// `RBD_NATIVE_OSD_STOP_CMD`) with `{id}` replaced by `id`, through `sh`;
/// fails the test when it does not succeed.
pub fn run_template(template: &str, id: &str) -> Output {
    let line = template.replace("{id}", id);
    run_ok(Command::new("sh").arg("-c").arg(line))
}

/// The Ceph object corpus's `archive/` folder, from `CEPH_OBJECT_CORPUS`
/// (which `make test` sets when the corpus is beside the checkout); the
/// error says why it is not there, for tests to print as they skip.
pub fn corpus_archive() -> Result<PathBuf, String> {
    let root = std::env::var_os("CEPH_OBJECT_CORPUS")
        .ok_or("CEPH_OBJECT_CORPUS is not set (the Makefile sets it when the corpus is present)")?;
    let archive = Path::new(&root).join("archive");
    if archive.is_dir() {
        Ok(archive)
    } else {
        Err(format!("{} is not a folder", archive.display()))
    }
}

/// The entries of a folder, sorted (empty if it cannot be read).
pub fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|it| it.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

/// Runs every input saved for fuzz target `target` (in the workspace's
/// `fuzz/corpus/<target>/`) through `body`, the function the target calls;
/// returns how many there were. A missing or empty corpus fails the test.
pub fn replay_fuzz_corpus(target: &str, body: impl Fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no fuzz corpus for {target} at {}: {e}", dir.display()));
    let mut count = 0;
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .path();
        if path.is_file() {
            let data =
                std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            body(&data);
            count += 1;
        }
    }
    assert!(count > 0, "{} holds no inputs", dir.display());
    count
}

/// A scratch directory for one test, removed when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates a fresh directory under the system's temporary folder.
    pub fn new(prefix: &str) -> ScratchDir {
        let dir = std::env::temp_dir().join(unique_name(prefix));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        ScratchDir(dir)
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The Python of the bed's venv, which `make venv` builds with Keystone,
/// Glance, Cinder and the release's `rados`/`rbd` bindings:
/// `RBD_NATIVE_VENV_PYTHON` (from the environment, else the bed's env
/// file; a wrapper that runs it in the release's root), else `bin/python`
/// of `VENV` or of the workspace's `.venv`; fails the test with what to run
/// when absent.
pub fn venv_python() -> PathBuf {
    let named = std::env::var("RBD_NATIVE_VENV_PYTHON")
        .ok()
        .or_else(|| Testbed::try_load().and_then(|bed| bed.get("RBD_NATIVE_VENV_PYTHON")))
        .filter(|p| !p.is_empty());
    if let Some(python) = named {
        let python = PathBuf::from(python);
        assert!(
            python.exists(),
            "no venv Python at {} (RBD_NATIVE_VENV_PYTHON; run `make testbed`)",
            python.display()
        );
        return python;
    }
    let venv = std::env::var_os("VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "no Python venv at {} (run `make venv`, or set VENV)",
        venv.display()
    );
    python
}

/// Runs Cinder's own RBD driver on the bed through `tests/py/cinder_driver.py`
/// (actions: `create-volume NAME GB`, `delete-volume NAME`,
/// `create-volume-from-image NAME IMAGE_ID GB`, `copy-volume-to-image NAME
/// IMAGE_ID|new`, `list`) and returns its JSON report, whether the action
/// succeeded (`"ok": true`) or the driver raised (`"ok": false`, `"error"`).
pub fn cinder_result(bed: &Testbed, args: &[&str]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("py/cinder_driver.py");
    let mut cmd = Command::new(bed.venv_python());
    cmd.arg(&script).args(args).envs(&bed.vars);
    let out = run(&mut cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) | Some(1) => {}
        Some(3) => panic!(
            "the venv has no Cinder: run `make venv` (it installs the `cinder` package)\n{stderr}"
        ),
        _ => panic!("`{cmd:?}` failed ({}):\n{stderr}", out.status),
    }
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "`{cmd:?}` printed no JSON ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// [`cinder_result`], failing the test when the driver raised.
pub fn cinder(bed: &Testbed, args: &[&str]) -> serde_json::Value {
    let v = cinder_result(bed, args);
    assert!(v["ok"] == true, "Cinder's driver failed on {args:?}: {v:#}");
    v
}

impl Testbed {
    /// The OSD map epoch of the cluster of `conf_var`.
    pub fn osdmap_epoch(&self, conf_var: &str) -> u32 {
        self.ceph_json(conf_var, &["osd", "dump"])["epoch"]
            .as_u64()
            .unwrap_or_default() as u32
    }

    /// The self-managed snapshot ids the monitor recorded as removed in
    /// pool `pool_id` in epochs `from + 1 ..= to` (read with `ceph osd
    /// getmap` and `osdmaptool --dump json`: the oracle, not our decoder).
    pub fn removed_snaps(&self, conf_var: &str, pool_id: i64, from: u32, to: u32) -> Vec<u64> {
        let dir = ScratchDir::new("osdmaps");
        let mut out = Vec::new();
        for e in from + 1..=to {
            let f = dir.path().join(format!("m{e}"));
            let mut get = self.ceph_tool("ceph", conf_var, "admin");
            get.args(["osd", "getmap", &e.to_string(), "-o"]).arg(&f);
            run_ok(&mut get);
            let mut dump = self.tool("osdmaptool");
            dump.arg(&f).args(["--dump", "json"]);
            let o = run_ok(&mut dump);
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
            for p in v["new_removed_snaps"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                if p["pool"].as_i64() != Some(pool_id) {
                    continue;
                }
                for iv in p["snaps"].as_array().cloned().unwrap_or_default() {
                    let begin = iv["begin"].as_u64().unwrap_or_default();
                    let len = iv["length"].as_u64().unwrap_or_default();
                    out.extend(begin..begin + len);
                }
            }
        }
        out
    }

    /// The id of pool `name` in the cluster of `conf_var`.
    pub fn pool_id(&self, conf_var: &str, name: &str) -> i64 {
        let v = self.ceph_json(conf_var, &["osd", "pool", "ls", "detail"]);
        v.as_array()
            .and_then(|a| a.iter().find(|p| p["pool_name"] == name))
            .and_then(|p| p["pool_id"].as_i64())
            .unwrap_or_else(|| panic!("no pool {name}"))
    }
}

/// The `OS_*` variables of the bed's uploader that a process has after
/// sourcing an openrc (no `OS_CLOUD`): what the tests pass to `rbd-native`
/// and to the Keystone/Glance client.
pub const OS_VARS: &[&str] = &[
    "OS_AUTH_URL",
    "OS_USERNAME",
    "OS_PASSWORD",
    "OS_PROJECT_NAME",
    "OS_USER_DOMAIN_NAME",
    "OS_PROJECT_DOMAIN_NAME",
    "OS_REGION_NAME",
    "OS_IDENTITY_API_VERSION",
    "OS_INTERFACE",
    "OS_CACERT",
    "OS_INSECURE",
];

/// Makes `cmd` authenticate with `token` as it is (`OS_AUTH_TYPE=token`,
/// `OS_TOKEN`), without the password and project variables that would
/// have the token replaced or exchanged.
pub fn with_given_token<'a>(cmd: &'a mut Command, token: &str) -> &'a mut Command {
    for var in [
        "OS_USERNAME",
        "OS_USER_ID",
        "OS_PASSWORD",
        "OS_PROJECT_NAME",
        "OS_PROJECT_ID",
        "OS_USER_DOMAIN_NAME",
        "OS_PROJECT_DOMAIN_NAME",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("OS_AUTH_TYPE", "token").env("OS_TOKEN", token)
}

/// The binary under test: `RBD_NATIVE_BIN` (the static build, see `make
/// static`) when set, else `built` (the test's
/// `env!("CARGO_BIN_EXE_rbd-native")`).
pub fn rbd_native_bin(built: &str) -> String {
    std::env::var("RBD_NATIVE_BIN").unwrap_or_else(|_| built.to_string())
}

/// A project-scoped Keystone token of the bed's uploader, with the HTTP
/// client that got it and the body of Keystone's answer (its catalog).
pub struct UploaderToken {
    /// A blocking client (120 s timeout) for further requests.
    pub http: reqwest::blocking::Client,
    /// The token (`X-Subject-Token`).
    pub token: String,
    /// Keystone's answer: `{"token": {..., "catalog": [...]}}`.
    pub body: serde_json::Value,
}

impl Testbed {
    /// The `(name, value)` pairs of those of `names` the env file sets.
    pub fn env_of(&self, names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .filter_map(|n| self.get(n).map(|v| (n.to_string(), v)))
            .collect()
    }

    /// The uploader's OpenStack settings the env file sets ([`OS_VARS`]).
    pub fn os_env(&self) -> Vec<(String, String)> {
        self.env_of(OS_VARS)
    }

    /// Authenticates the bed's uploader with Keystone (password, scoped to
    /// its project), failing the test when Keystone refuses or is not there.
    pub fn uploader_token(&self) -> UploaderToken {
        self.password_token(
            &self.var("OS_USERNAME"),
            &self.var("OS_PASSWORD"),
            &self.var("OS_PROJECT_NAME"),
        )
    }

    /// Authenticates `user` with Keystone (password, scoped to `project`,
    /// both in the bed's domains), failing the test when Keystone refuses
    /// or is not there.
    pub fn password_token(&self, user: &str, password: &str, project: &str) -> UploaderToken {
        // See tests/Cargo.toml: with the workspace's unified features reqwest
        // uses rustls and needs a process-wide provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .unwrap();
        let body = serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user,
                "domain": {"name": self.var("OS_USER_DOMAIN_NAME")},
                "password": password,
            }}},
            "scope": {"project": {
                "name": project,
                "domain": {"name": self.var("OS_PROJECT_DOMAIN_NAME")},
            }},
        }});
        let url = format!(
            "{}/auth/tokens",
            self.var("OS_AUTH_URL").trim_end_matches('/')
        );
        let resp = http
            .post(&url)
            .json(&body)
            .send()
            .unwrap_or_else(|e| panic!("Keystone at {url} unreachable: {e}"));
        assert_eq!(resp.status().as_u16(), 201, "Keystone refused {user}");
        let token = resp
            .headers()
            .get("X-Subject-Token")
            .expect("token header")
            .to_str()
            .unwrap()
            .to_string();
        let body = resp.json().unwrap();
        UploaderToken { http, token, body }
    }

    /// `rbd-native` (the binary `bin`, see [`rbd_native_bin`]) for cluster
    /// main as user `id` with the keyring in variable `keyring_var`, its
    /// arguments still to add; `CEPH_ARGS` removed.
    pub fn rbd_native(&self, bin: &str, id: &str, keyring_var: &str) -> Command {
        let mut c = Command::new(bin);
        c.args([
            "-c",
            &self.var("CEPH_CONF"),
            "--id",
            id,
            "-k",
            &self.var(keyring_var),
        ])
        .env_remove("CEPH_ARGS");
        c
    }

    /// [`Testbed::rbd_native`] as Cinder's user with the uploader's
    /// OpenStack credentials ([`Testbed::os_env`]) and nothing else: no
    /// `OS_CLOUD` or clouds.yaml, no configuration file.
    pub fn rbd_native_uploader(&self, bin: &str) -> Command {
        let mut c = self.rbd_native(bin, "cinder", "CEPH_CINDER_KEYRING");
        c.env_remove("OS_CLOUD")
            .env_remove("OS_CLIENT_CONFIG_FILE")
            .env("RBD_NATIVE_CONFIG", "/dev/null")
            .envs(self.os_env());
        c
    }

    /// A command of the `rbd` tool for cluster main as admin.
    pub fn rbd_command(&self) -> Command {
        self.ceph_tool("rbd", "CEPH_CONF", "admin")
    }

    /// Runs `rbd ARGS` on cluster main as admin; its output, whatever its
    /// status.
    pub fn rbd(&self, args: &[&str]) -> Output {
        run(self.rbd_command().args(args))
    }

    /// Runs `rbd ARGS` on cluster main as admin, failing the test unless it
    /// succeeds; its stdout.
    pub fn rbd_ok(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&run_ok(self.rbd_command().args(args)).stdout).into_owned()
    }

    /// A volume in pool `volumes` named `<prefix>-<unique>` holding `len`
    /// bytes of [`pattern`]`(len, seed)`, written with `rbd import`; its
    /// name and bytes.
    pub fn import_volume(&self, prefix: &str, len: usize, seed: u64) -> (String, Vec<u8>) {
        self.import_volume_with(prefix, len, seed, &[])
    }

    /// [`Testbed::import_volume`] with more arguments for `rbd import`
    /// (`--data-pool POOL`, say).
    pub fn import_volume_with(
        &self,
        prefix: &str,
        len: usize,
        seed: u64,
        extra: &[&str],
    ) -> (String, Vec<u8>) {
        let name = unique_name(prefix);
        let data = pattern(len, seed);
        let dir = ScratchDir::new(prefix);
        let f = dir.path().join("v");
        std::fs::write(&f, &data).expect("write the volume's data");
        let file = f.to_string_lossy();
        let spec = format!("volumes/{name}");
        let mut args = vec!["import"];
        args.extend_from_slice(extra);
        args.extend([file.as_ref(), spec.as_str()]);
        self.rbd_ok(&args);
        (name, data)
    }

    /// [`Testbed::rbd_ok`] with `--format json` added; the JSON it prints.
    pub fn rbd_json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        let out = self.rbd_ok(&a);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("rbd {a:?} printed no JSON ({e}): {out}"))
    }

    /// Writes `total` (e.g. `64M`) to image `spec` in 4 MiB writes with
    /// `rbd bench`, in `pattern` order (`seq` or `rand`), failing the test
    /// unless it succeeds.
    pub fn rbd_bench_write(&self, spec: &str, total: &str, pattern: &str) {
        self.rbd_ok(&[
            "bench",
            "--io-type",
            "write",
            "--io-size",
            "4M",
            "--io-total",
            total,
            "--io-pattern",
            pattern,
            spec,
        ]);
    }

    /// The bytes of image (or snapshot) `spec`, by `rbd export`.
    pub fn rbd_export(&self, spec: &str) -> Vec<u8> {
        run_ok(
            self.rbd_command()
                .args(["export", "--no-progress", spec, "-"]),
        )
        .stdout
    }

    /// Removes image `spec` (`pool/name`) and its snapshots (unprotected
    /// first) with the `rbd` tool; errors are ignored: this is cleanup.
    pub fn remove_image_and_snaps(&self, spec: &str) {
        let rbd = |args: &[&str]| {
            let _ = self.rbd_command().args(args).output();
        };
        if let Ok(o) = self
            .rbd_command()
            .args(["snap", "ls", spec, "--format", "json"])
            .output()
        {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&o.stdout) {
                for s in v.as_array().cloned().unwrap_or_default() {
                    let snap = format!("{spec}@{}", s["name"].as_str().unwrap_or_default());
                    rbd(&["snap", "unprotect", &snap]);
                    rbd(&["snap", "rm", "--no-progress", &snap]);
                }
            }
        }
        rbd(&["rm", "--no-progress", spec]);
    }

    /// The objects of `pool` on cluster main whose names contain `part`
    /// (an image id, say), by `rados ls`.
    pub fn objects_of(&self, pool: &str, part: &str) -> Vec<String> {
        let mut c = self.ceph_tool("rados", "CEPH_CONF", "admin");
        c.args(["-p", pool, "ls"]);
        String::from_utf8_lossy(&run_ok(&mut c).stdout)
            .lines()
            .filter(|l| l.contains(part))
            .map(str::to_string)
            .collect()
    }

    /// [`Testbed::objects_of`] once the OSDs have trimmed: an object whose
    /// head was removed while a snapshot still had a clone of it stays
    /// listed until the OSDs trim that snapshot, in the background, after
    /// its removal. Polls up to `secs` seconds for `pool` to list nothing
    /// with `part` in its name and returns what it still lists then.
    pub fn objects_of_once_trimmed(&self, pool: &str, part: &str, secs: u64) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let left = self.objects_of(pool, part);
            if left.is_empty() || std::time::Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }

    /// The arguments to give [`Testbed::system_python`] to run `body` as client.admin
    /// of cluster main with librados's Python bindings: `body` starts with
    /// `c` connected and `io` open on `pool`, and finds `extra` from
    /// `sys.argv[4]` on.
    pub fn py_admin_args(&self, body: &str, pool: &str, extra: &[&str]) -> Vec<String> {
        let script = format!(
            "import rados, rbd, sys\n\
             c = rados.Rados(conffile=sys.argv[1], name='client.admin', conf={{'keyring': sys.argv[2]}})\n\
             c.connect()\n\
             io = c.open_ioctx(sys.argv[3])\n\
             {body}"
        );
        let mut args = vec![
            "-c".to_string(),
            script,
            self.var("CEPH_CONF"),
            self.var("CEPH_ADMIN_KEYRING"),
            pool.to_string(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    }

    /// A librbd client (Python bindings, as client.admin) that opens image
    /// `pool/image`, writes 4 KiB of `x` at its start (so that it owns the
    /// exclusive lock) and holds it open until its stdin is closed.
    pub fn librbd_holder(&self, pool: &str, image: &str) -> std::process::Child {
        let body = "img = rbd.Image(io, sys.argv[4])\n\
                    img.write(b'x' * 4096, 0)\n\
                    print('holding', flush=True)\n\
                    sys.stdin.read()\n\
                    img.close(); io.close(); c.shutdown()\n";
        let mut holder = self
            .system_python()
            .args(self.py_admin_args(body, pool, &[image]))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 with the rbd bindings");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "holding");
        holder
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn env_lines_parse() {
        let vars = parse_env(
            "# comment\nexport A='x y'\nexport B=\"z\"\nC=plain\nnot a var\nexport D=a=b\n",
        );
        assert_eq!(vars["A"], "x y");
        assert_eq!(vars["B"], "z");
        assert_eq!(vars["C"], "plain");
        assert_eq!(vars["D"], "a=b");
        assert!(!vars.contains_key("not a var"));
    }

    #[test]
    fn pattern_is_deterministic() {
        assert_eq!(pattern(100, 7), pattern(100, 7));
        assert_ne!(pattern(100, 7), pattern(100, 8));
        assert_eq!(pattern(13, 1).len(), 13);
    }
}
