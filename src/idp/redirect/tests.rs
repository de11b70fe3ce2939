//! Presets checked by value, with the facts of `docs/idp-apis.md` §2: issuers, discovery
//! URLs, Entra's issuer template and tenant keying, Google's `hd`, Apple's client secret and
//! first-login name, Meta's `debug_token` and users without an email.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value as Json, json};

use super::exchange::{account, entra_issuer, meta_token_user, preset_checks, tenant_object};
use super::settings::{IssuerRule, Plan, Protocol, ResponseMode, Settings, SubjectKey};
use super::{RedirectError, apple};
use crate::providers::Provider;
use crate::secret::Secret;

fn settings(extra: Json) -> Settings {
    let mut base = json!({ "client_id": "ferry", "client_secret": "s",
                           "redirect_uri": "https://ferry.example/v1/callback" });
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    serde_json::from_value(base).unwrap()
}

fn plan(provider: Provider, extra: Json) -> Plan {
    settings(extra).plan(provider).unwrap()
}

fn exact(plan: &Plan) -> Vec<String> {
    match &plan.issuer {
        IssuerRule::Exact(list) => list.clone(),
        other => panic!("{other:?}"),
    }
}

fn claims(value: Json) -> Map<String, Json> {
    value.as_object().cloned().unwrap()
}

#[test]
fn okta_org_and_custom_servers_have_their_own_issuers() {
    let org = plan(Provider::Okta, json!({ "domain": "acme.okta.com" }));
    assert_eq!(exact(&org), ["https://acme.okta.com"]);
    assert_eq!(
        org.discovery_url.as_deref(),
        Some("https://acme.okta.com/.well-known/openid-configuration")
    );
    let custom = plan(
        Provider::Okta,
        json!({ "domain": "acme.okta.com", "authorization_server": "default" }),
    );
    assert_eq!(exact(&custom), ["https://acme.okta.com/oauth2/default"]);
    assert_eq!(
        custom.discovery_url.as_deref(),
        Some("https://acme.okta.com/oauth2/default/.well-known/openid-configuration")
    );
}

#[test]
fn auth0_issuers_keep_their_trailing_slash() {
    let p = plan(Provider::Auth0, json!({ "domain": "acme.eu.auth0.com" }));
    assert_eq!(exact(&p), ["https://acme.eu.auth0.com/"]);
    assert_eq!(
        p.discovery_url.as_deref(),
        Some("https://acme.eu.auth0.com/.well-known/openid-configuration")
    );
}

#[test]
fn cognito_signs_in_on_the_hosted_domain_and_wants_id_tokens() {
    let p = plan(
        Provider::Cognito,
        json!({ "region": "eu-west-1", "user_pool_id": "eu-west-1_AbC",
                "domain": "acme.auth.eu-west-1.amazoncognito.com" }),
    );
    assert_eq!(
        exact(&p),
        ["https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"]
    );
    assert_eq!(
        p.endpoints.authorization.as_deref(),
        Some("https://acme.auth.eu-west-1.amazoncognito.com/oauth2/authorize")
    );
    assert_eq!(
        p.endpoints.userinfo.as_deref(),
        Some("https://acme.auth.eu-west-1.amazoncognito.com/oauth2/userInfo")
    );
    assert!(p.token_use_id);
    let access = claims(json!({ "sub": "u", "token_use": "access" }));
    assert!(matches!(
        preset_checks(&p, &access),
        Err(RedirectError::TokenUse)
    ));
    let id = claims(json!({ "sub": "u", "token_use": "id" }));
    assert!(preset_checks(&p, &id).is_ok());
}

#[test]
fn entra_fills_the_issuer_template_from_tid_and_keys_on_tid_and_oid() {
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let refused = settings(json!({ "tenant": "common" })).plan(Provider::Entra);
    assert!(
        refused.is_err(),
        "common without an allow-list lets any tenant in"
    );
    let p = plan(
        Provider::Entra,
        json!({ "tenant": "organizations", "allowed_tenants": [tenant] }),
    );
    assert_eq!(
        p.discovery_url.as_deref(),
        Some(
            "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration"
        )
    );
    assert_eq!(p.subject, SubjectKey::TenantObject);
    let IssuerRule::EntraTemplate { allowed_tenants } = &p.issuer else {
        panic!("{:?}", p.issuer);
    };
    let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
    assert_eq!(
        entra_issuer(template, tenant, allowed_tenants).unwrap(),
        format!("https://login.microsoftonline.com/{tenant}/v2.0")
    );
    let other = "9188040d-6c67-4c5b-b112-36a304b66dad";
    assert!(matches!(
        entra_issuer(template, other, allowed_tenants),
        Err(RedirectError::TenantNotAllowed)
    ));
    assert!(entra_issuer(template, "../evil", &[]).is_err());
    let token = claims(json!({ "sub": "pairwise-per-app", "tid": tenant,
                "oid": "00000000-0000-0000-66f3-3332eca7ea81" }));
    assert_eq!(
        tenant_object(&token).unwrap(),
        format!("{tenant}:00000000-0000-0000-66f3-3332eca7ea81")
    );
    let verified = account(&p.subject, token).unwrap();
    assert!(verified.subject.starts_with(tenant));
    let consumers = plan(Provider::Entra, json!({ "tenant": "consumers" }));
    assert_eq!(
        consumers.issuer,
        IssuerRule::EntraTemplate {
            allowed_tenants: vec![super::settings::MSA_TENANT.into()]
        }
    );
}

