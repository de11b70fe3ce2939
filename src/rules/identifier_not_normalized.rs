//! `J505`: identifiers are looked up without the normalisation that makes one person one
//! account.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::StepKind;

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::IdentifierNotNormalized,
    summary: "an identifier is looked up without being normalised",
    doc: r#"## What it flags
A `find_user` step in a journey whose `identifiers` setting turns off trimming or
lower-casing, when the step's expression does not apply the same itself (`| trim`,
`| lower`), and any lookup when Unicode normalisation (`nfc`) is off.

## Why it matters
` Alice@Example.com` and `alice@example.com` would be two accounts: a second migration of
the same person, or a look-alike account that an attacker registers first. Turn a step
off only when the legacy provider really tells such identifiers apart, and acknowledge the
finding with that reason.

## Example
```yaml
journey: example
identifiers: { trim: true, nfc: true, lowercase: false }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: email, password: password } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: check, not_found: denied }
  check:
    check_password: { password: input.password }
    on: { success: done, else: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J505

## Fixed
```yaml
journey: example
identifiers: { trim: true, nfc: true, lowercase: true }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: email, password: password } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: check, not_found: denied }
  check:
    check_password: { password: input.password }
    on: { success: done, else: denied }
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
    let Some(rules) = &cx.journey.identifiers else {
        return;
    };
    let normalization = rules.value;
    for step in &cx.journey.steps {
        let StepKind::FindUser { identifier } = &step.kind.value else {
            continue;
        };
        let mut missing = Vec::new();
        if !normalization.trim && !applies(&identifier.source, "trim") {
            missing.push("trimmed");
        }
        if !normalization.lowercase && !applies(&identifier.source, "lower") {
            missing.push("lower-cased");
        }
        if !normalization.nfc {
            missing.push("NFC-normalised");
        }
        if missing.is_empty() {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::IdentifierNotNormalized,
                identifier.span,
                format!(
                    "the identifier is looked up without being {}",
                    missing.join(" or ")
                ),
            )
            .with_secondary(rules.span, "normalisation turned off here")
            .with_help(
                "leave `identifiers` at its defaults, or acknowledge why the legacy IDP needs it",
            ),
        );
    }
}

/// Whether the expression applies a filter by that name.
fn applies(source: &str, filter: &str) -> bool {
    source
        .split('|')
        .skip(1)
        .any(|part| part.trim_start().starts_with(filter))
}
