//! The journey AST: what a journey file says, with the span of every part. Both spellings
//! (YAML and the DSL) produce it; `compile` turns it into the IR.

pub use super::register::{Authenticator, Deferral, REGISTER_OUTCOMES, Register, RegisterPolicy};
use super::source::{Span, Spanned};

/// A whole journey as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Journey {
    /// The journey's id.
    pub id: Spanned<String>,
    /// What it is for.
    pub description: Option<Spanned<String>>,
    /// How identifiers are normalised; `None` means the defaults.
    pub identifiers: Option<Spanned<Normalization>>,
    /// The legacy providers it names.
    pub idps: Vec<IdpDecl>,
    /// The first step.
    pub start: Spanned<String>,
    /// The steps, in the order written.
    pub steps: Vec<Step>,
    /// Lint findings the author accepts for this journey, each with the reason.
    pub acknowledgements: Vec<Acknowledgement>,
}

/// A lint rule whose findings the journey's author accepts, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Acknowledgement {
    /// The rule's code (`J504`) or name (`password-grant`), as written.
    pub rule: Spanned<String>,
    /// Why the findings are accepted; shown with them in every output.
    pub reason: Spanned<String>,
}

/// A legacy provider used by a journey.
#[derive(Clone, Debug, PartialEq)]
pub struct IdpDecl {
    /// The name steps use.
    pub name: Spanned<String>,
    /// The provider's product name, such as `okta`.
    pub provider: Spanned<String>,
}

/// How identifiers are normalised before lookup and storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Normalization {
    /// Remove surrounding white space.
    pub trim: bool,
    /// Unicode normalisation form C.
    pub nfc: bool,
    /// Lower-case.
    pub lowercase: bool,
}

impl Default for Normalization {
    fn default() -> Self {
        Self {
            trim: true,
            nfc: true,
            lowercase: true,
        }
    }
}

/// One step.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The step's id.
    pub id: Spanned<String>,
    /// A note for readers.
    pub description: Option<Spanned<String>>,
    /// What the step does, with the span of its kind keyword.
    pub kind: Spanned<StepKind>,
    /// Where each outcome leads, in the order written.
    pub on: Vec<Edge>,
    /// The whole step.
    pub span: Span,
}

/// One outcome's transition.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    /// The outcome's name, or `else`.
    pub outcome: Spanned<String>,
    /// The next step's id.
    pub target: Spanned<String>,
}

/// The outcome name that covers every outcome not named.
pub const ELSE: &str = "else";

/// A MiniJinja expression as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// The expression text.
    pub source: String,
    /// Where the text is, as exactly as the reader allows.
    pub span: Span,
}

/// The kinds of step and their settings.
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// Ask the user for fields.
    Prompt(Prompt),
    /// Look up the local user.
    FindUser {
        /// The identifier to look up.
        identifier: Expr,
    },
    /// Check a password against the local hash.
    CheckPassword {
        /// The password.
        password: Expr,
    },
    /// Check a password with a legacy provider.
    LegacyPassword {
        /// The provider's name in this journey.
        idp: Spanned<String>,
        /// The username sent.
        username: Expr,
        /// The password sent.
        password: Expr,
    },
    /// Have the legacy provider send an email or SMS code, then wait for it and check it.
    LegacyOtp {
        /// The provider's name in this journey.
        idp: Spanned<String>,
        /// Where the code goes.
        channel: Spanned<CodeChannel>,
        /// Who the code is for; after a password step that answered `mfa_required`, the
        /// provider's own continuation says so and this may be left out.
        username: Option<Expr>,
        /// A heading for the code form.
        title: Option<Spanned<String>>,
    },
    /// Check an authenticator-app code with the legacy provider.
    LegacyTotp {
        /// The provider's name in this journey.
        idp: Spanned<String>,
        /// The username.
        username: Expr,
        /// The code.
        code: Expr,
        /// The password, for providers that check both in one request (Keycloak).
        password: Option<Expr>,
    },
    /// Send the user to the legacy provider (OIDC code flow); the session waits for the
    /// callback.
    LegacyRedirect {
        /// The provider's name in this journey.
        idp: Spanned<String>,
    },
    /// Check an authenticator-app code against the user's local TOTP secret.
    CheckTotp {
        /// The code.
        code: Expr,
    },
    /// Check one of the user's passkeys: a WebAuthn authentication ceremony; the session
    /// waits for the browser's answer.
    CheckPasskey {
        /// A heading.
        title: Option<Spanned<String>>,
    },
    /// Offer the signed-in user new authenticators, under a policy; the session waits.
    RegisterAuthenticator(Register),
    /// Send a one-time code to the local user's address (email or SMS), wait, check it.
    LocalOtp {
        /// Where the code goes.
        channel: Spanned<CodeChannel>,
        /// The user attribute holding the address; default `email` or `phone_number`.
        attribute: Option<Spanned<String>>,
        /// A heading for the code form.
        title: Option<Spanned<String>>,
    },
    /// Create or update the local user.
    SaveUser(SaveUser),
    /// Choose an outcome by conditions.
    Branch {
        /// Cases in order: outcome name and condition.
        cases: Vec<(Spanned<String>, Expr)>,
    },
    /// End with success.
    Complete,
    /// End with a failure.
    Fail {
        /// The failure code.
        reason: Spanned<FailReason>,
        /// What the user is told.
        message: Option<Spanned<String>>,
    },
}

