//! The engine: one asynchronous session per login, advanced step by step until it waits for
//! the user or ends. Runs only the IR; reaches providers through connectors and data through
//! the store traits.

mod context;
pub mod input;
mod load;
mod local;
pub mod local_otp;
pub mod passkey;
mod redirect_step;
pub mod register;
mod register_address;
pub mod session;
mod steps;
pub mod throttle;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value as Json};

pub use load::{EngineBuilder, JourneyStatus, LoadError, open_sessions, open_users};
pub use local::TOTP as TOTP_SEAL;
pub use session::{Session, SessionId, SessionUser};
pub use steps::Client;

use crate::authn::Passwords;
use crate::clock::SharedClock;
use crate::compile::ir::{FieldKind, Journey, StepId, StepKind};
use crate::config::SessionSettings;
use crate::idp::Connector;
use crate::idp::redirect::{CallbackParams, RedirectClient, state_hash};
use crate::store::{AcquireError, LeaseToken, SessionStore, StoreError, Stored, UserStore};
use crate::syntax::ast::FailReason;
use input::InputError;
use steps::{Exec, Fault, Resume, Resumed, Run, Transient};

/// The journey engine.
pub struct Engine {
    journeys: BTreeMap<String, JourneyStatus>,
    versions: HashMap<(String, String), Arc<Journey>>,
    connectors: BTreeMap<String, Arc<dyn Connector>>,
    redirects: BTreeMap<String, Arc<RedirectClient>>,
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    passwords: Passwords,
    password_rules: crate::authn::choice::PasswordRules,
    clock: SharedClock,
    limits: SessionSettings,
    throttle: crate::config::ThrottleSettings,
    sealer: Option<Arc<crate::authn::Sealer>>,
    authenticators: crate::authn::settings::AuthenticatorSettings,
    email: Option<Arc<crate::authn::delivery::EmailSender>>,
    sms: Option<Arc<crate::authn::delivery::SmsSender>>,
    webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    metrics: Arc<crate::metrics::Metrics>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("journeys", &self.journeys.keys())
            .finish_non_exhaustive()
    }
}

/// A request the engine refused; the session (if any) is unchanged apart from its request count.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No journey has this id.
    #[error("no journey `{0}`")]
    UnknownJourney(String),
    /// The journey exists but cannot run.
    #[error("journey `{journey}` is not ready")]
    NotReady {
        /// The journey.
        journey: String,
        /// Why.
        reasons: Vec<String>,
    },
    /// No such session, or it expired or ended.
    #[error("the session does not exist or has ended")]
    SessionNotFound,
    /// Another request is advancing this session.
    #[error("the session is busy with another request")]
    SessionBusy,
    /// The answer does not fit the waiting prompt.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Too many password checks are in progress; try again shortly.
    #[error("too many sign-ins are in progress; try again shortly")]
    Busy,
    /// A callback whose `state` is unknown, already used, or not the session's.
    #[error("the callback's `state` is unknown or was already used")]
    UnknownState,
}

impl From<AcquireError> for EngineError {
    fn from(e: AcquireError) -> Self {
        match e {
            AcquireError::NotFound => EngineError::SessionNotFound,
            AcquireError::Busy => EngineError::SessionBusy,
            AcquireError::Store(s) => EngineError::Store(s),
        }
    }
}

/// Where a session stands after a request.
#[derive(Debug, Serialize)]
pub struct Answer {
    /// The session's id.
    #[serde(skip)]
    pub session: SessionId,
    /// The journey's id.
    pub journey: String,
    /// The state.
    #[serde(flatten)]
    pub state: State,
}

