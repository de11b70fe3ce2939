//! The callback's second half: the code exchanged at the token endpoint with the client's
//! authentication, the ID token validated, userinfo's `sub` matched, each preset's own
//! checks, and the account key chosen. Meta's OAuth flow (no ID token) lives here too.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use super::settings::{ClientAuth, IssuerRule, Plan, Settings, SubjectKey};
use super::{Discovered, PendingRedirect, RedirectClient, RedirectError, claim_str, random};
use crate::idp::Verified;
use crate::idp::http::{self, Answer, SetupError};
use crate::idp::id_token::{self, Expected, IdTokenError};
use crate::secret::Secret;

/// The token endpoint's answer.
#[derive(Deserialize)]
struct Tokens {
    access_token: Option<Secret>,
    id_token: Option<Secret>,
}

/// One callback's exchange.
pub(super) struct Exchange<'a> {
    pub rp: &'a RedirectClient,
    pub discovered: &'a Discovered,
    pub pending: &'a PendingRedirect,
}

impl Exchange<'_> {
    /// OpenID Connect: code → tokens → validated ID token → userinfo → account.
    pub async fn oidc(
        &self,
        code: &Secret,
        apple_user: Option<&str>,
    ) -> Result<Verified, RedirectError> {
        let tokens = self.redeem(code).await?;
        let id_token = tokens.id_token.ok_or(RedirectError::NoIdToken)?;
        let mut claims = self.validate(id_token.expose()).await?;
        preset_checks(&self.rp.plan, &claims)?;
        if let Some(access) = &tokens.access_token
            && let Some(endpoint) = self.userinfo_endpoint()
        {
            let info = self.userinfo(&endpoint, access).await?;
            if claim_str(&info, "sub") != claim_str(&claims, "sub") {
                return Err(RedirectError::UserinfoSubject);
            }
            for (k, v) in info {
                claims.entry(k).or_insert(v);
            }
        }
        if self.rp.plan.apple {
            super::apple::normalise(&mut claims, apple_user);
        }
        account(&self.rp.plan.subject, claims)
    }

    fn userinfo_endpoint(&self) -> Option<String> {
        if self.rp.plan.userinfo == Some(false) {
            return None;
        }
        let plan = &self.rp.plan.endpoints.userinfo;
        plan.clone()
            .or_else(|| self.discovered.meta.userinfo_endpoint.clone())
    }

    async fn redeem(&self, code: &Secret) -> Result<Tokens, RedirectError> {
        let endpoint = self.token_endpoint()?;
        let settings = &self.rp.settings;
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "authorization_code".into()),
            ("code", code.expose().to_owned()),
            ("redirect_uri", settings.redirect_uri.clone()),
            ("code_verifier", self.pending.verifier.expose().to_owned()),
        ];
        let mut request = self.rp.http.post(&endpoint);
        match self.rp.plan.client_auth {
            ClientAuth::ClientSecretBasic => {
                let secret = settings.client_secret.as_ref().map(Secret::expose);
                request = request.basic_auth(
                    form_encode(&settings.client_id),
                    Some(form_encode(secret.unwrap_or_default())),
                );
            }
            ClientAuth::ClientSecretPost => {
                form.push(("client_id", settings.client_id.clone()));
                let secret = match &self.rp.apple {
                    Some(apple) => apple.current(self.rp.clock.now_secs())?,
                    None => settings.client_secret.clone().unwrap_or_default(),
                };
                form.push(("client_secret", secret.expose().to_owned()));
            }
            ClientAuth::PrivateKeyJwt => {
                let key = self.rp.assertion.as_ref().ok_or_else(|| {
                    RedirectError::Credentials("no private key for private_key_jwt".into())
                })?;
                let assertion =
                    key.sign(&settings.client_id, &endpoint, self.rp.clock.now_secs())?;
                form.push(("client_id", settings.client_id.clone()));
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                form.push(("client_assertion", assertion.expose().to_owned()));
            }
            ClientAuth::None => form.push(("client_id", settings.client_id.clone())),
        }
        let answer = http::send(request.header("accept", "application/json").form(&form)).await?;
        tokens(&answer)
    }

    fn token_endpoint(&self) -> Result<String, RedirectError> {
        self.rp
            .plan
            .endpoints
            .token
            .clone()
            .or_else(|| self.discovered.meta.token_endpoint.clone())
            .ok_or_else(|| super::missing_endpoint("token_endpoint"))
    }

    async fn validate(&self, token: &str) -> Result<Map<String, Json>, RedirectError> {
        let (header, unverified) = id_token::peek(token)?;
        if let Some(allowed) = &self.rp.settings.algorithms {
            let alg = header.get("alg").and_then(Json::as_str).unwrap_or_default();
            if alg.eq_ignore_ascii_case("none") {
                return Err(IdTokenError::Unsigned.into());
            }
            if !allowed.iter().any(|a| a == alg) {
                return Err(IdTokenError::AlgorithmNotAllowed(alg.to_owned()).into());
            }
        }
        let issuers = self.issuers(&unverified)?;
        let jwks = self
            .discovered
            .jwks
            .as_ref()
            .ok_or_else(|| super::missing_endpoint("jwks_uri"))?;
        let expected = Expected {
            issuers: &issuers,
            client_id: &self.rp.settings.client_id,
            nonce: Some(self.pending.nonce.expose()),
            now: self.rp.clock.now_secs(),
            skew: self.rp.settings.clock_skew_seconds,
        };
        Ok(id_token::validate(token, jwks, &expected).await?)
    }

    /// The issuers the token may have: the preset's, or Entra's template filled from the
    /// token's `tid` once the tenant is known to be allowed.
    fn issuers(&self, unverified: &Map<String, Json>) -> Result<Vec<String>, RedirectError> {
        match &self.rp.plan.issuer {
            IssuerRule::Exact(list) => Ok(list.clone()),
            IssuerRule::EntraTemplate { allowed_tenants } => {
                let tid = claim_str(unverified, "tid").unwrap_or_default();
                entra_issuer(&self.discovered.meta.issuer, tid, allowed_tenants)
                    .map(|issuer| vec![issuer])
            }
        }
    }

    async fn userinfo(
        &self,
        endpoint: &str,
        access: &Secret,
    ) -> Result<Map<String, Json>, RedirectError> {
        let request = self
            .rp
            .http
            .get(endpoint)
            .bearer_auth(access.expose())
            .header("accept", "application/json");
        let answer = http::send(request).await?;
        if answer.status != 200 {
            return Err(answer
                .unreadable(format!("userinfo answered {}", answer.status))
                .into());
        }
        Ok(answer.json()?)
    }

    /// Facebook Login: code → access token → `debug_token` (this app's, valid) → `/me`.
    pub async fn meta(
        &self,
        code: &Secret,
        graph: &str,
        graph_root: &str,
    ) -> Result<Verified, RedirectError> {
        let settings = &self.rp.settings;
        let secret = settings.client_secret.clone().unwrap_or_default();
        let request = self
            .rp
            .http
            .get(format!("{graph}/oauth/access_token"))
            .query(&[
                ("client_id", settings.client_id.as_str()),
                ("redirect_uri", settings.redirect_uri.as_str()),
                ("client_secret", secret.expose()),
                ("code", code.expose()),
                ("code_verifier", self.pending.verifier.expose()),
            ]);
        let tokens = tokens(&http::send(request).await?)?;
        let access = tokens
            .access_token
            .ok_or(RedirectError::TokenRefused { code: None })?;
        let app_token = format!("{}|{}", settings.client_id, secret.expose());
        let request = self
            .rp
            .http
            .get(format!("{graph_root}/debug_token"))
            .query(&[
                ("input_token", access.expose()),
                ("access_token", app_token.as_str()),
            ]);
        let debug: Json = read_ok(&http::send(request).await?)?;
        let user_id = meta_token_user(&debug, &settings.client_id)?;
        let me_url = format!("{graph}/me");
        let request = self
            .rp
            .http
            .get(me_url)
            .query(&[("fields", "id,name,email")])
            .bearer_auth(access.expose());
        let me: Map<String, Json> = read_ok(&http::send(request).await?)?;
        if claim_str(&me, "id") != Some(user_id.as_str()) {
            return Err(RedirectError::UserinfoSubject);
        }
        account(&self.rp.plan.subject, me)
    }
}

