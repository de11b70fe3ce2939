//! The providers Ferry knows and the capability matrix: which of the five JIT methods each
//! provider really supports, and on what condition. The compiler checks journeys against it;
//! `ferry providers` prints it. Facts from `docs/idp-apis.md`, section 1.

/// A kind of legacy identity provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// A JSON Lines export of a home-grown user table.
    UserFile,
    /// Any OAuth 2.0 server with the password grant.
    OAuth2,
    /// Any OpenID provider.
    Oidc,
    /// Okta.
    Okta,
    /// Auth0.
    Auth0,
    /// AWS Cognito user pools.
    Cognito,
    /// Microsoft Entra ID.
    Entra,
    /// Keycloak.
    Keycloak,
    /// OneLogin.
    OneLogin,
    /// PingOne.
    PingOne,
    /// PingFederate.
    PingFederate,
    /// Google accounts and Workspace.
    Google,
    /// Meta (Facebook Login).
    Meta,
    /// Sign in with Apple.
    Apple,
}

/// A way to validate a user against the legacy provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// Username and password.
    Password,
    /// A code sent by email.
    EmailOtp,
    /// A code sent by SMS.
    SmsOtp,
    /// An authenticator-app code.
    Totp,
    /// OpenID Connect redirect.
    Oidc,
}

/// Whether a provider supports a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Always, given the usual client set-up.
    Yes,
    /// Only under the stated condition.
    Conditional(&'static str),
    /// Not at all.
    No,
}

impl Support {
    /// Whether a journey may use the method (conditional support counts).
    pub fn allowed(self) -> bool {
        !matches!(self, Support::No)
    }
}

impl Method {
    /// All methods, in the matrix's column order.
    pub const ALL: &'static [Method] = &[
        Method::Oidc,
        Method::Password,
        Method::EmailOtp,
        Method::SmsOtp,
        Method::Totp,
    ];

    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::EmailOtp => "email_otp",
            Method::SmsOtp => "sms_otp",
            Method::Totp => "totp",
            Method::Oidc => "oidc",
        }
    }
}

