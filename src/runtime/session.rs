//! A session: plain, serialisable data, so any node can continue it. Secret input (passwords,
//! codes) is never part of it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::compile::ir::StepId;

/// A session's id: 192 random bits, base64url. Never logged; see [`SessionId::log_ref`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>()))
    }

    /// An id received from a client, if it has the shape of one.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Self(text.to_owned()))
    }

    /// The id itself, for the client and the store.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A short one-way reference to the session, safe to log.
    pub fn log_ref(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionId({})", self.log_ref())
    }
}

/// How a credential was proven in this session, and for whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Proof {
    /// The local password of a local user.
    LocalPassword {
        /// The user.
        user: Uuid,
    },
    /// A password accepted by a legacy provider.
    LegacyPassword {
        /// The IDP's name.
        idp: String,
        /// The legacy account.
        subject: String,
    },
    /// A code from the local user's authenticator app.
    LocalTotp {
        /// The user.
        user: Uuid,
    },
    /// One of the local user's passkeys, with user verification.
    LocalPasskey {
        /// The user.
        user: Uuid,
    },
    /// A one-time code Ferry sent to the local user's address.
    LocalCode {
        /// The user.
        user: Uuid,
        /// `email_otp` or `sms_otp`.
        method: String,
    },
    /// A one-time or authenticator code accepted by a legacy provider.
    LegacyCode {
        /// The IDP's name.
        idp: String,
        /// The legacy account.
        subject: String,
        /// `email_otp`, `sms_otp` or `totp`.
        method: String,
    },
    /// A sign-in at the legacy provider, vouched for by its ID token (or Meta's Graph).
    LegacyRedirect {
        /// The IDP's name.
        idp: String,
        /// The legacy account.
        subject: String,
    },
}

impl Proof {
    /// The RFC 8176 `amr` value of the proof; a federated sign-in has none of its own.
    pub fn amr(&self) -> Option<&'static str> {
        match self {
            Proof::LocalPassword { .. } | Proof::LegacyPassword { .. } => Some("pwd"),
            Proof::LegacyCode { method, .. } | Proof::LocalCode { method, .. }
                if method == "sms_otp" =>
            {
                Some("sms")
            }
            Proof::LegacyCode { .. } | Proof::LocalCode { .. } | Proof::LocalTotp { .. } => {
                Some("otp")
            }
            Proof::LocalPasskey { .. } => Some("hwk"),
            Proof::LegacyRedirect { .. } => None,
        }
    }

    /// The legacy account a legacy proof is for.
    pub fn legacy_account(&self) -> Option<(&str, &str)> {
        match self {
            Proof::LegacyPassword { idp, subject }
            | Proof::LegacyCode { idp, subject, .. }
            | Proof::LegacyRedirect { idp, subject } => Some((idp, subject)),
            Proof::LocalPassword { .. }
            | Proof::LocalTotp { .. }
            | Proof::LocalCode { .. }
            | Proof::LocalPasskey { .. } => None,
        }
    }
}

/// The local user a session is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionUser {
    /// Ferry's id for the user.
    pub id: Uuid,
    /// The normalised identifier.
    pub identifier: String,
    /// Whether the user has completed migration.
    pub migrated: bool,
    /// The legacy account the user came from, as `idp` and `subject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<(String, String)>,
    /// The user's attributes.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Json>,
    /// The user's roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The user's groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The kinds of local credential the user has (`password`, `totp`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authenticators: Vec<String>,
}

/// The legacy account a legacy check verified in this session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLegacy {
    /// The IDP's name.
    pub idp: String,
    /// The provider kind.
    pub provider: String,
    /// The account's id at the provider.
    pub subject: String,
}

/// A legacy exchange that goes on in a later step or request. The provider's continuation
/// handles are written to the session store with the session and never to a log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingLegacy {
    /// The IDP's name.
    pub idp: String,
    /// Where the exchange stands.
    pub continuation: crate::idp::Continuation,
}

/// A one-time code Ferry sent: only its salted digest is kept, with its limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    /// The user it was sent for.
    pub user: Uuid,
    /// The digest's salt.
    pub salt: String,
    /// SHA-256 of salt and code.
    pub digest: String,
    /// When the current code expires, ms since the epoch.
    pub expires_at: i64,
    /// Wrong codes so far, across resends.
    pub attempts: u32,
    /// Codes sent so far.
    pub sends: u32,
    /// Where it went, masked.
    pub sent_to: String,
    /// Where it went, for a resend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Why the last answer was not accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A registration prompt in progress: its state as shown, and the authenticator being set
/// up. A TOTP seed is kept sealed (encrypted) until the user confirms it with a first code;
/// an address is kept only once the user has typed the code sent to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingRegistration {
    /// The user's state for this prompt, as stored when it was shown.
    pub state: crate::store::PromptState,
    /// The authenticator chosen, once chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<crate::syntax::ast::Authenticator>,
    /// The new TOTP seed, sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
    /// Why the last answer was not accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A passkey registration ceremony in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<PendingPasskey>,
    /// A code sent to the email address or phone number being registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<PendingCode>,
    /// Codes this prompt has sent, to any address.
    #[serde(default)]
    pub codes_sent: u32,
    /// Wrong codes this prompt has been given, for any address.
    #[serde(default)]
    pub wrong_codes: u32,
}