impl StepKind {
    /// The keyword that introduces the kind in both spellings.
    pub fn keyword(&self) -> &'static str {
        match self {
            StepKind::Prompt(_) => "prompt",
            StepKind::FindUser { .. } => "find_user",
            StepKind::CheckPassword { .. } => "check_password",
            StepKind::LegacyPassword { .. } => "legacy_password",
            StepKind::LegacyOtp { .. } => "legacy_otp",
            StepKind::LegacyTotp { .. } => "legacy_totp",
            StepKind::LegacyRedirect { .. } => "legacy_redirect",
            StepKind::CheckTotp { .. } => "check_totp",
            StepKind::CheckPasskey { .. } => "check_passkey",
            StepKind::RegisterAuthenticator(_) => "register_authenticator",
            StepKind::LocalOtp { .. } => "local_otp",
            StepKind::SaveUser(_) => "save_user",
            StepKind::Branch { .. } => "branch",
            StepKind::Complete => "complete",
            StepKind::Fail { .. } => "fail",
        }
    }

    /// The step's closed set of outcomes. A branch's outcomes are its cases plus `else`.
    pub fn outcomes(&self) -> Vec<&str> {
        match self {
            StepKind::Prompt(_) => vec!["submitted"],
            StepKind::FindUser { .. } => vec!["found", "not_found"],
            StepKind::CheckPassword { .. }
            | StepKind::CheckTotp { .. }
            | StepKind::CheckPasskey { .. } => CHECK_OUTCOMES.to_vec(),
            StepKind::RegisterAuthenticator(_) => REGISTER_OUTCOMES.to_vec(),
            StepKind::LocalOtp { .. } => LOCAL_OTP_OUTCOMES.to_vec(),
            StepKind::LegacyPassword { .. } => LEGACY_PASSWORD_OUTCOMES.to_vec(),
            StepKind::LegacyOtp { .. } | StepKind::LegacyTotp { .. } => {
                LEGACY_CODE_OUTCOMES.to_vec()
            }
            StepKind::LegacyRedirect { .. } => LEGACY_REDIRECT_OUTCOMES.to_vec(),
            StepKind::SaveUser(_) => vec!["created", "updated", "conflict"],
            StepKind::Branch { cases } => cases
                .iter()
                .map(|(name, _)| name.value.as_str())
                .chain([ELSE])
                .collect(),
            StepKind::Complete | StepKind::Fail { .. } => Vec::new(),
        }
    }

    /// Whether the session waits for the user at this step.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            StepKind::Prompt(_)
                | StepKind::LegacyOtp { .. }
                | StepKind::RegisterAuthenticator(_)
                | StepKind::LocalOtp { .. }
                | StepKind::CheckPasskey { .. }
                | StepKind::LegacyRedirect { .. }
        )
    }

    /// The legacy IDP the step talks to, if any.
    pub fn idp(&self) -> Option<&Spanned<String>> {
        match self {
            StepKind::LegacyPassword { idp, .. }
            | StepKind::LegacyOtp { idp, .. }
            | StepKind::LegacyTotp { idp, .. }
            | StepKind::LegacyRedirect { idp } => Some(idp),
            _ => None,
        }
    }

    /// Whether the step checks a credential (locally or with a legacy provider): the steps a
    /// journey must not skip. New credential-checking kinds belong here.
    pub fn is_security_step(&self) -> bool {
        matches!(
            self,
            StepKind::CheckPassword { .. }
                | StepKind::CheckTotp { .. }
                | StepKind::CheckPasskey { .. }
                | StepKind::LocalOtp { .. }
                | StepKind::LegacyPassword { .. }
                | StepKind::LegacyOtp { .. }
                | StepKind::LegacyTotp { .. }
                | StepKind::LegacyRedirect { .. }
        )
    }

    /// Whether the step checks a credential with a legacy provider.
    pub fn is_legacy_check(&self) -> bool {
        self.is_security_step() && self.idp().is_some()
    }

    /// Whether taking `outcome` means this step proved the user's credential.
    pub fn proves(&self, outcome: &str) -> bool {
        self.is_security_step() && outcome == "success"
    }

    /// Whether the step checks a one-time or authenticator code, which can be guessed.
    pub fn checks_code(&self) -> bool {
        matches!(
            self,
            StepKind::LegacyOtp { .. } | StepKind::LegacyTotp { .. }
        )
    }

    /// Whether the step records the user as migrated.
    pub fn marks_migrated(&self) -> bool {
        matches!(self, StepKind::SaveUser(_))
    }

    /// The password the step sends to a legacy provider, if it sends one.
    pub fn sent_password(&self) -> Option<&Expr> {
        match self {
            StepKind::LegacyPassword { password, .. } => Some(password),
            StepKind::LegacyTotp { password, .. } => password.as_ref(),
            _ => None,
        }
    }

    /// The settings whose values are credentials (passwords, codes): they must come from
    /// what the user typed, never be written in the journey.
    pub fn secret_expressions(&self) -> Vec<&Expr> {
        match self {
            StepKind::CheckPassword { password } => vec![password],
            StepKind::LegacyPassword { password, .. } => vec![password],
            StepKind::LegacyTotp { code, password, .. } => {
                std::iter::once(code).chain(password).collect()
            }
            StepKind::SaveUser(save) => save.password.iter().collect(),
            _ => Vec::new(),
        }
    }

    /// What taking `outcome` adds to the expression context.
    pub fn provides(&self, outcome: &str) -> Vec<Provided<'_>> {
        match (self, outcome) {
            (StepKind::Prompt(p), "submitted") => p
                .fields
                .iter()
                .map(|f| Provided::Input {
                    name: &f.name.value,
                    secret: f.kind.value.is_secret(),
                })
                .collect(),
            (StepKind::FindUser { .. }, "found") => vec![Provided::Root("user")],
            (StepKind::SaveUser(_), "created" | "updated") => vec![Provided::Root("user")],
            (StepKind::LegacyPassword { .. }, "mfa_required") => vec![Provided::Root("mfa")],
            (kind, "success") if kind.is_legacy_check() => {
                vec![Provided::Root("claims"), Provided::Root("legacy")]
            }
            _ => Vec::new(),
        }
    }

    /// Whether the journey ends at this step.
    pub fn is_terminal(&self) -> bool {
        matches!(self, StepKind::Complete | StepKind::Fail { .. })
    }

    /// Every expression in the step's settings, in the order written.
    pub fn expressions(&self) -> Vec<&Expr> {
        match self {
            StepKind::Prompt(_)
            | StepKind::RegisterAuthenticator(_)
            | StepKind::LocalOtp { .. }
            | StepKind::CheckPasskey { .. }
            | StepKind::Complete
            | StepKind::Fail { .. }
            | StepKind::LegacyRedirect { .. } => Vec::new(),
            StepKind::CheckTotp { code } => vec![code],
            StepKind::FindUser { identifier } => vec![identifier],
            StepKind::CheckPassword { password } => vec![password],
            StepKind::LegacyPassword {
                username, password, ..
            } => vec![username, password],
            StepKind::LegacyOtp { username, .. } => username.iter().collect(),
            StepKind::LegacyTotp {
                username,
                code,
                password,
                ..
            } => [Some(username), Some(code), password.as_ref()]
                .into_iter()
                .flatten()
                .collect(),
            StepKind::SaveUser(save) => std::iter::once(&save.identifier)
                .chain(save.attributes.iter().map(|(_, e)| e))
                .chain(save.password.iter())
                .collect(),
            StepKind::Branch { cases } => cases.iter().map(|(_, e)| e).collect(),
        }
    }
}