/// A session's state.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum State {
    /// Waiting for the user at a step.
    Waiting {
        /// The step (boxed: a registration or passkey view is large).
        step: Box<StepView>,
    },
    /// Ended with success.
    Completed {
        /// The signed-in user.
        #[serde(skip)]
        user: Box<SessionUser>,
        /// How the user was authenticated (RFC 8176 values).
        amr: Vec<String>,
    },
    /// Ended with a failure.
    Failed {
        /// Why: a journey's fail reason, or `error` when the journey itself broke.
        reason: Failure,
        /// What to tell the user.
        message: String,
        /// Seconds until the client may try again, when a lock says so.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
        /// The check a legacy redirect failed (`wrong_issuer`, `nonce_mismatch`…).
        #[serde(skip_serializing_if = "Option::is_none")]
        cause: Option<&'static str>,
    },
}

/// Why a session failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Failure {
    /// A fail step's reason.
    Journey(FailReason),
    /// The journey or Ferry broke; nobody was authenticated.
    Error(ErrorReason),
}

impl Failure {
    /// The reason's name, as the answer spells it.
    pub fn name(self) -> &'static str {
        match self {
            Failure::Journey(reason) => reason.name(),
            Failure::Error(ErrorReason::JourneyError) => "journey_error",
        }
    }
}

/// The reason code of a broken journey.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorReason {
    /// The journey failed at run time.
    JourneyError,
}

/// What a waiting step asks for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepView {
    /// The step's id.
    pub id: String,
    /// Its kind.
    pub kind: &'static str,
    /// A heading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The fields to fill in.
    pub fields: Vec<FieldView>,
    /// Where a legacy code was sent, masked as the provider gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_to: Option<String>,
    /// Where to send the user (a `legacy_redirect` step); the provider calls back to
    /// `/v1/callback`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// A passkey check: the options for `navigator.credentials.get`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkey: Option<passkey::PasskeyView>,
    /// A code Ferry sent: when it expires, attempts and resends left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otp: Option<local_otp::CodeView>,
    /// A registration prompt: what it offers, its policy and the user's state, and the
    /// authenticator being set up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register: Option<register::RegisterView>,
}

/// One field to fill in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldView {
    /// The name to submit it under.
    pub name: String,
    /// What it holds.
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// The label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Whether it may be left out.
    pub optional: bool,
}

/// How a run of steps ended.
#[derive(Debug)]
pub enum End {
    /// Success for this user.
    Completed {
        /// The user (boxed: a user with roles and groups is large).
        user: Box<SessionUser>,
        /// RFC 8176 method references.
        amr: Vec<String>,
    },
    /// A fail step.
    Failed {
        /// Its reason.
        reason: FailReason,
        /// Its message.
        message: String,
        /// When the client may try again (ms since the epoch), if a lock says so.
        retry_at: Option<i64>,
        /// The check a legacy redirect failed, if that led here.
        cause: Option<&'static str>,
    },
    /// The journey broke.
    Fault,
}

enum Flow {
    Wait,
    End(End),
    Busy,
}

/// Where a run goes after one step.
enum Next {
    Step(StepId),
    Stop(Flow),
}

impl Engine {
    /// Starts building an engine from a configuration.
    pub fn builder(config: crate::config::Config) -> EngineBuilder {
        EngineBuilder::new(config)
    }

    /// Every journey found, ready or not.
    pub fn journeys(&self) -> impl Iterator<Item = &JourneyStatus> {
        self.journeys.values()
    }

    /// The user store.
    pub fn users(&self) -> &Arc<dyn UserStore> {
        &self.users
    }

    /// The session store.
    pub fn sessions(&self) -> &Arc<dyn SessionStore> {
        &self.sessions
    }

