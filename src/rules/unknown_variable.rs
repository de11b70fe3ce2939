//! `J202`: an expression reads a variable the journey context never holds.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic, closest};
use crate::expr::{CONTEXT_VARIABLES, Checked};
use crate::syntax::ast::Expr;

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::UnknownVariable,
    summary: "an expression reads a variable the context never holds",
    doc: r#"## What it flags
An expression reading a top-level name other than `input`, `claims`, `user`, `legacy` and `mfa`,
or an `input.<field>` that no prompt of the journey asks for.

## Why it matters
The expression would fail at run time, failing every session that reaches it.

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
    save_user: { identifier: input.username }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J202

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
    for (_, expr, checked) in &cx.exprs {
        let Checked::Ok(paths) = checked else {
            continue;
        };
        for path in paths {
            if let Some(diagnostic) = check_path(cx, expr, path) {
                out.push(diagnostic);
            }
        }
    }
}

fn check_path(cx: &Context<'_>, expr: &Expr, path: &str) -> Option<Diagnostic> {
    let mut parts = path.split('.');
    let root = parts.next().unwrap_or_default();
    if !CONTEXT_VARIABLES.contains(&root) {
        let help = match closest(root, CONTEXT_VARIABLES.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("the context holds {}", CONTEXT_VARIABLES.join(", ")),
        };
        return Some(at(expr, root, format!("unknown variable `{root}`")).with_help(help));
    }
    let field = parts.next()?;
    if root != "input" || cx.fields.contains(field) {
        return None;
    }
    let help = match closest(field, cx.fields.iter().copied()) {
        Some(best) => format!("did you mean `input.{best}`?"),
        None => "add the field to a prompt before this step".to_owned(),
    };
    Some(at(expr, path, format!("no prompt asks for `{field}`")).with_help(help))
}

/// A diagnostic on the first occurrence of `needle` inside the expression, or on all of it.
fn at(expr: &Expr, needle: &str, message: String) -> Diagnostic {
    let span = match expr.source.find(needle) {
        Some(i) if expr.span.len() == expr.source.len() => expr.span.sub(i, i + needle.len()),
        _ => expr.span,
    };
    Diagnostic::new(Code::UnknownVariable, span, message)
}
