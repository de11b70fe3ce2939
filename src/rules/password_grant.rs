//! `J504`: a step checks passwords through the OAuth 2.0 password grant.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};
use crate::providers::Provider;

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::PasswordGrant,
    summary: "a step uses the OAuth 2.0 password grant",
    doc: r#"## What it flags
A step that sends a password to a provider whose password check is the OAuth 2.0 resource
owner password credentials grant: `oauth2`, `auth0` (password-realm), `entra` (ROPC),
`keycloak` (direct access grant), `pingfederate`, and `okta` when `ferry.yaml` sets
`password_api: token`.

## Why it matters
The OAuth 2.0 Security Best Current Practice (RFC 9700, §2.4) says the password grant
MUST NOT be used: the client sees the password, the provider's own protections (MFA,
risk checks, consent) are bypassed or break it, and it teaches users to type passwords
into other parties' forms. A just-in-time migration may have no other way to check a
password; then acknowledge the finding in the journey and say why, so reviewers see the
decision:

```yaml
acknowledge:
  password-grant: The legacy server offers no other way to check a password.
```

## Example
```yaml
journey: example
idps:
  legacy: { provider: keycloak }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: check }
  check:
    legacy_password: { idp: legacy, username: input.identifier, password: input.password }
    on: { success: save, else: denied }
  save:
    save_user: { identifier: input.identifier }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J504

## Fixed
```yaml
journey: example
idps:
  legacy: { provider: keycloak }
acknowledge:
  password-grant: Keycloak 21 here has no other headless password check; retired in Q3.
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: check }
  check:
    legacy_password: { idp: legacy, username: input.identifier, password: input.password }
    on: { success: save, else: denied }
  save:
    save_user: { identifier: input.identifier }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
"#,
    configurable: true,
    check: Some(check),
};

fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for step in &cx.journey.steps {
        let kind = &step.kind.value;
        let (Some(idp), Some(_)) = (kind.idp(), kind.sent_password()) else {
            continue;
        };
        let Some(decl) = cx.idps.get(idp.value.as_str()) else {
            continue;
        };
        let Some(provider) = Provider::parse(&decl.provider.value) else {
            continue;
        };
        if !uses_password_grant(cx, &idp.value, provider) {
            continue;
        }
        let message = format!(
            "step `{}` checks the password with the OAuth 2.0 password grant of `{}`",
            step.id.value,
            provider.name()
        );
        out.push(
            Diagnostic::new(Code::PasswordGrant, step.kind.span, message)
                .with_label("the password grant")
                .with_help(
                    "RFC 9700 §2.4: the password grant MUST NOT be used; prefer a redirect \
                     (OIDC), or acknowledge the finding with the reason under `acknowledge`",
                ),
        );
    }
}

fn uses_password_grant(cx: &Context<'_>, idp: &str, provider: Provider) -> bool {
    match provider {
        Provider::OAuth2
        | Provider::Auth0
        | Provider::Entra
        | Provider::Keycloak
        | Provider::PingFederate => true,
        Provider::Okta => cx
            .deployment
            .and_then(|d| d.idps.get(idp))
            .is_some_and(|s| s.password_api.as_deref() == Some("token")),
        _ => false,
    }
}
