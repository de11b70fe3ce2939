//! How a provider's refusal maps to an outcome: a table of rules per IDP, tried in order,
//! then the RFC 6749 §5.2 defaults. Servers that answer otherwise (Glewlwyd refuses a wrong
//! password with an empty 403) get rules in ferry.yaml instead of code.

use serde::Deserialize;

use super::http::Answer;
use super::{LegacyError, Refusal};

/// One rule: every condition given must hold for the outcome to apply.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The HTTP status.
    pub status: Option<u16>,
    /// The `error` member of an RFC 6749 error body.
    pub error: Option<String>,
    /// Whether the body is empty.
    pub empty_body: Option<bool>,
    /// The outcome when the rule matches.
    pub outcome: Refusal,
}

/// An RFC 6749 error body.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    error: Option<String>,
}

/// Classifies a non-success answer: the IDP's rules first, then the defaults; an answer
/// neither understands is unreadable, which is `unavailable`, never success.
pub fn classify(rules: &[Rule], answer: &Answer) -> LegacyError {
    let body: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    let code = body.error.as_deref();
    let empty = answer.body.iter().all(u8::is_ascii_whitespace);
    let matched = rules.iter().find(|r| {
        r.status.is_none_or(|s| s == answer.status)
            && r.error.as_deref().is_none_or(|e| Some(e) == code)
            && r.empty_body.is_none_or(|e| e == empty)
    });
    let refusal = matched
        .map(|r| r.outcome)
        .or_else(|| default_refusal(answer.status, code));
    match refusal {
        Some(refusal) => LegacyError::refused_with(
            refusal,
            Some(code.map_or_else(|| answer.status.to_string(), str::to_owned)),
        )
        .retry_after(answer.retry_after),
        None => LegacyError::Http(answer.unreadable(format!(
            "status {} without a recognised error{}",
            answer.status,
            if empty { " (empty body)" } else { "" }
        ))),
    }
}

/// RFC 6749 §5.2 and HTTP defaults.
pub fn default_refusal(status: u16, code: Option<&str>) -> Option<Refusal> {
    match (status, code) {
        (429, _) | (_, Some("slow_down")) => Some(Refusal::RateLimited),
        (500..=599, _) | (_, Some("temporarily_unavailable")) => Some(Refusal::Unavailable),
        (_, Some("invalid_grant")) => Some(Refusal::InvalidCredentials),
        (
            _,
            Some(
                "invalid_client"
                | "invalid_request"
                | "unauthorized_client"
                | "unsupported_grant_type"
                | "invalid_scope",
            ),
        ) => Some(Refusal::Unavailable),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            retry_after: None,
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
            url: "http://idp/token".into(),
        }
    }

    #[test]
    fn rfc_6749_defaults() {
        let cases = [
            (
                400,
                r#"{"error":"invalid_grant"}"#,
                Refusal::InvalidCredentials,
            ),
            (401, r#"{"error":"invalid_client"}"#, Refusal::Unavailable),
            (
                400,
                r#"{"error":"unsupported_grant_type"}"#,
                Refusal::Unavailable,
            ),
            (429, "", Refusal::RateLimited),
            (503, "", Refusal::Unavailable),
        ];
        for (status, body, expected) in cases {
            assert_eq!(
                classify(&[], &answer(status, body)).refusal(),
                expected,
                "{status} {body}"
            );
        }
    }

    #[test]
    fn an_unrecognised_answer_is_unavailable_not_success() {
        let error = classify(&[], &answer(403, ""));
        assert!(matches!(error, LegacyError::Http(_)));
        assert_eq!(error.refusal(), Refusal::Unavailable);
    }

    #[test]
    fn rules_come_before_defaults() {
        let rules = [Rule {
            status: Some(403),
            error: None,
            empty_body: Some(true),
            outcome: Refusal::InvalidCredentials,
        }];
        assert_eq!(
            classify(&rules, &answer(403, "")).refusal(),
            Refusal::InvalidCredentials
        );
        assert_eq!(
            classify(&rules, &answer(403, "{}")).refusal(),
            Refusal::Unavailable
        );
    }
}