    /// Local password hashing, with its counters.
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// The engine's metrics, for `GET /metrics`.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// Starts a session of a journey and runs it until it waits or ends.
    #[tracing::instrument(level = "debug", skip_all, fields(journey = %journey))]
    pub async fn start(&self, journey: &str, client: &Client) -> Result<Answer, EngineError> {
        let status = self
            .journeys
            .get(journey)
            .ok_or_else(|| EngineError::UnknownJourney(journey.into()))?;
        let compiled = status.runnable().map_err(|reasons| EngineError::NotReady {
            journey: journey.into(),
            reasons,
        })?;
        self.metrics.journey_started(&compiled.def.id);
        let now = self.clock.now_ms();
        let mut session = Session {
            journey: compiled.def.id.clone(),
            version: compiled.version.clone(),
            step: compiled.def.start,
            input: Map::new(),
            claims: Map::new(),
            lookup: None,
            user: None,
            legacy: None,
            proofs: Vec::new(),
            mfa: None,
            code: None,
            redirect: None,
            local_code: None,
            passkey: None,
            registration: None,
            requests: 0,
            started_at: now,
            expires_at: now.saturating_add((self.limits.ttl_seconds as i64).saturating_mul(1000)),
        };
        let id = SessionId::generate();
        let mut transient = Transient {
            client: client.clone(),
            session_id: Some(id.clone()),
            ..Transient::default()
        };
        let flow = self
            .run(&compiled, &mut session, &mut transient, compiled.def.start)
            .await;
        if let Flow::Busy = flow {
            return Err(EngineError::Busy);
        }
        if let Flow::Wait = flow {
            self.sessions.create(id.expose(), stored(&session)?).await?;
        }
        Ok(self.answer(id, &compiled, &session, flow))
    }

    /// Submits an answer to the step a session waits at, and runs on until it waits or ends.
    #[tracing::instrument(level = "debug", skip_all, fields(session = %id.log_ref()))]
    pub async fn advance(
        &self,
        id: &SessionId,
        input: &Json,
        client: &Client,
    ) -> Result<Answer, EngineError> {
        self.resume_session(id, Resume::Input(input), client).await
    }

