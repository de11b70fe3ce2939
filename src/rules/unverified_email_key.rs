//! `J310`: after a redirect, a user is keyed on the provider's email while nothing in the
//! journey looks at `email_verified`.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::StepKind;

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::UnverifiedEmailKey,
    summary: "a redirect journey keys users on an email it never checks is verified",
    doc: r#"## What it flags
A journey with a `legacy_redirect` step whose `save_user` identifier reads `claims.email`,
while no expression in the journey mentions `email_verified`.

## Why it matters
Many providers let users set an email they do not own (Entra ID's "nOAuth", Auth0 social
connections, self-service sign-up). A local account keyed on such an address can be taken
over by whoever typed it first. Check `claims.email_verified` (Apple's string booleans are
already read as booleans), or key the account on something the provider vouches for.

## Example
```yaml
journey: example
idps:
  legacy: { provider: google }
start: legacy
steps:
  legacy:
    legacy_redirect: { idp: legacy }
    on: { success: save, else: denied }
  save:
    save_user: { identifier: claims.email }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: denied }
```
Expected: J310

## Fixed
```yaml
journey: example
idps:
  legacy: { provider: google }
start: legacy
steps:
  legacy:
    legacy_redirect: { idp: legacy }
    on: { success: verified, else: denied }
  verified:
    branch: { yes: claims.email_verified is true }
    on: { yes: save, else: denied }
  save:
    save_user: { identifier: claims.email }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: denied }
```
"#,
    configurable: true,
    check: Some(check),
};

fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let steps = &cx.journey.steps;
    let redirects = steps
        .iter()
        .any(|s| matches!(s.kind.value, StepKind::LegacyRedirect { .. }));
    if !redirects {
        return;
    }
    let checks_verified = cx
        .exprs
        .iter()
        .any(|(_, e, _)| e.source.contains("email_verified"));
    if checks_verified {
        return;
    }
    for step in steps {
        if let StepKind::SaveUser(save) = &step.kind.value
            && save.identifier.source.contains("claims.email")
        {
            out.push(
                Diagnostic::new(
                    Code::UnverifiedEmailKey,
                    save.identifier.span,
                    "users are keyed on the provider's email, which is never checked as verified",
                )
                .with_help("branch on `claims.email_verified is true` before this step"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Code;
    use crate::syntax::source::SourceFile;

    fn codes(branch: &str) -> Vec<Code> {
        let text = format!(
            "journey: j\nidps:\n  legacy: {{ provider: google }}\nstart: legacy\nsteps:\n  legacy:\n    legacy_redirect: {{ idp: legacy }}\n    on: {{ success: check, else: done }}\n  check:\n    branch: {{ yes: {branch} }}\n    on: {{ else: save }}\n  save:\n    save_user: {{ identifier: claims.email }}\n    on: {{ else: done }}\n  done:\n    complete: {{}}\n"
        );
        let journey = crate::syntax::parse_yaml(&SourceFile::new("j.yaml", text)).unwrap();
        crate::rules::check(&journey)
            .into_iter()
            .map(|d| d.code)
            .filter(|c| *c == Code::UnverifiedEmailKey)
            .collect()
    }

    #[test]
    fn an_email_key_needs_a_verified_check_somewhere() {
        assert_eq!(codes("claims.name is string"), [Code::UnverifiedEmailKey]);
        assert!(codes("claims.email_verified is true").is_empty());
    }
}
