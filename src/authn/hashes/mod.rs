//! Stored password hashes Ferry can verify, recognised by their own prefix: argon2 (PHC),
//! bcrypt (`$2a$`, `$2b$`, `$2y$`), PBKDF2 (PHC, passlib, Django), scrypt (PHC), Firebase's
//! modified scrypt, and salted MD5/SHA digests (Ferry's PHC form, Django's old form, LDAP
//! `{SSHA}`). [`format`] turns an export's raw fields into one of these strings. Pure and
//! CPU-bound: callers run it off the async threads. Comparisons are constant-time.

pub mod codec;
pub mod format;
mod parsed;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordVerifier};
use ctr::cipher::{KeyIvInit, StreamCipher};
use subtle::ConstantTimeEq;

pub use parsed::{Digest, Family, Parsed, SaltPosition, digest_len, parse};

/// The most PBKDF2 iterations Ferry runs for one check; more is refused as a denial of service.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// The most memory one scrypt check may take, in bytes.
pub const MAX_SCRYPT_BYTES: u64 = 256 * 1024 * 1024;

/// A stored hash that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Not a format Ferry knows.
    #[error("the stored hash is in a format Ferry does not know")]
    Unsupported,
    /// A known format, but broken.
    #[error("the stored {0} hash is malformed")]
    Malformed(&'static str),
    /// Parameters too costly to run (a denial of service, or a typo in an export).
    #[error("the stored {0} hash asks for more work than Ferry allows")]
    TooCostly(&'static str),
    /// Hashing itself failed.
    #[error("hashing failed")]
    Hashing,
}

/// Which family a stored hash belongs to.
pub fn family(stored: &str) -> Result<Family, HashError> {
    parse(stored).map(|p| p.family())
}

/// Checks a password against a stored hash of any known layout.
pub fn verify(password: &[u8], stored: &str) -> Result<bool, HashError> {
    verify_parsed(password, &parse(stored)?)
}

/// Checks a password against a hash already read into its parts.
pub fn verify_parsed(password: &[u8], parsed: &Parsed) -> Result<bool, HashError> {
    match parsed {
        Parsed::Argon2(stored) => verify_argon2(password, stored),
        Parsed::Bcrypt(stored) => {
            bcrypt::verify(password, stored).map_err(|_| HashError::Malformed("bcrypt"))
        }
        Parsed::Pbkdf2 {
            digest,
            iterations,
            salt,
            hash,
        } => pbkdf2(*digest, password, salt, *iterations, hash.len()).map(|out| same(&out, hash)),
        Parsed::Scrypt {
            log_n,
            r,
            p,
            salt,
            hash,
        } => scrypt(password, salt, *log_n, *r, *p, hash.len()).map(|out| same(&out, hash)),
        Parsed::FirebaseScrypt { .. } => firebase(password, parsed),
        Parsed::SaltedDigest {
            digest,
            position,
            salt,
            hash,
        } => {
            let input = match position {
                SaltPosition::Before => [salt.as_slice(), password].concat(),
                SaltPosition::After => [password, salt.as_slice()].concat(),
            };
            Ok(same(&digest_of(*digest, &input), hash))
        }
    }
}

/// Why a stored hash is weak by today's standards, if it is. Thresholds: OWASP's password
/// storage recommendations (PBKDF2 iterations per digest, bcrypt cost 10, scrypt N=2^15,
/// argon2 memory times passes of 7 MiB x 5).
pub fn weakness(parsed: &Parsed) -> Option<String> {
    match parsed {
        Parsed::SaltedDigest { digest, salt, .. } if salt.is_empty() => {
            Some(format!("an unsalted {} digest", digest.name()))
        }
        Parsed::SaltedDigest { digest, .. } => {
            Some(format!("a single salted {} digest", digest.name()))
        }
        Parsed::Pbkdf2 {
            digest, iterations, ..
        } => {
            let floor = match digest {
                Digest::Sha1 | Digest::Md5 => 1_300_000,
                Digest::Sha256 => 600_000,
                Digest::Sha512 => 210_000,
            };
            (*iterations < floor).then(|| {
                format!(
                    "pbkdf2-{} with {iterations} iterations (fewer than {floor})",
                    digest.name()
                )
            })
        }
        Parsed::Bcrypt(stored) => {
            let cost: u32 = stored.get(4..6).and_then(|c| c.parse().ok()).unwrap_or(0);
            (cost < 10).then(|| format!("bcrypt with cost {cost} (below 10)"))
        }
        Parsed::Scrypt { log_n, .. } => {
            (*log_n < 15).then(|| format!("scrypt with N=2^{log_n} (below 2^15)"))
        }
        Parsed::Argon2(stored) => argon2_weakness(stored),
        Parsed::FirebaseScrypt { .. } => None,
    }
}

fn argon2_weakness(stored: &str) -> Option<String> {
    let parsed = PasswordHash::new(stored).ok()?;
    let params = argon2::Params::try_from(&parsed).ok()?;
    let work = u64::from(params.m_cost()) * u64::from(params.t_cost());
    (work < 7168 * 5).then(|| {
        format!(
            "argon2 with m={} KiB and t={} (below 7 MiB x 5 passes)",
            params.m_cost(),
            params.t_cost()
        )
    })
}

fn verify_argon2(password: &[u8], stored: &str) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(stored).map_err(|_| HashError::Malformed("argon2"))?;
    match Argon2::default().verify_password(password, &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(HashError::Malformed("argon2")),
    }
}

