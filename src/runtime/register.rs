//! The `register_authenticator` step: offers a signed-in user a new authenticator under a
//! policy (required, optional, or deferred within limits), keeps the per-user prompt state
//! in the store, and stores a TOTP seed only once the user has typed a first valid code.

use serde::Serialize;
use serde_json::Value as Json;

use super::input::{self, InputError};
use super::local::{TOTP, open_seed};
use super::session::{PendingRegistration, Proof, SessionUser};
use super::steps::{Exec, Fault, Resumed, Run, outcome, store_down};
use super::{Engine, FieldView};
use crate::authn::totp::{self, Seed};
use crate::compile::ir::{Authenticator, Field, FieldKind, RegisterPolicy};
use crate::store::{CredentialKind, PromptState, StoredCredential};

const DAY_MS: i64 = 86_400_000;

/// What a waiting register step shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegisterView {
    /// What is offered.
    pub offer: Vec<Authenticator>,
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
    /// Why the last answer was not accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
fn credential_kind(authenticator: Authenticator) -> Option<CredentialKind> {
    match authenticator {
        Authenticator::Totp => Some(CredentialKind::Totp),
        Authenticator::Password => Some(CredentialKind::Password),
        Authenticator::Passkey => Some(CredentialKind::Passkey),
        Authenticator::Email | Authenticator::Sms => None,
    }
}

fn answer_fields() -> [Field; 3] {
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
    ]
}

fn invalid(e: InputError) -> Resumed {
    Resumed::Invalid(e)
}

impl Run<'_> {
    /// The session's user, if a credential was proven for them; registering for anyone
    /// else would let an attacker add their own authenticator.
    fn proven_user(&self) -> Result<SessionUser, Fault> {
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
        };
        if let [only] = offer {
            self.begin(&mut pending, *only).await?;
        }
        self.session.registration = Some(pending);
        Ok(Exec::Wait)
    }

    /// Starts setting up the chosen authenticator.
    async fn begin(
        &self,
        pending: &mut PendingRegistration,
        method: Authenticator,
    ) -> Result<(), Fault> {
        match method {
            Authenticator::Totp => {}
            Authenticator::Passkey => return self.passkey_register_start(pending).await,
            other => {
                return Err(Fault::Broken(format!(
                    "`{}` authenticators cannot be enrolled",
                    other.name()
                )));
            }
        }
        let settings = &self.engine.authenticators.totp;
        let seed = Seed::generate(settings.digits, settings.period, settings.algorithm);
        let sealed = self
            .sealer()?
            .seal(TOTP, &seed.to_stored())
            .map_err(super::steps::fault)?;
        pending.method = Some(method);
        pending.sealed = Some(sealed);
        pending.passkey = None;
        pending.error = None;
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
        let text = |name: &str| accepted.public.get(name).and_then(Json::as_str);
        let exec = match (text("action"), text("method"), accepted.secrets.get("code")) {
            (Some("skip"), None, None) => self.skip(policy, pending).await?,
            (None, Some(name), None) => {
                let method = Authenticator::parse(name)
                    .filter(|m| offer.contains(m))
                    .ok_or_else(|| invalid(InputError::NotOffered(name.to_owned())))?;
                self.begin(&mut pending, method)
                    .await
                    .map_err(Resumed::Fault)?;
                self.session.registration = Some(pending);
                Exec::Wait
            }
            (None, None, Some(code)) => self.confirm(pending, code).await?,
            (Some(other), None, None) => {
                return Err(invalid(InputError::NotOffered(other.to_owned())));
            }
            _ => return Err(invalid(InputError::RegisterAnswer)),
        };
        Ok(exec)
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
        let mut state = pending.state;
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
        mut pending: PendingRegistration,
        code: &crate::secret::Secret,
    ) -> Result<Exec, Resumed> {
        let sealed = pending
            .sealed
            .clone()
            .ok_or_else(|| invalid(InputError::NoMethod))?;
        let sealer = self.sealer().map_err(Resumed::Fault)?;
        let (seed, _) = open_seed(sealer, &sealed).map_err(|e| Resumed::Fault(Fault::Broken(e)))?;
        let Some(matched) = seed.verify(code, self.engine.clock.now_secs(), None) else {
            pending.error = Some("The code is wrong or has expired; enter the current one.".into());
            self.session.registration = Some(pending);
            return Ok(Exec::Wait);
        };

        let user = self.proven_user().map_err(Resumed::Fault)?;
        let now = self.engine.clock.now_ms();
        let credential = StoredCredential {
            secret: sealed,
            last_used: Some(matched.step),
        };
        let users = self.engine.users.as_ref();
        if let Err(e) = users
            .set_credential(user.id, CredentialKind::Totp, &credential, now)
            .await
        {
            return Ok(store_down(&e));
        }
        self.session.proofs.push(Proof::LocalTotp { user: user.id });
        Ok(self.registered(pending.state, CredentialKind::Totp).await)
    }

    /// Records a registration in the prompt's state and the session's user.
    async fn registered(&mut self, mut state: PromptState, kind: CredentialKind) -> Exec {
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
    account: &str,
) -> (RegisterView, Vec<FieldView>) {
    let state = pending.map(|p| p.state.clone()).unwrap_or_default();
    let can_skip = may_skip(policy, &state, engine.clock.now_ms());
    let (skips_left, skippable_until) = match policy {
        RegisterPolicy::Deferred(d) => {
            (d.max_skips.map(|m| m.saturating_sub(state.skips)), d.until)
        }
        _ => (None, None),
    };
    let totp = pending
        .and_then(|p| p.sealed.as_deref())
        .and_then(|sealed| enrolment(engine, sealed, account));
    let passkey = pending
        .and_then(|p| p.passkey.as_ref())
        .map(|p| super::passkey::PasskeyView {
            options: p.options.clone(),
        });
    let mut fields = vec![if totp.is_some() {
        field("code", FieldKind::Otp, false)
    } else if passkey.is_some() {
        field("credential", FieldKind::Text, false)
    } else {
        field("method", FieldKind::Text, false)
    }];
    if can_skip {
        fields.push(field("action", FieldKind::Text, true));
    }
    let view = RegisterView {
        offer: offer.to_vec(),
        policy: policy.name(),
        can_skip,
        skips_left,
        skippable_until,
        state,
        totp,
        passkey,
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
