//! `J320` and `J321`: a `register_authenticator` step must come after a proven credential,
//! and its policy must be usable.

use super::graph;
use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::StepKind;

/// `J320`: a register step reached on a path where no credential was proven.
pub static UNPROVEN: Rule = Rule {
    code: Code::RegisterUnproven,
    summary: "a register step is reached on a path where no credential was proven",
    doc: r#"## What it flags
A `register_authenticator` step that some path from the start reaches without any security
step (a local or legacy credential check) answering `success` on the way.

## Why it matters
Registering an authenticator for someone who has not proven who they are would let anyone
who types a user name attach their own authenticator to that account. Ferry refuses the
step at run time, so every login that takes such a path fails instead of reaching the
prompt: the prompt can never be shown on that path.

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
    on: { found: check, not_found: enrol }
  check:
    check_password: { password: input.password }
    on: { success: done, else: denied }
  enrol:
    register_authenticator: { offer: [totp], policy: optional }
    on: { registered: denied, skipped: denied, deferred: denied }
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
    configurable: true,
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
    let Some(unproven) = graph::unproven(cx) else {
        return;
    };
    for (i, step) in cx.journey.steps.iter().enumerate() {
        if !unproven.seen[i] || !matches!(step.kind.value, StepKind::RegisterAuthenticator(_)) {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::RegisterUnproven,
                step.id.span,
                format!(
                    "step `{}` registers an authenticator for a user nobody has proven",
                    step.id.value
                ),
            )
            .with_label("reached without a credential check's `success`")
            .with_help(format!(
                "on the path {}, no credential was checked; register only after a check's `success`",
                unproven.path_to(cx, i)
            )),
        );
    }
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
    fn every_authenticator_compiles_and_repeats_are_schema_errors() {
        let all = "{ offer: [passkey, totp, password, email, sms], policy: optional }";
        assert_eq!(diagnostics(all), vec![]);
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
