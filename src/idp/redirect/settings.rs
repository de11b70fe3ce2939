//! The `redirect` block of an IDP in ferry.yaml, and the presets that turn a provider's few
//! settings (a domain, a tenant, a realm…) into its issuer, discovery document and the checks
//! its tokens need. Resolution is pure: no network, so presets are tested by value.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::idp::http::{SetupError, check_url};
use crate::providers::Provider;
use crate::secret::Secret;

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// An `Authorization: Basic` header.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A JWT signed with the client's private key (RFC 7523).
    PrivateKeyJwt,
    /// A public client: `client_id` only, PKCE proves the rest.
    None,
}

/// How the provider returns the authorization response.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// In the redirect's query string (`GET`).
    #[default]
    Query,
    /// In a form the browser posts (`POST`).
    FormPost,
}

impl ResponseMode {
    /// The `response_mode` parameter value.
    pub fn name(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::FormPost => "form_post",
        }
    }
}

/// The `redirect` settings of one IDP.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The client id (Apple: the Services ID; Meta: the app id).
    pub client_id: String,
    /// The client secret, as a `${NAME}` reference.
    pub client_secret: Option<Secret>,
    /// Client authentication; default: `client_secret_basic` with a secret, else `none`.
    pub client_auth: Option<ClientAuth>,
    /// A PKCS#8 PEM private key (`private_key_jwt`, Apple's `.p8` key), as a reference.
    pub private_key: Option<Secret>,
    /// The key's id (`kid`).
    pub key_id: Option<String>,
    /// Ferry's callback URL as registered with the provider (`…/v1/callback`).
    pub redirect_uri: String,
    /// Scopes; default per preset (`openid email profile`).
    pub scopes: Option<Vec<String>>,
    /// `query` or `form_post`; default per preset.
    pub response_mode: Option<ResponseMode>,
    /// The issuer (generic `oidc`, PingFederate); presets derive it.
    pub issuer: Option<String>,
    /// Where the discovery document is; default `{issuer}/.well-known/openid-configuration`.
    pub discovery_url: Option<String>,
    /// Overrides the discovered authorization endpoint.
    pub authorization_endpoint: Option<String>,
    /// Overrides the discovered token endpoint.
    pub token_endpoint: Option<String>,
    /// Overrides the discovered key set.
    pub jwks_uri: Option<String>,
    /// Overrides the discovered userinfo endpoint.
    pub userinfo_endpoint: Option<String>,
    /// Whether to call userinfo after the token exchange; default: when the provider has one.
    pub userinfo: Option<bool>,
    /// The claim that keys the legacy account; default `sub` (Entra: `tid` + `oid`).
    pub subject_claim: Option<String>,
    /// Signature algorithms accepted; default: Ferry's asymmetric allow-list.
    pub algorithms: Option<Vec<String>>,
    /// Clock skew tolerated on token times, in seconds.
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: i64,
    /// Total time per call to the provider, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Extra authorization request parameters (`connection`, `prompt`, …).
    #[serde(default)]
    pub extra_params: BTreeMap<String, String>,
    /// Okta, Auth0, Cognito (hosted-UI domain), OneLogin: the provider's domain.
    pub domain: Option<String>,
    /// Okta: a custom authorization server id (`default`, …); none means the org server.
    pub authorization_server: Option<String>,
    /// Entra ID: a tenant id, a verified domain, `common`, `organizations` or `consumers`.
    pub tenant: Option<String>,
    /// Entra ID (multi-tenant): the tenant ids allowed to sign in.
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
    /// Entra ID: the authority host (national clouds); default `login.microsoftonline.com`.
    pub authority_host: Option<String>,
    /// Cognito: the AWS region; PingOne: the region's domain suffix (`com`, `eu`, …).
    pub region: Option<String>,
    /// Cognito: the user pool id.
    pub user_pool_id: Option<String>,
    /// Keycloak, PingFederate: the server's base URL.
    pub base_url: Option<String>,
    /// Keycloak: the realm.
    pub realm: Option<String>,
    /// OneLogin: the account's subdomain.
    pub subdomain: Option<String>,
    /// PingOne: the environment id.
    pub environment_id: Option<String>,
    /// Google: the Workspace domain whose accounts may sign in (the `hd` claim).
    pub hosted_domain: Option<String>,
    /// Apple: the developer team id (the client secret's `iss`).
    pub team_id: Option<String>,
    /// Meta: the Graph API version (`v21.0`).
    pub graph_version: Option<String>,
    /// Meta: the Graph API base URL; default `https://graph.facebook.com`.
    pub graph_url: Option<String>,
    /// Meta: the login dialog's base URL; default `https://www.facebook.com`.
    pub dialog_url: Option<String>,
}

