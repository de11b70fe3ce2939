//! Building an engine: stores opened, journeys compiled, connectors set up. A journey whose
//! file does not compile, or whose IDPs cannot be set up, is kept as not ready, with the
//! reasons; the others run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Engine;
use crate::authn::choice::PasswordRules;
use crate::authn::delivery::{EmailSender, SmsSender};
use crate::authn::password::PasswordError;
use crate::authn::sealed::SealError;
use crate::authn::{Passwords, Sealer};
use crate::clock::{SharedClock, SystemClock};
use crate::compile::ir::{Authenticator, CodeChannel, Journey, StepKind};
use crate::compile::{self};
use crate::config::{Config, Env, ProcessEnv};
use crate::diag::Diagnostic;
use crate::idp::redirect::{RedirectClient, Settings as RedirectSettings};
use crate::idp::{self, Connector};
use crate::store::{
    MemorySessions, PostgresUsers, RedisSessions, SessionStore, SqliteUsers, StoreError, UserStore,
};
use crate::syntax::Spelling;
use crate::syntax::source::SourceFile;

/// A journey as the engine found it.
#[derive(Debug)]
pub struct JourneyStatus {
    /// The journey's id (or, if it did not compile, its file's stem).
    pub id: String,
    /// The file it came from.
    pub file: String,
    /// The compiled journey, if it compiled.
    pub journey: Option<Arc<Journey>>,
    /// Why it cannot run; empty when it is ready.
    pub problems: Vec<String>,
}

impl JourneyStatus {
    /// Whether sessions can start.
    pub fn is_ready(&self) -> bool {
        self.journey.is_some() && self.problems.is_empty()
    }

    /// The journey, or why it cannot run.
    pub fn runnable(&self) -> Result<Arc<Journey>, Vec<String>> {
        match &self.journey {
            Some(j) if self.problems.is_empty() => Ok(j.clone()),
            _ => Err(self.problems.clone()),
        }
    }
}

/// Journey files that did not compile, with their diagnostics.
pub type Rejected = Vec<(Arc<SourceFile>, Vec<Diagnostic>)>;