/// Something a step's outcome puts into the expression context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provided<'a> {
    /// `input.<name>`; a secret field lasts only until the session next waits for the user.
    Input {
        /// The field.
        name: &'a str,
        /// Whether it is a password or code.
        secret: bool,
    },
    /// A top-level variable whose fields become readable: `claims`, `legacy`, `user`, `mfa`.
    Root(&'static str),
}

/// Outcomes of a local credential check.
pub const CHECK_OUTCOMES: &[&str] = &["success", "failure", "not_enrolled", "locked"];

/// Outcomes of a local one-time code: a wrong code with attempts left keeps the step waiting.
/// `locked` is the account's (or client's) brute-force lock, which wrong codes feed like
/// wrong passwords; `rate_limited` is the limit on codes sent to one account or client.
pub const LOCAL_OTP_OUTCOMES: &[&str] = &[
    "success",
    "expired",
    "too_many_attempts",
    "locked",
    "rate_limited",
    "not_enrolled",
    "unavailable",
];

/// Outcomes of a legacy password check.
pub const LEGACY_PASSWORD_OUTCOMES: &[&str] = &[
    "success",
    "invalid_credentials",
    "mfa_required",
    "locked",
    "password_expired",
    "not_confirmed",
    "rate_limited",
    "unavailable",
];

