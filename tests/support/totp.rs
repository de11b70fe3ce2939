//! RFC 6238 codes (SHA-1, 6 digits, 30 s) for tests, from a base32 secret, written here
//! rather than taken from the code under test.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The code for a Unix time.
pub fn code_at(secret: &str, unix: u64) -> String {
    let key = base32(secret);
    let counter = (unix / 30).to_be_bytes();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key);
    let mac = aws_lc_rs::hmac::sign(&key, &counter);
    let mac = mac.as_ref();
    let offset = usize::from(mac[19] & 0x0f);
    let value = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    format!("{:06}", value % 1_000_000)
}

/// The current code, after waiting for the next step when fewer than 5 s of this one are
/// left (moto accepts only the current step).
pub async fn fresh_code(secret: &str) -> String {
    let now = now();
    if now % 30 > 25 {
        tokio::time::sleep(Duration::from_secs(30 - now % 30)).await;
    }
    code_at(secret, self::now())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn base32(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=' && *c != b' ') {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("base32 character") as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

#[test]
fn rfc_6238_reference_value() {
    // RFC 6238 appendix B, SHA-1, T = 59: 94287082 (8 digits) → 287082.
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // "12345678901234567890"
    assert_eq!(code_at(secret, 59), "287082");
}
