//! `ferry.yaml`: the per-deployment configuration. Secrets are references to environment
//! variables (`${NAME}`), never values; each IDP's settings are kept raw here and read by
//! its connector, so one bad IDP makes only its journeys not ready.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::syntax::source::SourceFile;
use crate::syntax::yaml::{self, Node, Value};

/// Keys whose values must be `${NAME}` references, wherever they appear.
pub const SECRET_KEYS: &[&str] = &[
    "client_secret",
    "secret",
    "password",
    "private_key",
    "api_token",
    "pepper",
    "signer_key",
    "encryption_key",
];

/// The key of an IDP's redirect settings, beside its connector's settings.
pub const REDIRECT_KEY: &str = "redirect";

/// The whole configuration, with defaults filled in.
#[derive(Debug)]
pub struct Config {
    /// The file it came from; `None` for the embedded defaults.
    pub file: Option<Arc<SourceFile>>,
    /// Relative paths are resolved against this folder.
    pub base_dir: PathBuf,
    /// The server's own settings.
    pub settings: Settings,
    /// Each IDP's raw settings, by name.
    pub idps: BTreeMap<String, Node>,
}

/// The typed part of `ferry.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Where `ferry serve` listens.
    pub listen: SocketAddr,
    /// How many reverse proxies in front of Ferry append to `X-Forwarded-For`; the client's
    /// address is taken that many entries from the end. 0: use the connection's address.
    pub trusted_proxy_hops: usize,
    /// Journey files or folders.
    pub journeys: Vec<PathBuf>,
    /// Where the embedded database and the generated signing key live.
    pub data_dir: PathBuf,
    /// The user store: a `sqlite:` URL, or a `postgres://` / `postgresql://` URL for a store
    /// that several nodes share; default `<data_dir>/ferry.db`.
    pub database: Option<String>,
    /// Session settings.
    pub sessions: SessionSettings,
    /// Completion-token settings.
    pub token: TokenSettings,
    /// Local password hashing.
    pub passwords: PasswordSettings,
    /// Brute-force protection for local logins.
    pub throttle: ThrottleSettings,
    /// `ferry lint`'s rule levels and acknowledgements.
    pub lint: crate::rules::LintSettings,
    /// Local authenticators: the key that encrypts them at rest, TOTP parameters.
    pub authenticators: crate::authn::settings::AuthenticatorSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            trusted_proxy_hops: 0,
            journeys: vec![PathBuf::from("journeys")],
            data_dir: PathBuf::from(".ferry"),
            database: None,
            sessions: SessionSettings::default(),
            token: TokenSettings::default(),
            passwords: PasswordSettings::default(),
            throttle: ThrottleSettings::default(),
            lint: crate::rules::LintSettings::default(),
            authenticators: Default::default(),
        }
    }
}

/// Brute-force protection: limits per account and per client address.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleSettings {
    /// Limits per account (counted by identifier, whether or not the account exists).
    pub account: ThrottleLimits,
    /// Limits per client address, across accounts.
    pub client: ThrottleLimits,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            account: ThrottleLimits::default(),
            client: ThrottleLimits {
                free_failures: 20,
                lock_after: 1_000,
                lock_seconds: 900,
                ..ThrottleLimits::default()
            },
        }
    }
}

/// Delays and lockout for one kind of throttling key.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleLimits {
    /// Consecutive failures answered without delay.
    pub free_failures: u32,
    /// The first delay after those, in ms; each further failure doubles it.
    pub base_delay_ms: u64,
    /// The longest delay, in ms.
    pub max_delay_ms: u64,
    /// Consecutive failures that lock the key (at most 100 for accounts, per NIST 800-63B).
    pub lock_after: u32,
    /// How long a lock lasts, in seconds.
    pub lock_seconds: u64,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay_ms: 250,
            max_delay_ms: 8_000,
            lock_after: 100,
            lock_seconds: 3_600,
        }
    }
}

