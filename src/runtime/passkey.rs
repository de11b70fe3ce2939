//! Passkeys (WebAuthn, through webauthn-rs): the `check_passkey` step's authentication
//! ceremony, and the registration ceremony a `register_authenticator` step runs when the
//! user chooses a passkey. The ceremony state stays in the session store between the
//! challenge and the browser's answer; a user's passkeys are stored as one JSON array.

use serde::Serialize;
use serde_json::Value as Json;
use uuid::Uuid;
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential,
};

use super::input::InputError;
use super::session::{PendingPasskey, PendingRegistration, Proof};
use super::steps::{Exec, Fault, Resumed, Run, fault, outcome, store_down};
use super::throttle;
use crate::compile::ir::{Authenticator, Field, FieldKind};
use crate::store::{CredentialKind, StoredCredential};

/// The largest browser answer taken, in bytes of JSON.
const MAX_CREDENTIAL_BYTES: usize = 64 * 1024;

/// What a waiting passkey ceremony shows: the options for the browser's WebAuthn call.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PasskeyView {
    /// For `navigator.credentials.create` (registration) or `.get` (authentication).
    pub options: Json,
}

/// The field a passkey ceremony's answer carries: the `PublicKeyCredential` as JSON.
pub fn field() -> Field {
    Field {
        name: "credential".into(),
        kind: FieldKind::Text,
        label: None,
        optional: false,
    }
}

/// The browser's answer: `{"credential": {...}}` and nothing else, within the size limit.
pub fn credential<T: serde::de::DeserializeOwned>(input: &Json) -> Result<Option<T>, InputError> {
    let object = input.as_object().ok_or(InputError::NotAnObject)?;
    let Some(value) = object.get("credential") else {
        return Err(InputError::Missing("credential".into()));
    };
    if let Some(other) = object.keys().find(|k| *k != "credential") {
        return Err(InputError::Unknown(other.clone()));
    }
    let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
    if size > MAX_CREDENTIAL_BYTES {
        return Err(InputError::TooLong {
            field: "credential".into(),
            max: MAX_CREDENTIAL_BYTES,
        });
    }
    Ok(serde_json::from_value(value.clone()).ok())
}