    /// Takes the legacy provider's callback: finds the session by the `state`'s hash (an
    /// index entry used once, then gone), resumes its waiting redirect, and runs on. An
    /// unknown, used or mismatched `state` is refused and changes nothing.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn callback(
        &self,
        params: &CallbackParams,
        client: &Client,
    ) -> Result<Answer, EngineError> {
        let state = params.state.as_ref().ok_or(EngineError::UnknownState)?;
        let key = redirect_step::state_key(&state_hash(state.expose()));
        let now = self.clock.now_ms();
        let (lease, index) = match self.sessions.acquire(&key, now).await {
            Ok(taken) => taken,
            Err(AcquireError::Store(e)) => return Err(e.into()),
            Err(_) => return Err(EngineError::UnknownState),
        };
        self.sessions.release(&key, lease, None).await?;
        let id = std::str::from_utf8(&index.data)
            .ok()
            .and_then(SessionId::parse)
            .ok_or(EngineError::UnknownState)?;
        match self
            .resume_session(&id, Resume::Callback(params), client)
            .await
        {
            Err(EngineError::SessionNotFound) => Err(EngineError::UnknownState),
            other => other,
        }
    }

    /// Takes the session's lease, runs it on, and stores what remains under `id`, or, for a
    /// callback, under a new id that only the callback's answer carries: whoever knew the old
    /// one (the party that started the login and sent the user to the provider) cannot go on
    /// with the session the user's own sign-in advanced. A failed request keeps the old id.
    async fn resume_session(
        &self,
        id: &SessionId,
        resume: Resume<'_>,
        client: &Client,
    ) -> Result<Answer, EngineError> {
        let (lease, stored_session) = self
            .sessions
            .acquire(id.expose(), self.clock.now_ms())
            .await?;
        let target = match resume {
            Resume::Callback(_) => SessionId::generate(),
            Resume::Input(_) => id.clone(),
        };
        let outcome = self
            .advance_held(&target, stored_session, resume, client)
            .await;
        match outcome {
            Ok((session, answer)) => {
                let waiting = matches!(answer.state, State::Waiting { .. });
                if target == *id {
                    let kept = waiting.then(|| stored(&session)).transpose();
                    self.release(id, lease, kept).await?;
                } else {
                    self.sessions.release(id.expose(), lease, None).await?;
                    if waiting {
                        self.sessions
                            .create(target.expose(), stored(&session)?)
                            .await?;
                    }
                }
                Ok(answer)
            }
            Err((session, error)) => {
                let kept = session.as_ref().map(stored).transpose();
                self.release(id, lease, kept).await?;
                Err(error)
            }
        }
    }

    /// Where a session stands, without changing it.
    pub async fn peek(&self, id: &SessionId) -> Result<Answer, EngineError> {
        let (lease, stored_session) = self
            .sessions
            .acquire(id.expose(), self.clock.now_ms())
            .await?;
        let decoded = decode(&stored_session.data);
        self.release(id, lease, Ok(Some(stored_session))).await?;
        let session = decoded.ok_or(EngineError::SessionNotFound)?;
        let journey = self
            .version_of(&session)
            .ok_or(EngineError::SessionNotFound)?;
        Ok(self.answer(id.clone(), &journey, &session, Flow::Wait))
    }

    async fn release(
        &self,
        id: &SessionId,
        lease: LeaseToken,
        kept: Result<Option<Stored>, EngineError>,
    ) -> Result<(), EngineError> {
        match kept {
            Ok(kept) => Ok(self.sessions.release(id.expose(), lease, kept).await?),
            Err(e) => {
                self.sessions.release(id.expose(), lease, None).await?;
                Err(e)
            }
        }
    }

    async fn advance_held(
        &self,
        id: &SessionId,
        stored_session: Stored,
        resume: Resume<'_>,
        client: &Client,
    ) -> Result<(Session, Answer), (Option<Session>, EngineError)> {
        let mut session =
            decode(&stored_session.data).ok_or((None, EngineError::SessionNotFound))?;
        let before = session.clone();
        let journey = self
            .version_of(&session)
            .ok_or((None, EngineError::SessionNotFound))?;
        if let Resume::Callback(params) = &resume {
            let waiting = journey.step(session.step).map(|s| &s.kind);
            let at_redirect = matches!(waiting, Some(StepKind::LegacyRedirect { .. }));
            if !at_redirect || !redirect_step::state_matches(&session, params) {
                return Err((Some(before), EngineError::UnknownState));
            }
        }
        session.requests += 1;
        if session.requests > self.limits.max_requests {
            let end = End::Failed {
                reason: FailReason::RateLimited,
                message: "Too many attempts in this session.".into(),
                retry_at: None,
                cause: None,
            };
            return Ok((
                session.clone(),
                self.answer(id.clone(), &journey, &session, Flow::End(end)),
            ));
        }

        let waiting = session.step;
        let Some(step) = journey.step(waiting) else {
            return Err((None, EngineError::SessionNotFound));
        };
        let mut transient = Transient {
            client: client.clone(),
            session_id: Some(id.clone()),
            ..Transient::default()
        };
        let resumed = Run {
            engine: self,
            journey: &journey,
            session: &mut session,
            transient: &mut transient,
        }
        .resume(&step.kind, resume)
        .await;
        let flow = match resumed {
            Ok(exec) => {
                self.proceed(&journey, &mut session, &mut transient, waiting, exec)
                    .await
            }
            Err(Resumed::Invalid(e)) => return Err((Some(session), e.into())),
            Err(Resumed::Fault(fault)) => self.fault(&journey, &step.name, fault),
        };
        if let Flow::Busy = flow {
            return Err((Some(before), EngineError::Busy));
        }
        let answer = self.answer(id.clone(), &journey, &session, flow);
        Ok((session, answer))
    }

    fn version_of(&self, session: &Session) -> Option<Arc<Journey>> {
        self.versions
            .get(&(session.journey.clone(), session.version.clone()))
            .cloned()
    }

    /// Enters steps from `from` until one waits or the journey ends.
    async fn run(
        &self,
        journey: &Journey,
        session: &mut Session,
        transient: &mut Transient,
        from: StepId,
    ) -> Flow {
        let mut current = from;
        for _ in 0..self.limits.max_steps_per_request {
            let Some(step) = journey.step(current) else {
                return self.fault(journey, "?", Fault::Broken("no such step".into()));
            };
            let started = std::time::Instant::now();
            let exec = Run {
                engine: self,
                journey,
                session,
                transient,
            }
            .enter(&step.kind)
            .await;
            let exec = match exec {
                Ok(exec) => exec,
                Err(fault) => {
                    if let Fault::Broken(_) = fault {
                        // The session ends here; the metrics name the step it ended at.
                        session.step = current;
                    }
                    return self.fault(journey, &step.name, fault);
                }
            };
            tracing::debug!(target: "ferry::journey", journey = %journey.def.id, step = %step.name,
                elapsed_us = started.elapsed().as_micros() as u64, "step");
            match self.next(journey, session, current, exec) {
                Next::Step(next) => current = next,
                Next::Stop(flow) => return flow,
            }
        }
        let limit = self.limits.max_steps_per_request;
        self.fault(
            journey,
            "?",
            Fault::Broken(format!("{limit} steps ran without waiting for the user")),
        )
    }

    /// Acts on what a resumed waiting step did: runs on after an outcome, or stops.
    async fn proceed(
        &self,
        journey: &Journey,
        session: &mut Session,
        transient: &mut Transient,
        step: StepId,
        exec: Exec,
    ) -> Flow {
        match self.next(journey, session, step, exec) {
            Next::Step(next) => self.run(journey, session, transient, next).await,
            Next::Stop(flow) => flow,
        }
    }

    /// The step an outcome leads to, or how the run stops here.
    fn next(&self, journey: &Journey, session: &mut Session, current: StepId, exec: Exec) -> Next {
        let step_name = journey.step(current).map_or("?", |s| s.name.as_str());
        match exec {
            Exec::Wait => {
                session.step = current;
                Next::Stop(Flow::Wait)
            }
            Exec::End(end) => {
                session.step = current;
                Next::Stop(Flow::End(end))
            }
            Exec::Outcome(outcome) => {
                tracing::debug!(target: "ferry::journey", journey = %journey.def.id, step = step_name, outcome = %outcome, "outcome");
                match journey.step(current).and_then(|s| s.next(&outcome)) {
                    Some(next) => Next::Step(next),
                    None => {
                        session.step = current;
                        let fault = Fault::Broken(format!("outcome `{outcome}` leads nowhere"));
                        Next::Stop(self.fault(journey, step_name, fault))
                    }
                }
            }
        }
    }

    fn fault(&self, journey: &Journey, step: &str, fault: Fault) -> Flow {
        match fault {
            Fault::Busy => Flow::Busy,
            Fault::Broken(why) => {
                tracing::error!(target: "ferry::journey", journey = %journey.def.id, step, fault = %why, "journey failed");
                Flow::End(End::Fault)
            }
        }
    }

    fn answer(&self, id: SessionId, journey: &Journey, session: &Session, flow: Flow) -> Answer {
        let state = match flow {
            Flow::Wait => State::Waiting {
                step: Box::new(view(self, journey, session)),
            },
            Flow::End(End::Completed { user, amr }) => State::Completed { user, amr },
            Flow::End(End::Failed {
                reason,
                message,
                retry_at,
                cause,
            }) => State::Failed {
                cause,
                reason: Failure::Journey(reason),
                message,
                retry_after: retry_at
                    .map(|at| ((at - self.clock.now_ms()).max(0) as u64).div_ceil(1000)),
            },
            Flow::End(End::Fault) | Flow::Busy => State::Failed {
                reason: Failure::Error(ErrorReason::JourneyError),
                message: "Sign-in failed because of an error; try again later.".into(),
                retry_after: None,
                cause: None,
            },
        };
        if !matches!(state, State::Waiting { .. }) {
            let outcome = match &state {
                State::Completed { .. } => "completed",
                _ => "failed",
            };
            let step = journey.step(session.step).map_or("", |s| s.name.as_str());
            match &state {
                State::Completed { .. } => self.metrics.journey_completed(&journey.def.id),
                State::Failed { reason, .. } => {
                    self.metrics
                        .journey_failed(&journey.def.id, step, reason.name());
                }
                State::Waiting { .. } => {}
            }
            tracing::info!(target: "ferry::journey", journey = %journey.def.id, session = %id.log_ref(), outcome, "journey ended");
        }
        Answer {
            session: id,
            journey: journey.def.id.clone(),
            state,
        }
    }
}