/// The preset's own checks on validated claims: Google's `hd`, Cognito's `token_use`.
pub fn preset_checks(plan: &Plan, claims: &Map<String, Json>) -> Result<(), RedirectError> {
    if let Some(hd) = &plan.hosted_domain
        && !claim_str(claims, "hd").is_some_and(|c| c.eq_ignore_ascii_case(hd))
    {
        return Err(RedirectError::HostedDomain);
    }
    if plan.token_use_id && claim_str(claims, "token_use") != Some("id") {
        return Err(RedirectError::TokenUse);
    }
    Ok(())
}

/// The legacy account from the claims, keyed as the preset says.
pub fn account(subject: &SubjectKey, claims: Map<String, Json>) -> Result<Verified, RedirectError> {
    match subject {
        SubjectKey::Claim(name) => {
            Verified::from_claims(claims, name).ok_or(RedirectError::NoSubject)
        }
        SubjectKey::TenantObject => {
            let key = tenant_object(&claims).ok_or(RedirectError::NoSubject)?;
            Ok(Verified {
                subject: key,
                claims,
            })
        }
    }
}

/// Reads a token response: 200 with JSON, else the provider's refusal.
fn tokens(answer: &Answer) -> Result<Tokens, RedirectError> {
    match answer.status {
        200 => Ok(answer.json()?),
        400..=499 => {
            let code = serde_json::from_slice::<Json>(&answer.body)
                .ok()
                .and_then(|b| b.get("error").and_then(Json::as_str).map(short));
            Err(RedirectError::TokenRefused { code })
        }
        status => Err(answer
            .unreadable(format!("the token endpoint answered {status}"))
            .into()),
    }
}