impl Run<'_> {
    fn webauthn(&self) -> Result<&Webauthn, Fault> {
        self.engine
            .webauthn
            .as_deref()
            .ok_or_else(|| Fault::Broken("passkeys need `authenticators.passkeys`".into()))
    }

    /// The user's stored passkeys; `Err` ends the run (store failure) or breaks it.
    async fn passkeys(&self, user: Uuid) -> Result<Result<Vec<Passkey>, Exec>, Fault> {
        let stored = match self
            .engine
            .users
            .credential(user, CredentialKind::Passkey)
            .await
        {
            Ok(stored) => stored,
            Err(e) => return Ok(Err(store_down(&e))),
        };
        let Some(stored) = stored else {
            return Ok(Ok(Vec::new()));
        };
        serde_json::from_str(&stored.secret)
            .map(Ok)
            .map_err(|_| Fault::Broken("the user's stored passkeys cannot be read".into()))
    }

    async fn save_passkeys(&self, user: Uuid, passkeys: &[Passkey]) -> Result<(), Exec> {
        let secret = serde_json::to_string(passkeys)
            .map_err(|_| store_down(&crate::store::StoreError::Corrupt { what: "passkey" }))?;
        let credential = StoredCredential {
            secret,
            last_used: None,
        };
        let at = self.engine.clock.now_ms();
        self.engine
            .users
            .set_credential(user, CredentialKind::Passkey, &credential, at)
            .await
            .map_err(|e| store_down(&e))
    }

    /// Enters `check_passkey`: challenges the user's passkeys and waits for the browser.
    pub(super) async fn passkey_start(&mut self) -> Result<Exec, Fault> {
        self.session.passkey = None;
        let Some(user) = self.session.user.clone() else {
            return Ok(outcome("not_enrolled"));
        };
        let passkeys = match self.passkeys(user.id).await? {
            Ok(passkeys) if passkeys.is_empty() => return Ok(outcome("not_enrolled")),
            Ok(passkeys) => passkeys,
            Err(down) => return Ok(down),
        };
        let (options, state) = self
            .webauthn()?
            .start_passkey_authentication(&passkeys)
            .map_err(fault)?;
        self.session.passkey = Some(PendingPasskey {
            user: user.id,
            state: serde_json::to_value(&state).map_err(fault)?,
            options: serde_json::to_value(&options).map_err(fault)?,
        });
        Ok(Exec::Wait)
    }

    /// Resumes `check_passkey` with the browser's assertion.
    pub(super) async fn passkey_finish(&mut self, input: &Json) -> Result<Exec, Resumed> {
        let answer: Option<PublicKeyCredential> = credential(input).map_err(Resumed::Invalid)?;
        let pending = self
            .session
            .passkey
            .take()
            .filter(|p| self.session.user.as_ref().is_some_and(|u| u.id == p.user))
            .ok_or_else(|| Resumed::Fault(Fault::Broken("no passkey challenge".into())))?;
        let user =
            self.session.user.clone().ok_or_else(|| {
                Resumed::Fault(Fault::Broken("check_passkey without a user".into()))
            })?;
        let keys = throttle::Keys::new(&user.identifier, self.transient.client.ip);
        if let Some(locked) = self.count_attempt(&keys).await.map_err(Resumed::Fault)? {
            return Ok(locked);
        }

        let state: PasskeyAuthentication =
            serde_json::from_value(pending.state).map_err(|e| Resumed::Fault(fault(e)))?;
        let webauthn = self.webauthn().map_err(Resumed::Fault)?;
        let result = answer.and_then(|a| webauthn.finish_passkey_authentication(&a, &state).ok());
        let store = self.engine.users.as_ref();
        let Some(result) = result else {
            let now = self.engine.clock.now_ms();
            return match throttle::failed(store, &self.engine.throttle, &keys, now).await {
                Ok(locked) => {
                    self.transient.locked_until = locked;
                    Ok(outcome("failure"))
                }
                Err(e) => Ok(store_down(&e)),
            };
        };

        let mut passkeys = match self.passkeys(user.id).await.map_err(Resumed::Fault)? {
            Ok(passkeys) => passkeys,
            Err(down) => return Ok(down),
        };
        let changed = passkeys
            .iter_mut()
            .any(|p| p.update_credential(&result) == Some(true));
        if changed && let Err(down) = self.save_passkeys(user.id, &passkeys).await {
            return Ok(down);
        }
        if let Err(e) = throttle::succeeded(store, &self.engine.throttle, &keys).await {
            return Ok(store_down(&e));
        }
        self.session
            .proofs
            .push(Proof::LocalPasskey { user: user.id });
        Ok(outcome("success"))
    }

    /// Starts a passkey registration for the session's user, excluding their passkeys.
    pub(super) async fn passkey_register_start(
        &self,
        pending: &mut PendingRegistration,
    ) -> Result<(), Fault> {
        let user = self
            .session
            .user
            .clone()
            .ok_or_else(|| Fault::Broken("passkey registration without a user".into()))?;
        let existing = match self.passkeys(user.id).await? {
            Ok(existing) => existing,
            Err(_) => return Err(Fault::Broken("the user store failed".into())),
        };
        let exclude = existing.iter().map(|p| p.cred_id().clone()).collect();
        let (options, state) = self
            .webauthn()?
            .start_passkey_registration(user.id, &user.identifier, &user.identifier, Some(exclude))
            .map_err(fault)?;
        pending.method = Some(Authenticator::Passkey);
        pending.sealed = None;
        pending.error = None;
        pending.passkey = Some(PendingPasskey {
            user: user.id,
            state: serde_json::to_value(&state).map_err(fault)?,
            options: serde_json::to_value(&options).map_err(fault)?,
        });
        Ok(())
    }

    /// Finishes a passkey registration with the browser's attestation; the passkey is
    /// added to the user's. `Ok(None)`: not accepted, the prompt waits on with an error.
    pub(super) async fn passkey_register_finish(
        &mut self,
        pending: &mut PendingRegistration,
        input: &Json,
    ) -> Result<Option<Exec>, Resumed> {
        let answer: Option<RegisterPublicKeyCredential> =
            credential(input).map_err(Resumed::Invalid)?;
        let ceremony = pending
            .passkey
            .clone()
            .ok_or(Resumed::Invalid(InputError::NoMethod))?;
        let state: PasskeyRegistration =
            serde_json::from_value(ceremony.state).map_err(|e| Resumed::Fault(fault(e)))?;
        let webauthn = self.webauthn().map_err(Resumed::Fault)?;
        let Some(passkey) =
            answer.and_then(|a| webauthn.finish_passkey_registration(&a, &state).ok())
        else {
            pending.error = Some("The passkey could not be registered; try again.".into());
            return Ok(None);
        };
        let mut passkeys = match self.passkeys(ceremony.user).await.map_err(Resumed::Fault)? {
            Ok(passkeys) => passkeys,
            Err(down) => return Ok(Some(down)),
        };
        passkeys.push(passkey);
        if let Err(down) = self.save_passkeys(ceremony.user, &passkeys).await {
            return Ok(Some(down));
        }
        // Setting a passkey up is not signing in with one: no proof, so no `hwk` in `amr`.
        Ok(Some(outcome("registered")))
    }
}