fn view(engine: &Engine, journey: &Journey, session: &Session) -> StepView {
    let Some(step) = journey.step(session.step) else {
        return StepView {
            id: String::new(),
            kind: "prompt",
            title: None,
            fields: Vec::new(),
            sent_to: None,
            redirect_url: None,
            passkey: None,
            otp: None,
            register: None,
        };
    };
    if let StepKind::CheckPasskey { title } = &step.kind {
        return StepView {
            id: step.name.clone(),
            kind: step.kind.keyword(),
            title: title.clone(),
            fields: vec![field_view(&passkey::field())],
            sent_to: None,
            redirect_url: None,
            passkey: session.passkey.as_ref().map(|p| passkey::PasskeyView {
                options: p.options.clone(),
            }),
            otp: None,
            register: None,
        };
    }
    if let StepKind::LocalOtp { channel, title, .. } = &step.kind {
        let codes = &engine.authenticators.codes;
        let pending = session.local_code.as_ref();
        let fields = local_otp::fields();
        return StepView {
            id: step.name.clone(),
            kind: step.kind.keyword(),
            title: title.clone(),
            fields: fields.iter().map(field_view).collect(),
            sent_to: pending.map(|p| p.sent_to.clone()),
            redirect_url: None,
            passkey: None,
            otp: pending
                .map(|p| local_otp::view(p, *channel, (codes.max_attempts, codes.max_sends))),
            register: None,
        };
    }
    if let StepKind::RegisterAuthenticator {
        offer,
        policy,
        title,
        ..
    } = &step.kind
    {
        let pending = session.registration.as_ref();
        let (register, fields) =
            register::view(engine, offer, *policy, pending, session.user.as_ref());
        return StepView {
            id: step.name.clone(),
            kind: step.kind.keyword(),
            title: title.clone(),
            fields,
            sent_to: register.sent_to.clone(),
            redirect_url: None,
            passkey: None,
            otp: None,
            register: Some(register),
        };
    }
    let code_field = [steps::code_field()];
    let (title, fields, sent_to) = match &step.kind {
        StepKind::Prompt { title, fields } => (title.clone(), fields.as_slice(), None),
        StepKind::LegacyOtp { title, .. } => {
            let sent_to = session
                .code
                .as_ref()
                .and_then(|p| p.continuation.hint.clone());
            (title.clone(), &code_field[..], sent_to)
        }
        _ => (None, &[][..], None),
    };
    let fields = fields.iter().map(field_view).collect();
    StepView {
        id: step.name.clone(),
        kind: step.kind.keyword(),
        title,
        fields,
        sent_to,
        redirect_url: match &step.kind {
            StepKind::LegacyRedirect { .. } => session.redirect.as_ref().map(|r| r.url.clone()),
            _ => None,
        },
        passkey: None,
        otp: None,
        register: None,
    }
}

fn field_view(f: &crate::compile::ir::Field) -> FieldView {
    FieldView {
        name: f.name.clone(),
        kind: f.kind,
        label: f.label.clone(),
        optional: f.optional,
    }
}

fn stored(session: &Session) -> Result<Stored, EngineError> {
    let data = serde_json::to_vec(session).map_err(|_| EngineError::SessionNotFound)?;
    Ok(Stored {
        data,
        expires_at: session.expires_at,
    })
}

fn decode(data: &[u8]) -> Option<Session> {
    serde_json::from_slice(data).ok()
}