fn read_ok<T: serde::de::DeserializeOwned>(answer: &Answer) -> Result<T, RedirectError> {
    if answer.status != 200 {
        return Err(RedirectError::ForeignToken);
    }
    Ok(answer.json()?)
}

fn short(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Meta's `debug_token` answer: valid, for this app; returns the app-scoped user id.
pub fn meta_token_user(debug: &Json, app_id: &str) -> Result<String, RedirectError> {
    let data = &debug["data"];
    let valid = data["is_valid"].as_bool() == Some(true);
    let app = match &data["app_id"] {
        Json::String(s) => s.clone(),
        Json::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let user = match &data["user_id"] {
        Json::String(s) if !s.is_empty() => s.clone(),
        Json::Number(n) => n.to_string(),
        _ => return Err(RedirectError::ForeignToken),
    };
    if valid && app == app_id {
        Ok(user)
    } else {
        Err(RedirectError::ForeignToken)
    }
}

/// Entra ID's issuer for a token from tenant `tid`: the discovered issuer (a template with
/// `{tenantid}` for multi-tenant authorities) filled in, when the tenant is allowed.
pub fn entra_issuer(
    discovered: &str,
    tid: &str,
    allowed_tenants: &[String],
) -> Result<String, RedirectError> {
    let tid_ok = !tid.is_empty()
        && tid.len() <= 64
        && tid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if !tid_ok {
        return Err(IdTokenError::WrongIssuer.into());
    }
    if !allowed_tenants.is_empty() && !allowed_tenants.iter().any(|t| t.eq_ignore_ascii_case(tid)) {
        return Err(RedirectError::TenantNotAllowed);
    }
    Ok(discovered.replace("{tenantid}", tid))
}

/// Entra ID's account key: `{tid}:{oid}`.
pub fn tenant_object(claims: &Map<String, Json>) -> Option<String> {
    let tid = claim_str(claims, "tid").filter(|t| !t.is_empty())?;
    let oid = claim_str(claims, "oid").filter(|o| !o.is_empty())?;
    Some(format!("{tid}:{oid}"))
}

/// RFC 6749 §2.3.1: Basic credentials are form-encoded before base64.
fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The client's private key for `private_key_jwt` (RFC 7523 §2.2).
#[derive(Clone)]
pub struct AssertionKey {
    key: EncodingKey,
    algorithm: Algorithm,
    kid: Option<String>,
}

impl std::fmt::Debug for AssertionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl AssertionKey {
    /// Reads `private_key` (PKCS#8 PEM, P-256 or RSA) and `key_id`.
    pub fn new(settings: &Settings) -> Result<Self, SetupError> {
        let pem = settings.private_key.as_ref().ok_or(SetupError::Missing {
            field: "private_key",
            when: "`client_auth` is `private_key_jwt`",
        })?;
        let (key, algorithm) = signing_key(pem)?;
        Ok(Self {
            key,
            algorithm,
            kid: settings.key_id.clone(),
        })
    }

    /// A one-minute assertion for the token endpoint.
    pub fn sign(&self, client_id: &str, audience: &str, now: i64) -> Result<Secret, RedirectError> {
        let mut header = Header::new(self.algorithm);
        header.kid.clone_from(&self.kid);
        let claims = json!({
            "iss": client_id, "sub": client_id, "aud": audience,
            "jti": random().expose(), "iat": now, "exp": now + 60,
        });
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(Secret::new)
            .map_err(|e| RedirectError::Credentials(e.to_string()))
    }
}

/// A PEM private key and the algorithm it signs with: ES256 for P-256, RS256 for RSA.
pub fn signing_key(pem: &Secret) -> Result<(EncodingKey, Algorithm), SetupError> {
    let text = pem.expose().as_bytes();
    if let Ok(key) = EncodingKey::from_ec_pem(text) {
        return Ok((key, Algorithm::ES256));
    }
    if let Ok(key) = EncodingKey::from_rsa_pem(text) {
        return Ok((key, Algorithm::RS256));
    }
    Err(SetupError::Invalid {
        field: "private_key",
        reason: "expected a PKCS#8 PEM private key (P-256 or RSA)",
    })
}