/// Outcomes of a legacy code check (email or SMS code, authenticator code). A refusal the
/// provider gives outside this set (a second MFA challenge after a code) is `unavailable`.
pub const LEGACY_CODE_OUTCOMES: &[&str] = &[
    "success",
    "invalid_code",
    "expired",
    "too_many_attempts",
    "not_enrolled",
    "invalid_credentials",
    "locked",
    "password_expired",
    "not_confirmed",
    "rate_limited",
    "unavailable",
];

/// Outcomes of a legacy redirect: the provider vouched for the user; the user or the
/// provider's policy refused; a check failed or the answer was unusable; the provider could
/// not be reached.
pub const LEGACY_REDIRECT_OUTCOMES: &[&str] = &["success", "denied", "error", "unavailable"];

/// Where a legacy code is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeChannel {
    /// By email.
    Email,
    /// By SMS.
    Sms,
}

impl CodeChannel {
    /// All channels with their names.
    pub const ALL: &'static [(CodeChannel, &'static str)] =
        &[(CodeChannel::Email, "email"), (CodeChannel::Sms, "sms")];

    /// The channel's name.
    pub fn name(self) -> &'static str {
        named(Self::ALL, self)
    }

    /// Parses a channel name.
    pub fn parse(text: &str) -> Option<Self> {
        parse_named(Self::ALL, text)
    }
}

/// The step kinds' keywords, as both spellings accept them.
pub const STEP_KEYWORDS: &[&str] = &[
    "prompt",
    "find_user",
    "check_password",
    "legacy_password",
    "legacy_otp",
    "legacy_totp",
    "legacy_redirect",
    "check_totp",
    "check_passkey",
    "register_authenticator",
    "local_otp",
    "save_user",
    "branch",
    "complete",
    "fail",
];

/// A prompt's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    /// A heading for the form.
    pub title: Option<Spanned<String>>,
    /// The fields, in order.
    pub fields: Vec<Field>,
}

/// One prompt field.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The field's name, which becomes `input.<name>`.
    pub name: Spanned<String>,
    /// What it holds.
    pub kind: Spanned<FieldKind>,
    /// The text shown next to it.
    pub label: Option<Spanned<String>>,
    /// Whether it may be left out.
    pub optional: bool,
}

