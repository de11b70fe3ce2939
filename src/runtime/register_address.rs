//! A `register_authenticator` step registering an email address or a phone number: a code
//! goes to the address on the user's profile or to one the user types, and the address is
//! kept only once that code comes back, under the same send limits and locks as `local_otp`.

use super::input::InputError;
use super::local_otp::{self, Sending, Verdict};
use super::register::{New, channel, credential_kind, invalid};
use super::session::{PendingCode, PendingRegistration};
use super::steps::{Exec, Fault, Resumed, Run};
use super::throttle;
use crate::compile::ir::CodeChannel;
use crate::secret::Secret;
use crate::store::StoredCredential;
use serde_json::Value as Json;

impl Run<'_> {
    /// After `{"method": "email"|"sms"}`: sends a code to the address the user's profile
    /// already holds, if any; otherwise waits for `address`.
    pub(super) async fn send_to_file(
        &mut self,
        pending: &mut PendingRegistration,
        channel: CodeChannel,
    ) -> Result<Exec, Resumed> {
        let user = self.proven_user().map_err(Resumed::Fault)?;
        let attribute = crate::compile::default_attribute(channel);
        let on_file = user.attributes.get(attribute).and_then(Json::as_str);
        match on_file.and_then(|a| local_otp::checked_address(channel, a).ok()) {
            Some(address) => {
                self.send_registration_code(pending, channel, &address)
                    .await
            }
            None => Ok(Exec::Wait),
        }
    }

    /// `{"address": ...}`: sends a code to the address typed for the chosen channel.
    pub(super) async fn send_to(
        &mut self,
        pending: &mut PendingRegistration,
        address: &str,
    ) -> Result<Exec, Resumed> {
        let channel = pending
            .method
            .and_then(channel)
            .ok_or_else(|| invalid(InputError::NotOffered("address".into())))?;
        let address = local_otp::checked_address(channel, address).map_err(invalid)?;
        self.send_registration_code(pending, channel, &address)
            .await
    }

    async fn send_registration_code(
        &mut self,
        pending: &mut PendingRegistration,
        channel: CodeChannel,
        address: &str,
    ) -> Result<Exec, Resumed> {
        let user = self.proven_user().map_err(Resumed::Fault)?;
        let keys = throttle::Keys::new(&user.identifier, self.transient.client.ip);
        // A new address or a new choice does not reset what this prompt has sent and been
        // answered: the limits hold for the whole prompt.
        let limits = &self.engine.authenticators.codes;
        if pending.codes_sent >= limits.max_sends {
            return Err(invalid(InputError::ResendLimit));
        }
        if pending.wrong_codes >= limits.max_attempts {
            return Err(invalid(InputError::TooManyWrongCodes));
        }
        let mut fresh = local_otp::pending_for(user.id, address);
        fresh.sends = pending.codes_sent;
        fresh.attempts = pending.wrong_codes;
        self.code_sent(pending, channel, fresh, &keys).await
    }

    /// `{"action": "resend"}`: a new code to the address being registered.
    pub(super) async fn resend_registration(
        &mut self,
        pending: &mut PendingRegistration,
    ) -> Result<Exec, Resumed> {
        let (Some(code), Some(channel)) = (pending.code.clone(), pending.method.and_then(channel))
        else {
            return Err(invalid(InputError::NotOffered("resend".into())));
        };
        if code.sends >= self.engine.authenticators.codes.max_sends {
            return Err(invalid(InputError::ResendLimit));
        }
        let user = self.proven_user().map_err(Resumed::Fault)?;
        let keys = throttle::Keys::new(&user.identifier, self.transient.client.ip);
        self.code_sent(pending, channel, code, &keys).await
    }

    async fn code_sent(
        &mut self,
        pending: &mut PendingRegistration,
        channel: CodeChannel,
        code: PendingCode,
        keys: &throttle::Keys,
    ) -> Result<Exec, Resumed> {
        // Locked for wrong passwords or for wrong codes: no code goes out either way.
        let user = self.proven_user().map_err(Resumed::Fault)?;
        if self
            .locked_for_codes(&self.code_keys(&user.identifier))
            .await
            .is_some()
        {
            return Err(invalid(InputError::Locked));
        }
        match self
            .send_code(channel, code, keys)
            .await
            .map_err(Resumed::Fault)?
        {
            Sending::Sent(code) => {
                pending.codes_sent = code.sends;
                pending.code = Some(code);
                pending.error = None;
                Ok(Exec::Wait)
            }
            Sending::Limited => Err(invalid(InputError::SendLimit)),
            Sending::Failed => {
                pending.code = None;
                pending.error = Some("The code could not be sent; try again later.".into());
                Ok(Exec::Wait)
            }
            Sending::Down(down) => Ok(down),
        }
    }

    /// Checks the code sent to the address being registered; keeps the address if right.
    pub(super) async fn confirm_address(
        &mut self,
        pending: &mut PendingRegistration,
        typed: &Secret,
    ) -> Result<Exec, Resumed> {
        let (Some(mut code), Some(method)) = (pending.code.clone(), pending.method) else {
            return Err(invalid(InputError::NoMethod));
        };
        let (Some(kind), Some(address)) = (credential_kind(method), code.address.clone()) else {
            return Err(Resumed::Fault(Fault::Broken(
                "a code for no address".into(),
            )));
        };
        let now = self.engine.clock.now_ms();
        match local_otp::judge(&code, typed, now) {
            Verdict::Right => {}
            Verdict::Expired => {
                pending.error = Some("The code has expired; ask for a new one.".into());
                return Ok(Exec::Wait);
            }
            Verdict::Wrong => {
                code.attempts += 1;
                pending.wrong_codes = code.attempts;
                let max = self.engine.authenticators.codes.max_attempts;
                if code.attempts >= max {
                    pending.code = None;
                    pending.error =
                        Some("Too many wrong codes; choose another authenticator.".into());
                } else {
                    let left = max - code.attempts;
                    code.error = Some(format!("The code is wrong; {left} attempts left."));
                    pending.code = Some(code);
                }
                return Ok(Exec::Wait);
            }
        }
        let user = self.proven_user().map_err(Resumed::Fault)?;
        let credential = StoredCredential {
            secret: serde_json::json!({ "address": address }).to_string(),
            last_used: None,
        };
        if let Err(down) = self
            .keep_new(user.id, kind, New::Credential(&credential))
            .await
        {
            return Ok(down);
        }
        Ok(self.registered(pending.state.clone(), kind).await)
    }
}
