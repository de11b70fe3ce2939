//! `J301`: a step asks a provider for a method it does not offer, or names an unknown provider.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic, closest};
use crate::providers::{Method, Provider};
use crate::syntax::ast::{CodeChannel, StepKind};

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::UnsupportedMethod,
    summary: "a step asks a provider for a method it does not support",
    doc: r#"## What it flags
A legacy step whose IDP's provider does not offer that method (Google has no password
API, Keycloak no email OTP, Entra ID no authenticator-code API), and an IDP whose
provider Ferry does not know. `legacy_password` uses the password method, `legacy_otp`
the email or SMS method of its `channel`, `legacy_totp` the TOTP method. `ferry
providers` prints which provider supports which method.

## Why it matters
The step could never succeed; the migration would silently fall back to whatever the
failure path does.

## Example
```yaml
journey: example
idps:
  legacy: { provider: google }
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
Expected: J301

## Fixed
```yaml
journey: example
idps:
  legacy: { provider: user_file }
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
    configurable: false,
    check: Some(check),
};

fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for decl in &cx.journey.idps {
        if Provider::parse(&decl.provider.value).is_none() {
            out.push(unknown_provider(&decl.provider.value, decl.provider.span));
        }
    }
    for step in &cx.journey.steps {
        let Some((idp, method)) = method_of(&step.kind.value) else {
            continue;
        };
        let Some(decl) = cx.idps.get(idp.value.as_str()) else {
            continue;
        };
        let Some(provider) = Provider::parse(&decl.provider.value) else {
            continue;
        };
        if !provider.support(method).allowed() {
            out.push(unsupported(provider, method, step.kind.span));
        }
    }
}

/// The IDP a legacy step talks to and the method it uses.
fn method_of(kind: &StepKind) -> Option<(&crate::syntax::source::Spanned<String>, Method)> {
    Some(match kind {
        StepKind::LegacyPassword { idp, .. } => (idp, Method::Password),
        StepKind::LegacyOtp { idp, channel, .. } => (
            idp,
            match channel.value {
                CodeChannel::Email => Method::EmailOtp,
                CodeChannel::Sms => Method::SmsOtp,
            },
        ),
        StepKind::LegacyTotp { idp, .. } => (idp, Method::Totp),
        StepKind::LegacyRedirect { idp } => (idp, Method::Oidc),
        _ => return None,
    })
}

fn unknown_provider(name: &str, span: crate::syntax::source::Span) -> Diagnostic {
    let names = Provider::ALL.iter().map(|p| p.name());
    let diagnostic = Diagnostic::new(
        Code::UnsupportedMethod,
        span,
        format!("unknown provider `{name}`"),
    );
    match closest(name, names.clone()) {
        Some(best) => diagnostic.with_help(format!("did you mean `{best}`?")),
        None => diagnostic.with_help(format!(
            "known providers: {}",
            names.collect::<Vec<_>>().join(", ")
        )),
    }
}

fn unsupported(
    provider: Provider,
    method: Method,
    span: crate::syntax::source::Span,
) -> Diagnostic {
    let offered: Vec<&str> = provider.methods().into_iter().map(Method::name).collect();
    let message = format!(
        "{} does not support the `{}` method",
        provider.name(),
        method.name()
    );
    Diagnostic::new(Code::UnsupportedMethod, span, message)
        .with_label(format!(
            "asks `{}` for `{}`",
            provider.name(),
            method.name()
        ))
        .with_help(format!(
            "{} offers: {}",
            provider.name(),
            offered.join(", ")
        ))
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::syntax::source::SourceFile;

    fn codes_for(provider: &str, step: &str) -> Vec<Code> {
        let text = format!(
            "journey: j\nidps:\n  legacy: {{ provider: {provider} }}\nstart: ask\nsteps:\n  ask:\n    prompt: {{ fields: {{ identifier: text, password: password, code: otp }} }}\n    on: {{ submitted: check }}\n  check:\n    {step}\n    on: {{ else: done }}\n  done:\n    complete: {{}}\n"
        );
        let journey = crate::syntax::parse_yaml(&SourceFile::new("j.yaml", text)).unwrap();
        crate::rules::check(&journey)
            .into_iter()
            .map(|d| d.code)
            .filter(|c| *c == Code::UnsupportedMethod)
            .collect()
    }

    #[test]
    fn code_steps_are_checked_against_the_matrix() {
        let totp = "legacy_totp: { idp: legacy, username: input.identifier, code: input.code }";
        let sms = "legacy_otp: { idp: legacy, channel: sms, username: input.identifier }";
        let email = "legacy_otp: { idp: legacy, channel: email, username: input.identifier }";
        assert_eq!(codes_for("entra", totp), [Code::UnsupportedMethod]);
        assert_eq!(codes_for("keycloak", sms), [Code::UnsupportedMethod]);
        assert_eq!(codes_for("pingfederate", email), [Code::UnsupportedMethod]);
        assert!(codes_for("okta", email).is_empty());
        assert!(codes_for("keycloak", totp).is_empty());
        assert!(codes_for("cognito", sms).is_empty());
    }

    #[test]
    fn redirect_steps_need_a_provider_with_oidc() {
        let redirect = "legacy_redirect: { idp: legacy }";
        assert_eq!(codes_for("user_file", redirect), [Code::UnsupportedMethod]);
        assert_eq!(codes_for("oauth2", redirect), [Code::UnsupportedMethod]);
        for provider in ["oidc", "google", "apple", "meta", "entra", "okta"] {
            assert!(codes_for(provider, redirect).is_empty(), "{provider}");
        }
        let password = "legacy_password: { idp: legacy, username: input.identifier, password: input.password }";
        let text = format!(
            "journey: j\nidps:\n  legacy: {{ provider: apple }}\nstart: check\nsteps:\n  check:\n    {password}\n    on: {{ else: done }}\n  done:\n    complete: {{}}\n"
        );
        let journey = crate::syntax::parse_yaml(&SourceFile::new("j.yaml", text)).unwrap();
        let found = crate::rules::check(&journey);
        let diagnostic = found
            .iter()
            .find(|d| d.code == Code::UnsupportedMethod)
            .expect("J301");
        assert_eq!(
            diagnostic.message,
            "apple does not support the `password` method"
        );
        assert_eq!(diagnostic.help.as_deref(), Some("apple offers: oidc"));
    }
}
