//! `J105`: a step no path from `start` reaches.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::UnreachableStep,
    summary: "a step no path from `start` reaches",
    doc: r#"## What it flags
A step that no chain of transitions from the start step leads to.

## Why it matters
It never runs: usually a transition points at the wrong step, or the step is left over
from an edit.

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
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  old:
    fail: { reason: denied }
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J105

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
    let Some(&start) = cx.steps.get(cx.journey.start.value.as_str()) else {
        return;
    };
    let reached = reachable(cx, &[start], &vec![false; cx.journey.steps.len()]);
    let dead: Vec<usize> = (0..reached.len())
        .filter(|&i| !reached[i] && is_first(cx, i))
        .collect();
    // Report each dead region once, at its entry: steps no other dead step leads to first,
    // then, for regions that are pure cycles, their first step in source order.
    let has_dead_parent = |i: usize| {
        dead.iter()
            .any(|&d| d != i && cx.successors(d).any(|n| n == i))
    };
    let roots = dead.iter().copied().filter(|&i| !has_dead_parent(i));
    let mut covered = reached;
    for i in roots.chain(dead.iter().copied()) {
        if covered[i] {
            continue;
        }
        covered = reachable(cx, &[i], &covered);
        out.push(unreachable(&cx.journey.steps[i].id));
    }
}

fn is_first(cx: &Context<'_>, i: usize) -> bool {
    cx.steps.get(cx.journey.steps[i].id.value.as_str()) == Some(&i)
}

fn unreachable(id: &crate::syntax::source::Spanned<String>) -> Diagnostic {
    Diagnostic::new(
        Code::UnreachableStep,
        id.span,
        format!("step `{}` is never reached", id.value),
    )
    .with_help("point a transition at it, or remove it")
}

/// Which steps a walk from `from` reaches, on top of those already marked in `seen`.
pub fn reachable(cx: &Context<'_>, from: &[usize], seen: &[bool]) -> Vec<bool> {
    let mut seen = seen.to_vec();
    let mut stack = from.to_vec();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        stack.extend(cx.successors(i).filter(|&n| !seen[n]));
    }
    seen
}
