//! The IR: a journey as a state machine of typed steps with closed outcome sets and resolved
//! transitions. The runtime runs nothing else.

use crate::expr::ExprSet;
use crate::providers::Provider;
pub use crate::syntax::ast::{
    Authenticator, CodeChannel, ConflictPolicy, Deferral, ELSE, FailReason, FieldKind,
    Normalization, RegisterPolicy,
};

/// A step's position in [`JourneyDef::steps`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct StepId(pub u32);

/// An expression's position in [`JourneyDef::expressions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExprId(pub u32);

/// An IDP's position in [`JourneyDef::idps`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdpId(pub u32);

/// A compiled journey, ready to run.
#[derive(Debug)]
pub struct Journey {
    /// What the journey says.
    pub def: JourneyDef,
    /// Its expressions, compiled.
    pub exprs: ExprSet,
    /// A hash of the source, pinning sessions to this version.
    pub version: String,
}

impl Journey {
    /// A step by id.
    pub fn step(&self, id: StepId) -> Option<&Step> {
        self.def.steps.get(id.0 as usize)
    }

    /// An expression's source text.
    pub fn expr_source(&self, id: ExprId) -> &str {
        self.def
            .expressions
            .get(id.0 as usize)
            .map_or("", String::as_str)
    }

    /// An IDP declaration by id.
    pub fn idp(&self, id: IdpId) -> Option<&Idp> {
        self.def.idps.get(id.0 as usize)
    }
}

/// The plain data of a journey: comparable, printable, convertible between spellings.
#[derive(Clone, Debug, PartialEq)]
pub struct JourneyDef {
    /// The journey's id.
    pub id: String,
    /// What it is for.
    pub description: Option<String>,
    /// How identifiers are normalised.
    pub normalization: Normalization,
    /// The legacy providers it uses.
    pub idps: Vec<Idp>,
    /// The first step.
    pub start: StepId,
    /// All steps, in the order written.
    pub steps: Vec<Step>,
    /// Every expression's text, addressed by [`ExprId`].
    pub expressions: Vec<String>,
}

/// A legacy provider a journey uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idp {
    /// Its name in the journey, and in ferry.yaml.
    pub name: String,
    /// Which product it is.
    pub provider: Provider,
}

/// One step: what it does and where each outcome leads.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The step's id.
    pub name: String,
    /// A note for readers.
    pub description: Option<String>,
    /// What it does.
    pub kind: StepKind,
    /// Outcomes named explicitly, in the order written.
    pub edges: Vec<(String, StepId)>,
    /// Where every other outcome leads.
    pub otherwise: Option<StepId>,
}

impl Step {
    /// The step an outcome leads to.
    pub fn next(&self, outcome: &str) -> Option<StepId> {
        self.edges
            .iter()
            .find(|(o, _)| o == outcome)
            .map(|(_, s)| *s)
            .or(self.otherwise)
    }
}

/// What a step does.
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// Ask the user for fields and wait.
    Prompt {
        /// A heading.
        title: Option<String>,
        /// The fields.
        fields: Vec<Field>,
    },
    /// Look up the local user.
    FindUser {
        /// The identifier.
        identifier: ExprId,
    },
    /// Check a password against the local hash.
    CheckPassword {
        /// The password.
        password: ExprId,
    },
    /// Check a password with a legacy provider.
    LegacyPassword {
        /// Which provider.
        idp: IdpId,
        /// The username.
        username: ExprId,
        /// The password.
        password: ExprId,
    },
    /// Have the legacy provider send an email or SMS code; wait for it; check it.
    LegacyOtp {
        /// Which provider.
        idp: IdpId,
        /// Where the code goes.
        channel: CodeChannel,
        /// Who the code is for; `None` continues a password step's `mfa_required`.
        username: Option<ExprId>,
        /// A heading for the code form.
        title: Option<String>,
    },
    /// Check an authenticator-app code with a legacy provider.
    LegacyTotp {
        /// Which provider.
        idp: IdpId,
        /// The username.
        username: ExprId,
        /// The code.
        code: ExprId,
        /// The password, for providers that check both at once.
        password: Option<ExprId>,
    },
    /// Send the user to the legacy provider and wait for the callback.
    LegacyRedirect {
        /// Which provider.
        idp: IdpId,
    },
    /// Check an authenticator-app code against the user's local TOTP secret.
    CheckTotp {
        /// The code.
        code: ExprId,
    },
    /// Check one of the user's passkeys (a WebAuthn ceremony), waiting for the browser.
    CheckPasskey {
        /// A heading.
        title: Option<String>,
    },
    /// Offer the signed-in user new authenticators under a policy, and wait.
    RegisterAuthenticator {
        /// What is offered.
        offer: Vec<Authenticator>,
        /// Whether and how the prompt may be put off.
        policy: RegisterPolicy,
        /// The name the per-user prompt state is kept under.
        prompt: String,
        /// A heading.
        title: Option<String>,
    },
    /// Send a one-time code to the local user's address, wait, and check it.
    LocalOtp {
        /// Email or SMS.
        channel: CodeChannel,
        /// The user attribute holding the address.
        attribute: String,
        /// A heading for the code form.
        title: Option<String>,
    },
    /// Create or update the local user.
    SaveUser {
        /// The identifier.
        identifier: ExprId,
        /// Attribute mapping.
        attributes: Vec<(String, ExprId)>,
        /// A password to keep as a local hash.
        password: Option<ExprId>,
        /// What to do when the identifier is taken.
        on_conflict: ConflictPolicy,
    },
    /// Choose an outcome by conditions.
    Branch {
        /// Case names and conditions, in order.
        cases: Vec<(String, ExprId)>,
    },
    /// End with success.
    Complete,
    /// End with a failure.
    Fail {
        /// The failure code.
        reason: FailReason,
        /// What the user is told.
        message: Option<String>,
    },
}

impl StepKind {
    /// The kind's keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            StepKind::Prompt { .. } => "prompt",
            StepKind::FindUser { .. } => "find_user",
            StepKind::CheckPassword { .. } => "check_password",
            StepKind::LegacyPassword { .. } => "legacy_password",
            StepKind::LegacyOtp { .. } => "legacy_otp",
            StepKind::LegacyTotp { .. } => "legacy_totp",
            StepKind::LegacyRedirect { .. } => "legacy_redirect",
            StepKind::CheckTotp { .. } => "check_totp",
            StepKind::CheckPasskey { .. } => "check_passkey",
            StepKind::RegisterAuthenticator { .. } => "register_authenticator",
            StepKind::LocalOtp { .. } => "local_otp",
            StepKind::SaveUser { .. } => "save_user",
            StepKind::Branch { .. } => "branch",
            StepKind::Complete => "complete",
            StepKind::Fail { .. } => "fail",
        }
    }

    /// Whether the session waits for the user here.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            StepKind::Prompt { .. }
                | StepKind::LegacyOtp { .. }
                | StepKind::RegisterAuthenticator { .. }
                | StepKind::LocalOtp { .. }
                | StepKind::CheckPasskey { .. }
                | StepKind::LegacyRedirect { .. }
        )
    }
}

/// One prompt field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Its name: `input.<name>`.
    pub name: String,
    /// What it holds.
    pub kind: FieldKind,
    /// The text shown next to it.
    pub label: Option<String>,
    /// Whether it may be left out.
    pub optional: bool,
}