/// How long sessions live and how much work one request may do.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// A session's lifetime from its start, in seconds.
    pub ttl_seconds: u64,
    /// Steps one request may run before the session is failed.
    pub max_steps_per_request: u32,
    /// Requests one session may take in all.
    pub max_requests: u32,
    /// Where sessions live: `memory` (this process only), or a `redis://` URL, so that
    /// several nodes share them.
    pub store: String,
    /// What every Redis key starts with, so deployments can share one Redis.
    pub key_prefix: String,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            ttl_seconds: 900,
            max_steps_per_request: 64,
            max_requests: 30,
            store: "memory".into(),
            key_prefix: crate::store::DEFAULT_SESSION_PREFIX.into(),
        }
    }
}

/// The signed completion token.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// The `iss` claim.
    pub issuer: String,
    /// The `aud` claim.
    pub audience: String,
    /// Lifetime in seconds.
    pub ttl_seconds: u64,
    /// `EdDSA` (Ed25519) or `ES256` (P-256).
    pub algorithm: TokenAlgorithm,
    /// A PKCS#8 PEM private key; default: generated at first start into `data_dir`.
    pub key_file: Option<PathBuf>,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            audience: "ferry".into(),
            ttl_seconds: 3600,
            algorithm: TokenAlgorithm::EdDsa,
            key_file: None,
        }
    }
}

/// Signature algorithms for completion tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum TokenAlgorithm {
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// ECDSA on P-256 with SHA-256.
    #[serde(rename = "ES256")]
    Es256,
}

/// argon2id parameters for local passwords; the defaults are OWASP's minimum.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Hashes computed at once.
    pub max_concurrent: usize,
    /// Hashes allowed to wait for a free slot; beyond that requests get `503` and `Retry-After`.
    pub max_waiting: usize,
    /// A secret mixed into every new hash, as a `${NAME}` reference; kept outside the store.
    pub pepper: Option<crate::secret::Secret>,
    /// The pepper's id, written into each hash so a rotated pepper is recognised.
    pub pepper_id: String,
    /// The fewest characters (Unicode code points) of a password a user chooses in Ferry.
    pub min_length: usize,
    /// The most characters of a password a user chooses in Ferry; at least 64 (NIST 800-63B).
    pub max_length: usize,
    /// A file of passwords users may not choose, one per line (compared ignoring case), such
    /// as a list of common or breached passwords; relative to the configuration file.
    pub blocklist: Option<PathBuf>,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 4,
            max_waiting: 64,
            pepper: None,
            pepper_id: "p1".into(),
            min_length: 8,
            max_length: 128,
            blocklist: None,
        }
    }
}

/// Why the configuration (or one IDP's part of it) cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML.
    #[error("{at}: {message}")]
    Syntax {
        /// `file:line:col`.
        at: String,
        /// What the reader said.
        message: String,
    },
    /// A value is wrong.
    #[error("{at}: {message}")]
    Invalid {
        /// `file:line:col` and the setting's path.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// A referenced environment variable is not set.
    #[error("{at}: environment variable `{name}` is not set")]
    MissingEnv {
        /// Where it is referenced.
        at: String,
        /// The variable.
        name: String,
    },
    /// A secret written as a value.
    #[error(
        "{at}: `{key}` is a secret: write it as a `${{NAME}}` reference to an environment variable"
    )]
    SecretValue {
        /// Where.
        at: String,
        /// The key.
        key: String,
    },
}

/// Reads environment variables; injected so tests need not touch the process environment.
pub trait Env: Send + Sync {
    /// The variable's value, if set.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<S: std::hash::BuildHasher + Send + Sync> Env for std::collections::HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<String> {
        std::collections::HashMap::get(self, name).cloned()
    }
}

impl Config {
    /// The embedded defaults: no file, paths relative to the working folder.
    pub fn embedded() -> Self {
        Self {
            file: None,
            base_dir: PathBuf::from("."),
            settings: Settings::default(),
            idps: BTreeMap::new(),
        }
    }

