//! Completion tokens: JWTs signed with EdDSA (Ed25519) or ES256, and the JWKS that verifies
//! them. The key comes from the configuration or, on embedded defaults, is generated at first
//! start and kept beside the database.

use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::config::{TokenAlgorithm, TokenSettings};
use crate::runtime::SessionUser;

/// Signs completion tokens.
pub struct Signer {
    key: EncodingKey,
    algorithm: Algorithm,
    kid: String,
    public_jwk: Json,
    settings: TokenSettings,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Why no signing key is available.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file cannot be read or written.
    #[error("cannot read or write the signing key `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a PKCS#8 key of the configured algorithm.
    #[error("`{path}` is not a PKCS#8 PEM {algorithm} private key")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// The configured algorithm.
        algorithm: &'static str,
    },
    /// Key generation failed.
    #[error("generating a signing key failed")]
    Generate,
    /// Signing failed.
    #[error("signing the token failed")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: String,
    aud: &'a str,
    iat: i64,
    auth_time: i64,
    exp: i64,
    jti: String,
    amr: &'a [String],
    preferred_username: &'a str,
}

impl Signer {
    /// Reads the configured key file, or the one in `data_dir`, generating that one if absent.
    pub fn load_or_generate(
        settings: &TokenSettings,
        configured: Option<PathBuf>,
        data_dir: &Path,
    ) -> Result<Self, KeyError> {
        let path = configured
            .clone()
            .unwrap_or_else(|| data_dir.join("signing-key.pem"));
        if configured.is_none() && !path.exists() {
            generate(settings.algorithm, &path)?;
        }
        let text = std::fs::read(&path).map_err(|source| KeyError::Io {
            path: path.clone(),
            source,
        })?;
        Self::from_pem(settings, &text).ok_or(KeyError::BadKey {
            path,
            algorithm: alg_name(settings.algorithm),
        })
    }

    /// A signer from a PKCS#8 PEM key; `None` if it is not a key of the configured algorithm.
    pub fn from_pem(settings: &TokenSettings, pem_text: &[u8]) -> Option<Self> {
        let parsed = pem::parse(pem_text).ok()?;
        let der = parsed.contents();
        let (key, algorithm, public_jwk) = match settings.algorithm {
            TokenAlgorithm::EdDsa => {
                let pair = Ed25519KeyPair::from_pkcs8(der).ok()?;
                let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
                (
                    EncodingKey::from_ed_der(der),
                    Algorithm::EdDSA,
                    json!({ "crv": "Ed25519", "kty": "OKP", "x": x }),
                )
            }
            TokenAlgorithm::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).ok()?;
                let point = pair.public_key().as_ref();
                let (x, y) = (
                    URL_SAFE_NO_PAD.encode(&point[1..33]),
                    URL_SAFE_NO_PAD.encode(&point[33..65]),
                );
                (
                    EncodingKey::from_ec_der(der),
                    Algorithm::ES256,
                    json!({ "crv": "P-256", "kty": "EC", "x": x, "y": y }),
                )
            }
        };
        let kid = thumbprint(&public_jwk);
        Some(Self {
            key,
            algorithm,
            kid,
            public_jwk,
            settings: settings.clone(),
        })
    }

    /// Signs a token for a user who completed a journey.
    pub fn sign(
        &self,
        user: &SessionUser,
        amr: &[String],
        now_secs: i64,
    ) -> Result<String, KeyError> {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        let claims = Claims {
            iss: &self.settings.issuer,
            sub: user.id.to_string(),
            aud: &self.settings.audience,
            iat: now_secs,
            auth_time: now_secs,
            exp: now_secs + self.settings.ttl_seconds as i64,
            jti: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
            amr,
            preferred_username: &user.identifier,
        };
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }

    /// The public key set that verifies the tokens.
    pub fn jwks(&self) -> Json {
        let mut jwk = self.public_jwk.clone();
        if let Some(map) = jwk.as_object_mut() {
            map.insert("kid".into(), Json::String(self.kid.clone()));
            map.insert(
                "alg".into(),
                Json::String(alg_name(self.settings.algorithm).into()),
            );
            map.insert("use".into(), Json::String("sig".into()));
        }
        json!({ "keys": [jwk] })
    }

    /// The token lifetime in seconds.
    pub fn ttl_seconds(&self) -> u64 {
        self.settings.ttl_seconds
    }
}

fn alg_name(algorithm: TokenAlgorithm) -> &'static str {
    match algorithm {
        TokenAlgorithm::EdDsa => "EdDSA",
        TokenAlgorithm::Es256 => "ES256",
    }
}

/// The RFC 7638 thumbprint of a public JWK (its members are already the required ones, in
/// lexicographic order, which `serde_json` keeps).
fn thumbprint(public_jwk: &Json) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(public_jwk.to_string().as_bytes()))
}

fn generate(algorithm: TokenAlgorithm, path: &Path) -> Result<(), KeyError> {
    let rng = SystemRandom::new();
    let der = match algorithm {
        TokenAlgorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec(),
        TokenAlgorithm::Es256 => {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec()
        }
    };
    let text = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
    write_private(path, text.as_bytes()).map_err(|source| KeyError::Io {
        path: path.into(),
        source,
    })
}

/// Writes a file only its owner can read, refusing to replace an existing one.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{DecodingKey, Validation};

    fn user() -> SessionUser {
        SessionUser {
            id: uuid::Uuid::now_v7(),
            identifier: "alice".into(),
            migrated: true,
            legacy: None,
            roles: Vec::new(),
            groups: Vec::new(),
            attributes: Default::default(),
            authenticators: Vec::new(),
        }
    }

    fn round_trip(algorithm: TokenAlgorithm) {
        let dir = tempfile::tempdir().unwrap();
        let settings = TokenSettings {
            algorithm,
            ..TokenSettings::default()
        };
        let signer = Signer::load_or_generate(&settings, None, dir.path()).unwrap();
        let again = Signer::load_or_generate(&settings, None, dir.path()).unwrap();
        assert_eq!(signer.kid, again.kid, "the generated key is kept");
        let user = user();
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let token = signer.sign(&user, &["pwd".into()], now).unwrap();
        let set: JwkSet = serde_json::from_value(signer.jwks()).unwrap();
        let jwk = set.find(&signer.kid).unwrap();
        let mut validation = Validation::new(signer.algorithm);
        validation.set_audience(&["ferry"]);
        validation.set_issuer(&["http://127.0.0.1:8080"]);
        let data =
            jsonwebtoken::decode::<Json>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
                .unwrap();
        assert_eq!(data.claims["sub"], user.id.to_string());
        assert_eq!(data.claims["amr"], json!(["pwd"]));
    }

    #[test]
    fn eddsa_tokens_verify_against_the_jwks() {
        round_trip(TokenAlgorithm::EdDsa);
    }

    #[test]
    fn es256_tokens_verify_against_the_jwks() {
        round_trip(TokenAlgorithm::Es256);
    }

    #[test]
    fn a_generated_key_is_private_to_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        Signer::load_or_generate(&TokenSettings::default(), None, dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("signing-key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
