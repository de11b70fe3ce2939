//! `J502`: a password, code or other secret written in the journey instead of coming from
//! the user or from a `${NAME}` reference in ferry.yaml.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};
use crate::expr::Checked;
use crate::syntax::ast::{Expr, StepKind};

/// Attribute names whose values are secrets.
const SECRET_WORDS: &[&str] = &[
    "password",
    "secret",
    "token",
    "api_key",
    "private_key",
    "pepper",
];

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::SecretInJourney,
    summary: "a secret is written in the journey instead of referenced",
    doc: r#"## What it flags
A setting that carries a credential (a password or code sent or checked, a password kept)
whose expression contains a quoted string, and a saved attribute named like a secret
(`password`, `secret`, `token`, `api_key`, `private_key`, `pepper`) whose value is a quoted
string.

## Why it matters
Journey files are committed, reviewed and printed; a secret in one is a leaked secret. A
fixed password would also let anyone log in as whoever it belongs to. Credentials come
from what the user types (`input.*`); the deployment's own secrets are `${NAME}` references
in `ferry.yaml`.

## Example
```yaml
journey: example
idps:
  legacy: { provider: user_file }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text } }
    on: { submitted: check }
  check:
    legacy_password: { idp: legacy, username: input.identifier, password: "'Winter2024!'" }
    on: { success: save, else: denied }
  save:
    save_user: { identifier: input.identifier }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J502

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
    configurable: true,
    check: Some(check),
};

fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for step in &cx.journey.steps {
        for expr in step.kind.value.secret_expressions() {
            if has_literal(cx, expr) {
                out.push(written(expr, "a credential is written in the journey"));
            }
        }
        let StepKind::SaveUser(save) = &step.kind.value else {
            continue;
        };
        for (name, expr) in &save.attributes {
            let lower = name.value.to_ascii_lowercase();
            if SECRET_WORDS.iter().any(|w| lower.contains(w)) && has_literal(cx, expr) {
                let message = format!(
                    "attribute `{}` is given a secret written in the journey",
                    name.value
                );
                out.push(written(expr, &message));
            }
        }
    }
}

/// Whether the expression contains a quoted string, or reads no variable at all.
fn has_literal(cx: &Context<'_>, expr: &Expr) -> bool {
    let quoted = expr.source.contains(['"', '\'']);
    let constant = cx.exprs.iter().any(|(_, e, checked)| {
        std::ptr::eq(*e, expr) && matches!(checked, Checked::Ok(paths) if paths.is_empty())
    });
    quoted || constant
}

fn written(expr: &Expr, message: &str) -> Diagnostic {
    Diagnostic::new(Code::SecretInJourney, expr.span, message)
        .with_label("written here")
        .with_help("take credentials from the user (`input.<field>`); never write one in a journey")
}
