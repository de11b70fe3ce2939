//! Step executors: what each kind of step does to a session, and which outcome it takes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use minijinja::Value;

use super::session::{PendingLegacy, Proof, Session, SessionLegacy, SessionUser};
use super::{End, Engine};
use super::{context, throttle};
use crate::authn::password::PasswordError;
use crate::compile::ir::{
    CodeChannel, ConflictPolicy, ExprId, Field, FieldKind, Idp, IdpId, Journey, StepKind,
};
use crate::identifier;
use crate::idp::redirect::CallbackParams;
use crate::idp::{Connector, FactorKind, LegacyError, Refusal, TotpCheck, Verified};
use crate::mapping::UserMapping;
use crate::secret::Secret;
use crate::store::{
    CredentialKind, LegacyAccount, Memberships, Migration, NewCredential, Saved, StoreError, User,
};
use crate::syntax::ast::FailReason;
use crate::syntax::ast::LEGACY_CODE_OUTCOMES;

/// Longest a legacy call may take, whatever its connector's own timeout.
const LEGACY_CALL_LIMIT: Duration = Duration::from_secs(30);

/// What running one step did.
#[derive(Debug)]
pub enum Exec {
    /// Take this outcome.
    Outcome(String),
    /// Wait for the user here.
    Wait,
    /// The journey ends.
    End(End),
}

/// Why a step could not run.
#[derive(Debug)]
pub enum Fault {
    /// A journey or Ferry bug: the session fails, nobody is authenticated.
    Broken(String),
    /// Too much password hashing in progress: the request is refused and the session stays
    /// as it was before it, to be tried again.
    Busy,
}

/// What a local password check found.
#[derive(Debug)]
enum Checked {
    Matched,
    Failed,
    NotEnrolled,
    /// The store failed; the run ends as this.
    Down(Exec),
}

impl Checked {
    fn outcome(&self) -> &'static str {
        match self {
            Checked::Matched => "success",
            Checked::Failed | Checked::Down(_) => "failure",
            Checked::NotEnrolled => "not_enrolled",
        }
    }
}

/// Who is asking: what the server knows of the client making this request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Client {
    /// The client's address, as the server saw it.
    pub ip: Option<std::net::IpAddr>,
}

/// What a waiting step is resumed with.
#[derive(Debug)]
pub enum Resume<'a> {
    /// The user's answer to the step, from `POST /v1/sessions/{id}`.
    Input(&'a serde_json::Value),
    /// The legacy provider's answer, from `/v1/callback`.
    Callback(&'a CallbackParams),
}

/// Why a waiting step did not take what it was resumed with.
#[derive(Debug)]
pub enum Resumed {
    /// The answer does not fit the step; the session waits on, unchanged.
    Invalid(super::input::InputError),
    /// The journey broke.
    Fault(Fault),
}

/// What lives only for the current request.
#[derive(Debug, Default)]
pub struct Transient {
    /// Who is asking.
    pub client: Client,
    /// Secret fields submitted with this request.
    pub secrets: HashMap<String, Secret>,
    /// The password a legacy provider accepted in this request, by IDP name.
    pub verified_password: Option<(String, Secret)>,
    /// When a lock seen in this request ends, ms since the epoch.
    pub locked_until: Option<i64>,
    /// The session's id (a redirect indexes the session by its `state`).
    pub session_id: Option<super::SessionId>,
    /// The check a legacy redirect failed in this request, for the answer and the log.
    pub cause: Option<&'static str>,
}

/// One step's run, with what it needs around it.
pub struct Run<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// The journey.
    pub journey: &'a Journey,
    /// The session being advanced.
    pub session: &'a mut Session,
    /// This request's secrets.
    pub transient: &'a mut Transient,
}

