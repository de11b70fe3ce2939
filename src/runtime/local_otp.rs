//! The `local_otp` step: Ferry sends a one-time code to the address in the local user's
//! record (never one from the input), waits, and checks it. Only a salted digest of the code
//! is kept in the session; codes expire, are single-use, and wrong codes are counted across
//! resends, which do not reset the count.

use serde::Serialize;
use serde_json::Value as Json;

use super::input::{self, InputError};
use super::session::{PendingCode, Proof};
use super::steps::{Exec, Fault, Resumed, Run, outcome};
use crate::authn::codes;
use crate::compile::ir::{CodeChannel, Field, FieldKind};
use crate::secret::Secret;

/// What a waiting `local_otp` step shows besides its fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CodeView {
    /// `email` or `sms`.
    pub channel: CodeChannel,
    /// When the current code expires, ms since the epoch.
    pub expires_at: i64,
    /// Wrong codes still allowed.
    pub attempts_left: u32,
    /// Codes that can still be sent with `{"action": "resend"}`.
    pub resends_left: u32,
    /// Why the last answer was not accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The fields a waiting `local_otp` step takes.
pub fn fields() -> [Field; 2] {
    [
        Field {
            name: "code".into(),
            kind: FieldKind::Otp,
            label: Some("Code".into()),
            optional: true,
        },
        Field {
            name: "action".into(),
            kind: FieldKind::Text,
            label: None,
            optional: true,
        },
    ]
}

/// The view of a pending code under the configured limits.
pub fn view(pending: &PendingCode, channel: CodeChannel, limits: (u32, u32)) -> CodeView {
    let (max_attempts, max_sends) = limits;
    CodeView {
        channel,
        expires_at: pending.expires_at,
        attempts_left: max_attempts.saturating_sub(pending.attempts),
        resends_left: max_sends.saturating_sub(pending.sends),
        error: pending.error.clone(),
    }
}

fn method(channel: CodeChannel) -> &'static str {
    match channel {
        CodeChannel::Email => "email_otp",
        CodeChannel::Sms => "sms_otp",
    }
}

/// An address shown masked: `a***@example.com`, `*******0100`.
fn mask(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => {
            let count = address.chars().count();
            let tail: String = address.chars().skip(count.saturating_sub(4)).collect();
            format!("{}{tail}", "*".repeat(count.saturating_sub(4)))
        }
    }
}

