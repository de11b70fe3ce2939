//! The settings of a `register_authenticator` step: which authenticators it offers and the
//! policy that decides whether the user may put the prompt off.

use super::source::Spanned;

/// An authenticator a user can register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authenticator {
    /// A WebAuthn passkey.
    Passkey,
    /// An authenticator app (TOTP).
    Totp,
    /// A local password.
    Password,
    /// One-time codes by email.
    Email,
    /// One-time codes by SMS.
    Sms,
}

impl Authenticator {
    /// All authenticators with their names.
    pub const ALL: &'static [(Authenticator, &'static str)] = &[
        (Authenticator::Passkey, "passkey"),
        (Authenticator::Totp, "totp"),
        (Authenticator::Password, "password"),
        (Authenticator::Email, "email"),
        (Authenticator::Sms, "sms"),
    ];

    /// The authenticator's name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("", |(_, n)| n)
    }

    /// Parses a name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == text).map(|(a, _)| *a)
    }
}

/// When the user must register, and how they may put it off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterPolicy {
    /// Now: the prompt cannot be skipped.
    Required,
    /// Every time, and every time skippable.
    Optional,
    /// Skippable within limits; required once they are spent.
    Deferred(Deferral),
}

impl RegisterPolicy {
    /// The policy's name.
    pub fn name(self) -> &'static str {
        match self {
            RegisterPolicy::Required => "required",
            RegisterPolicy::Optional => "optional",
            RegisterPolicy::Deferred(_) => "deferred",
        }
    }
}

/// The limits of a deferred prompt; at least one is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deferral {
    /// How many times the user may skip it.
    pub max_skips: Option<u32>,
    /// Until when (ms since the epoch, UTC midnight of the date written) it may be skipped.
    pub until: Option<i64>,
    /// After a skip, the prompt is not shown again for this many days.
    pub every_days: Option<u32>,
}

/// A register step's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Register {
    /// What it offers, in order.
    pub offer: Vec<Spanned<Authenticator>>,
    /// The policy.
    pub policy: Spanned<RegisterPolicy>,
    /// The name its per-user state is kept under; default: the step's id.
    pub prompt: Option<Spanned<String>>,
    /// A heading.
    pub title: Option<Spanned<String>>,
}

/// Outcomes of a register step.
pub const REGISTER_OUTCOMES: &[&str] = &["registered", "skipped", "deferred"];

/// Milliseconds since the epoch at UTC midnight of a `YYYY-MM-DD` date, if it is one.
pub fn date_ms(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if text.len() != 10 || !(1..=12).contains(&month) || day == 0 || day > days_in(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400_000)
}

fn days_in(year: i64, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_become_utc_midnights() {
        assert_eq!(date_ms("1970-01-01"), Some(0));
        assert_eq!(date_ms("2000-03-01"), Some(951_868_800_000));
        assert_eq!(date_ms("2024-02-29"), Some(1_709_164_800_000));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "tomorrow",
            "2024-04-31",
        ] {
            assert_eq!(date_ms(bad), None, "{bad}");
        }
    }
}
