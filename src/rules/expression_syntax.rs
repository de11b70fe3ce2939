//! `J201`: an expression MiniJinja cannot compile.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};
use crate::expr::Checked;

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::ExpressionSyntax,
    summary: "an expression does not compile",
    doc: r#"## What it flags
A setting or condition whose MiniJinja expression has a syntax error.

## Why it matters
Expressions are compiled when the journey loads; one that does not compile would fail
every session that reaches it.

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
    save_user: { identifier: input.identifier, attributes: { email: "claims.email |" } }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J201

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
        let Checked::Invalid(message, range) = checked else {
            continue;
        };
        let span = match range {
            Some(r) if expr.span.len() == expr.source.len() => {
                expr.span.sub(r.start, r.end.max(r.start + 1))
            }
            _ => expr.span,
        };
        out.push(
            Diagnostic::new(
                Code::ExpressionSyntax,
                span,
                format!("expression does not compile: {message}"),
            )
            .with_help("expressions use MiniJinja syntax, such as `claims.email | lower`"),
        );
    }
}
