//! `J508`: `complete` reached on a path where no credential was checked.

use super::graph;
use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::StepKind;

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::CompleteUnverified,
    summary: "`complete` is reached on a path where no credential was checked",
    doc: r#"## What it flags
A `complete` step that some path from the start reaches without any security step (a
local or legacy credential check) answering `success` on the way.

## Why it matters
`complete` signs a token saying who logged in. Ferry refuses to complete a session without
a proven credential at run time, so such a path fails every login that takes it; written
on purpose, it would be an open door.

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
    on: { found: done, not_found: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J508

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
    let Some(unproven) = graph::unproven(cx) else {
        return;
    };
    for (i, step) in cx.journey.steps.iter().enumerate() {
        if !unproven.seen[i] || !matches!(step.kind.value, StepKind::Complete) {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::CompleteUnverified,
                step.id.span,
                format!(
                    "step `{}` completes a login no credential check has proven",
                    step.id.value
                ),
            )
            .with_label("reached without a credential check's `success`")
            .with_help(format!(
                "on the path {}, no credential was checked; check a password or code first",
                unproven.path_to(cx, i)
            )),
        );
    }
}