fn default_skew() -> i64 {
    60
}

fn default_timeout() -> u64 {
    10
}

/// How the ID token's issuer is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IssuerRule {
    /// One of these exact strings.
    Exact(Vec<String>),
    /// Entra ID: the discovered issuer, with `{tenantid}` replaced by the token's `tid`;
    /// the tenant must be in the list when the list is not empty.
    EntraTemplate {
        /// Tenant ids allowed to sign in.
        allowed_tenants: Vec<String>,
    },
}

/// How the legacy account is keyed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectKey {
    /// One claim's value.
    Claim(String),
    /// Entra ID: `{tid}:{oid}`, stable across apps, unlike the pairwise `sub`.
    TenantObject,
}

/// What kind of exchange the provider speaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OpenID Connect with discovery.
    Oidc,
    /// Facebook Login: OAuth 2.0, `debug_token` and the Graph profile.
    MetaGraph {
        /// `https://graph.facebook.com/{version}`.
        graph: String,
        /// `https://graph.facebook.com` (for `debug_token`, which is unversioned).
        graph_root: String,
    },
}

/// Everything a preset decided, before any network call.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The provider.
    pub provider: Provider,
    /// The exchange.
    pub protocol: Protocol,
    /// Issuers accepted (exact strings, or Entra's template).
    pub issuer: IssuerRule,
    /// The issuer the discovery document must name.
    pub discovery_issuer: Option<String>,
    /// The discovery document's URL (none for Meta).
    pub discovery_url: Option<String>,
    /// Endpoints that replace the discovered ones.
    pub endpoints: Endpoints,
    /// Scopes requested.
    pub scopes: Vec<String>,
    /// The response mode.
    pub response_mode: ResponseMode,
    /// Client authentication.
    pub client_auth: ClientAuth,
    /// Whether userinfo is called (`None`: when the provider has an endpoint).
    pub userinfo: Option<bool>,
    /// The account key.
    pub subject: SubjectKey,
    /// Google: the required `hd` claim.
    pub hosted_domain: Option<String>,
    /// Cognito: ID tokens must say `token_use: id`.
    pub token_use_id: bool,
    /// Apple: generate the client secret; `form_post` user JSON and string booleans.
    pub apple: bool,
}

/// Endpoints known without discovery (from settings or the preset).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// The authorization endpoint.
    pub authorization: Option<String>,
    /// The token endpoint.
    pub token: Option<String>,
    /// The key set.
    pub jwks: Option<String>,
    /// Userinfo.
    pub userinfo: Option<String>,
}

/// The default scopes of an OIDC preset.
const OIDC_SCOPES: &[&str] = &["openid", "email", "profile"];

/// The Graph version used when none is configured.
pub const META_GRAPH_VERSION: &str = "v21.0";

/// The tenant id of personal Microsoft accounts.
pub const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

impl Settings {
    /// Resolves the settings for a provider into a plan, or says which setting is wrong.
    pub fn plan(&self, provider: Provider) -> Result<Plan, SetupError> {
        check_url("redirect_uri", &self.redirect_uri)?;
        let preset = self.preset(provider)?;
        let client_auth = self.client_auth.unwrap_or(match provider {
            Provider::Apple | Provider::Meta => ClientAuth::ClientSecretPost,
            _ if self.client_secret.is_some() => ClientAuth::ClientSecretBasic,
            _ => ClientAuth::None,
        });
        self.check_client_auth(provider, client_auth)?;
        let endpoints = Endpoints {
            authorization: opt_url("authorization_endpoint", &self.authorization_endpoint)?
                .or(preset.endpoints.authorization),
            token: opt_url("token_endpoint", &self.token_endpoint)?.or(preset.endpoints.token),
            jwks: opt_url("jwks_uri", &self.jwks_uri)?.or(preset.endpoints.jwks),
            userinfo: opt_url("userinfo_endpoint", &self.userinfo_endpoint)?
                .or(preset.endpoints.userinfo),
        };
        let discovery_url = match (&self.discovery_url, &preset.discovery_url) {
            (Some(url), _) => Some(check_url("discovery_url", url)?),
            (None, Some(url)) => Some(url.clone()),
            (None, None) => None,
        };
        let scopes = self.scopes.clone().unwrap_or(preset.scopes);
        let response_mode = self.response_mode.unwrap_or(preset.response_mode);
        let subject = match &self.subject_claim {
            Some(claim) => SubjectKey::Claim(claim.clone()),
            None => preset.subject,
        };
        Ok(Plan {
            provider,
            protocol: preset.protocol,
            issuer: preset.issuer,
            discovery_issuer: preset.discovery_issuer,
            discovery_url,
            endpoints,
            scopes,
            response_mode,
            client_auth,
            userinfo: self.userinfo.or(preset.userinfo),
            subject,
            hosted_domain: self.hosted_domain.clone(),
            token_use_id: provider == Provider::Cognito,
            apple: provider == Provider::Apple,
        })
    }