    /// Reads `ferry.yaml` (or another file); paths in it are relative to its folder.
    pub fn load(path: &Path, env: &dyn Env) -> Result<Self, ConfigError> {
        let file = SourceFile::read(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let base_dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Self::parse(file, base_dir, env)
    }

    /// Parses configuration text.
    pub fn parse(
        file: Arc<SourceFile>,
        base_dir: PathBuf,
        env: &dyn Env,
    ) -> Result<Self, ConfigError> {
        let root = yaml::parse(&file).map_err(|d| ConfigError::Syntax {
            at: location(&file, d.span.start, ""),
            message: d.message,
        })?;
        let mut root = match root.value {
            Value::Null => Node {
                span: root.span,
                value: Value::Map(Vec::new()),
            },
            _ => root,
        };
        let idps = take_idps(&file, &mut root)?;
        let settings: Settings = read_node(&file, &root, "", env)?;
        check_lockout(&file, &root, &settings.throttle)?;
        Ok(Self {
            file: Some(file),
            base_dir,
            settings,
            idps,
        })
    }

    /// A path from the configuration, resolved against the configuration's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    /// The raw settings of one IDP, if configured.
    pub fn idp(&self, name: &str) -> Option<&Node> {
        self.idps.get(name)
    }

    /// Reads one IDP's settings into a connector's settings type, resolving `${NAME}`.
    pub fn idp_settings<T: DeserializeOwned>(
        &self,
        name: &str,
        env: &dyn Env,
    ) -> Result<T, ConfigError> {
        let empty = Node {
            span: Default::default(),
            value: Value::Map(Vec::new()),
        };
        let mut node = self.idps.get(name).unwrap_or(&empty).clone();
        if let Value::Map(entries) = &mut node.value {
            entries.retain(|(k, _)| k.name != REDIRECT_KEY);
        }
        let file = self
            .file
            .clone()
            .unwrap_or_else(|| SourceFile::new("ferry.yaml", ""));
        read_node(&file, &node, &format!("idps.{name}"), env)
    }

    /// Reads the `redirect` block of one IDP (the `legacy_redirect` step's settings), if
    /// it has one. The IDP's other settings belong to its password and code connector.
    pub fn idp_redirect_settings<T: DeserializeOwned>(
        &self,
        name: &str,
        env: &dyn Env,
    ) -> Option<Result<T, ConfigError>> {
        let node = self.idps.get(name)?.get(REDIRECT_KEY)?;
        let file = self
            .file
            .clone()
            .unwrap_or_else(|| SourceFile::new("ferry.yaml", ""));
        Some(read_node(
            &file,
            node,
            &format!("idps.{name}.{REDIRECT_KEY}"),
            env,
        ))
    }
}

/// NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts on one account.
fn check_lockout(
    file: &SourceFile,
    root: &Node,
    throttle: &ThrottleSettings,
) -> Result<(), ConfigError> {
    let limit = throttle.account.lock_after;
    if (1..=100).contains(&limit) {
        return Ok(());
    }
    let offset = root
        .get("throttle")
        .map_or(root.span.start, |n| n.span.start);
    let message = format!("must be between 1 and 100 (NIST SP 800-63B §5.2.2), not {limit}");
    Err(invalid(
        file,
        offset,
        "throttle.account.lock_after",
        &message,
    ))
}

fn take_idps(file: &SourceFile, root: &mut Node) -> Result<BTreeMap<String, Node>, ConfigError> {
    let Value::Map(entries) = &mut root.value else {
        return Err(invalid(
            file,
            root.span.start,
            "",
            "the configuration must be a mapping",
        ));
    };
    let Some(index) = entries.iter().position(|(k, _)| k.name == "idps") else {
        return Ok(BTreeMap::new());
    };
    let (_, idps) = entries.remove(index);
    match idps.value {
        Value::Map(list) => Ok(list.into_iter().map(|(k, v)| (k.name, v)).collect()),
        Value::Null => Ok(BTreeMap::new()),
        _ => Err(invalid(
            file,
            idps.span.start,
            "idps",
            "expected a mapping of IDP names to settings",
        )),
    }
}

/// Deserialises a node after resolving `${NAME}` references, reporting errors at their place.
/// Reads another YAML file of Ferry's (an import mapping, a hash format) into a settings type,
/// with the same `${NAME}` references, secret checks and `file:line:col` errors as ferry.yaml.
pub fn read_yaml<T: DeserializeOwned>(path: &Path, env: &dyn Env) -> Result<T, ConfigError> {
    let file = SourceFile::read(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    let root = yaml::parse(&file).map_err(|d| ConfigError::Syntax {
        at: location(&file, d.span.start, ""),
        message: d.message,
    })?;
    read_node(&file, &root, "", env)
}

fn read_node<T: DeserializeOwned>(
    file: &SourceFile,
    node: &Node,
    prefix: &str,
    env: &dyn Env,
) -> Result<T, ConfigError> {
    let json = resolve(file, node, prefix, None, env)?;
    serde_path_to_error::deserialize(json).map_err(|e| {
        let path = e.path().to_string();
        let offset = node_at(node, &path).map_or(node.span.start, |n| n.span.start);
        let full = join(prefix, if path == "." { "" } else { &path });
        invalid(file, offset, &full, &e.into_inner().to_string())
    })
}

fn resolve(
    file: &SourceFile,
    node: &Node,
    path: &str,
    key: Option<&str>,
    env: &dyn Env,
) -> Result<Json, ConfigError> {
    Ok(match &node.value {
        Value::String(s) => {
            if key.is_some_and(|k| SECRET_KEYS.contains(&k)) && !is_reference(s) {
                let at = location(file, node.span.start, path);
                return Err(ConfigError::SecretValue {
                    at,
                    key: key.unwrap_or_default().to_owned(),
                });
            }
            Json::String(substitute(s, env).map_err(|name| ConfigError::MissingEnv {
                at: location(file, node.span.start, path),
                name,
            })?)
        }
        Value::Seq(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, n)| resolve(file, n, &format!("{path}[{i}]"), None, env))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    Ok((
                        k.name.clone(),
                        resolve(file, v, &join(path, &k.name), Some(&k.name), env)?,
                    ))
                })
                .collect::<Result<_, ConfigError>>()?,
        ),
        _ => node.to_json(),
    })
}

