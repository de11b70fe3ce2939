//! `J102`: a step names an IDP the journey does not declare.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic, closest};

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::UnknownIdp,
    summary: "a step names an IDP the journey does not declare",
    doc: r#"## What it flags
A legacy step whose `idp` is not a name under the journey's `idps`.

## Why it matters
Ferry would not know which provider, and so which connection settings, to use.

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
    legacy_password: { idp: legcy, username: input.identifier, password: input.password }
    on: { success: save, else: denied }
  save:
    save_user: { identifier: input.identifier }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J102

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
        let Some(idp) = step.kind.value.idp() else {
            continue;
        };
        if cx.idps.contains_key(idp.value.as_str()) {
            continue;
        }
        let diagnostic = Diagnostic::new(
            Code::UnknownIdp,
            idp.span,
            format!("unknown IDP `{}`", idp.value),
        )
        .with_label("not declared under `idps`");
        out.push(match closest(&idp.value, cx.idps.keys().copied()) {
            Some(best) => diagnostic.with_help(format!("did you mean `{best}`?")),
            None => diagnostic.with_help(format!(
                "declare it: `idps: {{ {}: {{ provider: ... }} }}`",
                idp.value
            )),
        });
    }
}