impl Provider {
    /// All providers, in the matrix's row order.
    pub const ALL: &'static [Provider] = &[
        Provider::Okta,
        Provider::Auth0,
        Provider::Cognito,
        Provider::Entra,
        Provider::Keycloak,
        Provider::OneLogin,
        Provider::PingOne,
        Provider::PingFederate,
        Provider::Google,
        Provider::Meta,
        Provider::Apple,
        Provider::Oidc,
        Provider::OAuth2,
        Provider::UserFile,
    ];

    /// The name used in journeys and configuration.
    pub fn name(self) -> &'static str {
        match self {
            Provider::UserFile => "user_file",
            Provider::OAuth2 => "oauth2",
            Provider::Oidc => "oidc",
            Provider::Okta => "okta",
            Provider::Auth0 => "auth0",
            Provider::Cognito => "cognito",
            Provider::Entra => "entra",
            Provider::Keycloak => "keycloak",
            Provider::OneLogin => "onelogin",
            Provider::PingOne => "pingone",
            Provider::PingFederate => "pingfederate",
            Provider::Google => "google",
            Provider::Meta => "meta",
            Provider::Apple => "apple",
        }
    }

    /// Parses a provider name.
    pub fn parse(text: &str) -> Option<Provider> {
        Provider::ALL.iter().copied().find(|p| p.name() == text)
    }

    /// Whether and how this provider supports a method.
    pub fn support(self, method: Method) -> Support {
        use Method::*;
        use Support::{Conditional as C, No, Yes};
        match (self, method) {
            (Provider::UserFile, Password) => Yes,
            (Provider::UserFile, _) => No,
            (Provider::OAuth2, Password) => {
                C("the server allows the password grant for the client")
            }
            (Provider::OAuth2, _) => No,
            (Provider::Oidc, Oidc) => Yes,
            (Provider::Oidc, _) => No,
            (Provider::Okta, Oidc | Password) => Yes,
            (Provider::Okta, EmailOtp) => {
                C("an enrolled email factor: after an Authn password, or alone with an API token")
            }
            (Provider::Okta, SmsOtp) => {
                C("an enrolled SMS factor: after an Authn password, or alone with an API token")
            }
            (Provider::Okta, Totp) => {
                C("an enrolled TOTP factor: after an Authn password, or alone with an API token")
            }
            (Provider::Auth0, Oidc) => Yes,
            (Provider::Auth0, Password) => C("the Password grant is enabled on the application"),
            (Provider::Auth0, EmailOtp) => {
                C("a passwordless email connection, or email MFA after a password")
            }
            (Provider::Auth0, SmsOtp) => {
                C("a passwordless SMS connection, or SMS MFA after a password")
            }
            (Provider::Auth0, Totp) => C("only as the MFA step after a password"),
            (Provider::Cognito, Oidc) => C("the user pool has a hosted or managed-login domain"),
            (Provider::Cognito, Password) => Yes,
            (Provider::Cognito, EmailOtp) => {
                C("USER_AUTH on the Essentials or Plus plan, or email MFA after a password")
            }
            (Provider::Cognito, SmsOtp) => {
                C("USER_AUTH on the Essentials or Plus plan, or SMS MFA after a password")
            }
            (Provider::Cognito, Totp) => C("only as the MFA step after a password"),
            (Provider::Entra, Oidc) => Yes,
            (Provider::Entra, Password) => {
                C("no MFA or Conditional Access, no federated users, no personal accounts")
            }
            (Provider::Entra, EmailOtp) => {
                C("External ID tenants only, through native authentication (`native_auth` set)")
            }
            // Native authentication may offer SMS as a second factor (unconfirmed); the
            // connector does not drive it.
            (Provider::Entra, SmsOtp | Totp) => No,
            (Provider::Keycloak, Oidc) => Yes,
            (Provider::Keycloak, Password) => C("the client has direct access grants enabled"),
            (Provider::Keycloak, EmailOtp | SmsOtp) => No,
            (Provider::Keycloak, Totp) => C("sent with the password in the direct grant"),
            (Provider::OneLogin, Oidc | Password) => Yes,
            (Provider::OneLogin, EmailOtp) => C("the user has an enrolled OneLogin Email factor"),
            (Provider::OneLogin, SmsOtp) => C("the user has an enrolled OneLogin SMS factor"),
            (Provider::OneLogin, Totp) => C("the user has an enrolled authenticator-app factor"),
            (Provider::PingOne, Oidc | Password) => Yes,
            (Provider::PingOne, EmailOtp) => C("PingOne MFA, and the user has an EMAIL device"),
            (Provider::PingOne, SmsOtp) => C("PingOne MFA, and the user has an SMS device"),
            (Provider::PingOne, Totp) => C("PingOne MFA, and the user has a TOTP device"),
            (Provider::PingFederate, Oidc) => Yes,
            (Provider::PingFederate, Password) => {
                C("the client may use the password grant through a Password Credential Validator")
            }
            // Only browser adapters (PingOne MFA, PingID) add codes; no headless API.
            (Provider::PingFederate, EmailOtp | SmsOtp | Totp) => No,
            (Provider::Google | Provider::Apple, Oidc) => Yes,
            (Provider::Meta, Oidc) => C(
                "OAuth 2.0 code flow with the Graph profile; an ID token only with Limited Login or scope openid",
            ),
            (Provider::Google | Provider::Meta | Provider::Apple, _) => No,
        }
    }

    /// The methods this provider supports at all.
    pub fn methods(self) -> Vec<Method> {
        Method::ALL
            .iter()
            .copied()
            .filter(|m| self.support(*m).allowed())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn social_providers_offer_only_redirects() {
        for p in [Provider::Google, Provider::Apple, Provider::Meta] {
            assert_eq!(p.methods(), vec![Method::Oidc], "{}", p.name());
        }
    }

    #[test]
    fn names_round_trip() {
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.name()), Some(*p));
        }
    }

    #[test]
    fn the_matrix_offers_only_what_the_connectors_do() {
        assert_eq!(Provider::Entra.support(Method::SmsOtp), Support::No);
        assert_eq!(
            Provider::PingFederate.methods(),
            vec![Method::Oidc, Method::Password]
        );
        for p in [
            Provider::Okta,
            Provider::Auth0,
            Provider::Cognito,
            Provider::OneLogin,
        ] {
            for m in [Method::EmailOtp, Method::SmsOtp, Method::Totp] {
                assert!(p.support(m).allowed(), "{} {}", p.name(), m.name());
            }
        }
    }

    #[test]
    fn keycloak_has_no_otp_by_mail_or_sms() {
        assert_eq!(Provider::Keycloak.support(Method::EmailOtp), Support::No);
        assert!(Provider::Keycloak.support(Method::Totp).allowed());
    }
}
