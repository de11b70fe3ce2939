//! `J104`: an outcome the step can have leads nowhere.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::ELSE;

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::UnhandledOutcome,
    summary: "an outcome the step can have leads nowhere",
    doc: r#"## What it flags
A step whose outcomes are not all named under `on`, when there is no `else` to cover the
rest. Every outcome that can happen must lead to a step.

## Why it matters
A session that reaches an unhandled outcome has nowhere to go. Ferry refuses such a
journey rather than guess, because a guess could authenticate someone.

## Example
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
    on: { success: save, invalid_credentials: denied }
  save:
    save_user: { identifier: input.identifier }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J104

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
    for step in &cx.journey.steps {
        if step.on.iter().any(|e| e.outcome.value == ELSE) {
            continue;
        }
        let missing: Vec<&str> = step
            .kind
            .value
            .outcomes()
            .into_iter()
            .filter(|o| !step.on.iter().any(|e| e.outcome.value == *o))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let list = missing
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let message = format!("step `{}` does not handle {list}", step.id.value);
        out.push(
            Diagnostic::new(Code::UnhandledOutcome, step.id.span, message)
                .with_label("outcomes without a transition")
                .with_help(format!("add a transition for {list}, or an `else`")),
        );
    }
}
