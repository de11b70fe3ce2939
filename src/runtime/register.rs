//! The `register_authenticator` step: offers a signed-in user a new authenticator under a
//! policy (required, optional, or deferred within limits) and keeps the per-user prompt state
//! in the store. A TOTP seed is stored only once the user has typed a first valid code, an
//! email address or phone number only once the user has typed the code sent to it, and a
//! chosen password only if the password rules accept it.

use serde::Serialize;
use serde_json::Value as Json;

use super::input::{self, InputError};
use super::local::{TOTP, open_seed};
use super::local_otp::{self, CodeView};
use super::session::{PendingRegistration, SessionUser};
use super::steps::{Exec, Fault, Resumed, Run, hashing, outcome, store_down};
use super::{Engine, FieldView};
use crate::authn::totp::{self, Seed};
use crate::compile::ir::{Authenticator, CodeChannel, Field, FieldKind, RegisterPolicy};
use crate::secret::Secret;
use crate::store::{CredentialKind, PromptState, StoredCredential};
use uuid::Uuid;

const DAY_MS: i64 = 86_400_000;

/// What a waiting register step shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegisterView {
    /// What is offered.
    pub offer: Vec<Authenticator>,
    /// What the user chose, once chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Authenticator>,
    /// `required`, `optional` or `deferred`.
    pub policy: &'static str,
    /// Whether `{"action": "skip"}` is accepted now.
    pub can_skip: bool,
    /// Skips left before the prompt becomes required, when the policy counts them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skips_left: Option<u32>,
    /// Until when (ms since the epoch) it may be skipped, when the policy has a date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skippable_until: Option<i64>,
    /// The user's stored state for this prompt.
    pub state: PromptState,
    /// The authenticator app being set up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpEnrolment>,
    /// The passkey being registered: the options for `navigator.credentials.create`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkey: Option<super::passkey::PasskeyView>,
    /// What a chosen password must be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordRulesView>,
    /// The code sent to the address being registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeView>,
    /// Where that code went, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_to: Option<String>,
    /// Why the last answer was not accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The length limits of a password the user chooses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PasswordRulesView {
    /// The fewest characters.
    pub min_length: usize,
    /// The most characters.
    pub max_length: usize,
}

/// What an authenticator app needs: the URI (also as a QR code) or the secret typed by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TotpEnrolment {
    /// The `otpauth://totp/` URI.
    pub otpauth_uri: String,
    /// The same URI as an SVG QR code.
    pub qr_svg: String,
    /// The secret in base32, for typing in.
    pub secret: String,
    /// Digits per code.
    pub digits: u32,
    /// Seconds per code.
    pub period: u64,
}

/// Whether the user may skip the prompt now.
pub fn may_skip(policy: RegisterPolicy, state: &PromptState, now: i64) -> bool {
    match policy {
        RegisterPolicy::Required => false,
        RegisterPolicy::Optional => true,
        RegisterPolicy::Deferred(d) => {
            d.max_skips.is_none_or(|max| state.skips < max) && d.until.is_none_or(|u| now < u)
        }
    }
}

/// Whether an `every_days` deferral still keeps the prompt from being shown.
fn resting(policy: RegisterPolicy, state: &PromptState, now: i64) -> bool {
    let RegisterPolicy::Deferred(d) = policy else {
        return false;
    };
    match (d.every_days, state.last_skipped_at) {
        (Some(days), Some(skipped)) => now < skipped.saturating_add(i64::from(days) * DAY_MS),
        _ => false,
    }
}

/// The store's credential kind of an authenticator, for those kept as credentials.
pub(super) fn credential_kind(authenticator: Authenticator) -> Option<CredentialKind> {
    match authenticator {
        Authenticator::Totp => Some(CredentialKind::Totp),
        Authenticator::Password => Some(CredentialKind::Password),
        Authenticator::Passkey => Some(CredentialKind::Passkey),
        Authenticator::Email => Some(CredentialKind::Email),
        Authenticator::Sms => Some(CredentialKind::Sms),
    }
}