fn same(a: &[u8], b: &[u8]) -> bool {
    !b.is_empty() && bool::from(a.ct_eq(b))
}

fn pbkdf2(
    digest: Digest,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Result<Vec<u8>, HashError> {
    if iterations == 0 || len == 0 || len > 1024 {
        return Err(HashError::Malformed("pbkdf2"));
    }
    if iterations > MAX_PBKDF2_ITERATIONS {
        return Err(HashError::TooCostly("pbkdf2"));
    }
    let mut out = vec![0u8; len];
    match digest {
        Digest::Md5 => pbkdf2::pbkdf2_hmac::<md5::Md5>(password, salt, iterations, &mut out),
        Digest::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, &mut out),
        Digest::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out),
        Digest::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, iterations, &mut out),
    }
    Ok(out)
}

fn scrypt(
    password: &[u8],
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
    len: usize,
) -> Result<Vec<u8>, HashError> {
    let bad = || HashError::Malformed("scrypt");
    if len == 0 || len > 1024 || log_n == 0 || log_n >= 32 || p > 16 {
        return Err(bad());
    }
    let bytes = 128u64 * u64::from(r) * (1u64 << log_n) + 128 * u64::from(r) * u64::from(p);
    if bytes > MAX_SCRYPT_BYTES {
        return Err(HashError::TooCostly("scrypt"));
    }
    let params = ::scrypt::Params::new(log_n, r, p).map_err(|_| bad())?;
    let mut out = vec![0u8; len];
    ::scrypt::scrypt(password, salt, &params, &mut out).map_err(|_| bad())?;
    Ok(out)
}

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// Firebase: key = scrypt(password, salt + separator, N=2^mem_cost, r=rounds, p=1, 32 bytes);
/// the stored hash is the signer key encrypted with AES-256-CTR under that key, zero IV.
fn firebase(password: &[u8], parsed: &Parsed) -> Result<bool, HashError> {
    let Parsed::FirebaseScrypt {
        mem_cost,
        rounds,
        salt,
        separator,
        signer_key,
        hash,
    } = parsed
    else {
        return Err(HashError::Malformed("firebase scrypt"));
    };
    let salted = [salt.as_slice(), separator.as_slice()].concat();
    let key = scrypt(password, &salted, *mem_cost, *rounds, 1, 32)?;
    let mut cipher = Aes256Ctr::new_from_slices(&key, &[0u8; 16])
        .map_err(|_| HashError::Malformed("firebase scrypt"))?;
    let mut out = signer_key.clone();
    cipher.apply_keystream(&mut out);
    Ok(same(&out, hash))
}

