//! The registry of diagnostic codes. A code, once published, keeps its meaning forever.

use super::Severity;

macro_rules! codes {
    ($( $variant:ident = $id:literal, $name:literal, $severity:ident; )*) => {
        /// Every diagnostic code Ferry can report.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(
                #[doc = $name]
                $variant,
            )*
        }

        impl Code {
            /// All codes, in registry order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable identifier, such as `J201`.
            pub fn id(self) -> &'static str {
                match self { $(Code::$variant => $id,)* }
            }

            /// The rule's short kebab-case name.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity used unless configuration says otherwise.
            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }
        }
    };
}

codes! {
    YamlSyntax = "J001", "yaml-syntax", Error;
    Schema = "J002", "schema-violation", Error;
    StepKind = "J003", "step-kind", Error;
    DslSyntax = "J004", "dsl-syntax", Error;
    Unterminated = "J005", "unterminated-string", Error;
    DuplicateKey = "J006", "duplicate-key", Error;
    UnknownStep = "J101", "unknown-step", Error;
    UnknownIdp = "J102", "unknown-idp", Error;
    UnknownOutcome = "J103", "unknown-outcome", Error;
    UnhandledOutcome = "J104", "unhandled-outcome", Error;
    UnreachableStep = "J105", "unreachable-step", Warning;
    DuplicateName = "J106", "duplicate-name", Error;
    WaitFreeCycle = "J107", "wait-free-cycle", Error;
    NeverMigrates = "J108", "never-migrates", Warning;
    BadAcknowledgement = "J109", "bad-acknowledgement", Error;
    UnusedAcknowledgement = "J110", "unused-acknowledgement", Warning;
    ExpressionSyntax = "J201", "expression-syntax", Error;
    UnknownVariable = "J202", "unknown-variable", Error;
    VariableNotAvailable = "J203", "variable-not-available", Warning;
    UnsupportedMethod = "J301", "unsupported-method", Error;
    UnverifiedEmailKey = "J310", "unverified-email-key", Warning;
    RegisterUnproven = "J320", "register-unproven", Error;
    RegisterPolicy = "J321", "register-policy", Error;
    SaveUnverified = "J501", "save-unverified", Error;
    SecretInJourney = "J502", "secret-in-journey", Error;
    PasswordOverHttp = "J503", "password-over-http", Error;
    PasswordGrant = "J504", "password-grant", Warning;
    IdentifierNotNormalized = "J505", "identifier-not-normalized", Warning;
    UnboundedCodeRetry = "J506", "unbounded-code-retry", Warning;
    ConditionSkipsSecurity = "J507", "condition-skips-security", Warning;
    CompleteUnverified = "J508", "complete-unverified", Error;
}

impl Code {
    /// Looks a code up by its identifier or its name.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.id().eq_ignore_ascii_case(text) || c.name() == text)
    }
}