impl Run<'_> {
    /// Enters the step: sends a first code to the user's address and waits.
    pub(super) async fn local_otp_send(
        &mut self,
        channel: CodeChannel,
        attribute: &str,
    ) -> Result<Exec, Fault> {
        self.session.local_code = None;
        let Some(user) = self.session.user.clone() else {
            return Ok(outcome("not_enrolled"));
        };
        let address = user.attributes.get(attribute).and_then(Json::as_str);
        let Some(address) = address.filter(|a| !a.trim().is_empty()) else {
            return Ok(outcome("not_enrolled"));
        };
        let pending = PendingCode {
            user: user.id,
            salt: String::new(),
            digest: String::new(),
            expires_at: 0,
            attempts: 0,
            sends: 0,
            sent_to: mask(address),
            error: None,
        };
        let address = address.to_owned();
        self.deliver(channel, &address, pending).await
    }

    /// Sends a new code under the pending record's counts; waits, or `unavailable`.
    async fn deliver(
        &mut self,
        channel: CodeChannel,
        address: &str,
        mut pending: PendingCode,
    ) -> Result<Exec, Fault> {
        let limits = &self.engine.authenticators.codes;
        let issued = codes::issue(limits.digits);
        let minutes = limits.ttl_seconds.div_ceil(60);
        let sent = match channel {
            CodeChannel::Email => match &self.engine.email {
                Some(sender) => sender.send(address, &issued.code, minutes).await,
                None => return Err(Fault::Broken("email codes are not configured".into())),
            },
            CodeChannel::Sms => match &self.engine.sms {
                Some(sender) => sender.send(address, &issued.code, minutes).await,
                None => return Err(Fault::Broken("SMS codes are not configured".into())),
            },
        };
        if let Err(e) = sent {
            tracing::warn!(target: "ferry::journey", user = %pending.user, channel = channel.name(), error = %e, "code delivery failed");
            self.session.local_code = None;
            return Ok(outcome("unavailable"));
        }
        let now = self.engine.clock.now_ms();
        pending.salt = issued.salt;
        pending.digest = issued.digest;
        pending.expires_at = now.saturating_add((limits.ttl_seconds as i64).saturating_mul(1000));
        pending.sends += 1;
        pending.error = None;
        tracing::info!(target: "ferry::journey", user = %pending.user, channel = channel.name(), sends = pending.sends, "code sent");
        self.session.local_code = Some(pending);
        Ok(Exec::Wait)
    }

    /// Takes the user's answer: a code, or a request for a new one.
    pub(super) async fn local_otp_resume(
        &mut self,
        channel: CodeChannel,
        input: &Json,
    ) -> Result<Exec, Resumed> {
        let accepted = input::accept(&fields(), input).map_err(Resumed::Invalid)?;
        let pending = self
            .session
            .local_code
            .clone()
            .filter(|p| self.session.user.as_ref().is_some_and(|u| u.id == p.user))
            .ok_or_else(|| Resumed::Fault(Fault::Broken("no local code was sent".into())))?;
        let action = accepted.public.get("action").and_then(Json::as_str);
        match (action, accepted.secrets.get("code")) {
            (Some("resend"), None) => self.resend(channel, pending).await,
            (None, Some(code)) => Ok(self.check_code(channel, pending, code)),
            (Some(other), None) => Err(Resumed::Invalid(InputError::NotOffered(other.into()))),
            _ => Err(Resumed::Invalid(InputError::Missing("code".into()))),
        }
    }

    async fn resend(
        &mut self,
        channel: CodeChannel,
        pending: PendingCode,
    ) -> Result<Exec, Resumed> {
        if pending.sends >= self.engine.authenticators.codes.max_sends {
            return Err(Resumed::Invalid(InputError::ResendLimit));
        }
        let attribute = self.address_attribute().map_err(Resumed::Fault)?;
        let address = self
            .session
            .user
            .as_ref()
            .and_then(|u| u.attributes.get(&attribute))
            .and_then(Json::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Resumed::Fault(Fault::Broken("the address went away".into())))?;
        self.deliver(channel, &address, pending)
            .await
            .map_err(Resumed::Fault)
    }

    /// The attribute the waiting `local_otp` step sends to.
    fn address_attribute(&self) -> Result<String, Fault> {
        match self.journey.step(self.session.step).map(|s| &s.kind) {
            Some(crate::compile::ir::StepKind::LocalOtp { attribute, .. }) => Ok(attribute.clone()),
            _ => Err(Fault::Broken("not waiting at a local_otp step".into())),
        }
    }

    fn check_code(
        &mut self,
        channel: CodeChannel,
        mut pending: PendingCode,
        code: &Secret,
    ) -> Exec {
        let now = self.engine.clock.now_ms();
        if now >= pending.expires_at {
            self.session.local_code = None;
            return outcome("expired");
        }
        if codes::matches(&pending.salt, &pending.digest, code) {
            self.session.local_code = None;
            self.session.proofs.push(Proof::LocalCode {
                user: pending.user,
                method: method(channel).into(),
            });
            return outcome("success");
        }
        pending.attempts += 1;
        let max = self.engine.authenticators.codes.max_attempts;
        if pending.attempts >= max {
            self.session.local_code = None;
            return outcome("too_many_attempts");
        }
        let left = max - pending.attempts;
        pending.error = Some(format!("The code is wrong; {left} attempts left."));
        self.session.local_code = Some(pending);
        Exec::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn addresses_are_masked() {
        assert_eq!(mask("alice@example.com"), "a***@example.com");
        assert_eq!(mask("+15550100"), "*****0100");
        assert_eq!(mask("12"), "12");
    }
}