    fn check_client_auth(&self, provider: Provider, auth: ClientAuth) -> Result<(), SetupError> {
        let needs_secret = matches!(
            auth,
            ClientAuth::ClientSecretBasic | ClientAuth::ClientSecretPost
        ) && provider != Provider::Apple;
        if needs_secret && self.client_secret.is_none() {
            return Err(SetupError::Missing {
                field: "client_secret",
                when: "the client authenticates with a secret",
            });
        }
        let needs_key = auth == ClientAuth::PrivateKeyJwt || provider == Provider::Apple;
        if needs_key && self.private_key.is_none() {
            return Err(SetupError::Missing {
                field: "private_key",
                when: "the client signs its own assertion (private_key_jwt, Apple)",
            });
        }
        if provider == Provider::Apple && (self.key_id.is_none() || self.team_id.is_none()) {
            return Err(SetupError::Missing {
                field: "key_id and team_id",
                when: "the provider is Apple (they sign the generated client secret)",
            });
        }
        if provider == Provider::Meta && self.client_secret.is_none() {
            return Err(SetupError::Missing {
                field: "client_secret",
                when: "the provider is Meta (the app secret checks the user's token)",
            });
        }
        Ok(())
    }

    fn preset(&self, provider: Provider) -> Result<Preset, SetupError> {
        self.only_fields_of(provider)?;
        let p = match provider {
            Provider::Okta => {
                let domain = self.host("domain")?;
                match &self.authorization_server {
                    Some(server) => Preset::oidc(format!("https://{domain}/oauth2/{server}")),
                    None => Preset::oidc(format!("https://{domain}")),
                }
            }
            Provider::Auth0 => Preset::oidc(format!("https://{}/", self.host("domain")?)),
            Provider::Cognito => self.cognito()?,
            Provider::Entra => self.entra()?,
            Provider::Keycloak => {
                let base = self.base_url()?;
                let realm = required("realm", &self.realm)?;
                Preset::oidc(format!("{base}/realms/{}", segment(realm)))
            }
            Provider::OneLogin => {
                let sub = required("subdomain", &self.subdomain)?;
                Preset::oidc(format!("https://{}.onelogin.com/oidc/2", label(sub)?))
            }
            Provider::PingOne => {
                let env = required("environment_id", &self.environment_id)?;
                let tld = self.region.as_deref().unwrap_or("com");
                Preset::oidc(format!(
                    "https://auth.pingone.{}/{}/as",
                    label(tld)?,
                    segment(env)
                ))
            }
            Provider::PingFederate => Preset::oidc(self.base_url()?),
            Provider::Google => {
                let mut p = Preset::oidc("https://accounts.google.com".into());
                p.issuer = IssuerRule::Exact(vec![
                    "https://accounts.google.com".into(),
                    "accounts.google.com".into(),
                ]);
                p
            }
            Provider::Apple => {
                let mut p = Preset::oidc("https://appleid.apple.com".into());
                p.scopes = vec!["openid".into(), "name".into(), "email".into()];
                p.response_mode = ResponseMode::FormPost;
                p.userinfo = Some(false);
                p
            }
            Provider::Meta => self.meta()?,
            Provider::Oidc => {
                let issuer = required("issuer", &self.issuer)?;
                check_url("issuer", issuer)?;
                Preset::oidc(issuer.clone())
            }
            Provider::OAuth2 | Provider::UserFile => {
                return Err(SetupError::Invalid {
                    field: "provider",
                    reason: "this provider has no OpenID Connect redirect",
                });
            }
        };
        Ok(self.with_issuer_override(provider, p))
    }