/// Why no engine could be built at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The user store could not be opened.
    #[error("cannot open the user store")]
    Store(#[from] StoreError),
    /// The session store could not be opened.
    #[error("cannot open the session store")]
    Sessions(#[source] StoreError),
    /// `sessions.store` names a kind of session store Ferry does not have.
    #[error("`sessions.store` must be `memory` or a `redis://` URL")]
    UnknownSessionStore,
    /// A folder or file could not be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The password settings are unusable.
    #[error("invalid password settings")]
    Passwords(#[from] PasswordError),
    /// The `lint` settings name a rule that does not exist or cannot be configured.
    #[error("invalid `lint` settings")]
    Lint(#[from] crate::rules::OptionsError),
    /// The credential encryption key is unusable.
    #[error("invalid `authenticators` settings")]
    Sealer(#[from] SealError),
    /// Email or SMS delivery settings are unusable.
    #[error("invalid `authenticators` delivery settings")]
    Delivery(#[from] crate::authn::delivery::DeliveryError),
    /// The passkey relying party cannot be set up.
    #[error("invalid `authenticators.passkeys` settings")]
    Passkeys(#[source] webauthn_rs::prelude::WebauthnError),
    /// The rules for passwords users choose are unusable.
    #[error("invalid `passwords` settings")]
    PasswordRules(#[from] crate::authn::choice::RulesError),
    /// TOTP parameters no authenticator app uses.
    #[error("`authenticators.totp` needs 6 to 8 digits and a period of 1 to 300 seconds")]
    Totp,
}

/// Assembles an [`Engine`]; everything not given comes from the configuration.
pub struct EngineBuilder {
    config: Config,
    env: Arc<dyn Env>,
    users: Option<Arc<dyn UserStore>>,
    sessions: Option<Arc<dyn SessionStore>>,
    clock: SharedClock,
    connectors: BTreeMap<String, Arc<dyn Connector>>,
    redirects: BTreeMap<String, Arc<RedirectClient>>,
}

/// The connectors and redirect clients set up so far, by IDP name.
#[derive(Default)]
struct Ready {
    connectors: BTreeMap<String, Arc<dyn Connector>>,
    redirects: BTreeMap<String, Arc<RedirectClient>>,
}

impl EngineBuilder {
    /// A builder over a configuration.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            env: Arc::new(ProcessEnv),
            users: None,
            sessions: None,
            clock: Arc::new(SystemClock),
            connectors: BTreeMap::new(),
            redirects: BTreeMap::new(),
        }
    }

    /// A ready-made redirect client for an IDP name, instead of one built from the
    /// configuration.
    pub fn redirect(mut self, idp: impl Into<String>, client: Arc<RedirectClient>) -> Self {
        self.redirects.insert(idp.into(), client);
        self
    }

    /// Where `${NAME}` references are resolved (default: the process environment).
    pub fn env(mut self, env: Arc<dyn Env>) -> Self {
        self.env = env;
        self
    }

    /// A user store instead of the configured one.
    pub fn users(mut self, users: Arc<dyn UserStore>) -> Self {
        self.users = Some(users);
        self
    }

    /// A session store instead of the configured one (`sessions.store`).
    pub fn sessions(mut self, sessions: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(sessions);
        self
    }

    /// A clock instead of the system clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// A ready-made connector for an IDP name, instead of one built from the configuration.
    pub fn connector(mut self, idp: impl Into<String>, connector: Arc<dyn Connector>) -> Self {
        self.connectors.insert(idp.into(), connector);
        self
    }

    /// Opens the stores, compiles the journeys and sets up their connectors.
    pub async fn build(mut self) -> Result<(Engine, Rejected), LoadError> {
        let users = match self.users.take() {
            Some(users) => users,
            None => open_users(&self.config).await?,
        };
        let sessions = match self.sessions.take() {
            Some(sessions) => sessions,
            None => open_sessions(&self.config, self.clock.clone()).await?,
        };
        let passwords = Passwords::new(&self.config.settings.passwords)?;
        let password_rules =
            PasswordRules::load(&self.config.settings.passwords, &self.config.base_dir)?;
        let authenticators = self.config.settings.authenticators.clone();
        let totp = &authenticators.totp;
        if !(6..=8).contains(&totp.digits) || !(1..=300).contains(&totp.period) {
            return Err(LoadError::Totp);
        }
        let sealer = match authenticators.encryption_key.as_ref() {
            Some(key) if !key.is_empty() => {
                Some(Arc::new(Sealer::new(key, &authenticators.key_id)?))
            }
            _ => None,
        };
        let email = authenticators
            .email
            .as_ref()
            .map(|e| EmailSender::new(e).map(Arc::new))
            .transpose()?;
        let sms = authenticators
            .sms
            .as_ref()
            .map(|s| SmsSender::new(s).map(Arc::new))
            .transpose()?;
        let webauthn = authenticators
            .passkeys
            .as_ref()
            .map(relying_party)
            .transpose()?;
        let (compiled, rejected) = self.compile_journeys()?;
        let mut engine = Engine {
            journeys: BTreeMap::new(),
            versions: HashMap::new(),
            connectors: BTreeMap::new(),
            redirects: BTreeMap::new(),
            users,
            sessions,
            passwords,
            password_rules,
            clock: self.clock.clone(),
            limits: self.config.settings.sessions.clone(),
            throttle: self.config.settings.throttle.clone(),
            sealer,
            authenticators,
            email,
            sms,
            webauthn,
            metrics: Arc::new(crate::metrics::Metrics::new()),
        };
        let mut ready = Ready::default();
        for mut status in compiled {
            if is_other_spelling(&engine.journeys, &status) {
                continue;
            }
            if let Some(journey) = status.journey.clone() {
                status
                    .problems
                    .extend(self.connect(&journey, &mut ready).await);
                if engine.sealer.is_none() && uses_totp(&journey) {
                    status.problems.push(
                        "its TOTP steps need `authenticators.encryption_key` in ferry.yaml".into(),
                    );
                }
                if engine.webauthn.is_none() && uses_passkeys(&journey) {
                    status.problems.push(
                        "its passkey steps need `authenticators.passkeys` in ferry.yaml".into(),
                    );
                }
                for (channel, configured) in [
                    (CodeChannel::Email, engine.email.is_some()),
                    (CodeChannel::Sms, engine.sms.is_some()),
                ] {
                    if !configured && sends_codes(&journey, channel) {
                        status.problems.push(format!(
                            "its {} codes need `authenticators.{}` in ferry.yaml",
                            channel.name(),
                            channel.name()
                        ));
                    }
                }
                engine
                    .versions
                    .insert((journey.def.id.clone(), journey.version.clone()), journey);
            }
            if engine.journeys.contains_key(&status.id) {
                status
                    .problems
                    .push(format!("another file also defines journey `{}`", status.id));
                status.id = format!("{} ({})", status.id, status.file);
            }
            engine.journeys.insert(status.id.clone(), status);
        }
        engine.connectors = ready.connectors;
        engine.redirects = ready.redirects;
        Ok((engine, rejected))
    }

    fn compile_journeys(&self) -> Result<(Vec<JourneyStatus>, Rejected), LoadError> {
        let mut files = Vec::new();
        for path in &self.config.settings.journeys {
            journey_files(&self.config.resolve(path), &mut files)?;
        }
        // The same rule levels and acknowledgements as `ferry lint` with this configuration.
        let deployment = crate::rules::Deployment::from_config(&self.config);
        let options = crate::rules::Options::new(&self.config.settings.lint, Some(deployment))?;
        let mut statuses = Vec::new();
        let mut rejected = Vec::new();
        for path in files {
            let file = SourceFile::read(&path).map_err(|source| LoadError::Read {
                path: path.clone(),
                source,
            })?;
            statuses.push(match compile::compile_source_with(&file, &options) {
                Ok(c) => JourneyStatus {
                    id: c.journey.def.id.clone(),
                    file: file.name().into(),
                    journey: Some(c.journey),
                    problems: Vec::new(),
                },
                Err(diagnostics) => {
                    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
                    let stem = path
                        .file_stem()
                        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
                    let problem = format!(
                        "`{}` does not compile ({errors} errors; run `ferry lint` on it)",
                        file.name()
                    );
                    rejected.push((file.clone(), diagnostics));
                    JourneyStatus {
                        id: stem,
                        file: file.name().into(),
                        journey: None,
                        problems: vec![problem],
                    }
                }
            });
        }
        Ok((statuses, rejected))
    }

    /// Sets up what the journey's steps need of each IDP (a connector for password and code
    /// steps, a redirect client for redirect steps), reusing what is built; returns what
    /// failed.
    async fn connect(&self, journey: &Journey, ready: &mut Ready) -> Vec<String> {
        let mut problems = Vec::new();
        for (index, decl) in journey.def.idps.iter().enumerate() {
            let uses = Uses::of(journey, index);
            if uses.redirect
                && !ready.redirects.contains_key(&decl.name)
                && let Err(reason) = self.redirect_client(decl, &mut ready.redirects)
            {
                problems.push(format!("IDP `{}`: {reason}", decl.name));
            }
            let redirect_only = uses.redirect && !uses.connector;
            if redirect_only || ready.connectors.contains_key(&decl.name) {
                continue;
            }
            let ready = &mut ready.connectors;
            if let Some(given) = self.connectors.get(&decl.name) {
                ready.insert(decl.name.clone(), given.clone());
                continue;
            }
            match idp::build(&self.config, self.env.as_ref(), &decl.name, decl.provider).await {
                Ok(connector) => {
                    ready.insert(decl.name.clone(), connector);
                }
                Err(reason) => problems.push(format!("IDP `{}`: {reason}", decl.name)),
            }
        }
        problems
    }
}

/// Whether `status` is a journey already loaded, written in its other spelling: the same id
/// and the same IR, so serving either is serving both.
fn is_other_spelling(loaded: &BTreeMap<String, JourneyStatus>, status: &JourneyStatus) -> bool {
    let earlier = loaded.get(&status.id).and_then(|s| s.journey.as_ref());
    match (earlier, &status.journey) {
        (Some(a), Some(b)) => a.def == b.def,
        _ => false,
    }
}

impl EngineBuilder {
    fn redirect_client(
        &self,
        decl: &crate::compile::ir::Idp,
        ready: &mut BTreeMap<String, Arc<RedirectClient>>,
    ) -> Result<(), String> {
        if let Some(given) = self.redirects.get(&decl.name) {
            ready.insert(decl.name.clone(), given.clone());
            return Ok(());
        }
        let settings: RedirectSettings = self
            .config
            .idp_redirect_settings(&decl.name, self.env.as_ref())
            .ok_or_else(|| {
                format!(
                    "no `redirect` settings under `idps.{}` in the configuration",
                    decl.name
                )
            })?
            .map_err(|e| e.to_string())?;
        let client =
            RedirectClient::new(&decl.name, decl.provider, settings).map_err(|e| e.to_string())?;
        ready.insert(decl.name.clone(), Arc::new(client));
        Ok(())
    }
}

/// What a journey's steps need of one IDP.
struct Uses {
    connector: bool,
    redirect: bool,
}

impl Uses {
    fn of(journey: &Journey, index: usize) -> Self {
        let mut uses = Self {
            connector: false,
            redirect: false,
        };
        for step in &journey.def.steps {
            let (idp, redirect) = match &step.kind {
                StepKind::LegacyRedirect { idp } => (idp, true),
                StepKind::LegacyPassword { idp, .. }
                | StepKind::LegacyOtp { idp, .. }
                | StepKind::LegacyTotp { idp, .. } => (idp, false),
                _ => continue,
            };
            if idp.0 as usize == index {
                if redirect {
                    uses.redirect = true;
                } else {
                    uses.connector = true;
                }
            }
        }
        uses
    }
}

/// Whether a journey checks or enrols TOTP, and so needs the credential encryption key.
fn uses_totp(journey: &Journey) -> bool {
    journey.def.steps.iter().any(|s| match &s.kind {
        StepKind::CheckTotp { .. } => true,
        StepKind::RegisterAuthenticator { offer, .. } => offer.contains(&Authenticator::Totp),
        _ => false,
    })
}

/// The WebAuthn relying party of the configuration.
fn relying_party(
    settings: &crate::authn::settings::PasskeySettings,
) -> Result<Arc<webauthn_rs::Webauthn>, LoadError> {
    use webauthn_rs::prelude::WebauthnError;
    let origin = url::Url::parse(&settings.origin)
        .map_err(|_| LoadError::Passkeys(WebauthnError::Configuration))?;
    let webauthn = webauthn_rs::WebauthnBuilder::new(&settings.rp_id, &origin)
        .and_then(|b| b.rp_name(&settings.rp_name).build())
        .map_err(LoadError::Passkeys)?;
    Ok(Arc::new(webauthn))
}

/// Whether a journey checks or registers passkeys.
fn uses_passkeys(journey: &Journey) -> bool {
    journey.def.steps.iter().any(|s| match &s.kind {
        StepKind::CheckPasskey { .. } => true,
        StepKind::RegisterAuthenticator { offer, .. } => offer.contains(&Authenticator::Passkey),
        _ => false,
    })
}

/// Whether a journey sends local codes by a channel, to sign in or to register an address.
fn sends_codes(journey: &Journey, channel: CodeChannel) -> bool {
    let registered = match channel {
        CodeChannel::Email => Authenticator::Email,
        CodeChannel::Sms => Authenticator::Sms,
    };
    journey.def.steps.iter().any(|s| match &s.kind {
        StepKind::LocalOtp { channel: c, .. } => *c == channel,
        StepKind::RegisterAuthenticator { offer, .. } => offer.contains(&registered),
        _ => false,
    })
}

/// Opens the user store the configuration names: `database` (a `sqlite:` or a PostgreSQL
/// URL), else `<data_dir>/ferry.db`.
pub async fn open_users(config: &Config) -> Result<Arc<dyn UserStore>, LoadError> {
    let store: Arc<dyn UserStore> = match config.settings.database.as_deref() {
        Some(url) if PostgresUsers::handles(url) => Arc::new(PostgresUsers::connect(url).await?),
        Some(url) => Arc::new(SqliteUsers::connect(url).await?),
        None => {
            let dir = config.resolve(&config.settings.data_dir);
            std::fs::create_dir_all(&dir).map_err(|source| LoadError::Read {
                path: dir.clone(),
                source,
            })?;
            Arc::new(SqliteUsers::open(&dir.join("ferry.db")).await?)
        }
    };
    Ok(store)
}

/// Opens the session store the configuration names: `sessions.store`, `memory` (the
/// default) or a `redis://` URL, whose keys start with `sessions.key_prefix`.
pub async fn open_sessions(
    config: &Config,
    clock: SharedClock,
) -> Result<Arc<dyn SessionStore>, LoadError> {
    let settings = &config.settings.sessions;
    match settings.store.as_str() {
        "memory" => Ok(Arc::new(MemorySessions::new())),
        url if RedisSessions::handles(url) => {
            let store = RedisSessions::connect(url, &settings.key_prefix, clock)
                .await
                .map_err(LoadError::Sessions)?;
            Ok(Arc::new(store))
        }
        _ => Err(LoadError::UnknownSessionStore),
    }
}

fn journey_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let read = |source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    };
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries = std::fs::read_dir(path)
        .map_err(read)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read)?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            journey_files(&entry, out)?;
        } else if Spelling::of(&entry).is_some() {
            out.push(entry);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    #[tokio::test]
    async fn a_session_store_ferry_cannot_reach_is_refused_at_start() {
        let mut config = Config::embedded();
        for store in ["rediss://127.0.0.1:6379", "memcached://127.0.0.1", "Memory"] {
            config.settings.sessions.store = store.into();
            let opened = open_sessions(&config, Arc::new(SystemClock)).await;
            assert!(
                matches!(opened, Err(LoadError::UnknownSessionStore)),
                "{store}"
            );
        }
    }
}
