//! `J320` and `J321`: what a `register_authenticator` step may offer, and how its policy
//! must be written.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{Authenticator, StepKind};

/// `J320`: a register step offers an authenticator Ferry cannot enrol yet, or nothing.
pub static UNAVAILABLE: Rule = Rule {
    code: Code::AuthenticatorUnavailable,
    summary: "a register step offers an authenticator Ferry cannot enrol",
    doc: r#"## What it flags
A `register_authenticator` step whose `offer` names an authenticator this version of Ferry
cannot enrol locally, names one twice, or is empty. Today `totp` and `passkey` can be
enrolled; `password`, `email` and `sms` are part of the language but not yet enrolled by
Ferry.

## Why it matters
The prompt would show a choice that fails when the user takes it.

## Example
```yaml
journey: example
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: check, not_found: check }
  check:
    check_password: { password: input.password }
    on: { success: enrol, else: denied }
  enrol:
    register_authenticator: { offer: [sms], policy: optional }
    on: { registered: done, skipped: done, deferred: done }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J320

## Fixed
```yaml
journey: example
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: check, not_found: check }
  check:
    check_password: { password: input.password }
    on: { success: enrol, else: denied }
  enrol:
    register_authenticator: { offer: [totp], policy: optional }
    on: { registered: done, skipped: done, deferred: done }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
"#,
    check: Some(check),
    configurable: false,
};

/// `J321`: a register step's policy cannot be used (reported by the reader).
pub static POLICY: Rule = Rule {
    code: Code::RegisterPolicy,
    summary: "a register step's deferral is not usable",
    doc: r#"## What it flags
A `deferred` policy with none of `max_skips`, `until` and `every_days`, or an `until`
that is not a real `YYYY-MM-DD` date.

## Why it matters
A deferral without limits is an optional prompt under another name, and a date that does
not exist cannot say when the prompt becomes required.

## Example
```yaml
journey: example
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: check, not_found: check }
  check:
    check_password: { password: input.password }
    on: { success: enrol, else: denied }
  enrol:
    register_authenticator: { offer: [totp], policy: { deferred: { until: 2027-02-30 } } }
    on: { registered: done, skipped: done, deferred: done }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J321

## Fixed
```yaml
journey: example
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: check, not_found: check }
  check:
    check_password: { password: input.password }
    on: { success: enrol, else: denied }
  enrol:
    register_authenticator: { offer: [totp], policy: { deferred: { until: 2027-03-01, max_skips: 3 } } }
    on: { registered: done, skipped: done, deferred: done }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
"#,
    check: None,
    configurable: false,
};

fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for step in &cx.journey.steps {
        let StepKind::RegisterAuthenticator(register) = &step.kind.value else {
            continue;
        };
        if register.offer.is_empty() {
            out.push(
                Diagnostic::new(code(), step.kind.span, "the step offers nothing")
                    .with_help(help()),
            );
        }
        for (i, offer) in register.offer.iter().enumerate() {
            let name = offer.value.name();
            if register.offer[..i].iter().any(|o| o.value == offer.value) {
                out.push(Diagnostic::new(
                    code(),
                    offer.span,
                    format!("`{name}` is offered twice"),
                ));
            } else if !Authenticator::AVAILABLE.contains(&offer.value) {
                let message = format!("Ferry cannot enrol `{name}` authenticators yet");
                out.push(Diagnostic::new(code(), offer.span, message).with_help(help()));
            }
        }
    }
}

fn code() -> Code {
    Code::AuthenticatorUnavailable
}

fn help() -> String {
    let names: Vec<&str> = Authenticator::AVAILABLE.iter().map(|a| a.name()).collect();
    format!("offer one of: {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::syntax::source::SourceFile;

    fn diagnostics(register: &str) -> Vec<(Code, String, String)> {
        let text = format!(
            "journey: j\nstart: ask\nsteps:\n  ask:\n    prompt: {{ fields: {{ identifier: text, password: password }} }}\n    on: {{ submitted: lookup }}\n  lookup:\n    find_user: {{ identifier: input.identifier }}\n    on: {{ found: check, not_found: check }}\n  check:\n    check_password: {{ password: input.password }}\n    on: {{ success: enrol, else: nope }}\n  enrol:\n    register_authenticator: {register}\n    on: {{ registered: done, skipped: done, deferred: done }}\n  done:\n    complete: {{}}\n  nope:\n    fail: {{ reason: invalid_credentials }}\n"
        );
        let file = SourceFile::new("j.yaml", text);
        let found = match crate::compile::compile_source(&file) {
            Ok(compiled) => compiled.warnings,
            Err(errors) => errors,
        };
        found
            .into_iter()
            .map(|d| (d.code, file.slice(d.span).to_owned(), d.message))
            .collect()
    }

    #[test]
    fn totp_compiles_and_unavailable_or_repeated_offers_are_flagged_where_written() {
        assert_eq!(diagnostics("{ offer: [totp], policy: optional }"), vec![]);
        let found = diagnostics("{ offer: [totp, email, sms], policy: required }");
        let codes: Vec<_> = found.iter().map(|(c, s, _)| (*c, s.as_str())).collect();
        assert_eq!(
            codes,
            vec![
                (Code::AuthenticatorUnavailable, "email"),
                (Code::AuthenticatorUnavailable, "sms"),
            ]
        );
        assert_eq!(found[0].2, "Ferry cannot enrol `email` authenticators yet");
        let twice = diagnostics("{ offer: [totp, totp], policy: required }");
        assert_eq!(twice[0].0, Code::Schema, "the schema refuses repeats");
    }

    #[test]
    fn a_date_that_does_not_exist_is_a_policy_error() {
        let found = diagnostics("{ offer: [totp], policy: { deferred: { until: 2027-02-30 } } }");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Code::RegisterPolicy);
        assert_eq!(found[0].1, "2027-02-30");
        let fine = diagnostics("{ offer: [totp], policy: { deferred: { until: 2027-02-28 } } }");
        assert_eq!(fine, vec![]);
    }
}