    /// Presets fix the issuer, but a deployment may name another one (an Okta or Auth0
    /// custom domain, a Keycloak hostname) with `issuer`.
    fn with_issuer_override(&self, provider: Provider, mut p: Preset) -> Preset {
        if let (Some(issuer), false) = (&self.issuer, provider == Provider::Entra) {
            p.issuer = IssuerRule::Exact(vec![issuer.clone()]);
            p.discovery_issuer = Some(issuer.clone());
            if self.discovery_url.is_none() && p.protocol == Protocol::Oidc {
                p.discovery_url = Some(well_known(issuer));
            }
        }
        p
    }

    fn cognito(&self) -> Result<Preset, SetupError> {
        let region = label(required("region", &self.region)?)?;
        let pool = segment(required("user_pool_id", &self.user_pool_id)?);
        let domain = self.host("domain")?;
        let mut p = Preset::oidc(format!("https://cognito-idp.{region}.amazonaws.com/{pool}"));
        p.endpoints = Endpoints {
            authorization: Some(format!("https://{domain}/oauth2/authorize")),
            token: Some(format!("https://{domain}/oauth2/token")),
            jwks: None,
            userinfo: Some(format!("https://{domain}/oauth2/userInfo")),
        };
        Ok(p)
    }

    fn entra(&self) -> Result<Preset, SetupError> {
        let tenant = required("tenant", &self.tenant)?;
        let host = match &self.authority_host {
            Some(h) => label_host(h)?,
            None => "login.microsoftonline.com".to_owned(),
        };
        let multi = matches!(tenant.as_str(), "common" | "organizations" | "consumers");
        if multi && self.allowed_tenants.is_empty() && tenant != "consumers" {
            return Err(SetupError::Missing {
                field: "allowed_tenants",
                when: "`tenant` is `common` or `organizations` (or any Entra tenant could sign in)",
            });
        }
        let mut allowed = self.allowed_tenants.clone();
        if tenant == "consumers" && allowed.is_empty() {
            allowed.push(MSA_TENANT.into());
        }
        let authority = format!("https://{host}/{}/v2.0", segment(tenant));
        let mut p = Preset::oidc(authority.clone());
        p.issuer = IssuerRule::EntraTemplate {
            allowed_tenants: allowed,
        };
        p.discovery_issuer = None;
        p.subject = SubjectKey::TenantObject;
        p.userinfo = Some(false);
        p.discovery_url = Some(well_known(&authority));
        Ok(p)
    }

    fn meta(&self) -> Result<Preset, SetupError> {
        let version = self.graph_version.as_deref().unwrap_or(META_GRAPH_VERSION);
        if !version.starts_with('v') || version.contains('/') {
            return Err(SetupError::Invalid {
                field: "graph_version",
                reason: "write the version as Meta does, such as `v21.0`",
            });
        }
        let graph_root = match &self.graph_url {
            Some(u) => check_url("graph_url", u)?,
            None => "https://graph.facebook.com".into(),
        };
        let dialog = match &self.dialog_url {
            Some(u) => check_url("dialog_url", u)?,
            None => "https://www.facebook.com".into(),
        };
        let graph = format!("{graph_root}/{version}");
        Ok(Preset {
            protocol: Protocol::MetaGraph {
                graph: graph.clone(),
                graph_root,
            },
            issuer: IssuerRule::Exact(Vec::new()),
            discovery_issuer: None,
            discovery_url: None,
            endpoints: Endpoints {
                authorization: Some(format!("{dialog}/{version}/dialog/oauth")),
                token: Some(format!("{graph}/oauth/access_token")),
                jwks: None,
                userinfo: Some(format!("{graph}/me?fields=id,name,email")),
            },
            scopes: vec!["email".into(), "public_profile".into()],
            response_mode: ResponseMode::Query,
            userinfo: Some(true),
            subject: SubjectKey::Claim("id".into()),
        })
    }

    fn host(&self, field: &'static str) -> Result<String, SetupError> {
        let value = required(field, &self.domain)?;
        label_host(value)
    }