fn digest_of(digest: Digest, input: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    match digest {
        Digest::Md5 => md5::Md5::digest(input).to_vec(),
        Digest::Sha1 => sha1::Sha1::digest(input).to_vec(),
        Digest::Sha256 => sha2::Sha256::digest(input).to_vec(),
        Digest::Sha512 => sha2::Sha512::digest(input).to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Both made with the Python reference bindings (bcrypt 4 and argon2-cffi) for the
    // password `correct horse battery staple`.
    const PY_BCRYPT_2A: &str = "$2a$04$d8OmwbL7sPGVlv1FGgJoluDJMPtDK7v.zf998yLMqn/Trqwg69V72";
    const PY_ARGON2ID: &str = "$argon2id$v=19$m=19456,t=2,p=1$jVd5KBQ5505gJb8xCvssTg$S4P8Yq1hQaUT1kipXbAUizxMCdSq1+7xDQ1kd5OQsYI";

    #[test]
    fn hashes_from_reference_implementations_verify() {
        for stored in [PY_BCRYPT_2A, PY_ARGON2ID] {
            assert_eq!(
                verify(b"correct horse battery staple", stored),
                Ok(true),
                "{stored}"
            );
            assert_eq!(
                verify(b"correct horse battery stapler", stored),
                Ok(false),
                "{stored}"
            );
        }
    }

    const PW: &[u8] = b"correct horse battery staple";

    /// Every pair below was made with Python 3's hashlib, the `bcrypt` 5 package or
    /// argon2-cffi 25 (low-level API) for the password `correct horse battery staple`,
    /// written in the layout named beside it.
    const REFERENCE_PAIRS: &[(&str, &str)] = &[
        (
            "passlib pbkdf2-sha1",
            "$pbkdf2$1000$ESIzRFVmd4iZqrvM3e7/AA$n80DMIRmnIHWBfWXB9qWhZgKQYg",
        ),
        (
            "passlib pbkdf2-sha256",
            "$pbkdf2-sha256$1000$ESIzRFVmd4iZqrvM3e7/AA$PlWoUitaLL4kBXH3uvs9zrrj8xKvylpN1HkJ9Bxj/Is",
        ),
        (
            "passlib pbkdf2-sha512",
            "$pbkdf2-sha512$1000$ESIzRFVmd4iZqrvM3e7/AA$NeykQU.eoCDOGKCkrMcNl5ISnj3RAXBsitFgXhz.iK5kUNpYU79TKGxFV5B8Rl1bzwD8nl22yCiIBbB.CyxeRA",
        ),
        (
            "django pbkdf2_sha256",
            "pbkdf2_sha256$1000$seasalt42$k6wEQFthxaYy9P3dh7IyJRtHB3Bk7c+KubZ5aFPyrow=",
        ),
        (
            "django sha1",
            "sha1$pepper$e2c3cf2d6535167057d9d2741e581d96ec21b580",
        ),
        ("django md5", "md5$pepper$f8ee72288939630ba446602314f3ce40"),
        (
            "ldap ssha",
            "{SSHA}+0tGNsuDePFzHCTXkDSAYANRXfpsZGFwc2FsdA==",
        ),
        (
            "ldap ssha512",
            "{SSHA512}jhD6V0hxZdeddRINr3/38NwWCkp5qqNhzHy62WelGZ5kqprV+KgkUwqV+dA1xhwumWtq7LWyidvzDSYJIduz7mxkYXBzYWx0",
        ),
        (
            "phc scrypt",
            "$scrypt$ln=10,r=8,p=1$ESIzRFVmd4iZqrvM3e7/AA$wIuwVyAJxVQJzuKFM1CA5CVtROv0IpGaHioJoarNYy4",
        ),
        (
            "bcrypt 2a",
            "$2a$04$nVqOVEDxpf8.AUbUS9hm3elPw7V9OFkC1zQlPEmIfq27jd7k7lndG",
        ),
        (
            "bcrypt 2b",
            "$2b$04$SRFtYvL4ocjAtucLXgWPke25n3FEwigCpUnXORujchcfAyZoHSqf.",
        ),
        (
            "bcrypt 2y",
            "$2y$04$zc5YqxKW3nfj/xmBeH4LauoqSyHuOlu5WtOntkA80TAI0ouJbtqwS",
        ),
        (
            "argon2id v=19",
            "$argon2id$v=19$m=1024,t=2,p=1$ESIzRFVmd4iZqrvM3e7/AA$w4yLW6AcgY3XgO4sv92BQIqPcxj60byJ47HAkPnftaA",
        ),
        (
            "argon2i without version (1.0)",
            "$argon2i$m=1024,t=2,p=1$ESIzRFVmd4iZqrvM3e7/AA$wySzT5yuBOFjEK418bERdBf9eExkLNAh7gZaitXFG9U",
        ),
    ];

    #[test]
    fn reference_pairs_verify_in_every_layout() {
        for (name, stored) in REFERENCE_PAIRS {
            assert_eq!(verify(PW, stored), Ok(true), "{name}");
            assert_eq!(
                verify(b"correct horse battery stapler", stored),
                Ok(false),
                "{name}"
            );
            let canonical = parse(stored).unwrap().canonical();
            assert_eq!(verify(PW, &canonical), Ok(true), "{name} as {canonical}");
        }
    }

    #[test]
    fn rfc_6070_pbkdf2_sha1_vector() {
        // RFC 6070 section 2: P = "password", S = "salt", c = 4096, dkLen = 20.
        let stored = Parsed::Pbkdf2 {
            digest: Digest::Sha1,
            iterations: 4096,
            salt: b"salt".to_vec(),
            hash: hex::decode("4b007901b765489abead49d926f721d065a429c1").unwrap(),
        };
        assert_eq!(verify_parsed(b"password", &stored), Ok(true));
        assert_eq!(verify_parsed(b"passwore", &stored), Ok(false));
    }

    #[test]
    fn rfc_7914_scrypt_vector() {
        // RFC 7914 section 12: P = "password", S = "NaCl", N = 1024, r = 8, p = 16, dkLen = 64.
        let stored = Parsed::Scrypt {
            log_n: 10,
            r: 8,
            p: 16,
            salt: b"NaCl".to_vec(),
            hash: hex::decode(
                "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
                 2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
            )
            .unwrap(),
        };
        assert_eq!(verify_parsed(b"password", &stored), Ok(true));
        assert_eq!(verify_parsed(b"Password", &stored), Ok(false));
    }

    #[test]
    fn firebase_scrypt_documented_example() {
        // The example in the firebase/scrypt repository's README: project parameters
        // (signer key, separator `Bw==`, rounds 8, mem_cost 14), user salt and password
        // `user1password`; its expected output, checked here also with Python's
        // hashlib.scrypt and AES-256-CTR from `cryptography`.
        let format = format::HashFormat {
            algorithm: format::Algorithm::FirebaseScrypt,
            firebase: Some(format::FirebaseParams {
                signer_key: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==".into(),
                salt_separator: "Bw==".into(),
                rounds: 8,
                mem_cost: 14,
            }),
            ..format::HashFormat::default()
        };
        let raw = format::RawHash {
            hash: "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==".into(),
            salt: Some("42xEC+ixf3L2lw==".into()),
            iterations: None,
        };
        let parsed = format.read(&raw).unwrap();
        assert_eq!(verify_parsed(b"user1password", &parsed), Ok(true));
        assert_eq!(verify_parsed(b"user2password", &parsed), Ok(false));
        assert_eq!(verify(b"user1password", &parsed.canonical()), Ok(true));
    }

    #[test]
    fn fields_given_apart_verify_through_descriptions() {
        use format::{Algorithm, HashFormat, RawHash};
        let salt_hex = "112233445566778899aabbccddeeff00";
        let hex_format = |digest| HashFormat {
            algorithm: Algorithm::Pbkdf2,
            digest: Some(digest),
            iterations: Some(1000),
            hash_encoding: codec::Encoding::Hex,
            salt_encoding: codec::Encoding::Hex,
            ..HashFormat::default()
        };
        // hashlib.pbkdf2_hmac(digest, password, salt, 1000), written in hex.
        let pbkdf2 = [
            (Digest::Sha1, "9fcd033084669c81d605f59707da9685980a4188"),
            (
                Digest::Sha256,
                "3e55a8522b5a2cbe240571f7bafb3dcebae3f312afca5a4dd47909f41c63fc8b",
            ),
            (
                Digest::Sha512,
                "35eca4414f9ea020ce18a0a4acc70d9792129e3dd101706c8ad1605e1cfe88ae6450da5853bf53286c4557907c465d5bcf00fc9e5db6c8288805b07e0b2c5e44",
            ),
        ];
        for (digest, hash) in pbkdf2 {
            let raw = RawHash {
                hash: hash.into(),
                salt: Some(salt_hex.into()),
                iterations: None,
            };
            let parsed = hex_format(digest).read(&raw).unwrap();
            assert_eq!(verify(PW, &parsed.canonical()), Ok(true), "{digest:?}");
        }
        // hashlib.new(digest, salt + password) and (password + salt), salt `salt`, hex.
        let digests = [
            (
                Digest::Md5,
                SaltPosition::Before,
                "2338b2cbd799d580b6a70349f87de5ea",
            ),
            (
                Digest::Md5,
                SaltPosition::After,
                "d9961114e3ae769a4d3487b4bb38ae01",
            ),
            (
                Digest::Sha1,
                SaltPosition::Before,
                "46d4784c977433fbad9a03e0f62179e2bf36cc1c",
            ),
            (
                Digest::Sha1,
                SaltPosition::After,
                "dfde8c6c159747135e92f65d8ec4cc24bdaf309b",
            ),
            (
                Digest::Sha256,
                SaltPosition::Before,
                "bfbc54a660e2f325fd7864a95a075b8de00fcf7f08288db3ffd39c8f7fb0825d",
            ),
            (
                Digest::Sha256,
                SaltPosition::After,
                "49e3463a10b285a5ddb3a7e0ed46f69d5171e449e31e2a2f9d58cc5e694461c3",
            ),
            (
                Digest::Sha512,
                SaltPosition::Before,
                "1bad1df881698c4f6a0931f37a5dc4bcb5ff20d530144a1f14ba153c03c020a2a5fbec48265d76cb56f6bedd9297b645d38dff3d054807936c5da4a04a19737c",
            ),
            (
                Digest::Sha512,
                SaltPosition::After,
                "78c394077bd96f405dc290228485293b6d142d0dbeeeb1d30e69b9088cde1e8f140efb2a418c1732e26e857c9a79e7847a56a3dab9ff84dec5d6f8a81cca9549",
            ),
        ];
        for (digest, position, hash) in digests {
            let format = HashFormat {
                algorithm: Algorithm::Digest,
                digest: Some(digest),
                hash_encoding: codec::Encoding::Hex,
                salt_encoding: codec::Encoding::Utf8,
                salt_position: position,
                ..HashFormat::default()
            };
            let raw = RawHash {
                hash: hash.into(),
                salt: Some("salt".into()),
                iterations: None,
            };
            let parsed = format.read(&raw).unwrap();
            assert_eq!(
                verify(PW, &parsed.canonical()),
                Ok(true),
                "{digest:?} {position:?}"
            );
            assert!(weakness(&parsed).is_some());
        }
        // hashlib.md5(password), no salt.
        let unsalted = HashFormat {
            algorithm: Algorithm::Digest,
            digest: Some(Digest::Md5),
            hash_encoding: codec::Encoding::Hex,
            ..HashFormat::default()
        };
        let raw = RawHash {
            hash: "9cc2ae8a1ba7a93da39b46fc1019c481".into(),
            salt: None,
            iterations: None,
        };
        assert_eq!(verify_parsed(PW, &unsalted.read(&raw).unwrap()), Ok(true));
    }

    #[test]
    fn bcrypt_from_separate_salt_hash_and_cost() {
        use format::{Algorithm, HashFormat, RawHash};
        // The `bcrypt 2y` pair above, cut into its salt (22 characters) and hash (31), and
        // the same bytes in hex.
        let apart = [
            (
                codec::Encoding::Bcrypt,
                "zc5YqxKW3nfj/xmBeH4Lau",
                "oqSyHuOlu5WtOntkA80TAI0ouJbtqwS",
            ),
            (
                codec::Encoding::Hex,
                "d5eedab33318e69865073a03809e8d73",
                "aac534270427c3b62f429be60bed9508adaac0b76fb325",
            ),
        ];
        for (encoding, salt, hash) in apart {
            let format = HashFormat {
                algorithm: Algorithm::Bcrypt,
                cost: Some(4),
                hash_encoding: encoding,
                salt_encoding: encoding,
                ..HashFormat::default()
            };
            let raw = RawHash {
                hash: hash.into(),
                salt: Some(salt.into()),
                iterations: None,
            };
            let stored = format.read(&raw).unwrap().canonical();
            assert!(stored.starts_with("$2b$04$"), "{stored}");
            assert_eq!(verify(PW, &stored), Ok(true), "{encoding:?}");
        }
    }

    #[test]
    fn weak_hashes_are_named_and_strong_ones_are_not() {
        let weak = |s: &str| weakness(&parse(s).unwrap());
        assert!(
            weak("md5$pepper$f8ee72288939630ba446602314f3ce40")
                .unwrap()
                .contains("md5")
        );
        assert!(
            weak(REFERENCE_PAIRS[1].1)
                .unwrap()
                .contains("1000 iterations")
        );
        assert!(weak(REFERENCE_PAIRS[9].1).unwrap().contains("cost 4"));
        let strong = "$argon2id$v=19$m=19456,t=2,p=1$jVd5KBQ5505gJb8xCvssTg$S4P8Yq1hQaUT1kipXbAUizxMCdSq1+7xDQ1kd5OQsYI";
        assert_eq!(weak(strong), None);
    }

    #[test]
    fn costly_parameters_are_refused_before_running() {
        let stored = "$pbkdf2-sha256$i=4000000000,l=32$AAAA$AAAA";
        assert_eq!(verify(PW, stored), Err(HashError::TooCostly("pbkdf2")));
        let scrypt = "$scrypt$ln=30,r=8,p=1$AAAA$AAAA";
        assert_eq!(verify(PW, scrypt), Err(HashError::TooCostly("scrypt")));
    }

    #[test]
    fn bcrypt_prefixes_are_recognised() {
        assert_eq!(family("$2y$10$abc"), Ok(Family::Bcrypt));
        assert_eq!(family("$argon2id$v=19$m=1,t=1,p=1$x$y"), Ok(Family::Argon2));
        assert_eq!(
            family("5f4dcc3b5aa765d61d8327deb882cf99"),
            Err(HashError::Unsupported)
        );
        assert_eq!(family("pbkdf2_sha1$1$a$AAAA"), Ok(Family::Pbkdf2));
    }

    #[test]
    fn bcrypt_verifies_right_and_wrong_passwords() {
        let hash = bcrypt::hash_with_salt(b"correct horse", 4, [7u8; 16])
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB);
        assert_eq!(verify(b"correct horse", &hash), Ok(true));
        assert_eq!(verify(b"wrong horse", &hash), Ok(false));
        assert!(verify(b"x", "$2b$04$short").is_err());
    }
}
