//! `J101`: a transition or `start` names a step that does not exist.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic, closest};
use crate::syntax::source::Spanned;

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::UnknownStep,
    summary: "a transition or `start` names a step that does not exist",
    doc: r#"## What it flags
`start`, or the target of an outcome, naming a step id that no step has.

## Why it matters
The session would have nowhere to go when that outcome happens.

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
    on: { success: save, else: denid }
  save:
    save_user: { identifier: input.identifier }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J101

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
    let journey = cx.journey;
    let targets = std::iter::once(&journey.start).chain(
        journey
            .steps
            .iter()
            .flat_map(|s| s.on.iter().map(|e| &e.target)),
    );
    for target in targets {
        if !cx.steps.contains_key(target.value.as_str()) {
            out.push(unknown(cx, target));
        }
    }
}

fn unknown(cx: &Context<'_>, target: &Spanned<String>) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::UnknownStep,
        target.span,
        format!("unknown step `{}`", target.value),
    )
    .with_label("no step has this id");
    match closest(&target.value, cx.steps.keys().copied()) {
        Some(best) => diagnostic.with_help(format!("did you mean `{best}`?")),
        None => diagnostic
            .with_help("add a step with this id, or point the transition at an existing step"),
    }
}