impl Run<'_> {
    /// Resumes the step the session waits at with what the client sent. A step kind that
    /// waits (a prompt today; redirects and codes to come) returns `Exec::Wait` from
    /// [`Run::enter`] and handles its [`Resume`] here; state it needs across requests goes in
    /// the session, secrets it received only in [`Transient`].
    pub async fn resume(&mut self, kind: &StepKind, resume: Resume<'_>) -> Result<Exec, Resumed> {
        match (kind, resume) {
            (StepKind::Prompt { fields, .. }, Resume::Input(input)) => {
                let accepted = super::input::accept(fields, input).map_err(Resumed::Invalid)?;
                self.session.input.extend(accepted.public);
                self.transient.secrets.extend(accepted.secrets);
                Ok(outcome("submitted"))
            }
            (StepKind::LegacyOtp { idp, channel, .. }, Resume::Input(input)) => {
                let accepted =
                    super::input::accept(&[code_field()], input).map_err(Resumed::Invalid)?;
                let code = accepted.secrets.get(CODE).cloned().unwrap_or_default();
                self.legacy_otp_check(*idp, *channel, &code)
                    .await
                    .map_err(Resumed::Fault)
            }
            (StepKind::LegacyRedirect { .. }, Resume::Input(_)) => {
                Err(Resumed::Invalid(super::input::InputError::AwaitingCallback))
            }
            (StepKind::LegacyRedirect { idp }, Resume::Callback(params)) => self
                .legacy_redirect_finish(*idp, params)
                .await
                .map_err(Resumed::Fault),
            (StepKind::CheckPasskey { .. }, Resume::Input(input)) => {
                self.passkey_finish(input).await
            }
            (StepKind::LocalOtp { channel, .. }, Resume::Input(input)) => {
                self.local_otp_resume(*channel, input).await
            }
            (StepKind::RegisterAuthenticator { offer, policy, .. }, Resume::Input(input)) => {
                self.register_resume(offer, *policy, input).await
            }
            (other, _) => Err(Resumed::Fault(Fault::Broken(format!(
                "a `{}` step does not wait",
                other.keyword()
            )))),
        }
    }

    /// Enters a step: runs it, or starts waiting at it.
    pub async fn enter(&mut self, kind: &StepKind) -> Result<Exec, Fault> {
        match kind {
            StepKind::Prompt { .. } => Ok(Exec::Wait),
            StepKind::FindUser { identifier } => self.find_user(*identifier).await,
            StepKind::CheckPassword { password } => self.check_password(*password).await,
            StepKind::LegacyPassword {
                idp,
                username,
                password,
            } => self.legacy_password(*idp, *username, *password).await,
            StepKind::LegacyOtp {
                idp,
                channel,
                username,
                ..
            } => self.legacy_otp_send(*idp, *channel, *username).await,
            StepKind::LegacyTotp {
                idp,
                username,
                code,
                password,
            } => self.legacy_totp(*idp, *username, *code, *password).await,
            StepKind::LegacyRedirect { idp } => self.legacy_redirect_begin(*idp).await,
            StepKind::CheckTotp { code } => self.check_totp(*code).await,
            StepKind::CheckPasskey { .. } => self.passkey_start().await,
            StepKind::LocalOtp {
                channel, attribute, ..
            } => self.local_otp_send(*channel, attribute).await,
            StepKind::RegisterAuthenticator {
                offer,
                policy,
                prompt,
                ..
            } => self.register_enter(offer, *policy, prompt).await,
            StepKind::SaveUser {
                identifier,
                attributes,
                password,
                on_conflict,
            } => {
                self.save_user(*identifier, attributes, *password, *on_conflict)
                    .await
            }
            StepKind::Branch { cases } => self.branch(cases),
            StepKind::Complete => self.complete(),
            StepKind::Fail { reason, message } => Ok(Exec::End(End::Failed {
                reason: *reason,
                message: message
                    .clone()
                    .unwrap_or_else(|| default_message(*reason).to_owned()),
                retry_at: self.transient.locked_until,
                cause: self.transient.cause,
            })),
        }
    }

    async fn find_user(&mut self, identifier: ExprId) -> Result<Exec, Fault> {
        let raw = self.string(identifier)?;
        let key = identifier::normalize(&raw, self.journey.def.normalization).ok();
        self.session.user = None;
        self.session.lookup.clone_from(&key);
        let Some(key) = key else {
            return Ok(outcome("not_found"));
        };

        let found = match self.engine.users.find(&key).await {
            Ok(found) => found,
            Err(e) => return Ok(store_down(&e)),
        };
        let user = match found {
            Some(user) => match self.with_memberships(user).await {
                Ok(user) => Some(user),
                Err(e) => return Ok(store_down(&e)),
            },
            None => None,
        };

        self.session.user = user;
        Ok(outcome(if self.session.user.is_some() {
            "found"
        } else {
            "not_found"
        }))
    }

    /// Checks a password against the local hash of the user looked up. An unknown user goes
    /// through the same throttling and the same hashing work as a known one, and fails.
    async fn check_password(&mut self, password: ExprId) -> Result<Exec, Fault> {
        let identifier = match (&self.session.user, &self.session.lookup) {
            (Some(user), _) => user.identifier.clone(),
            (None, Some(lookup)) => lookup.clone(),
            (None, None) => {
                return Err(Fault::Broken("check_password ran before find_user".into()));
            }
        };
        let password = self.secret(password)?;
        let keys = throttle::Keys::new(&identifier, self.transient.client.ip);

        if let Some(locked) = self.count_attempt(&keys).await? {
            return Ok(locked);
        }
        let checked = match self.verify_local(&password).await? {
            Checked::Down(down) => return Ok(down),
            checked => checked,
        };

        let store = self.engine.users.as_ref();
        let now = self.engine.clock.now_ms();
        let result = match checked {
            Checked::Matched => throttle::succeeded(store, &self.engine.throttle, &keys).await,
            Checked::Failed => throttle::failed(store, &self.engine.throttle, &keys, now)
                .await
                .map(|locked| {
                    self.transient.locked_until = locked;
                }),
            Checked::NotEnrolled | Checked::Down(_) => Ok(()),
        };
        if let Err(e) = result {
            return Ok(store_down(&e));
        }
        Ok(outcome(checked.outcome()))
    }

    /// Counts an attempt and waits out its throttling delay; returns the `locked` outcome if
    /// a key is locked, or this attempt is one past the lock.
    pub(super) async fn count_attempt(
        &mut self,
        keys: &throttle::Keys,
    ) -> Result<Option<Exec>, Fault> {
        let now = self.engine.clock.now_ms();
        let store = self.engine.users.as_ref();
        match throttle::attempt(store, &self.engine.throttle, keys, now).await {
            Ok(throttle::Gate::Open(wait)) => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                Ok(None)
            }
            Ok(throttle::Gate::Locked(until)) => {
                self.transient.locked_until = Some(until);
                tracing::info!(target: "ferry::journey", account = %keys.account, client = ?keys.client, "login refused: locked");
                Ok(Some(outcome("locked")))
            }
            Err(e) => Ok(Some(store_down(&e))),
        }
    }

    /// Verifies the password against the current user's hash, or does the same work against
    /// nothing when there is no user or no hash.
    async fn verify_local(&mut self, password: &Secret) -> Result<Checked, Fault> {
        let passwords = &self.engine.passwords;
        let Some(user) = self.session.user.clone() else {
            passwords.verify_nothing(password).await.map_err(hashing)?;
            return Ok(Checked::Failed);
        };
        let stored = match self.engine.users.password_hash(user.id).await {
            Ok(stored) => stored,
            Err(e) => return Ok(Checked::Down(store_down(&e))),
        };
        let Some(stored) = stored else {
            passwords.verify_nothing(password).await.map_err(hashing)?;
            return Ok(Checked::NotEnrolled);
        };

        let verification = match passwords.verify(password, &stored).await {
            Ok(v) => v,
            Err(PasswordError::Hash(e)) => {
                tracing::error!(target: "ferry::journey", user = %user.id, error = %e, "stored password hash unusable");
                return Ok(Checked::NotEnrolled);
            }
            Err(e) => return Err(hashing(e)),
        };
        if !verification.matches {
            return Ok(Checked::Failed);
        }

        self.session
            .proofs
            .push(Proof::LocalPassword { user: user.id });
        if verification.needs_rehash {
            self.rehash(&user, password).await;
        }
        Ok(Checked::Matched)
    }

    async fn rehash(&self, user: &SessionUser, password: &Secret) {
        let result = match self.engine.passwords.hash(password).await {
            Ok(hash) => self
                .engine
                .users
                .set_password_hash(user.id, &hash, self.engine.clock.now_ms())
                .await
                .err()
                .map(|e| e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(error) = result {
            tracing::warn!(target: "ferry::journey", user = %user.id, %error, "password rehash failed");
        }
    }

    async fn legacy_password(
        &mut self,
        idp: IdpId,
        username: ExprId,
        password: ExprId,
    ) -> Result<Exec, Fault> {
        let decl = self
            .journey
            .idp(idp)
            .ok_or_else(|| Fault::Broken("unknown IDP index".into()))?;
        let connector = self
            .engine
            .connectors
            .get(&decl.name)
            .ok_or_else(|| Fault::Broken(format!("IDP `{}` has no connector", decl.name)))?;
        let username = self.string(username)?;
        let password = self.secret(password)?;
        // Guesses sent through Ferry to the legacy IDP count like local ones, so a user not
        // migrated yet is not left to the legacy IDP's own limits (a user file has none).
        let identifier = self
            .session
            .lookup
            .clone()
            .unwrap_or_else(|| username.clone());
        let keys = throttle::Keys::new(&identifier, self.transient.client.ip);
        if let Some(locked) = self.count_attempt(&keys).await? {
            return Ok(locked);
        }

        let started = Instant::now();
        let call = tokio::time::timeout(
            LEGACY_CALL_LIMIT,
            connector.check_password_for(&username, &password, self.transient.client.ip),
        )
        .await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let provider = decl.provider.name();

        self.session.mfa = None;
        let verified = match call {
            Ok(Ok(verified)) => verified,
            Ok(Err(mut error)) => {
                if let Some(continuation) = error.take_continuation() {
                    let idp = decl.name.clone();
                    self.session.mfa = Some(PendingLegacy { idp, continuation });
                }
                let name = refused(&decl.name, provider, elapsed_ms, &error);
                self.observe(decl, "password", name, started.elapsed());
                let store = self.engine.users.as_ref();
                let now = self.engine.clock.now_ms();
                let settled = match name {
                    // The password was right; a second factor follows.
                    "mfa_required" => {
                        throttle::succeeded(store, &self.engine.throttle, &keys).await
                    }
                    "invalid_credentials" => {
                        throttle::failed(store, &self.engine.throttle, &keys, now)
                            .await
                            .map(|locked| self.transient.locked_until = locked)
                    }
                    _ => Ok(()),
                };
                if let Err(e) = settled {
                    return Ok(store_down(&e));
                }
                return Ok(outcome(name));
            }
            Err(_) => {
                tracing::warn!(target: "ferry::legacy", idp = %decl.name, provider, elapsed_ms, "legacy call timed out");
                self.observe(decl, "password", "unavailable", started.elapsed());
                return Ok(outcome("unavailable"));
            }
        };
        self.observe(decl, "password", "success", started.elapsed());
        let store = self.engine.users.as_ref();
        if let Err(e) = throttle::succeeded(store, &self.engine.throttle, &keys).await {
            return Ok(store_down(&e));
        }

        let client = self.transient.client.ip;
        tracing::debug!(target: "ferry::legacy", idp = %decl.name, provider, elapsed_ms, client = ?client, outcome = "success", "legacy call");
        let subject = verified.subject.clone();
        self.session.claims = verified.claims;
        self.session.legacy = Some(SessionLegacy {
            idp: decl.name.clone(),
            provider: provider.into(),
            subject: subject.clone(),
        });
        self.session.proofs.push(Proof::LegacyPassword {
            idp: decl.name.clone(),
            subject,
        });
        self.transient.verified_password = Some((decl.name.clone(), password));
        Ok(outcome("success"))
    }

    /// The IDP declaration and connector of a legacy step.
    fn connector(&self, idp: IdpId) -> Result<(&Idp, &dyn Connector), Fault> {
        let decl = self
            .journey
            .idp(idp)
            .ok_or_else(|| Fault::Broken("unknown IDP index".into()))?;
        let connector = self
            .engine
            .connectors
            .get(&decl.name)
            .ok_or_else(|| Fault::Broken(format!("IDP `{}` has no connector", decl.name)))?;
        Ok((decl, connector.as_ref()))
    }

    /// The `mfa_required` continuation a password step left for this IDP, if any.
    fn mfa_for(&self, idp: &str) -> Option<crate::idp::Continuation> {
        let pending = self.session.mfa.as_ref().filter(|p| p.idp == idp)?;
        Some(pending.continuation.clone())
    }

    /// Entering a `legacy_otp` step: the provider sends the code, then the session waits.
    async fn legacy_otp_send(
        &mut self,
        idp: IdpId,
        channel: CodeChannel,
        username: Option<ExprId>,
    ) -> Result<Exec, Fault> {
        let (decl, connector) = self.connector(idp)?;
        let after = self.mfa_for(&decl.name);
        let username = match (username, &after) {
            (Some(expr), _) => self.string(expr)?,
            (None, Some(after)) => after.username.clone(),
            (None, None) => {
                return Err(Fault::Broken(
                    "legacy_otp has no username and no password step to continue".into(),
                ));
            }
        };

        let started = Instant::now();
        let call = tokio::time::timeout(
            LEGACY_CALL_LIMIT,
            connector.send_code(factor(channel), &username, after.as_ref()),
        )
        .await;

        let idp = decl.name.clone();
        let method = format!("{}_otp_send", channel.name());
        match self.settle(decl, &method, started, call) {
            Ok(continuation) => {
                self.session.code = Some(PendingLegacy { idp, continuation });
                Ok(Exec::Wait)
            }
            Err(name) => Ok(outcome(name)),
        }
    }

    /// Resuming a `legacy_otp` step with the code the user typed.
    async fn legacy_otp_check(
        &mut self,
        idp: IdpId,
        channel: CodeChannel,
        code: &Secret,
    ) -> Result<Exec, Fault> {
        let (decl, connector) = self.connector(idp)?;
        let pending = self
            .session
            .code
            .clone()
            .filter(|p| p.idp == decl.name)
            .ok_or_else(|| Fault::Broken("legacy_otp resumed without a code sent".into()))?;

        let started = Instant::now();
        let call = tokio::time::timeout(
            LEGACY_CALL_LIMIT,
            connector.verify_code(&pending.continuation, code),
        )
        .await;

        let (decl, proven) = (decl.clone(), pending.continuation.password_verified);
        let method = format!("{}_otp", channel.name());
        match self.settle(&decl, &method, started, call) {
            Ok(verified) => {
                let method = match channel {
                    CodeChannel::Email => "email_otp",
                    CodeChannel::Sms => "sms_otp",
                };
                self.record(&decl, verified, method, proven);
                Ok(outcome("success"))
            }
            Err(name) => {
                if name != "invalid_code" {
                    self.session.code = None;
                }
                Ok(outcome(name))
            }
        }
    }

    /// A `legacy_totp` step: the code, after a password step's `mfa_required` or with the
    /// password itself (Keycloak).
    async fn legacy_totp(
        &mut self,
        idp: IdpId,
        username: ExprId,
        code: ExprId,
        password: Option<ExprId>,
    ) -> Result<Exec, Fault> {
        let (decl, connector) = self.connector(idp)?;
        let after = self.mfa_for(&decl.name);
        let username = self.string(username)?;
        let code = self.secret(code)?;
        let password = password.map(|p| self.secret(p)).transpose()?;
        let check = TotpCheck {
            username: &username,
            password: password.as_ref(),
            after: after.as_ref(),
            code: &code,
        };

        let started = Instant::now();
        let call = tokio::time::timeout(LEGACY_CALL_LIMIT, connector.check_totp(check)).await;

        let decl = decl.clone();
        let proven = password.is_some() || after.as_ref().is_some_and(|a| a.password_verified);
        match self.settle(&decl, "totp", started, call) {
            Ok(verified) => {
                self.record(&decl, verified, "totp", proven);
                if let Some(password) = password {
                    self.transient.verified_password = Some((decl.name.clone(), password));
                }
                Ok(outcome("success"))
            }
            Err(name) => Ok(outcome(name)),
        }
    }

    /// A code step's call, logged, as its result or the outcome it leads to. Refusals
    /// outside the code steps' outcomes (a second challenge after a code) are `unavailable`.
    fn settle<T>(
        &self,
        decl: &Idp,
        method: &str,
        started: Instant,
        call: Result<Result<T, LegacyError>, tokio::time::error::Elapsed>,
    ) -> Result<T, &'static str> {
        let took = started.elapsed();
        let elapsed_ms = took.as_millis() as u64;
        let provider = decl.provider.name();
        let settled = match call {
            Ok(Ok(value)) => {
                tracing::debug!(target: "ferry::legacy", idp = %decl.name, provider, elapsed_ms, outcome = "success", "legacy call");
                Ok(value)
            }
            Ok(Err(error)) => {
                let name = refused(&decl.name, provider, elapsed_ms, &error);
                Err(if LEGACY_CODE_OUTCOMES.contains(&name) {
                    name
                } else {
                    Refusal::Unavailable.outcome()
                })
            }
            Err(_) => {
                tracing::warn!(target: "ferry::legacy", idp = %decl.name, provider, elapsed_ms, "legacy call timed out");
                Err(Refusal::Unavailable.outcome())
            }
        };
        let name = settled.as_ref().map_or_else(|name| *name, |_| "success");
        self.observe(decl, method, name, took);
        settled
    }

    /// Counts a legacy call in the metrics.
    pub(super) fn observe(&self, decl: &Idp, method: &str, outcome: &str, took: Duration) {
        let idp = (decl.name.as_str(), decl.provider.name());
        self.engine.metrics.legacy_call(idp, method, outcome, took);
    }

    /// Keeps what a code check proved: the account, its claims, the code and (when the
    /// provider had accepted it in the same transaction) the password.
    fn record(&mut self, decl: &Idp, verified: Verified, method: &str, password_proven: bool) {
        let subject = verified.subject;
        self.session.claims = verified.claims;
        self.session.legacy = Some(SessionLegacy {
            idp: decl.name.clone(),
            provider: decl.provider.name().into(),
            subject: subject.clone(),
        });
        if password_proven {
            self.session.proofs.push(Proof::LegacyPassword {
                idp: decl.name.clone(),
                subject: subject.clone(),
            });
        }
        self.session.proofs.push(Proof::LegacyCode {
            idp: decl.name.clone(),
            subject,
            method: method.to_owned(),
        });
        self.session.mfa = None;
        self.session.code = None;
    }

    /// How the legacy account was proven, for the migration log: the last code's method,
    /// else `password`.
    fn legacy_method(&self) -> String {
        self.session
            .proofs
            .iter()
            .rev()
            .find_map(|p| match p {
                Proof::LegacyCode { method, .. } => Some(method.clone()),
                Proof::LegacyRedirect { .. } => Some("oidc".to_owned()),
                _ => None,
            })
            .unwrap_or_else(|| "password".into())
    }

    async fn save_user(
        &mut self,
        identifier: ExprId,
        attributes: &[(String, ExprId)],
        password: Option<ExprId>,
        policy: ConflictPolicy,
    ) -> Result<Exec, Fault> {
        let legacy = self.verified_legacy()?;
        let mapping = UserMapping {
            exprs: &self.journey.exprs,
            sources: &self.journey.def.expressions,
            identifier,
            attributes,
            normalization: self.journey.def.normalization,
        };
        let mapped = mapping
            .apply(&self.context())
            .map_err(|e| Fault::Broken(format!("save_user mapping: {}", error_chain(&e))))?;
        let credentials = match password {
            Some(expr) => vec![NewCredential {
                kind: CredentialKind::Password,
                secret: self.hash_verified_password(expr, &legacy.idp).await?,
                replace: true,
            }],
            None => Vec::new(),
        };

        let migration = Migration {
            identifier: mapped.identifier,
            attributes: mapped.attributes,
            legacy: LegacyAccount {
                idp: legacy.idp.clone(),
                provider: legacy.provider.clone(),
                subject: legacy.subject.clone(),
            },
            credentials,
            roles: None,
            groups: None,
            completes: true,
            policy,
            journey: self.journey.def.id.clone(),
            method: self.legacy_method(),
            at: self.engine.clock.now_ms(),
        };
        let saved = match self.engine.users.save_migration(&migration).await {
            Ok(saved) => saved,
            Err(e) => return Ok(store_down(&e)),
        };

        let (name, user) = match saved {
            Saved::Created(user) => {
                let journey = &self.journey.def.id;
                self.engine
                    .metrics
                    .user_migrated(journey, &migration.method);
                ("created", user)
            }
            Saved::Updated(user) => ("updated", user),
            Saved::Conflict(kind) => {
                tracing::info!(target: "ferry::journey", journey = %self.journey.def.id, conflict = ?kind, "migration conflict");
                return Ok(outcome("conflict"));
            }
        };
        tracing::info!(target: "ferry::migration", journey = %self.journey.def.id, user = %user.id, idp = %legacy.idp, event = name, "user migrated");
        let user = match self.with_memberships(user).await {
            Ok(user) => user,
            Err(e) => return Ok(store_down(&e)),
        };
        self.session.user = Some(user);
        Ok(outcome(name))
    }

    /// The legacy account verified in this session; save-user refuses to run without one.
    fn verified_legacy(&self) -> Result<SessionLegacy, Fault> {
        let legacy = self.session.legacy.clone().ok_or_else(|| {
            Fault::Broken("save_user ran without a verified legacy account".into())
        })?;
        let proven = self.session.proofs.iter().any(|p| {
            p.legacy_account()
                .is_some_and(|(idp, subject)| idp == legacy.idp && subject == legacy.subject)
        });
        if proven {
            Ok(legacy)
        } else {
            Err(Fault::Broken("save_user ran without a legacy proof".into()))
        }
    }

    async fn hash_verified_password(&self, expr: ExprId, idp: &str) -> Result<String, Fault> {
        let password = self.secret(expr)?;
        let verified = self.transient.verified_password.as_ref();
        let accepted = verified.is_some_and(|(i, p)| i == idp && p.ct_eq(password.expose()));
        if !accepted && !self.redirected(idp) {
            return Err(Fault::Broken(
                "save_user may keep only the password the legacy IDP accepted in this request, \
                 or a new one after a redirect sign-in"
                    .into(),
            ));
        }
        self.engine.passwords.hash(&password).await.map_err(hashing)
    }

    /// The session's view of a user, with the roles, groups and kinds of credential the
    /// store holds.
    pub(super) async fn with_memberships(&self, user: User) -> Result<SessionUser, StoreError> {
        let memberships = self.engine.users.memberships(user.id).await?;
        let kinds = self.engine.users.credential_kinds(user.id).await?;
        let mut user = session_user(user, memberships);
        user.authenticators = kinds.iter().map(|k| k.name().to_owned()).collect();
        Ok(user)
    }

    fn branch(&self, cases: &[(String, ExprId)]) -> Result<Exec, Fault> {
        let ctx = self.context();
        for (name, expr) in cases {
            let value = self.eval_in(&ctx, *expr)?;
            if value.is_undefined() {
                return Err(Fault::Broken(format!(
                    "branch case `{name}` evaluated to nothing"
                )));
            }
            if value.is_true() {
                return Ok(outcome(name));
            }
        }
        Ok(outcome(crate::syntax::ast::ELSE))
    }

    fn complete(&self) -> Result<Exec, Fault> {
        if !self.session.proven_for_user() {
            return Err(Fault::Broken(
                "complete reached without a credential proven for the user".into(),
            ));
        }
        let user = self
            .session
            .user
            .clone()
            .ok_or_else(|| Fault::Broken("complete reached without a user".into()))?;
        Ok(Exec::End(End::Completed {
            user: Box::new(user),
            amr: self.session.amr().into_iter().map(str::to_owned).collect(),
        }))
    }

    fn context(&self) -> Value {
        context::build(self.session, &self.transient.secrets)
    }

    fn eval_in(&self, ctx: &Value, expr: ExprId) -> Result<Value, Fault> {
        let source = self.journey.expr_source(expr);
        self.journey
            .exprs
            .eval(expr.0 as usize, source, ctx)
            .map_err(fault)
    }

    pub(super) fn string(&self, expr: ExprId) -> Result<String, Fault> {
        let value = self.eval_in(&self.context(), expr)?;
        match value.as_str() {
            Some(s) => Ok(s.to_owned()),
            None => Err(Fault::Broken(format!(
                "expression `{}` must give a string",
                self.journey.expr_source(expr)
            ))),
        }
    }

    pub(super) fn secret(&self, expr: ExprId) -> Result<Secret, Fault> {
        self.string(expr).map(Secret::from)
    }
}

