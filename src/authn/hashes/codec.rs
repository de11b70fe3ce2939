//! Byte encodings found in password exports: hex, the base64 variants, bcrypt's own base64
//! alphabet, and plain text. Decoding is lenient about padding; encoding is canonical.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);

const B64: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const B64_URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
const B64_BCRYPT: GeneralPurpose = GeneralPurpose::new(&alphabet::BCRYPT, LENIENT);

/// How bytes are written as text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Standard base64, padded or not; passlib's `.` for `+` is accepted too.
    #[default]
    Base64,
    /// URL-safe base64, padded or not (Firebase's Admin SDK).
    Base64url,
    /// Hexadecimal, either case.
    Hex,
    /// bcrypt's base64 alphabet (`./A-Za-z0-9`).
    Bcrypt,
    /// The text's own UTF-8 bytes (Django's salts are used this way).
    Utf8,
}

impl Encoding {
    /// The bytes the text stands for.
    pub fn decode(self, text: &str) -> Result<Vec<u8>, String> {
        let text = text.trim();
        match self {
            Encoding::Base64 => B64
                .decode(text.replace('.', "+"))
                .map_err(|_| "not valid base64".to_owned()),
            Encoding::Base64url => B64_URL
                .decode(text)
                .map_err(|_| "not valid url-safe base64".to_owned()),
            Encoding::Hex => hex::decode(text).map_err(|_| "not valid hex".to_owned()),
            Encoding::Bcrypt => B64_BCRYPT
                .decode(text)
                .map_err(|_| "not valid bcrypt base64".to_owned()),
            Encoding::Utf8 => Ok(text.as_bytes().to_vec()),
        }
    }

    /// The name used in format descriptions.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Base64url => "base64url",
            Encoding::Hex => "hex",
            Encoding::Bcrypt => "bcrypt",
            Encoding::Utf8 => "utf8",
        }
    }
}

/// Standard base64 without padding, as PHC strings write salts and hashes.
pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// bcrypt's base64 without padding.
pub fn bcrypt_b64(bytes: &[u8]) -> String {
    B64_BCRYPT.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_decodes_its_own_text() {
        assert_eq!(Encoding::Hex.decode("00ff"), Ok(vec![0, 255]));
        assert_eq!(Encoding::Base64.decode("AP8="), Ok(vec![0, 255]));
        assert_eq!(Encoding::Base64.decode("AP8"), Ok(vec![0, 255]));
        assert_eq!(Encoding::Base64url.decode("AP8"), Ok(vec![0, 255]));
        assert_eq!(
            Encoding::Base64.decode("+/8"),
            Encoding::Base64.decode("./8")
        );
        assert_eq!(Encoding::Utf8.decode("ab"), Ok(b"ab".to_vec()));
        assert_eq!(bcrypt_b64(&[0, 255]), ".N6");
        assert_eq!(Encoding::Bcrypt.decode(".N6"), Ok(vec![0, 255]));
        assert!(Encoding::Hex.decode("0g").is_err());
    }
}
