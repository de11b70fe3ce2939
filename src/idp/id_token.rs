//! ID token validation, after OpenID Connect Core 1.0 §3.1.3.7: issuer, audience, `azp`,
//! signature by the provider's key with an algorithm from an allow-list (`none` and HMAC
//! refused), expiry and `iat` against an injected clock, and the nonce when one was sent.
//! Every failure is its own variant, so each can be told apart and none can pass.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value as Json};

use super::http::HttpError;
use super::jwks::{JwksCache, KeyLookup};

/// Algorithms accepted for ID token signatures.
pub const ALLOWED_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// What a valid token must say.
#[derive(Clone, Debug)]
pub struct Expected<'a> {
    /// Accepted `iss` values (some providers use two spellings).
    pub issuers: &'a [String],
    /// The client id: must be in `aud`, and be `azp` if `azp` is present.
    pub client_id: &'a str,
    /// The nonce sent in the authorization request, if any.
    pub nonce: Option<&'a str>,
    /// The current time, seconds since the epoch.
    pub now: i64,
    /// Clock skew tolerated, in seconds.
    pub skew: i64,
}

/// Why an ID token was refused.
#[derive(Debug, thiserror::Error)]
pub enum IdTokenError {
    /// Not three base64url parts with JSON header and claims.
    #[error("the ID token is malformed: {0}")]
    Malformed(String),
    /// `alg: none`.
    #[error("the ID token is unsigned (`alg: none`)")]
    Unsigned,
    /// An algorithm outside the allow-list.
    #[error("the ID token's algorithm `{0}` is not allowed")]
    AlgorithmNotAllowed(String),
    /// No key with the token's `kid`, even after fetching the key set again.
    #[error("no signing key has the ID token's `kid` `{0}`")]
    UnknownKey(String),
    /// No `kid`, and several keys to choose from.
    #[error("the ID token names no key and the provider has several")]
    AmbiguousKey,
    /// The key set is empty or its key unusable for this algorithm.
    #[error("the provider's key cannot verify this token: {0}")]
    BadKey(String),
    /// The signature does not verify.
    #[error("the ID token's signature is wrong")]
    BadSignature,
    /// `iss` is not the provider's.
    #[error("the ID token's issuer is wrong")]
    WrongIssuer,
    /// `aud` does not hold the client id.
    #[error("the ID token is for another audience")]
    WrongAudience,
    /// `azp` is present and is not the client id.
    #[error("the ID token's authorized party is another client")]
    WrongAuthorizedParty,
    /// Past `exp`, or no `exp`.
    #[error("the ID token has expired or has no expiry")]
    Expired,
    /// No `iat`, or an `iat` in the future.
    #[error("the ID token's issue time is missing or in the future")]
    BadIssuedAt,
    /// No `sub`.
    #[error("the ID token has no subject")]
    MissingSubject,
    /// The nonce does not match the one sent.
    #[error("the ID token's nonce does not match")]
    NonceMismatch,
    /// The key set could not be fetched or read.
    #[error("the provider's key set could not be fetched")]
    Jwks(#[from] HttpError),
}

/// Validates an ID token and returns its claims.
pub async fn validate(
    token: &str,
    jwks: &JwksCache,
    expected: &Expected<'_>,
) -> Result<Map<String, Json>, IdTokenError> {
    let (header, claims) = split(token)?;
    check_claims(&claims, expected)?;
    let algorithm = algorithm(&header)?;
    let kid = header.get("kid").and_then(Json::as_str);
    let key = match jwks.key(kid).await? {
        KeyLookup::Found(jwk) => jwk,
        KeyLookup::UnknownKid(kid) => return Err(IdTokenError::UnknownKey(kid)),
        KeyLookup::Ambiguous => return Err(IdTokenError::AmbiguousKey),
        KeyLookup::Empty => return Err(IdTokenError::BadKey("the key set is empty".into())),
    };
    verify_signature(token, algorithm, &key)?;
    Ok(claims)
}

/// A token's header and claims, decoded but not verified: only to choose how to verify it
/// (Entra's issuer comes from the token's `tid`), never to trust anything in it.
pub fn peek(token: &str) -> Result<Parts, IdTokenError> {
    split(token)
}

/// Checks the claims of OIDC Core §3.1.3.7 other than the signature, in its order.
pub fn check_claims(
    claims: &Map<String, Json>,
    expected: &Expected<'_>,
) -> Result<(), IdTokenError> {
    let issuer = claims.get("iss").and_then(Json::as_str);
    if !issuer.is_some_and(|iss| expected.issuers.iter().any(|e| e == iss)) {
        return Err(IdTokenError::WrongIssuer);
    }
    if !audience_holds(claims.get("aud"), expected.client_id) {
        return Err(IdTokenError::WrongAudience);
    }
    if claims
        .get("azp")
        .is_some_and(|azp| azp.as_str() != Some(expected.client_id))
    {
        return Err(IdTokenError::WrongAuthorizedParty);
    }
    let exp = claims.get("exp").and_then(Json::as_i64);
    if exp.is_none_or(|exp| expected.now >= exp + expected.skew) {
        return Err(IdTokenError::Expired);
    }
    let iat = claims.get("iat").and_then(Json::as_i64);
    if iat.is_none_or(|iat| iat > expected.now + expected.skew) {
        return Err(IdTokenError::BadIssuedAt);
    }
    if claims
        .get("sub")
        .and_then(Json::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(IdTokenError::MissingSubject);
    }
    if let Some(nonce) = expected.nonce {
        let given = claims
            .get("nonce")
            .and_then(Json::as_str)
            .unwrap_or_default();
        if !crate::secret::Secret::new(given).ct_eq(nonce) {
            return Err(IdTokenError::NonceMismatch);
        }
    }
    Ok(())
}

fn audience_holds(aud: Option<&Json>, client_id: &str) -> bool {
    match aud {
        Some(Json::String(a)) => a == client_id,
        Some(Json::Array(list)) => list.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    }
}

/// A token's decoded header and claims.
pub type Parts = (Map<String, Json>, Map<String, Json>);

fn split(token: &str) -> Result<Parts, IdTokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed(
            "expected three dot-separated parts".into(),
        ));
    };
    Ok((
        decode_part(header, "header")?,
        decode_part(claims, "claims")?,
    ))
}

