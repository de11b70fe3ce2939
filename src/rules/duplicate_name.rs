//! `J106`: a name written twice where names must be unique.

use std::collections::HashMap;

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::StepKind;
use crate::syntax::source::Spanned;

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::DuplicateName,
    summary: "a name is written twice where names must be unique",
    doc: r#"## What it flags
Two steps with one id, two IDPs with one name, two transitions for one outcome, two fields
of one prompt, two attributes of one save-user step, or two cases of one branch with the
same name. (In YAML the reader already refuses a key written twice; the DSL relies on
this rule, so the examples are in the DSL spelling.)

## Why it matters
Only one of the two can be meant; Ferry will not guess which.

## Example
```journey
journey example
start: ask

idp legacy = user_file

step ask = prompt(fields: { identifier: text, password: password })
  submitted -> check

step check = legacy_password(idp: legacy, username: input.identifier, password: input.password)
  success -> save
  else -> denied

step save = save_user(identifier: input.identifier)
  created -> done
  updated -> done
  conflict -> denied

step done = complete

step done = fail(reason: denied)

step denied = fail(reason: invalid_credentials)
```
Expected: J106

## Fixed
```journey
journey example
start: ask

idp legacy = user_file

step ask = prompt(fields: { identifier: text, password: password })
  submitted -> check

step check = legacy_password(idp: legacy, username: input.identifier, password: input.password)
  success -> save
  else -> denied

step save = save_user(identifier: input.identifier)
  created -> done
  updated -> done
  conflict -> denied

step done = complete

step denied = fail(reason: invalid_credentials)
```
"#,
    configurable: false,
    check: Some(check),
};

fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let journey = cx.journey;
    report(out, "step", journey.steps.iter().map(|s| &s.id));
    report(out, "IDP", journey.idps.iter().map(|d| &d.name));
    for step in &journey.steps {
        report(out, "transition", step.on.iter().map(|e| &e.outcome));
        match &step.kind.value {
            StepKind::Prompt(p) => report(out, "field", p.fields.iter().map(|f| &f.name)),
            StepKind::SaveUser(s) => report(out, "attribute", s.attributes.iter().map(|(n, _)| n)),
            StepKind::Branch { cases } => report(out, "case", cases.iter().map(|(n, _)| n)),
            _ => {}
        }
    }
}

fn report<'a>(
    out: &mut Vec<Diagnostic>,
    what: &str,
    names: impl Iterator<Item = &'a Spanned<String>>,
) {
    let mut first: HashMap<&str, &Spanned<String>> = HashMap::new();
    for name in names {
        match first.get(name.value.as_str()) {
            Some(earlier) => out.push(
                Diagnostic::new(
                    Code::DuplicateName,
                    name.span,
                    format!("{what} `{}` is written twice", name.value),
                )
                .with_secondary(earlier.span, "first written here")
                .with_help("rename one of them, or merge the two"),
            ),
            None => {
                first.insert(&name.value, name);
            }
        }
    }
}