/// A WebAuthn ceremony in progress: the relying party's state (challenge included), kept
/// only in the session store, and the options sent to the browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingPasskey {
    /// The user the ceremony is for.
    pub user: Uuid,
    /// webauthn-rs's ceremony state.
    pub state: Json,
    /// The options for `navigator.credentials.create` or `.get`.
    pub options: Json,
}

/// Everything a session remembers between requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The journey's id.
    pub journey: String,
    /// The journey version the session is pinned to.
    pub version: String,
    /// The step the session waits at.
    pub step: StepId,
    /// Non-secret fields submitted so far.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub input: Map<String, Json>,
    /// Claims from the legacy provider.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Json>,
    /// The normalised identifier last looked up, found or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<String>,
    /// The local user, once found or created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<SessionUser>,
    /// The legacy account, once verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<SessionLegacy>,
    /// Credentials proven so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proofs: Vec<Proof>,
    /// A password step's `mfa_required`, for a code step to continue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<PendingLegacy>,
    /// A code sent by a `legacy_otp` step, waiting to be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<PendingLegacy>,
    /// A `legacy_redirect` step waiting for the provider's callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<crate::idp::redirect::PendingRedirect>,
    /// A code sent by a `local_otp` step, waiting to be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_code: Option<PendingCode>,
    /// A passkey authentication ceremony of a `check_passkey` step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<PendingPasskey>,
    /// A `register_authenticator` prompt being answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<PendingRegistration>,
    /// Requests handled so far.
    pub requests: u32,
    /// When it started, ms since the epoch.
    pub started_at: i64,
    /// When it expires, ms since the epoch.
    pub expires_at: i64,
}

impl Session {
    /// Whether a credential was proven for the session's current user.
    pub fn proven_for_user(&self) -> bool {
        self.proofs.iter().any(|p| self.is_for_user(p))
    }

    /// Whether a proof is for the session's current user.
    fn is_for_user(&self, proof: &Proof) -> bool {
        let Some(user) = &self.user else { return false };
        match (proof, proof.legacy_account()) {
            (
                Proof::LocalPassword { user: id }
                | Proof::LocalTotp { user: id }
                | Proof::LocalCode { user: id, .. }
                | Proof::LocalPasskey { user: id },
                _,
            ) => *id == user.id,
            (_, Some((idp, subject))) => user
                .legacy
                .as_ref()
                .is_some_and(|(i, s)| i == idp && s == subject),
            (_, None) => false,
        }
    }

    /// The `amr` values of the proofs for the current user, without repeats; a factor
    /// proven for someone else earlier in the session does not count.
    pub fn amr(&self) -> Vec<&'static str> {
        let mut amr: Vec<&'static str> = Vec::new();
        for value in self
            .proofs
            .iter()
            .filter(|p| self.is_for_user(p))
            .filter_map(Proof::amr)
        {
            if !amr.contains(&value) {
                amr.push(value);
            }
        }
        amr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_long_random_and_parse_back() {
        let a = SessionId::generate();
        assert_eq!(a.expose().len(), 32);
        assert_ne!(a, SessionId::generate());
        assert_eq!(SessionId::parse(a.expose()), Some(a.clone()));
        assert_eq!(SessionId::parse("short"), None);
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn a_proof_for_another_user_does_not_count() {
        let user = SessionUser {
            id: Uuid::now_v7(),
            identifier: "a".into(),
            migrated: true,
            legacy: None,
            roles: Vec::new(),
            groups: Vec::new(),
            attributes: Map::new(),
            authenticators: Vec::new(),
        };
        let mut session = Session {
            journey: "j".into(),
            version: "v".into(),
            step: StepId(0),
            input: Map::new(),
            claims: Map::new(),
            lookup: None,
            user: Some(user),
            legacy: None,
            proofs: vec![Proof::LocalPassword {
                user: Uuid::now_v7(),
            }],
            mfa: None,
            code: None,
            redirect: None,
            local_code: None,
            passkey: None,
            registration: None,
            requests: 0,
            started_at: 0,
            expires_at: 1,
        };
        assert!(!session.proven_for_user());
        let id = session.user.as_ref().map(|u| u.id).unwrap();
        session.proofs.push(Proof::LocalCode {
            user: id,
            method: "email_otp".into(),
        });
        assert!(session.proven_for_user());
        assert_eq!(
            session.amr(),
            vec!["otp"],
            "the other user's password is not theirs"
        );
        session.proofs.push(Proof::LocalPassword { user: id });
        session.proofs.push(Proof::LocalCode {
            user: id,
            method: "email_otp".into(),
        });
        assert_eq!(session.amr(), vec!["otp", "pwd"]);
    }
}