fn decode_part(part: &str, what: &str) -> Result<Map<String, Json>, IdTokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| IdTokenError::Malformed(format!("the {what} is not base64url")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| IdTokenError::Malformed(format!("the {what} is not a JSON object")))
}

fn algorithm(header: &Map<String, Json>) -> Result<Algorithm, IdTokenError> {
    let name = header.get("alg").and_then(Json::as_str).unwrap_or_default();
    if name.eq_ignore_ascii_case("none") {
        return Err(IdTokenError::Unsigned);
    }
    name.parse::<Algorithm>()
        .ok()
        .filter(|a| ALLOWED_ALGORITHMS.contains(a))
        .ok_or_else(|| IdTokenError::AlgorithmNotAllowed(name.to_owned()))
}

fn verify_signature(
    token: &str,
    algorithm: Algorithm,
    jwk: &jsonwebtoken::jwk::Jwk,
) -> Result<(), IdTokenError> {
    if let Some(key_alg) = jwk.common.key_algorithm
        && key_alg.to_string() != format!("{algorithm:?}")
    {
        return Err(IdTokenError::BadKey(format!(
            "the key is for {key_alg}, the token uses {algorithm:?}"
        )));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| IdTokenError::BadKey(e.to_string()))?;
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    match jsonwebtoken::decode::<Json>(token, &key, &validation) {
        Ok(_) => Ok(()),
        Err(e) => match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => Err(IdTokenError::BadSignature),
            other => Err(IdTokenError::BadKey(format!("{other:?}"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Json) -> Map<String, Json> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn expected(issuers: &[String]) -> Expected<'_> {
        Expected {
            issuers,
            client_id: "ferry",
            nonce: Some("n-1"),
            now: 1_000,
            skew: 30,
        }
    }

    fn good() -> Json {
        json!({ "iss": "https://idp", "aud": ["ferry", "other"], "azp": "ferry", "exp": 2_000,
                "iat": 990, "sub": "u1", "nonce": "n-1" })
    }

    #[test]
    fn good_claims_pass() {
        let issuers = vec!["https://idp".to_owned()];
        assert!(check_claims(&claims(good()), &expected(&issuers)).is_ok());
    }

    #[test]
    fn each_bad_claim_fails_with_its_own_error() {
        let issuers = vec!["https://idp".to_owned()];
        type Case = (&'static str, Json, fn(&IdTokenError) -> bool);
        let cases: Vec<Case> = vec![
            ("iss", json!("https://evil"), |e| {
                matches!(e, IdTokenError::WrongIssuer)
            }),
            ("aud", json!("someone"), |e| {
                matches!(e, IdTokenError::WrongAudience)
            }),
            ("azp", json!("other"), |e| {
                matches!(e, IdTokenError::WrongAuthorizedParty)
            }),
            ("exp", json!(900), |e| matches!(e, IdTokenError::Expired)),
            ("iat", json!(5_000), |e| {
                matches!(e, IdTokenError::BadIssuedAt)
            }),
            ("sub", json!(""), |e| {
                matches!(e, IdTokenError::MissingSubject)
            }),
            ("nonce", json!("n-2"), |e| {
                matches!(e, IdTokenError::NonceMismatch)
            }),
        ];
        for (key, value, is_expected) in cases {
            let mut c = claims(good());
            c.insert(key.into(), value);
            let err = check_claims(&c, &expected(&issuers)).unwrap_err();
            assert!(is_expected(&err), "{key}: {err:?}");
        }
        let mut no_iat = claims(good());
        no_iat.remove("iat");
        assert!(matches!(
            check_claims(&no_iat, &expected(&issuers)),
            Err(IdTokenError::BadIssuedAt)
        ));
    }

    #[test]
    fn none_and_hmac_are_refused() {
        let none = claims(json!({ "alg": "none" }));
        assert!(matches!(algorithm(&none), Err(IdTokenError::Unsigned)));
        let hmac = claims(json!({ "alg": "HS256" }));
        assert!(matches!(
            algorithm(&hmac),
            Err(IdTokenError::AlgorithmNotAllowed(_))
        ));
    }
}