#[test]
fn the_other_oidc_presets_derive_their_issuers() {
    let kc = plan(
        Provider::Keycloak,
        json!({ "base_url": "https://sso.acme.test", "realm": "staff" }),
    );
    assert_eq!(exact(&kc), ["https://sso.acme.test/realms/staff"]);
    let ol = plan(Provider::OneLogin, json!({ "subdomain": "acme" }));
    assert_eq!(exact(&ol), ["https://acme.onelogin.com/oidc/2"]);
    let p1 = plan(
        Provider::PingOne,
        json!({ "environment_id": "env-1", "region": "eu" }),
    );
    assert_eq!(exact(&p1), ["https://auth.pingone.eu/env-1/as"]);
    let pf = plan(
        Provider::PingFederate,
        json!({ "base_url": "https://pf.acme.test:9031" }),
    );
    assert_eq!(exact(&pf), ["https://pf.acme.test:9031"]);
    assert_eq!(
        pf.discovery_url.as_deref(),
        Some("https://pf.acme.test:9031/.well-known/openid-configuration")
    );
    let custom = plan(
        Provider::Auth0,
        json!({ "domain": "acme.auth0.com", "issuer": "https://login.acme.test/" }),
    );
    assert_eq!(exact(&custom), ["https://login.acme.test/"]);
}

#[test]
fn a_setting_of_another_preset_is_refused() {
    let err = settings(json!({ "realm": "x", "domain": "a.okta.com" }))
        .plan(Provider::Okta)
        .unwrap_err();
    assert!(err.to_string().contains("`realm`"), "{err}");
    let err = settings(json!({})).plan(Provider::Keycloak).unwrap_err();
    assert!(err.to_string().contains("`base_url`"), "{err}");
    let insecure = settings(json!({ "issuer": "http://idp.example.com" })).plan(Provider::Oidc);
    assert!(insecure.is_err(), "plain http to a remote host");
}

#[test]
fn google_accepts_both_issuer_spellings_and_checks_hd() {
    let p = plan(Provider::Google, json!({ "hosted_domain": "acme.test" }));
    assert_eq!(
        exact(&p),
        ["https://accounts.google.com", "accounts.google.com"]
    );
    let workspace = claims(json!({ "sub": "1", "hd": "acme.test" }));
    assert!(preset_checks(&p, &workspace).is_ok());
    let consumer = claims(json!({ "sub": "2", "email": "someone@gmail.com" }));
    assert!(matches!(
        preset_checks(&p, &consumer),
        Err(RedirectError::HostedDomain)
    ));
    let other = claims(json!({ "sub": "3", "hd": "evil.test" }));
    assert!(matches!(
        preset_checks(&p, &other),
        Err(RedirectError::HostedDomain)
    ));
    let open = plan(Provider::Google, json!({}));
    assert!(preset_checks(&open, &consumer).is_ok());
}

/// A fresh P-256 key: its PKCS#8 PEM and the public key that verifies it.
fn apple_key() -> (String, DecodingKey) {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref();
    let (x, y) = (
        URL_SAFE_NO_PAD.encode(&point[1..33]),
        URL_SAFE_NO_PAD.encode(&point[33..65]),
    );
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec()));
    (pem, DecodingKey::from_ec_components(&x, &y).unwrap())
}

fn apple_settings(pem: &str) -> Settings {
    let mut s = settings(
        json!({ "client_id": "com.acme.web", "team_id": "TEAM123456",
                                  "key_id": "KEY1234567" }),
    );
    s.client_secret = None;
    s.private_key = Some(Secret::new(pem));
    s
}