/// What a prompt field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text.
    Text,
    /// An email address.
    Email,
    /// A password: secret, never stored in the session.
    Password,
    /// A one-time code: secret, never stored in the session.
    Otp,
}

impl FieldKind {
    /// All kinds with their names.
    pub const ALL: &'static [(FieldKind, &'static str)] = &[
        (FieldKind::Text, "text"),
        (FieldKind::Email, "email"),
        (FieldKind::Password, "password"),
        (FieldKind::Otp, "otp"),
    ];

    /// The kind's name.
    pub fn name(self) -> &'static str {
        named(Self::ALL, self)
    }

    /// Parses a kind name.
    pub fn parse(text: &str) -> Option<Self> {
        parse_named(Self::ALL, text)
    }

    /// Whether values of this kind must not be kept in the session.
    pub fn is_secret(self) -> bool {
        matches!(self, FieldKind::Password | FieldKind::Otp)
    }
}

/// A save-user step's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SaveUser {
    /// The identifier to store.
    pub identifier: Expr,
    /// Attribute mapping, in order.
    pub attributes: Vec<(Spanned<String>, Expr)>,
    /// A password to keep as a local hash.
    pub password: Option<Expr>,
    /// The conflict policy, if written.
    pub on_conflict: Option<Spanned<ConflictPolicy>>,
}

/// What save-user does when the identifier already has a user.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// Update the attributes.
    #[default]
    Update,
    /// Leave the attributes as they are.
    Keep,
    /// Take the `conflict` outcome.
    Fail,
}

impl ConflictPolicy {
    /// All policies with their names.
    pub const ALL: &'static [(ConflictPolicy, &'static str)] = &[
        (ConflictPolicy::Update, "update"),
        (ConflictPolicy::Keep, "keep"),
        (ConflictPolicy::Fail, "fail"),
    ];

    /// The policy's name.
    pub fn name(self) -> &'static str {
        named(Self::ALL, self)
    }

    /// Parses a policy name.
    pub fn parse(text: &str) -> Option<Self> {
        parse_named(Self::ALL, text)
    }
}

/// Why a journey failed, as the client sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// Wrong identifier or password; also unknown and disabled users.
    InvalidCredentials,
    /// The account is locked.
    Locked,
    /// A provider the journey needs cannot be reached.
    Unavailable,
    /// Too many requests.
    RateLimited,
    /// Refused by policy.
    Denied,
    /// The account conflicts with an existing one.
    Conflict,
    /// The password must be changed first.
    PasswordExpired,
    /// The account was never confirmed.
    NotConfirmed,
    /// A second factor is needed that this journey does not offer.
    MfaRequired,
    /// A one-time or authenticator code was wrong or expired.
    InvalidCode,
    /// The user has no factor the journey can use.
    NotEnrolled,
}

impl FailReason {
    /// All reasons with their names.
    pub const ALL: &'static [(FailReason, &'static str)] = &[
        (FailReason::InvalidCredentials, "invalid_credentials"),
        (FailReason::Locked, "locked"),
        (FailReason::Unavailable, "unavailable"),
        (FailReason::RateLimited, "rate_limited"),
        (FailReason::Denied, "denied"),
        (FailReason::Conflict, "conflict"),
        (FailReason::PasswordExpired, "password_expired"),
        (FailReason::NotConfirmed, "not_confirmed"),
        (FailReason::MfaRequired, "mfa_required"),
        (FailReason::InvalidCode, "invalid_code"),
        (FailReason::NotEnrolled, "not_enrolled"),
    ];

    /// The reason's name.
    pub fn name(self) -> &'static str {
        named(Self::ALL, self)
    }

    /// Parses a reason name.
    pub fn parse(text: &str) -> Option<Self> {
        parse_named(Self::ALL, text)
    }
}

fn named<T: PartialEq + Copy>(table: &[(T, &'static str)], value: T) -> &'static str {
    table
        .iter()
        .find(|(v, _)| *v == value)
        .map_or("", |(_, n)| n)
}

fn parse_named<T: Copy>(table: &[(T, &'static str)], text: &str) -> Option<T> {
    table.iter().find(|(_, n)| *n == text).map(|(v, _)| *v)
}
