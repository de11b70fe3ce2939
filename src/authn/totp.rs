//! TOTP (RFC 6238): secrets, codes, the `otpauth://` URI and its QR code, and verification
//! within a ±1 step window that refuses a step already used. Knows nothing of the store: the
//! caller keeps the last used step and records the new one atomically.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use data_encoding::BASE32_NOPAD;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::secret::Secret;

/// Bytes of a new secret: 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;

/// Reads keys with or without `=` padding (`ferry import` writes them without).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Steps accepted on either side of the current one.
const WINDOW: i64 = 1;

/// The HMAC of a TOTP secret.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Algorithm {
    /// HMAC-SHA-1, what authenticator apps expect.
    #[default]
    #[serde(rename = "SHA1")]
    Sha1,
    /// HMAC-SHA-256.
    #[serde(rename = "SHA256")]
    Sha256,
    /// HMAC-SHA-512.
    #[serde(rename = "SHA512")]
    Sha512,
}

impl Algorithm {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            Algorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::Sha256 => hmac::HMAC_SHA256,
            Algorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }

    /// The name in an `otpauth://` URI.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

/// A TOTP seed with its parameters: what is sealed and stored per user. The layout is the
/// one `ferry import` writes for imported seeds (`key` in base64).
#[derive(Clone, Serialize, Deserialize)]
pub struct Seed {
    /// The HMAC key, base64.
    key: String,
    /// Digits per code (6 or 8).
    #[serde(default = "six")]
    pub digits: u32,
    /// Seconds per step.
    #[serde(default = "thirty")]
    pub period: u64,
    /// The HMAC.
    #[serde(default)]
    pub algorithm: Algorithm,
}

fn six() -> u32 {
    6
}

fn thirty() -> u64 {
    30
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seed")
            .field("key", &"[redacted]")
            .field("digits", &self.digits)
            .field("period", &self.period)
            .field("algorithm", &self.algorithm)
            .finish()
    }
}

/// Why a seed cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The stored text is not a seed.
    #[error("the TOTP seed cannot be read")]
    Unreadable,
    /// Parameters no authenticator uses.
    #[error("the TOTP seed has unusable parameters (digits {digits}, period {period})")]
    Parameters {
        /// Digits.
        digits: u32,
        /// Period.
        period: u64,
    },
}

/// A code matched: the step it was for, to be recorded as used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Matched {
    /// The time step (Unix time / period) of the code.
    pub step: i64,
}

impl Seed {
    /// A new random seed with the given parameters.
    pub fn generate(digits: u32, period: u64, algorithm: Algorithm) -> Self {
        let key: [u8; SECRET_BYTES] = rand::random();
        Self::from_key(&key, digits, period, algorithm)
    }

    /// A seed from a raw HMAC key.
    pub fn from_key(key: &[u8], digits: u32, period: u64, algorithm: Algorithm) -> Self {
        Self {
            key: STANDARD.encode(key),
            digits,
            period,
            algorithm,
        }
    }

    /// Reads a stored seed (JSON) and checks its parameters.
    pub fn parse(text: &str) -> Result<Self, SeedError> {
        let seed: Seed = serde_json::from_str(text).map_err(|_| SeedError::Unreadable)?;
        seed.key_bytes()?;
        if !(6..=8).contains(&seed.digits) || !(1..=300).contains(&seed.period) {
            return Err(SeedError::Parameters {
                digits: seed.digits,
                period: seed.period,
            });
        }
        Ok(seed)
    }

    /// The seed as stored (JSON); secret, so wrapped.
    pub fn to_stored(&self) -> Secret {
        Secret::new(serde_json::to_string(self).unwrap_or_default())
    }

    fn key_bytes(&self) -> Result<Vec<u8>, SeedError> {
        LENIENT
            .decode(&self.key)
            .ok()
            .filter(|k| !k.is_empty())
            .ok_or(SeedError::Unreadable)
    }

    /// The key in base32, as typed into an authenticator app by hand.
    pub fn base32(&self) -> Secret {
        Secret::new(BASE32_NOPAD.encode(&self.key_bytes().unwrap_or_default()))
    }

    /// The time step of a Unix time.
    pub fn step_at(&self, unix_secs: i64) -> i64 {
        unix_secs.div_euclid(self.period.max(1) as i64)
    }

    /// The code for a time step, zero-padded to the seed's digits.
    pub fn code(&self, step: i64) -> String {
        let key = hmac::Key::new(self.algorithm.hmac(), &self.key_bytes().unwrap_or_default());
        let mac = hmac::sign(&key, &step.to_be_bytes());
        let mac = mac.as_ref();
        let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
        let word = mac.get(offset..offset + 4).unwrap_or(&[0; 4]);
        let value = u32::from_be_bytes([word[0], word[1], word[2], word[3]]) & 0x7fff_ffff;
        let modulus = 10u32.pow(self.digits.min(9));
        format!("{:0width$}", value % modulus, width = self.digits as usize)
    }

