//! The `local_otp` step: Ferry sends a one-time code to the local user's address (one the
//! user proved at a registration prompt, else the user attribute; never one from the input),
//! waits, and checks it. Only a salted digest of the code is kept in the session; codes
//! expire, are single-use, and wrong codes are counted across resends, which do not reset
//! the count. Wrong codes also feed the account's and client's brute-force throttle, and
//! codes sent are limited per account and per client across sessions.

use serde::Serialize;
use serde_json::Value as Json;

use super::input::{self, InputError};
use super::session::{PendingCode, Proof, SessionUser};
use super::steps::{Exec, Fault, Resumed, Run, outcome, store_down};
use super::throttle;
use crate::authn::codes;
use crate::compile::ir::{CodeChannel, Field, FieldKind};
use crate::secret::Secret;
use crate::store::CredentialKind;

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
pub(super) fn mask(address: &str) -> String {
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

/// A typed address, trimmed, if it can be one for the channel: an email address as SMTP
/// takes it, or a phone number in E.164 form (`+`, then 8 to 15 digits, no leading zero).
pub(super) fn checked_address(channel: CodeChannel, text: &str) -> Result<String, InputError> {
    let text = text.trim();
    match channel {
        // As the mail is addressed: one plain mailbox, no display name, no quoting.
        CodeChannel::Email => match text.parse::<lettre::message::Mailbox>() {
            Ok(mailbox) if mailbox.name.is_none() && mailbox.email.to_string() == text => {
                Ok(text.to_owned())
            }
            _ => Err(InputError::Address("`address` is not an email address")),
        },
        CodeChannel::Sms => {
            let digits = text.strip_prefix('+').unwrap_or("");
            let e164 = (8..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0');
            if e164 {
                Ok(text.to_owned())
            } else {
                Err(InputError::Address(
                    "`address` must be a phone number in E.164 form, such as +447700900123",
                ))
            }
        }
    }
}

/// What sending a code did.
pub(super) enum Sending {
    /// The code went out; the pending record now describes it.
    Sent(PendingCode),
    /// The account's or the client's send limit is spent; nothing was sent.
    Limited,
    /// The mail server or SMS gateway refused or could not be reached.
    Failed,
    /// The store failed; the run ends as this.
    Down(Exec),
}

/// What a typed code is, against the pending one.
pub(super) enum Verdict {
    /// The code is right and in time.
    Right,
    /// The code has expired.
    Expired,
    /// The code is wrong.
    Wrong,
}

/// Judges a typed code at `now`.
pub(super) fn judge(pending: &PendingCode, code: &Secret, now: i64) -> Verdict {
    if now >= pending.expires_at {
        Verdict::Expired
    } else if codes::matches(&pending.salt, &pending.digest, code) {
        Verdict::Right
    } else {
        Verdict::Wrong
    }
}

/// A fresh pending record for a code to `address`, before its first send.
pub(super) fn pending_for(user: uuid::Uuid, address: &str) -> PendingCode {
    PendingCode {
        user,
        salt: String::new(),
        digest: String::new(),
        expires_at: 0,
        attempts: 0,
        sends: 0,
        sent_to: mask(address),
        address: Some(address.to_owned()),
        error: None,
    }
}

/// The address in a stored email or SMS credential (`{"address": ...}`).
pub(super) fn stored_address(secret: &str) -> Option<String> {
    let value: Json = serde_json::from_str(secret).ok()?;
    value
        .get("address")
        .and_then(Json::as_str)
        .map(str::to_owned)
}

impl Run<'_> {
    /// The login and code throttling keys of an identifier and this request's client.
    pub(super) fn code_keys(&self, identifier: &str) -> [throttle::Keys; 2] {
        let ip = self.transient.client.ip;
        [
            throttle::Keys::new(identifier, ip),
            throttle::Keys::codes(identifier, ip),
        ]
    }

    /// The `locked` outcome if the login or the code keys are locked now; never waits.
    pub(super) async fn locked_for_codes(&mut self, keys: &[throttle::Keys; 2]) -> Option<Exec> {
        for key in keys {
            if let Some(locked) = self.locked_now(key).await {
                return Some(locked);
            }
        }
        None
    }

    /// Counts a code attempt: refused while the login keys are locked, else counted (and
    /// delayed) under the code keys, which only a right code clears.
    pub(super) async fn count_code_attempt(
        &mut self,
        [login, codes]: &[throttle::Keys; 2],
    ) -> Result<Option<Exec>, Fault> {
        match self.locked_now(login).await {
            Some(locked) => Ok(Some(locked)),
            None => self.count_attempt(codes).await,
        }
    }

    /// Enters the step: sends a first code to the user's address and waits. The address is
    /// the one the user proved at a registration prompt, else the user attribute.
    pub(super) async fn local_otp_send(
        &mut self,
        channel: CodeChannel,
        attribute: &str,
    ) -> Result<Exec, Fault> {
        self.session.local_code = None;
        let Some(user) = self.session.user.clone() else {
            return Ok(outcome("not_enrolled"));
        };
        let address = match self.code_address(&user, channel, attribute).await {
            Ok(Some(address)) => address,
            Ok(None) => return Ok(outcome("not_enrolled")),
            Err(down) => return Ok(down),
        };
        let keys = self.code_keys(&user.identifier);
        if let Some(locked) = self.locked_for_codes(&keys).await {
            return Ok(locked);
        }
        let pending = pending_for(user.id, &address);
        Ok(match self.send_code(channel, pending, &keys[0]).await? {
            Sending::Sent(pending) => {
                self.session.local_code = Some(pending);
                Exec::Wait
            }
            Sending::Limited => outcome("rate_limited"),
            Sending::Failed => outcome("unavailable"),
            Sending::Down(down) => down,
        })
    }

    /// Where the user's codes go: a registered address first, then the attribute.
    async fn code_address(
        &self,
        user: &SessionUser,
        channel: CodeChannel,
        attribute: &str,
    ) -> Result<Option<String>, Exec> {
        let kind = match channel {
            CodeChannel::Email => CredentialKind::Email,
            CodeChannel::Sms => CredentialKind::Sms,
        };
        let registered = self
            .engine
            .users
            .credential(user.id, kind)
            .await
            .map_err(|e| store_down(&e))?;
        if let Some(address) = registered.and_then(|c| stored_address(&c.secret)) {
            return Ok(Some(address));
        }
        let Some(address) = user.attributes.get(attribute).and_then(Json::as_str) else {
            return Ok(None);
        };
        match checked_address(channel, address) {
            Ok(address) => Ok(Some(address)),
            Err(_) => {
                tracing::warn!(target: "ferry::journey", user = %user.id, attribute, "the user's address cannot be used");
                Ok(None)
            }
        }
    }

    /// The `locked` outcome if the account or client is locked now; never waits.
    pub(super) async fn locked_now(&mut self, keys: &throttle::Keys) -> Option<Exec> {
        let now = self.engine.clock.now_ms();
        match throttle::gate(self.engine.users.as_ref(), &self.engine.throttle, keys, now).await {
            Ok(throttle::Gate::Open(_)) => None,
            Ok(throttle::Gate::Locked(until)) => {
                self.transient.locked_until = Some(until);
                Some(outcome("locked"))
            }
            Err(e) => Some(store_down(&e)),
        }
    }

    /// Sends a new code to the pending record's address under its counts and the send
    /// limits of `keys`.
    pub(super) async fn send_code(
        &self,
        channel: CodeChannel,
        mut pending: PendingCode,
        keys: &throttle::Keys,
    ) -> Result<Sending, Fault> {
        let Some(address) = pending.address.clone() else {
            return Err(Fault::Broken("a pending code without its address".into()));
        };
        let limits = &self.engine.authenticators.codes;
        let users = self.engine.users.as_ref();
        let now = self.engine.clock.now_ms();
        match throttle::take_send(users, &limits.send_limits, keys, now).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(target: "ferry::journey", user = %pending.user, channel = channel.name(), "code not sent: send limit reached");
                return Ok(Sending::Limited);
            }
            Err(e) => return Ok(Sending::Down(store_down(&e))),
        }
        let issued = codes::issue(limits.digits);
        let minutes = limits.ttl_seconds.div_ceil(60);
        let sent = match channel {
            CodeChannel::Email => match &self.engine.email {
                Some(sender) => sender.send(&address, &issued.code, minutes).await,
                None => return Err(Fault::Broken("email codes are not configured".into())),
            },
            CodeChannel::Sms => match &self.engine.sms {
                Some(sender) => sender.send(&address, &issued.code, minutes).await,
                None => return Err(Fault::Broken("SMS codes are not configured".into())),
            },
        };
        if let Err(e) = sent {
            tracing::warn!(target: "ferry::journey", user = %pending.user, channel = channel.name(), error = %e, "code delivery failed");
            return Ok(Sending::Failed);
        }
        pending.salt = issued.salt;
        pending.digest = issued.digest;
        pending.expires_at = now.saturating_add((limits.ttl_seconds as i64).saturating_mul(1000));
        pending.sends += 1;
        pending.error = None;
        tracing::info!(target: "ferry::journey", user = %pending.user, channel = channel.name(), sends = pending.sends, "code sent");
        Ok(Sending::Sent(pending))
    }

    /// Takes the user's answer: a code, or a request for a new one.
    pub(super) async fn local_otp_resume(
        &mut self,
        channel: CodeChannel,
        input: &Json,
    ) -> Result<Exec, Resumed> {
        let accepted = input::accept(&fields(), input).map_err(Resumed::Invalid)?;
        let user = self.session.user.clone();
        let pending = self
            .session
            .local_code
            .clone()
            .filter(|p| user.as_ref().is_some_and(|u| u.id == p.user));
        let (Some(user), Some(pending)) = (user, pending) else {
            return Err(Resumed::Fault(Fault::Broken(
                "no local code was sent".into(),
            )));
        };
        let keys = self.code_keys(&user.identifier);
        let action = accepted.public.get("action").and_then(Json::as_str);
        match (action, accepted.secrets.get("code")) {
            (Some("resend"), None) => self.resend(channel, pending, &keys).await,
            (None, Some(code)) => self
                .check_code(channel, pending, code, &keys)
                .await
                .map_err(Resumed::Fault),
            (Some(other), None) => Err(Resumed::Invalid(InputError::NotOffered(other.into()))),
            _ => Err(Resumed::Invalid(InputError::Missing("code".into()))),
        }
    }

    async fn resend(
        &mut self,
        channel: CodeChannel,
        pending: PendingCode,
        keys: &[throttle::Keys; 2],
    ) -> Result<Exec, Resumed> {
        if pending.sends >= self.engine.authenticators.codes.max_sends {
            return Err(Resumed::Invalid(InputError::ResendLimit));
        }
        // No code goes to an account locked since the first one was sent.
        if let Some(locked) = self.locked_for_codes(keys).await {
            self.session.local_code = None;
            return Ok(locked);
        }
        match self
            .send_code(channel, pending, &keys[0])
            .await
            .map_err(Resumed::Fault)?
        {
            Sending::Sent(pending) => {
                self.session.local_code = Some(pending);
                Ok(Exec::Wait)
            }
            Sending::Limited => Err(Resumed::Invalid(InputError::SendLimit)),
            Sending::Failed => {
                self.session.local_code = None;
                Ok(outcome("unavailable"))
            }
            Sending::Down(down) => Ok(down),
        }
    }

    /// Checks a code under the brute-force throttle: a locked login key refuses it, wrong
    /// codes are counted (with growing delays and a lock) under the code keys, which only a
    /// right code clears; a lock ends the step as `locked`.
    async fn check_code(
        &mut self,
        channel: CodeChannel,
        mut pending: PendingCode,
        code: &Secret,
        keys: &[throttle::Keys; 2],
    ) -> Result<Exec, Fault> {
        if let Some(stop) = self.count_code_attempt(keys).await? {
            self.session.local_code = None;
            return Ok(stop);
        }
        let store = self.engine.users.as_ref();
        let settings = &self.engine.throttle;
        let now = self.engine.clock.now_ms();
        match judge(&pending, code, now) {
            Verdict::Expired => {
                self.session.local_code = None;
                return Ok(outcome("expired"));
            }
            Verdict::Right => {
                self.session.local_code = None;
                if let Err(e) = throttle::succeeded(store, settings, &keys[1]).await {
                    return Ok(store_down(&e));
                }
                self.session.proofs.push(Proof::LocalCode {
                    user: pending.user,
                    method: method(channel).into(),
                });
                return Ok(outcome("success"));
            }
            Verdict::Wrong => {}
        }
        let locked = match throttle::failed(store, settings, &keys[1], now).await {
            Ok(locked) => locked,
            Err(e) => return Ok(store_down(&e)),
        };
        pending.attempts += 1;
        let max = self.engine.authenticators.codes.max_attempts;
        if locked.is_some() {
            self.transient.locked_until = locked;
            self.session.local_code = None;
            return Ok(outcome("locked"));
        }
        if pending.attempts >= max {
            self.session.local_code = None;
            return Ok(outcome("too_many_attempts"));
        }
        let left = max - pending.attempts;
        pending.error = Some(format!("The code is wrong; {left} attempts left."));
        self.session.local_code = Some(pending);
        Ok(Exec::Wait)
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