/// Whether a value is exactly one `${NAME}` reference.
fn is_reference(text: &str) -> bool {
    text.strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .is_some_and(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Replaces every `${NAME}` with the variable's value; `$${` writes a literal `${`.
fn substitute(text: &str, env: &dyn Env) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let Some(end) = rest[i..].find('}') else {
            out.push_str(&rest[i..]);
            return Ok(out);
        };
        let name = &rest[i + 2..i + end];
        out.push_str(&env.get(name).ok_or_else(|| name.to_owned())?);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The node at a serde path such as `token.ttl_seconds` or `answers[0].status`.
fn node_at<'a>(root: &'a Node, path: &str) -> Option<&'a Node> {
    let mut node = root;
    for part in path.split('.').filter(|p| !p.is_empty() && *p != "?") {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !name.is_empty() {
            node = node.get(name)?;
        }
        if let (Some(i), Value::Seq(items)) = (index, &node.value) {
            node = items.get(i)?;
        }
    }
    Some(node)
}

fn join(prefix: &str, name: &str) -> String {
    match (prefix.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (_, true) => prefix.to_owned(),
        _ => format!("{prefix}.{name}"),
    }
}

fn location(file: &SourceFile, offset: usize, path: &str) -> String {
    let at = file.line_col(offset);
    let place = format!("{}:{}:{}", file.name(), at.line, at.column);
    if path.is_empty() {
        place
    } else {
        format!("{place}: `{path}`")
    }
}