/// A new authenticator to store.
pub(super) enum New<'a> {
    Credential(&'a StoredCredential),
    PasswordHash(&'a str),
}

/// The channel codes go by when registering an address.
pub(super) fn channel(authenticator: Authenticator) -> Option<CodeChannel> {
    match authenticator {
        Authenticator::Email => Some(CodeChannel::Email),
        Authenticator::Sms => Some(CodeChannel::Sms),
        _ => None,
    }
}

fn answer_fields() -> [Field; 5] {
    let field = |name: &str, kind| Field {
        name: name.into(),
        kind,
        label: None,
        optional: true,
    };
    [
        field("code", FieldKind::Otp),
        field("method", FieldKind::Text),
        field("action", FieldKind::Text),
        field("password", FieldKind::Password),
        field("address", FieldKind::Text),
    ]
}

/// One answer to a waiting register step, besides a choice of method.
enum Answer<'a> {
    Skip,
    Resend,
    Code(&'a Secret),
    Password(&'a Secret),
    Address(&'a str),
}

/// Reads an answer: a choice of `method`, and at most one of `action`, `code`, `password` and
/// `address` (with a `method`, only the `password` or `address` it asks for).
fn answers<'a>(
    accepted: &'a input::Accepted,
    offer: &[Authenticator],
) -> Result<(Option<Authenticator>, Option<Answer<'a>>), InputError> {
    let text = |name: &str| accepted.public.get(name).and_then(Json::as_str);
    let (action, method, address) = (text("action"), text("method"), text("address"));
    let (code, password) = (
        accepted.secrets.get("code"),
        accepted.secrets.get("password"),
    );
    let chosen = match method {
        Some(name) => Some(
            Authenticator::parse(name)
                .filter(|m| offer.contains(m))
                .ok_or_else(|| InputError::NotOffered(name.to_owned()))?,
        ),
        None => None,
    };
    let given = usize::from(action.is_some())
        + usize::from(code.is_some())
        + usize::from(password.is_some())
        + usize::from(address.is_some());
    if given > 1 || (method.is_some() && (action.is_some() || code.is_some())) {
        return Err(InputError::RegisterAnswer);
    }
    let answer = match (action, code, password, address) {
        (Some("skip"), ..) => Some(Answer::Skip),
        (Some("resend"), ..) => Some(Answer::Resend),
        (Some(other), ..) => return Err(InputError::NotOffered(other.to_owned())),
        (_, Some(code), ..) => Some(Answer::Code(code)),
        (_, _, Some(password), _) => Some(Answer::Password(password)),
        (.., Some(address)) => Some(Answer::Address(address)),
        _ if chosen.is_none() => return Err(InputError::RegisterAnswer),
        _ => None,
    };
    Ok((chosen, answer))
}

pub(super) fn invalid(e: InputError) -> Resumed {
    Resumed::Invalid(e)
}

impl Run<'_> {
    /// The session's user, if a credential was proven for them; registering for anyone
    /// else would let an attacker add their own authenticator.
    pub(super) fn proven_user(&self) -> Result<SessionUser, Fault> {
        match &self.session.user {
            Some(user) if self.session.proven_for_user() => Ok(user.clone()),
            _ => Err(Fault::Broken(
                "register_authenticator reached before the user proved a credential".into(),
            )),
        }
    }

    /// Enters the step: passes if the user already has an offered authenticator or a
    /// deferral is resting; otherwise records that the prompt was shown, and waits.
    pub(super) async fn register_enter(
        &mut self,
        offer: &[Authenticator],
        policy: RegisterPolicy,
        prompt: &str,
    ) -> Result<Exec, Fault> {
        let user = self.proven_user()?;
        let users = self.engine.users.as_ref();
        let kinds = match users.credential_kinds(user.id).await {
            Ok(kinds) => kinds,
            Err(e) => return Ok(store_down(&e)),
        };
        if offer
            .iter()
            .any(|a| credential_kind(*a).is_some_and(|k| kinds.contains(&k)))
        {
            return Ok(outcome("registered"));
        }
        let mut state = match users.prompt_states(user.id).await {
            Ok(states) => states.into_iter().find(|s| s.prompt == prompt),
            Err(e) => return Ok(store_down(&e)),
        }
        .unwrap_or_else(|| PromptState {
            prompt: prompt.to_owned(),
            ..PromptState::default()
        });

        let now = self.engine.clock.now_ms();
        if resting(policy, &state, now) {
            return Ok(outcome("deferred"));
        }
        state.first_asked_at.get_or_insert(now);
        state.last_asked_at = Some(now);
        if let Err(e) = users.save_prompt_state(user.id, &state).await {
            return Ok(store_down(&e));
        }
        let mut pending = PendingRegistration {
            state,
            method: None,
            sealed: None,
            error: None,
            passkey: None,
            code: None,
            codes_sent: 0,
            wrong_codes: 0,
        };
        if let [only] = offer {
            self.begin(&mut pending, *only).await?;
        }
        self.session.registration = Some(pending);
        Ok(Exec::Wait)
    }

    /// Starts setting up the chosen authenticator: a new TOTP seed, a passkey ceremony, or
    /// (for a password, an email address or a phone number) waiting for what the user types.
    async fn begin(
        &self,
        pending: &mut PendingRegistration,
        method: Authenticator,
    ) -> Result<(), Fault> {
        pending.method = Some(method);
        pending.sealed = None;
        pending.passkey = None;
        pending.code = None;
        pending.error = None;
        match method {
            Authenticator::Totp => {}
            Authenticator::Passkey => return self.passkey_register_start(pending).await,
            Authenticator::Password | Authenticator::Email | Authenticator::Sms => return Ok(()),
        }
        let settings = &self.engine.authenticators.totp;
        let seed = Seed::generate(settings.digits, settings.period, settings.algorithm);
        let sealed = self
            .sealer()?
            .seal(TOTP, &seed.to_stored())
            .map_err(super::steps::fault)?;
        pending.sealed = Some(sealed);
        Ok(())
    }

    /// Takes the user's answer: a skip, a choice, or the first code of a new authenticator.
    pub(super) async fn register_resume(
        &mut self,
        offer: &[Authenticator],
        policy: RegisterPolicy,
        input: &Json,
    ) -> Result<Exec, Resumed> {
        let mut pending =
            self.session.registration.clone().ok_or_else(|| {
                Resumed::Fault(Fault::Broken("no registration in progress".into()))
            })?;
        if input.get("credential").is_some() {
            return match self.passkey_register_finish(&mut pending, input).await? {
                Some(Exec::Outcome(o)) if o == "registered" => Ok(self
                    .registered(pending.state, CredentialKind::Passkey)
                    .await),
                Some(other) => Ok(other),
                None => {
                    self.session.registration = Some(pending);
                    Ok(Exec::Wait)
                }
            };
        }
        let accepted = input::accept(&answer_fields(), input).map_err(invalid)?;
        let (chosen, answer) = answers(&accepted, offer).map_err(invalid)?;
        let mut exec = Exec::Wait;
        if let Some(method) = chosen {
            self.begin(&mut pending, method)
                .await
                .map_err(Resumed::Fault)?;
            if let (Some(channel), None) = (channel(method), &answer) {
                exec = self.send_to_file(&mut pending, channel).await?;
            }
        }
        if let Some(answer) = answer {
            exec = match answer {
                Answer::Skip => self.skip(policy, pending.clone()).await?,
                Answer::Code(code) if pending.code.is_some() => {
                    self.confirm_address(&mut pending, code).await?
                }
                Answer::Code(_) if pending.method.and_then(channel).is_some() => {
                    return Err(invalid(InputError::NoCode));
                }
                Answer::Code(code) => self.confirm(&mut pending, code).await?,
                Answer::Password(password) => self.choose_password(&pending, password).await?,
                Answer::Address(address) => self.send_to(&mut pending, address).await?,
                Answer::Resend => self.resend_registration(&mut pending).await?,
            };
        }
        if matches!(exec, Exec::Wait) {
            self.session.registration = Some(pending);
        }
        Ok(exec)
    }

    /// `{"password": ...}`: checks the chosen password against the rules, then keeps its
    /// argon2id hash.
    async fn choose_password(
        &mut self,
        pending: &PendingRegistration,
        password: &Secret,
    ) -> Result<Exec, Resumed> {
        if pending.method != Some(Authenticator::Password) {
            return Err(invalid(InputError::NotOffered("password".into())));
        }
        let user = self.proven_user().map_err(Resumed::Fault)?;
        let email = user.attributes.get("email").and_then(Json::as_str);
        let own = std::iter::once(user.identifier.as_str()).chain(email);
        self.engine
            .password_rules
            .check(password, own)
            .map_err(|refusal| invalid(InputError::Password(refusal)))?;
        let hash = self
            .engine
            .passwords
            .hash(password)
            .await
            .map_err(|e| Resumed::Fault(hashing(e)))?;
        let kind = CredentialKind::Password;
        if let Err(down) = self.keep_new(user.id, kind, New::PasswordHash(&hash)).await {
            return Ok(down);
        }
        Ok(self.registered(pending.state.clone(), kind).await)
    }

    async fn skip(
        &mut self,
        policy: RegisterPolicy,
        pending: PendingRegistration,
    ) -> Result<Exec, Resumed> {
        let now = self.engine.clock.now_ms();
        if !may_skip(policy, &pending.state, now) {
            return Err(invalid(InputError::SkipRefused));
        }
        let user = self.proven_user().map_err(Resumed::Fault)?;
        // The stored state, not the one read when the prompt was shown: another session may
        // have skipped since.
        let stored = match self.engine.users.prompt_states(user.id).await {
            Ok(states) => states
                .into_iter()
                .find(|s| s.prompt == pending.state.prompt),
            Err(e) => return Ok(store_down(&e)),
        };
        let mut state = stored.unwrap_or(pending.state);
        if !may_skip(policy, &state, now) {
            return Err(invalid(InputError::SkipRefused));
        }
        state.skips = state.skips.saturating_add(1);
        state.last_skipped_at = Some(now);
        if let Err(e) = self.engine.users.save_prompt_state(user.id, &state).await {
            return Ok(store_down(&e));
        }
        tracing::info!(target: "ferry::journey", user = %user.id, prompt = %state.prompt, skips = state.skips, "registration skipped");
        self.session.registration = None;
        Ok(outcome("skipped"))
    }

    /// Checks the first code of a new TOTP seed; stores the seed only if it is right.
    async fn confirm(
        &mut self,
        pending: &mut PendingRegistration,
        code: &Secret,
    ) -> Result<Exec, Resumed> {
        let sealed = pending
            .sealed
            .clone()
            .ok_or_else(|| invalid(InputError::NoMethod))?;
        let sealer = self.sealer().map_err(Resumed::Fault)?;
        let (seed, _) = open_seed(sealer, &sealed).map_err(|e| Resumed::Fault(Fault::Broken(e)))?;
        let Some(matched) = seed.verify(code, self.engine.clock.now_secs(), None) else {
            pending.error = Some("The code is wrong or has expired; enter the current one.".into());
            return Ok(Exec::Wait);
        };

        let user = self.proven_user().map_err(Resumed::Fault)?;
        let credential = StoredCredential {
            secret: sealed,
            last_used: Some(matched.step),
        };
        // The first code proves the app holds the new seed, not that the user signed in with
        // it: no proof, so no `otp` in `amr`.
        let kind = CredentialKind::Totp;
        let new = New::Credential(&credential);
        if let Err(down) = self.keep_new(user.id, kind, new).await {
            return Ok(down);
        }
        Ok(self.registered(pending.state.clone(), kind).await)
    }

    /// Stores a new authenticator unless another sign-in of the same user registered one of
    /// the same kind since this prompt was shown: the first one stays, this one is dropped,
    /// so a prompt left open cannot replace what the user set up elsewhere.
    pub(super) async fn keep_new(
        &self,
        user: Uuid,
        kind: CredentialKind,
        new: New<'_>,
    ) -> Result<(), Exec> {
        let users = self.engine.users.as_ref();
        let present = match kind {
            CredentialKind::Password => users.password_hash(user).await.map(|h| h.is_some()),
            _ => users.credential(user, kind).await.map(|c| c.is_some()),
        }
        .map_err(|e| store_down(&e))?;
        if present {
            tracing::warn!(target: "ferry::journey", user = %user, method = kind.name(), "registration dropped: one was registered in another session");
            return Ok(());
        }
        let now = self.engine.clock.now_ms();
        match new {
            New::Credential(credential) => users.set_credential(user, kind, credential, now).await,
            New::PasswordHash(hash) => users.set_password_hash(user, hash, now).await,
        }
        .map_err(|e| store_down(&e))
    }

    /// Records a registration in the prompt's state and the session's user.
    pub(super) async fn registered(
        &mut self,
        mut state: PromptState,
        kind: CredentialKind,
    ) -> Exec {
        let Some(user) = self.session.user.clone() else {
            return store_down(&crate::store::StoreError::Corrupt {
                what: "session user",
            });
        };
        state.registered_at = Some(self.engine.clock.now_ms());
        if let Err(e) = self.engine.users.save_prompt_state(user.id, &state).await {
            return store_down(&e);
        }
        tracing::info!(target: "ferry::journey", user = %user.id, prompt = %state.prompt, method = kind.name(), "authenticator registered");
        if let Some(u) = self.session.user.as_mut()
            && !u.authenticators.iter().any(|a| a == kind.name())
        {
            u.authenticators.push(kind.name().to_owned());
        }
        self.session.registration = None;
        outcome("registered")
    }
}

/// The view of a waiting register step, with the fields its answer may carry.
pub fn view(
    engine: &Engine,
    offer: &[Authenticator],
    policy: RegisterPolicy,
    pending: Option<&PendingRegistration>,
    user: Option<&SessionUser>,
) -> (RegisterView, Vec<FieldView>) {
    let state = pending.map(|p| p.state.clone()).unwrap_or_default();
    let can_skip = may_skip(policy, &state, engine.clock.now_ms());
    let (skips_left, skippable_until) = match policy {
        RegisterPolicy::Deferred(d) => {
            (d.max_skips.map(|m| m.saturating_sub(state.skips)), d.until)
        }
        _ => (None, None),
    };
    let account = user.map_or("", |u| u.identifier.as_str());
    let totp = pending
        .and_then(|p| p.sealed.as_deref())
        .and_then(|sealed| enrolment(engine, sealed, account));
    let passkey = pending
        .and_then(|p| p.passkey.as_ref())
        .map(|p| super::passkey::PasskeyView {
            options: p.options.clone(),
        });
    let method = pending.and_then(|p| p.method);
    let codes = &engine.authenticators.codes;
    let code = pending.and_then(|p| {
        let sent = p.code.as_ref()?;
        let channel = p.method.and_then(channel)?;
        Some(local_otp::view(
            sent,
            channel,
            (codes.max_attempts, codes.max_sends),
        ))
    });
    let sent_to = pending.and_then(|p| p.code.as_ref().map(|c| c.sent_to.clone()));
    let rules = &engine.password_rules;
    let mut fields = match (method, &code) {
        (Some(Authenticator::Totp), _) => vec![field("code", FieldKind::Otp, false)],
        (Some(Authenticator::Passkey), _) => vec![field("credential", FieldKind::Text, false)],
        (Some(Authenticator::Password), _) => vec![field("password", FieldKind::Password, false)],
        (Some(_), Some(_)) => vec![
            field("code", FieldKind::Otp, false),
            field("action", FieldKind::Text, true),
        ],
        (Some(chosen), None) => {
            let on_file = channel(chosen)
                .map(crate::compile::default_attribute)
                .and_then(|a| user?.attributes.get(a))
                .is_some();
            vec![field("address", FieldKind::Text, on_file)]
        }
        (None, _) => vec![field("method", FieldKind::Text, false)],
    };
    if method.is_some() && offer.len() > 1 {
        fields.push(field("method", FieldKind::Text, true));
    }
    if can_skip && !fields.iter().any(|f| f.name == "action") {
        fields.push(field("action", FieldKind::Text, true));
    }
    let view = RegisterView {
        offer: offer.to_vec(),
        policy: policy.name(),
        method,
        can_skip,
        skips_left,
        skippable_until,
        state,
        totp,
        passkey,
        password: (method == Some(Authenticator::Password)).then(|| PasswordRulesView {
            min_length: rules.min_length(),
            max_length: rules.max_length(),
        }),
        code,
        sent_to,
        error: pending.and_then(|p| p.error.clone()),
    };
    (view, fields)
}

fn field(name: &str, kind: FieldKind, optional: bool) -> FieldView {
    FieldView {
        name: name.into(),
        kind,
        label: None,
        optional,
    }
}

fn enrolment(engine: &Engine, sealed: &str, account: &str) -> Option<TotpEnrolment> {
    let (seed, _) = open_seed(engine.sealer.as_deref()?, sealed).ok()?;
    let issuer = &engine.authenticators.totp.issuer;
    let uri = seed.otpauth_uri(issuer, account);
    let qr = totp::qr_svg(&uri)?;
    Some(TotpEnrolment {
        otpauth_uri: uri.expose().to_owned(),
        qr_svg: qr.expose().to_owned(),
        secret: seed.base32().expose().to_owned(),
        digits: seed.digits,
        period: seed.period,
    })
}
