//! `J109` and `J110`: acknowledgements written in a journey that name no configurable rule,
//! or that no finding needs.

use super::{Rule, rule};
use crate::diag::{Code, Diagnostic, closest};
use crate::syntax::ast::{Acknowledgement, Journey};

/// `J109`: an acknowledgement names no rule, or a rule that cannot be acknowledged.
pub static BAD: Rule = Rule {
    code: Code::BadAcknowledgement,
    summary: "an acknowledgement names no rule, or one that cannot be acknowledged",
    doc: r#"## What it flags
A key under `acknowledge` that is neither the code nor the name of a rule, or that names a
rule the compiler depends on (unknown steps, unhandled outcomes, syntax): those findings
must be fixed, not accepted.

## Why it matters
An acknowledgement that matches nothing silences nothing, so the author believes a finding
is accepted when it is not; and accepting a broken journey would only move the failure to
run time.

## Example
```yaml
journey: example
acknowledge:
  password-grnat: The legacy server offers no other way to check a password.
start: done
steps:
  done:
    fail: { reason: denied }
```
Expected: J109

## Fixed
```yaml
journey: example
start: done
steps:
  done:
    fail: { reason: denied }
```
"#,
    configurable: false,
    check: None,
};

/// `J110`: an acknowledgement no finding needs.
pub static UNUSED: Rule = Rule {
    code: Code::UnusedAcknowledgement,
    summary: "an acknowledgement no finding needs",
    doc: r#"## What it flags
An entry under `acknowledge` for a rule that reports nothing in this journey.

## Why it matters
A stale acknowledgement would silently accept the next, unrelated finding of that rule.

## Example
```yaml
journey: example
acknowledge:
  password-grant: The legacy server offers no other way to check a password.
start: done
steps:
  done:
    fail: { reason: denied }
```
Expected: J110

## Fixed
```yaml
journey: example
start: done
steps:
  done:
    fail: { reason: denied }
```
"#,
    configurable: true,
    check: None,
};

/// The journey's acknowledgements resolved to codes, and findings for those that name no
/// configurable rule.
pub fn resolve(journey: &Journey) -> (Vec<(Code, &Acknowledgement)>, Vec<Diagnostic>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for ack in &journey.acknowledgements {
        let name = ack.rule.value.as_str();
        match Code::parse(name).map(|c| (c, rule(c).is_some_and(|r| r.configurable))) {
            Some((code, true)) => good.push((code, ack)),
            Some((code, false)) => bad.push(
                Diagnostic::new(
                    Code::BadAcknowledgement,
                    ack.rule.span,
                    format!("`{name}` cannot be acknowledged"),
                )
                .with_help(format!(
                    "{} findings stop the journey from compiling; fix them instead",
                    code.id()
                )),
            ),
            None => bad.push(unknown(ack)),
        }
    }
    (good, bad)
}

fn unknown(ack: &Acknowledgement) -> Diagnostic {
    let name = &ack.rule.value;
    let names = Code::ALL.iter().map(|c| c.name());
    let d = Diagnostic::new(
        Code::BadAcknowledgement,
        ack.rule.span,
        format!("no rule is called `{name}`"),
    );
    match closest(name, names) {
        Some(best) => d.with_help(format!("did you mean `{best}`?")),
        None => d.with_help("name a rule by its code (`J504`) or name (`password-grant`)"),
    }
}

/// The finding for an acknowledgement nothing matched.
pub fn unused(code: Code, ack: &Acknowledgement) -> Diagnostic {
    Diagnostic::new(
        Code::UnusedAcknowledgement,
        ack.rule.span,
        format!("`{}` reports nothing in this journey", ack.rule.value),
    )
    .with_label(format!("acknowledges {} ({})", code.id(), code.name()))
    .with_help("remove the acknowledgement")
}