/// The field a waiting `legacy_otp` step asks for.
pub const CODE: &str = "code";

/// The field a waiting `legacy_otp` step asks for.
pub fn code_field() -> Field {
    Field {
        name: CODE.into(),
        kind: FieldKind::Otp,
        label: Some("Code".into()),
        optional: false,
    }
}

fn factor(channel: CodeChannel) -> FactorKind {
    match channel {
        CodeChannel::Email => FactorKind::Email,
        CodeChannel::Sms => FactorKind::Sms,
    }
}

pub(super) fn outcome(name: &str) -> Exec {
    Exec::Outcome(name.to_owned())
}

pub(super) fn fault(e: impl std::fmt::Display) -> Fault {
    Fault::Broken(e.to_string())
}

/// A hashing error as a fault: a full queue is `Busy`, anything else is broken.
pub(super) fn hashing(e: PasswordError) -> Fault {
    match e {
        PasswordError::Busy => Fault::Busy,
        other => fault(other),
    }
}

pub(super) fn store_down(error: &crate::store::StoreError) -> Exec {
    tracing::error!(target: "ferry::store", %error, "user store failed");
    Exec::End(End::Failed {
        reason: FailReason::Unavailable,
        message: "Sign-in is unavailable right now.".into(),
        retry_at: None,
        cause: None,
    })
}

