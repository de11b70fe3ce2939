//! `J108`: a journey that checks credentials with a legacy provider but never records a
//! user as migrated on the way to `complete`.

use super::graph::{self, Walk};
use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::NeverMigrates,
    summary: "the journey never marks the user migrated",
    doc: r#"## What it flags
A journey that checks credentials with a legacy provider, where no path from the start
passes a step that records the user as migrated (`save_user`) and then reaches `complete`.

## Why it matters
Every login would go back to the legacy provider, and the migration would never end: the
legacy provider could never be switched off.

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
    on: { success: save, else: denied }
  save:
    save_user: { identifier: input.identifier }
    on: { else: denied }
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J108

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
    let Some(start) = graph::start(cx) else {
        return;
    };
    let steps = &cx.journey.steps;
    let reached = Walk::new(cx, &[start], |_, _| true).seen;
    let reached_steps = || (0..steps.len()).filter(|&i| reached[i]);
    if !reached_steps().any(|i| steps[i].kind.value.is_legacy_check()) {
        return;
    }
    let savers: Vec<usize> = reached_steps()
        .filter(|&i| steps[i].kind.value.marks_migrated())
        .collect();
    let after = Walk::new(cx, &savers, |_, _| true).seen;
    let completes = (0..steps.len()).any(|i| after[i] && is_complete(cx, i));
    if completes {
        return;
    }
    let message = format!(
        "journey `{}` checks credentials with a legacy provider but never marks a user migrated",
        cx.journey.id.value
    );
    out.push(
        Diagnostic::new(Code::NeverMigrates, cx.journey.id.span, message).with_help(
            "after the legacy check succeeds, lead to a `save_user` step, then to `complete`",
        ),
    );
}

fn is_complete(cx: &Context<'_>, i: usize) -> bool {
    matches!(
        cx.journey.steps[i].kind.value,
        crate::syntax::ast::StepKind::Complete
    )
}