fn invalid(file: &SourceFile, offset: usize, path: &str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        at: location(file, offset, path),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(text: &str, env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        Config::parse(
            SourceFile::new("ferry.yaml", text),
            PathBuf::from("/etc/ferry"),
            env,
        )
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_fill_what_is_not_written() {
        let config = parse("listen: 0.0.0.0:9000\n", &env(&[])).unwrap();
        assert_eq!(config.settings.listen.port(), 9000);
        assert_eq!(config.settings.sessions.ttl_seconds, 900);
        let sessions = &config.settings.sessions;
        assert_eq!(
            (sessions.store.as_str(), sessions.key_prefix.as_str()),
            ("memory", "ferry:")
        );
        assert_eq!(
            config.resolve(Path::new("journeys")),
            PathBuf::from("/etc/ferry/journeys")
        );
    }

    #[test]
    fn shared_stores_are_named_by_url_from_the_environment() {
        let text = "database: ${PG}\nsessions:\n  store: ${REDIS}\n  key_prefix: \"a:\"\n";
        let vars = env(&[("PG", "postgres://db/ferry"), ("REDIS", "redis://cache")]);
        let settings = parse(text, &vars).unwrap().settings;
        assert_eq!(settings.database.as_deref(), Some("postgres://db/ferry"));
        assert_eq!(
            (
                settings.sessions.store.as_str(),
                settings.sessions.key_prefix.as_str()
            ),
            ("redis://cache", "a:")
        );
    }

    #[test]
    fn an_account_lockout_beyond_100_failures_is_refused() {
        let err = parse("throttle:\n  account: { lock_after: 500 }\n", &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("between 1 and 100"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors_with_their_place() {
        let err = parse("token:\n  isuer: x\n", &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("ferry.yaml:"), "{err}");
        assert!(err.contains("unknown field `isuer`"), "{err}");
    }

    #[derive(Debug, Deserialize)]
    struct Oauth {
        token_endpoint: String,
        client_secret: String,
    }

    #[test]
    fn idp_settings_resolve_environment_references() {
        let text = "idps:\n  legacy:\n    token_endpoint: http://127.0.0.1:${PORT}/token\n    client_secret: ${SECRET}\n";
        let vars = env(&[("PORT", "4000"), ("SECRET", "s3cret")]);
        let config = parse(text, &vars).unwrap();
        let settings: Oauth = config.idp_settings("legacy", &vars).unwrap();
        assert_eq!(settings.token_endpoint, "http://127.0.0.1:4000/token");
        assert_eq!(settings.client_secret, "s3cret");
        let missing = config
            .idp_settings::<Oauth>("legacy", &env(&[("PORT", "1")]))
            .unwrap_err();
        assert!(
            missing.to_string().contains("`SECRET` is not set"),
            "{missing}"
        );
    }

    #[test]
    fn the_redirect_block_is_read_apart_from_the_connector_settings() {
        let text = "idps:\n  legacy:\n    token_endpoint: t\n    client_secret: ${SECRET}\n    redirect:\n      client_id: c\n";
        let vars = env(&[("SECRET", "s")]);
        let config = parse(text, &vars).unwrap();
        let settings: Oauth = config.idp_settings("legacy", &vars).unwrap();
        assert_eq!(settings.token_endpoint, "t");
        let redirect: Json = config
            .idp_redirect_settings("legacy", &vars)
            .expect("a redirect block")
            .unwrap();
        assert_eq!(redirect, serde_json::json!({ "client_id": "c" }));
        assert!(
            config
                .idp_redirect_settings::<Json>("other", &vars)
                .is_none()
        );
    }

    #[test]
    fn secrets_written_as_values_are_refused() {
        let text = "idps:\n  legacy:\n    token_endpoint: x\n    client_secret: hunter2\n";
        let config = parse(text, &env(&[])).unwrap();
        let err = config
            .idp_settings::<Oauth>("legacy", &env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`client_secret` is a secret"), "{err}");
        assert!(!err.contains("hunter2"));
    }

    #[test]
    fn substitution_handles_escapes_and_unclosed_references() {
        let vars = env(&[("A", "1")]);
        assert_eq!(substitute("x${A}y", &vars), Ok("x1y".into()));
        assert_eq!(substitute("$${A}", &vars), Ok("${A}".into()));
        assert_eq!(substitute("${A", &vars), Ok("${A".into()));
    }
}
