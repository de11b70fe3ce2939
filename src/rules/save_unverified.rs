//! `J501`: a user is saved on a path where no legacy check succeeded.

use super::graph::{self, Walk};
use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::SaveUnverified,
    summary: "the user is saved on a path where the legacy check did not pass",
    doc: r#"## What it flags
A step that records a user as migrated (`save_user`) that some path from the start reaches
without a legacy check answering `success` on the way: the check is skipped, or one of its
failures (directly, or through `else`) leads to the save.

## Why it matters
Saving marks the account migrated and may keep the typed password as its local password:
on such a path anyone could take over an account by typing a wrong password. Ferry refuses
to save at run time without a proof, so the journey is broken either way.

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
    on: { success: save, invalid_credentials: save, else: denied }
  save:
    save_user: { identifier: input.identifier }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J501, J508

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
    on: { success: save, invalid_credentials: denied, else: denied }
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
    let unproven = Walk::new(cx, &[start], |i, t| {
        let kind = &steps[i].kind.value;
        !(kind.is_legacy_check() && t.outcomes.iter().all(|o| kind.proves(o)))
    });
    for (i, step) in steps.iter().enumerate() {
        if !unproven.seen[i] || !step.kind.value.marks_migrated() {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::SaveUnverified,
                step.id.span,
                format!(
                    "step `{}` saves a user no legacy check has verified",
                    step.id.value
                ),
            )
            .with_label("reached without a legacy `success`")
            .with_help(format!(
                "on the path {}, no legacy check succeeded; lead only `success` outcomes here",
                unproven.path_to(cx, i)
            )),
        );
    }
}
