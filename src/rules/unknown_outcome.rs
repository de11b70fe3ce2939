//! `J103`: a transition names an outcome the step cannot have.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic, closest};
use crate::syntax::ast::ELSE;

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::UnknownOutcome,
    summary: "a transition names an outcome the step cannot have",
    doc: r#"## What it flags
A key under `on` that is not one of the step kind's outcomes (nor `else`), and any
transition on `complete` and `fail` steps, which end the journey.

## Why it matters
The transition would never be taken, and the outcome it was meant for is probably
unhandled.

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
    on: { success: save, invalid_password: denied, else: denied }
  save:
    save_user: { identifier: input.identifier }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J103

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
        let outcomes = step.kind.value.outcomes();
        for edge in &step.on {
            let name = edge.outcome.value.as_str();
            if outcomes.contains(&name) || (name == ELSE && !outcomes.is_empty()) {
                continue;
            }
            out.push(unknown(step.kind.value.keyword(), &outcomes, edge));
        }
    }
}

fn unknown(kind: &str, outcomes: &[&str], edge: &crate::syntax::ast::Edge) -> Diagnostic {
    let name = &edge.outcome.value;
    if outcomes.is_empty() {
        return Diagnostic::new(
            Code::UnknownOutcome,
            edge.outcome.span,
            format!("a `{kind}` step has no outcomes"),
        )
        .with_help("it ends the journey; remove its transitions");
    }
    let diagnostic = Diagnostic::new(
        Code::UnknownOutcome,
        edge.outcome.span,
        format!("a `{kind}` step has no outcome `{name}`"),
    );
    match closest(name, outcomes.iter().copied()) {
        Some(best) => diagnostic.with_help(format!("did you mean `{best}`?")),
        None => diagnostic.with_help(format!("its outcomes are: {}", outcomes.join(", "))),
    }
}
