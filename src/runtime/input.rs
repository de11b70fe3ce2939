//! Checking what a user submits to a prompt: exactly the declared fields, strings within
//! their limits, no control characters in text. Secret fields are split off and never stored.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use crate::compile::ir::{Field, FieldKind};
use crate::secret::Secret;

/// Why an answer to a prompt was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The answer is not a JSON object.
    #[error("the input must be an object of fields")]
    NotAnObject,
    /// A field the prompt does not ask for.
    #[error("the prompt does not ask for `{0}`")]
    Unknown(String),
    /// A required field left out or empty.
    #[error("`{0}` is required")]
    Missing(String),
    /// Not a string.
    #[error("`{0}` must be a string")]
    NotAString(String),
    /// Longer than its kind allows.
    #[error("`{field}` is longer than {max} bytes")]
    TooLong {
        /// The field.
        field: String,
        /// The limit.
        max: usize,
    },
    /// A control character in a text field.
    #[error("`{0}` contains a control character")]
    ControlCharacter(String),
    /// The session waits for the legacy provider's callback, not for input.
    #[error("this step waits for the provider's callback at `/v1/callback`")]
    AwaitingCallback,
    /// A registration answer with nothing to do, or with things that do not go together.
    #[error(
        "answer with one of `code`, `password`, `address` or `action`, or with a `method` \
         (and the `password` or `address` it asks for)"
    )]
    RegisterAnswer,
    /// A method or action the prompt does not offer.
    #[error("`{0}` is not offered here")]
    NotOffered(String),
    /// A skip the policy does not allow (any more).
    #[error("this prompt cannot be skipped")]
    SkipRefused,
    /// A resend beyond the step's limit.
    #[error("no more codes can be sent in this session")]
    ResendLimit,
    /// The account or the client is locked out for now.
    #[error("the account is locked for now; try again later")]
    Locked,
    /// A code before one was sent.
    #[error("no code has been sent yet: answer with `address`, or `method` to use the one on file")]
    NoCode,
    /// Too many wrong codes at this prompt.
    #[error("too many wrong codes at this prompt; choose another authenticator")]
    TooManyWrongCodes,
    /// The account's or the client's limit on codes sent is spent for now.
    #[error("too many codes were sent; try again later")]
    SendLimit,
    /// A chosen password the rules refuse.
    #[error("{0}")]
    Password(#[from] crate::authn::choice::Refusal),
    /// An email address or phone number that cannot be one.
    #[error("{0}")]
    Address(&'static str),
    /// A code before an authenticator was chosen.
    #[error("choose an authenticator with `method` before sending a code")]
    NoMethod,
}

/// An answer split into what may be stored and what must not.
#[derive(Debug, Default)]
pub struct Accepted {
    /// Text fields, stored in the session.
    pub public: Map<String, Json>,
    /// Password and code fields, kept only for this request.
    pub secrets: HashMap<String, Secret>,
}

fn max_bytes(kind: FieldKind) -> usize {
    match kind {
        FieldKind::Text | FieldKind::Password => 1024,
        FieldKind::Email => 320,
        FieldKind::Otp => 64,
    }
}

/// Checks an answer against a prompt's fields.
pub fn accept(fields: &[Field], input: &Json) -> Result<Accepted, InputError> {
    let object = input.as_object().ok_or(InputError::NotAnObject)?;
    if let Some(unknown) = object
        .keys()
        .find(|k| !fields.iter().any(|f| &f.name == *k))
    {
        return Err(InputError::Unknown(unknown.clone()));
    }
    let mut accepted = Accepted::default();
    for field in fields {
        let Some(value) = object.get(&field.name).filter(|v| !v.is_null()) else {
            if field.optional {
                continue;
            }
            return Err(InputError::Missing(field.name.clone()));
        };
        let text = value
            .as_str()
            .ok_or_else(|| InputError::NotAString(field.name.clone()))?;
        check_text(field, text)?;
        if field.kind.is_secret() {
            accepted
                .secrets
                .insert(field.name.clone(), Secret::new(text));
        } else {
            accepted
                .public
                .insert(field.name.clone(), Json::String(text.to_owned()));
        }
    }
    Ok(accepted)
}

fn check_text(field: &Field, text: &str) -> Result<(), InputError> {
    if text.is_empty() && !field.optional {
        return Err(InputError::Missing(field.name.clone()));
    }
    let max = max_bytes(field.kind);
    if text.len() > max {
        return Err(InputError::TooLong {
            field: field.name.clone(),
            max,
        });
    }
    if !field.kind.is_secret() && text.chars().any(char::is_control) {
        return Err(InputError::ControlCharacter(field.name.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<Field> {
        vec![
            Field {
                name: "identifier".into(),
                kind: FieldKind::Text,
                label: None,
                optional: false,
            },
            Field {
                name: "password".into(),
                kind: FieldKind::Password,
                label: None,
                optional: false,
            },
        ]
    }

    #[test]
    fn secrets_are_split_off() {
        let accepted =
            accept(&fields(), &json!({"identifier": "alice", "password": "pw"})).unwrap();
        assert_eq!(accepted.public.get("identifier"), Some(&json!("alice")));
        assert!(!accepted.public.contains_key("password"));
        assert_eq!(
            accepted.secrets.get("password").map(Secret::expose),
            Some("pw")
        );
    }

    #[test]
    fn bad_answers_are_refused() {
        let f = fields();
        assert!(matches!(
            accept(&f, &json!([])),
            Err(InputError::NotAnObject)
        ));
        assert!(matches!(
            accept(&f, &json!({"identifier": "a"})),
            Err(InputError::Missing(_))
        ));
        assert!(matches!(
            accept(&f, &json!({"identifier": "a", "password": "p", "x": 1})),
            Err(InputError::Unknown(_))
        ));
        assert!(matches!(
            accept(&f, &json!({"identifier": 1, "password": "p"})),
            Err(InputError::NotAString(_))
        ));
        assert!(matches!(
            accept(&f, &json!({"identifier": "a\nb", "password": "p"})),
            Err(InputError::ControlCharacter(_))
        ));
        let long = "x".repeat(2000);
        assert!(matches!(
            accept(&f, &json!({"identifier": long, "password": "p"})),
            Err(InputError::TooLong { .. })
        ));
    }
}
