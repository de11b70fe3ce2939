//! `J506`: a wrong code leads back to the code check, with nothing to bound the attempts.

use super::graph::{Walk, transitions};
use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};

/// Outcomes by which a provider says its own attempt limit was reached.
const LIMIT_OUTCOMES: &[&str] = &["too_many_attempts", "locked", "rate_limited"];

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::UnboundedCodeRetry,
    summary: "a code step is retried with no attempt limit",
    doc: r#"## What it flags
A step that checks a one-time or authenticator code (`legacy_otp`, `legacy_totp`) from
which a failed check leads, by any path, back to the same step; and, worse, such a loop
taken when the provider reports that its own limit was reached (`too_many_attempts`,
`locked`, `rate_limited`).

## Why it matters
A six-digit code has a million values: with unbounded retries it can be guessed. A
journey has no attempt counter of its own, so a retry loop is bounded only by the session's
request limit and whatever the provider enforces, and looping on the provider's "too many
attempts" ignores even that. Send a failed code to a `fail` step and let the user start a
new login, which the brute-force throttle counts.

## Example
```yaml
journey: example
idps:
  legacy: { provider: okta }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: email } }
    on: { submitted: code }
  code:
    legacy_otp: { idp: legacy, channel: email, username: input.identifier }
    on: { success: save, invalid_code: code, else: denied }
  save:
    save_user: { identifier: input.identifier }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_code }
```
Expected: J506

## Fixed
```yaml
journey: example
idps:
  legacy: { provider: okta }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: email } }
    on: { submitted: code }
  code:
    legacy_otp: { idp: legacy, channel: email, username: input.identifier }
    on: { success: save, invalid_code: denied, else: denied }
  save:
    save_user: { identifier: input.identifier }
    on: { created: done, updated: done, conflict: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_code }
```
"#,
    configurable: true,
    check: Some(check),
};

fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (i, step) in cx.journey.steps.iter().enumerate() {
        let kind = &step.kind.value;
        if !kind.checks_code() {
            continue;
        }
        let mut retried: Vec<&str> = Vec::new();
        for t in transitions(cx, i) {
            let back = Walk::new(cx, &[t.target], |_, _| true).seen[i];
            if back {
                retried.extend(t.outcomes.iter().filter(|o| !kind.proves(o)));
            }
        }
        if retried.is_empty() {
            continue;
        }
        let ignores_limit = retried.iter().any(|o| LIMIT_OUTCOMES.contains(o));
        let message = if ignores_limit {
            format!(
                "step `{}` tries again after the provider's attempt limit",
                step.id.value
            )
        } else {
            format!(
                "step `{}` lets a wrong code be retried without a limit",
                step.id.value
            )
        };
        let list: Vec<String> = retried.iter().map(|o| format!("`{o}`")).collect();
        out.push(
            Diagnostic::new(Code::UnboundedCodeRetry, step.id.span, message)
                .with_label(format!("{} lead back here", list.join(", ")))
                .with_help("lead failed checks to a `fail` step; a new login is throttled"),
        );
    }
}
