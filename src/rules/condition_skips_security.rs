//! `J507`: a branch whose condition turns an error into a choice, where one choice skips
//! every security step on the way to `complete`.

use super::graph::{Walk, transitions};
use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::StepKind;

/// Tests and filters that turn a missing value into `false` or a default instead of an error.
const SWALLOWS: &[&str] = &[
    "is defined",
    "is undefined",
    "is not defined",
    "default(",
    "| d(",
];

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::ConditionSkipsSecurity,
    summary: "a condition's error would skip a security step instead of failing",
    doc: r#"## What it flags
A `branch` whose conditions hide a missing value (`is defined`, `is undefined`,
`default(...)`, `d(...)`) when one of its outcomes passes a security step on the way to
`complete` and another reaches `complete` without any.

## Why it matters
A condition that reads a missing value fails the session, which is safe. Guarded with
`default` or `is defined`, the same mistake (a renamed claim, a provider that stops
sending an attribute) quietly picks the other outcome, and the security step it guarded
(a second factor, a password check) is skipped for everyone.

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
    on: { found: check, not_found: denied }
  check:
    check_password: { password: input.password }
    on: { success: which, else: denied }
  which:
    branch: { strong: "user.attributes.mfa | default(false)" }
    on: { strong: again, else: done }
  again:
    check_password: { password: input.password }
    on: { success: done, else: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J507

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
    on: { found: check, not_found: denied }
  check:
    check_password: { password: input.password }
    on: { success: which, else: denied }
  which:
    branch: { strong: "user.attributes.mfa" }
    on: { strong: again, else: done }
  again:
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
    for (i, step) in cx.journey.steps.iter().enumerate() {
        let StepKind::Branch { cases } = &step.kind.value else {
            continue;
        };
        let Some((_, guarded)) = cases.iter().find(|(_, e)| swallows(&e.source)) else {
            continue;
        };
        let mut secured = Vec::new();
        let mut open = Vec::new();
        for t in transitions(cx, i) {
            let name = t.edge.outcome.value.as_str();
            if skips_security(cx, t.target) {
                open.push(name);
            } else if reaches_complete(cx, t.target) {
                secured.push(name);
            }
        }
        let (Some(secure), Some(skip)) = (secured.first(), open.first()) else {
            continue;
        };
        let message = format!(
            "if `{}` cannot be read, branch `{}` may take `{skip}` and skip the security \
             steps of `{secure}`",
            guarded.source, step.id.value
        );
        out.push(
            Diagnostic::new(Code::ConditionSkipsSecurity, guarded.span, message)
                .with_label("a missing value becomes a choice here")
                .with_help(
                    "drop the `default`/`is defined` guard so a missing value fails the session",
                ),
        );
    }
}

fn swallows(source: &str) -> bool {
    let compact: String = source.split_whitespace().collect::<Vec<_>>().join(" ");
    SWALLOWS.iter().any(|s| compact.contains(s)) || compact.contains("|d(")
}

/// Whether a path from `from` reaches `complete` without entering a security step.
fn skips_security(cx: &Context<'_>, from: usize) -> bool {
    let steps = &cx.journey.steps;
    if steps[from].kind.value.is_security_step() {
        return false;
    }
    let walk = Walk::new(cx, &[from], |_, t| {
        !steps[t.target].kind.value.is_security_step()
    });
    (0..steps.len()).any(|i| walk.seen[i] && matches!(steps[i].kind.value, StepKind::Complete))
}

fn reaches_complete(cx: &Context<'_>, from: usize) -> bool {
    let steps = &cx.journey.steps;
    let walk = Walk::new(cx, &[from], |_, _| true);
    (0..steps.len()).any(|i| walk.seen[i] && matches!(steps[i].kind.value, StepKind::Complete))
}