#[test]
fn apple_client_secrets_are_es256_jwts_remade_before_six_months() {
    let (pem, key) = apple_key();
    let p = apple_settings(&pem).plan(Provider::Apple).unwrap();
    assert_eq!(p.response_mode, ResponseMode::FormPost);
    assert_eq!(p.scopes, ["openid", "name", "email"]);
    let secrets = apple::ClientSecret::new(&apple_settings(&pem)).unwrap();
    let t0 = 1_800_000_000;
    let first = secrets.current(t0).unwrap();

    let header = jsonwebtoken::decode_header(first.expose()).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.kid.as_deref(), Some("KEY1234567"));
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[apple::AUDIENCE]);
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Json>(first.expose(), &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["iss"], "TEAM123456");
    assert_eq!(claims["sub"], "com.acme.web");
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!(
        lifetime <= apple::MAX_LIFETIME && lifetime > 90 * 86_400,
        "{lifetime}"
    );

    assert_eq!(
        secrets.current(t0 + 86_400).unwrap(),
        first,
        "kept while far from expiry"
    );
    let renewed = secrets
        .current(t0 + apple::LIFETIME - apple::RENEW_BEFORE + 1)
        .unwrap();
    assert_ne!(renewed, first, "remade a week before it would expire");
}

#[test]
fn apple_needs_its_key_ids_and_a_p256_key() {
    let (pem, _) = apple_key();
    let mut s = apple_settings(&pem);
    s.team_id = None;
    assert!(s.plan(Provider::Apple).is_err());
    let mut s = apple_settings(&pem);
    s.private_key = Some(Secret::new("not a key"));
    assert!(apple::ClientSecret::new(&s).is_err());
}

#[test]
fn apple_string_booleans_and_the_first_login_name() {
    let mut first = claims(
        json!({ "sub": "001234.abcd", "email": "x@privaterelay.appleid.com",
                                   "email_verified": "true", "is_private_email": "true" }),
    );
    let user = r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},
                   "email":"x@privaterelay.appleid.com"}"#;
    apple::normalise(&mut first, Some(user));
    assert_eq!(first["email_verified"], json!(true));
    assert_eq!(first["is_private_email"], json!(true));
    assert_eq!(first["given_name"], "Ada");
    assert_eq!(first["family_name"], "Lovelace");
    assert_eq!(first["name"], "Ada Lovelace");

    let mut later = claims(json!({ "sub": "001234.abcd", "email_verified": "false" }));
    apple::normalise(&mut later, None);
    assert_eq!(later["email_verified"], json!(false));
    assert!(
        later.get("name").is_none(),
        "the name comes only once; the store keeps it"
    );
}

#[test]
fn meta_is_oauth_with_the_graph_profile_and_users_may_have_no_email() {
    let p = plan(Provider::Meta, json!({ "client_id": "1234567890" }));
    assert!(matches!(p.protocol, Protocol::MetaGraph { .. }));
    assert_eq!(p.discovery_url, None);
    assert_eq!(
        p.endpoints.authorization.as_deref(),
        Some("https://www.facebook.com/v21.0/dialog/oauth")
    );
    assert_eq!(
        p.endpoints.token.as_deref(),
        Some("https://graph.facebook.com/v21.0/oauth/access_token")
    );
    assert_eq!(p.subject, SubjectKey::Claim("id".into()));

    let debug = json!({ "data": { "app_id": "1234567890", "is_valid": true,
                                  "user_id": "10158000000000001", "scopes": ["public_profile"] } });
    assert_eq!(
        meta_token_user(&debug, "1234567890").unwrap(),
        "10158000000000001"
    );
    let foreign = json!({ "data": { "app_id": "999", "is_valid": true, "user_id": "1" } });
    assert!(matches!(
        meta_token_user(&foreign, "1234567890"),
        Err(RedirectError::ForeignToken)
    ));
    let invalid = json!({ "data": { "app_id": "1234567890", "is_valid": false, "user_id": "1" } });
    assert!(meta_token_user(&invalid, "1234567890").is_err());

    let me = claims(json!({ "id": "10158000000000001", "name": "Sam Doe" }));
    let verified = account(&p.subject, me).unwrap();
    assert_eq!(verified.subject, "10158000000000001");
    assert!(verified.claims.get("email").is_none());
    let no_secret = settings(json!({})).plan(Provider::Meta);
    assert!(no_secret.is_ok());
    let mut s = settings(json!({}));
    s.client_secret = None;
    assert!(
        s.plan(Provider::Meta).is_err(),
        "debug_token needs the app secret"
    );
}
