//! `J203`: an expression reads a variable that some path to its step has not filled.

use std::collections::HashMap;

use super::graph::{self, transitions};
use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};
use crate::expr::Checked;
use crate::syntax::ast::{Expr, Provided};

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::VariableNotAvailable,
    summary: "an expression reads a variable not available at its step",
    doc: r#"## What it flags
An expression reading a value that some path from the start to its step does not provide:
`claims.*` and `legacy.*` before a legacy check succeeded, `user.*` before a user was found
or saved, `mfa.*` before a password step answered `mfa_required`, `input.<field>` before a
prompt asked for the field, and a password or code field after the session waited for the
user again (secret fields are kept only for the request that submitted them).

## Why it matters
Expressions treat a missing value as an error, so every session taking that path fails at
that step.

## Example
```yaml
journey: example
idps:
  legacy: { provider: user_file }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: save }
  check:
    legacy_password: { idp: legacy, username: input.identifier, password: input.password }
    on: { success: save, else: denied }
  save:
    save_user: { identifier: input.identifier, attributes: { email: claims.email } }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J105, J203, J501, J508

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
    save_user: { identifier: input.identifier, attributes: { email: claims.email } }
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

/// The facts a journey's paths can establish, numbered for bit sets.
struct Facts<'a> {
    index: HashMap<(&'a str, &'a str), usize>,
    secret: Vec<bool>,
}

impl<'a> Facts<'a> {
    fn new(cx: &Context<'a>) -> Self {
        let mut facts = Self {
            index: HashMap::new(),
            secret: Vec::new(),
        };
        for root in ["claims", "legacy", "user", "mfa"] {
            facts.add(root, "", false);
        }
        for step in &cx.journey.steps {
            for outcome in step.kind.value.outcomes() {
                for p in step.kind.value.provides(outcome) {
                    if let Provided::Input { name, secret } = p {
                        facts.add("input", name, secret);
                    }
                }
            }
        }
        facts
    }

    fn add(&mut self, root: &'a str, field: &'a str, secret: bool) {
        if !self.index.contains_key(&(root, field)) {
            self.index.insert((root, field), self.secret.len());
            self.secret.push(secret);
        }
    }

    fn of(&self, p: &Provided<'a>) -> Option<usize> {
        match *p {
            Provided::Input { name, .. } => self.index.get(&("input", name)).copied(),
            Provided::Root(root) => self.index.get(&(root, "")).copied(),
        }
    }
}

fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let Some(start) = graph::start(cx) else {
        return;
    };
    let facts = Facts::new(cx);
    let available = available(cx, &facts, start);
    for (step, expr, checked) in &cx.exprs {
        let (Checked::Ok(paths), Some(have)) = (checked, &available[*step]) else {
            continue;
        };
        for path in paths {
            if let Some(d) = missing(cx, &facts, have, *step, expr, path) {
                out.push(d);
            }
        }
    }
}

/// For each step reached from the start, the facts every path to it establishes.
fn available(cx: &Context<'_>, facts: &Facts<'_>, start: usize) -> Vec<Option<Vec<bool>>> {
    let n = cx.journey.steps.len();
    let mut at: Vec<Option<Vec<bool>>> = vec![None; n];
    at[start] = Some(vec![false; facts.secret.len()]);
    let mut work = vec![start];
    while let Some(i) = work.pop() {
        let Some(entry) = at[i].clone() else { continue };
        let kind = &cx.journey.steps[i].kind.value;
        for t in transitions(cx, i) {
            let mut exit = entry.clone();
            if kind.waits() {
                for (f, secret) in facts.secret.iter().enumerate() {
                    exit[f] &= !secret;
                }
            }
            add_common(facts, kind, &t.outcomes, &mut exit);
            let changed = match &mut at[t.target] {
                Some(old) => meet(old, &exit),
                slot @ None => {
                    *slot = Some(exit);
                    true
                }
            };
            if changed {
                work.push(t.target);
            }
        }
    }
    at
}

/// Adds what every one of `outcomes` provides.
fn add_common(
    facts: &Facts<'_>,
    kind: &crate::syntax::ast::StepKind,
    outcomes: &[&str],
    exit: &mut [bool],
) {
    let mut common: Option<Vec<bool>> = None;
    for outcome in outcomes {
        let mut set = vec![false; exit.len()];
        for p in kind.provides(outcome) {
            if let Some(f) = facts.of(&p) {
                set[f] = true;
            }
        }
        match &mut common {
            Some(c) => {
                meet(c, &set);
            }
            None => common = Some(set),
        }
    }
    for (e, c) in exit.iter_mut().zip(common.unwrap_or_default()) {
        *e |= c;
    }
}

/// Intersects `old` with `new`; whether `old` changed.
fn meet(old: &mut [bool], new: &[bool]) -> bool {
    let mut changed = false;
    for (o, n) in old.iter_mut().zip(new) {
        if *o && !*n {
            *o = false;
            changed = true;
        }
    }
    changed
}

fn missing(
    cx: &Context<'_>,
    facts: &Facts<'_>,
    have: &[bool],
    step: usize,
    expr: &Expr,
    path: &str,
) -> Option<Diagnostic> {
    let mut parts = path.split('.');
    let root = parts.next()?;
    let field = parts.next();
    let key = match (root, field) {
        ("input", Some(f)) => ("input", f),
        ("input" | "claims", None) => return None,
        (root, _) => (root, ""),
    };
    let (&(r, f), &fact) = facts.index.get_key_value(&key)?;
    if have[fact] {
        return None;
    }
    let name = if f.is_empty() {
        r.to_owned()
    } else {
        format!("{r}.{f}")
    };
    let step_id = &cx.journey.steps[step].id.value;
    let help = match r {
        "input" if facts.secret[fact] => format!(
            "`{name}` is a secret field, kept only until the session next waits; use it before \
             the wait, or ask for it again"
        ),
        "input" => format!("ask for `{f}` in a prompt on every path to `{step_id}`"),
        "claims" | "legacy" => format!("read `{name}` only after a legacy check's `success`"),
        "user" => format!("read `{name}` only after `find_user` answered `found`, or a save"),
        _ => format!("read `{name}` only after a password step answered `mfa_required`"),
    };
    let span = match expr.source.find(path) {
        Some(i) if expr.span.len() == expr.source.len() => expr.span.sub(i, i + path.len()),
        _ => expr.span,
    };
    Some(
        Diagnostic::new(
            Code::VariableNotAvailable,
            span,
            format!("`{path}` is not available on every path to step `{step_id}`"),
        )
        .with_help(help),
    )
}