fn refused(idp: &str, provider: &str, elapsed_ms: u64, error: &LegacyError) -> &'static str {
    let refusal = error.refusal().outcome();
    match error {
        LegacyError::Refused { provider_code, .. } => {
            tracing::debug!(target: "ferry::legacy", idp, provider, elapsed_ms, outcome = refusal, code = ?provider_code, "legacy call");
        }
        other => {
            tracing::warn!(target: "ferry::legacy", idp, provider, elapsed_ms, outcome = refusal, error = %other, "legacy call failed");
        }
    }
    refusal
}

fn session_user(user: User, memberships: Memberships) -> SessionUser {
    SessionUser {
        id: user.id,
        identifier: user.identifier,
        migrated: user.migrated_at.is_some(),
        legacy: user.legacy.map(|l| (l.idp, l.subject)),
        attributes: user.attributes,
        roles: memberships.roles,
        groups: memberships.groups,
        authenticators: Vec::new(),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What the user is told when a fail step gives no message.
pub fn default_message(reason: FailReason) -> &'static str {
    match reason {
        FailReason::InvalidCredentials => "The identifier or password is wrong.",
        FailReason::Locked => "This account is locked.",
        FailReason::Unavailable => "Sign-in is unavailable right now.",
        FailReason::RateLimited => "Too many attempts; try again later.",
        FailReason::Denied => "Sign-in was refused.",
        FailReason::Conflict => "This account cannot be signed in automatically.",
        FailReason::PasswordExpired => "The password has expired.",
        FailReason::NotConfirmed => "This account has not been confirmed.",
        FailReason::MfaRequired => "This account needs a second factor that is not offered here.",
        FailReason::InvalidCode => "The code is wrong or has expired.",
        FailReason::NotEnrolled => "No way to send or check a code is set up for this account.",
    }
}