    /// Checks a code at a Unix time: one step either side, never a step at or before
    /// `last_used` (a replay, or an older code after a newer one).
    pub fn verify(&self, code: &Secret, unix_secs: i64, last_used: Option<i64>) -> Option<Matched> {
        let typed = code.expose().trim();
        if typed.len() != self.digits as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = self.step_at(unix_secs);
        let mut found = None;
        for step in now - WINDOW..=now + WINDOW {
            let same: bool = self.code(step).as_bytes().ct_eq(typed.as_bytes()).into();
            if same && found.is_none() {
                found = Some(step);
            }
        }
        let step = found?;
        match last_used {
            Some(used) if step <= used => None,
            _ => Some(Matched { step }),
        }
    }

    /// The `otpauth://totp/` URI authenticator apps read (Key Uri Format).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Secret {
        let label = format!("{issuer}:{account}");
        let mut url = format!(
            "otpauth://totp/{}?secret={}&issuer={}",
            escape(&label),
            self.base32().expose(),
            escape(issuer)
        );
        if self.algorithm != Algorithm::Sha1 || self.digits != 6 || self.period != 30 {
            url.push_str(&format!(
                "&algorithm={}&digits={}&period={}",
                self.algorithm.name(),
                self.digits,
                self.period
            ));
        }
        Secret::new(url)
    }
}

/// The URI as a QR code in SVG, for the enrolment page.
pub fn qr_svg(uri: &Secret) -> Option<Secret> {
    let code =
        qrcode::QrCode::with_error_correction_level(uri.expose().as_bytes(), qrcode::EcLevel::M)
            .ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Some(Secret::new(svg))
}

/// Percent-encodes a label or parameter for the URI.
fn escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_seed(algorithm: Algorithm) -> Seed {
        let key: &[u8] = match algorithm {
            Algorithm::Sha1 => b"12345678901234567890",
            Algorithm::Sha256 => b"12345678901234567890123456789012",
            Algorithm::Sha512 => {
                b"1234567890123456789012345678901234567890123456789012345678901234"
            }
        };
        Seed::from_key(key, 8, 30, algorithm)
    }

    /// RFC 6238 appendix B: every time and algorithm of the reference table.
    #[test]
    fn rfc_6238_test_vectors() {
        let table: &[(i64, &str, &str, &str)] = &[
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (time, sha1, sha256, sha512) in table {
            for (algorithm, expected) in [
                (Algorithm::Sha1, sha1),
                (Algorithm::Sha256, sha256),
                (Algorithm::Sha512, sha512),
            ] {
                let seed = rfc_seed(algorithm);
                assert_eq!(
                    seed.code(seed.step_at(*time)),
                    *expected,
                    "{algorithm:?} at {time}"
                );
            }
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let seed = Seed::generate(6, 30, Algorithm::Sha1);
        let now = 1_700_000_015;
        let step = seed.step_at(now);
        for (offset, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = Secret::new(seed.code(step + offset));
            assert_eq!(
                seed.verify(&code, now, None).is_some(),
                accepted,
                "step offset {offset}"
            );
        }
    }

    #[test]
    fn a_replayed_code_within_the_window_is_refused() {
        let seed = Seed::generate(6, 30, Algorithm::Sha1);
        let now = 1_700_000_015;
        let code = Secret::new(seed.code(seed.step_at(now)));
        let first = seed.verify(&code, now, None).unwrap();
        assert_eq!(seed.verify(&code, now + 5, Some(first.step)), None);
        let older = Secret::new(seed.code(seed.step_at(now) - 1));
        assert_eq!(seed.verify(&older, now, Some(first.step)), None);
        let next = Secret::new(seed.code(seed.step_at(now) + 1));
        assert!(seed.verify(&next, now + 30, Some(first.step)).is_some());
    }

    #[test]
    fn malformed_codes_are_refused_without_error() {
        let seed = Seed::generate(6, 30, Algorithm::Sha1);
        for code in ["", "12345", "1234567", "abcdef", "12 456"] {
            assert_eq!(seed.verify(&Secret::new(code), 0, None), None, "{code:?}");
        }
    }

    #[test]
    fn the_uri_carries_the_base32_secret_and_issuer() {
        let seed = Seed::from_key(b"12345678901234567890", 6, 30, Algorithm::Sha1);
        let uri = seed.otpauth_uri("Ferry Test", "alice@example.com");
        assert_eq!(
            uri.expose(),
            "otpauth://totp/Ferry%20Test%3Aalice%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Ferry%20Test"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.expose().contains("<svg"), "an SVG image");
    }

    #[test]
    fn stored_seeds_round_trip_and_bad_ones_are_refused() {
        let seed = Seed::generate(8, 60, Algorithm::Sha256);
        let back = Seed::parse(seed.to_stored().expose()).unwrap();
        assert_eq!(back.code(5), seed.code(5));
        assert!(Seed::parse("{\"key\":\"\"}").is_err());
        assert!(Seed::parse("{\"key\":\"MTIz\",\"digits\":4}").is_err());
        assert!(!format!("{seed:?}").contains(&seed.key));
    }
}