    fn base_url(&self) -> Result<String, SetupError> {
        check_url("base_url", required("base_url", &self.base_url)?)
    }

    /// Refuses preset settings that belong to another provider, so a typo or a pasted
    /// block does not silently do nothing.
    fn only_fields_of(&self, provider: Provider) -> Result<(), SetupError> {
        let set: [(&'static str, bool, &[Provider]); 15] = [
            (
                "domain",
                self.domain.is_some(),
                &[Provider::Okta, Provider::Auth0, Provider::Cognito],
            ),
            (
                "authorization_server",
                self.authorization_server.is_some(),
                &[Provider::Okta],
            ),
            ("tenant", self.tenant.is_some(), &[Provider::Entra]),
            (
                "allowed_tenants",
                !self.allowed_tenants.is_empty(),
                &[Provider::Entra],
            ),
            (
                "authority_host",
                self.authority_host.is_some(),
                &[Provider::Entra],
            ),
            (
                "region",
                self.region.is_some(),
                &[Provider::Cognito, Provider::PingOne],
            ),
            (
                "user_pool_id",
                self.user_pool_id.is_some(),
                &[Provider::Cognito],
            ),
            (
                "base_url",
                self.base_url.is_some(),
                &[Provider::Keycloak, Provider::PingFederate],
            ),
            ("realm", self.realm.is_some(), &[Provider::Keycloak]),
            ("subdomain", self.subdomain.is_some(), &[Provider::OneLogin]),
            (
                "environment_id",
                self.environment_id.is_some(),
                &[Provider::PingOne],
            ),
            (
                "hosted_domain",
                self.hosted_domain.is_some(),
                &[Provider::Google],
            ),
            ("team_id", self.team_id.is_some(), &[Provider::Apple]),
            (
                "graph_version",
                self.graph_version.is_some() || self.graph_url.is_some(),
                &[Provider::Meta],
            ),
            ("dialog_url", self.dialog_url.is_some(), &[Provider::Meta]),
        ];
        for (field, present, owners) in set {
            if present && !owners.contains(&provider) {
                return Err(SetupError::Invalid {
                    field,
                    reason: "this setting belongs to another provider's preset",
                });
            }
        }
        Ok(())
    }
}

/// What a preset fixes before the deployment's own overrides.
struct Preset {
    protocol: Protocol,
    issuer: IssuerRule,
    discovery_issuer: Option<String>,
    discovery_url: Option<String>,
    endpoints: Endpoints,
    scopes: Vec<String>,
    response_mode: ResponseMode,
    userinfo: Option<bool>,
    subject: SubjectKey,
}

impl Preset {
    fn oidc(issuer: String) -> Self {
        Self {
            protocol: Protocol::Oidc,
            discovery_url: Some(well_known(&issuer)),
            issuer: IssuerRule::Exact(vec![issuer.clone()]),
            discovery_issuer: Some(issuer),
            endpoints: Endpoints::default(),
            scopes: OIDC_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            response_mode: ResponseMode::Query,
            userinfo: None,
            subject: SubjectKey::Claim("sub".into()),
        }
    }
}

/// `{issuer}/.well-known/openid-configuration`, whatever the issuer's trailing slash.
pub fn well_known(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

fn required<'a>(field: &'static str, value: &'a Option<String>) -> Result<&'a String, SetupError> {
    value
        .as_ref()
        .filter(|v| !v.trim().is_empty())
        .ok_or(SetupError::Missing {
            field,
            when: "the provider's preset needs it",
        })
}

fn opt_url(field: &'static str, value: &Option<String>) -> Result<Option<String>, SetupError> {
    value.as_deref().map(|v| check_url(field, v)).transpose()
}

/// A host name as written in a URL: letters, digits, dots, dashes (and a port).
fn label_host(value: &str) -> Result<String, SetupError> {
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b));
    if ok {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(SetupError::Invalid {
            field: "domain",
            reason: "expected a host name such as `example.okta.com`, without a scheme or path",
        })
    }
}

fn label(value: &str) -> Result<String, SetupError> {
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(SetupError::Invalid {
            field: "region",
            reason: "expected letters, digits, dots and dashes",
        })
    }
}

fn segment(value: &str) -> String {
    crate::idp::http::segment(value)
}
