//! `J503`: a step sends a password to an IDP that `ferry.yaml` reaches over plain HTTP on a
//! host other than this machine.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::PasswordOverHttp,
    summary: "a password is sent over plain HTTP to a host that is not this machine",
    doc: r#"## What it flags
A step that sends the user's password to a legacy IDP (`legacy_password`, a `legacy_totp`
with a password) when `ferry.yaml` gives that IDP an `http://` URL whose host is not a
loopback address (`localhost`, `127.0.0.0/8`, `::1`) or is only known at run time. Checked
when `ferry lint` reads a configuration (`--config`, or `./ferry.yaml`).

## Why it matters
Over plain HTTP, anyone on the path reads every migrating user's password (RFC 6749 §1.6
and §3.2 require TLS at the token endpoint). Loopback stays on the machine, so tests may
use it.

## Example
```yaml
journey: example
idps:
  legacy: { provider: oauth2 }
acknowledge:
  password-grant: The legacy server offers no other way to check a password.
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
```yaml ferry.yaml
idps:
  legacy:
    token_endpoint: http://sso.example.com/oauth/token
    client_id: ferry
```
Expected: J503

## Fixed
```yaml
journey: example
idps:
  legacy: { provider: oauth2 }
acknowledge:
  password-grant: The legacy server offers no other way to check a password.
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
```yaml ferry.yaml
idps:
  legacy:
    token_endpoint: https://sso.example.com/oauth/token
    client_id: ferry
```
"#,
    configurable: true,
    check: Some(check),
};

fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let Some(deployment) = cx.deployment else {
        return;
    };
    for step in &cx.journey.steps {
        let kind = &step.kind.value;
        let (Some(idp), Some(_)) = (kind.idp(), kind.sent_password()) else {
            continue;
        };
        let Some(settings) = deployment.idps.get(&idp.value) else {
            continue;
        };
        for url in settings.urls.iter().filter(|u| u.is_plain_http_off_host()) {
            let message = format!(
                "step `{}` sends a password to `{}` over plain HTTP",
                step.id.value, idp.value
            );
            out.push(
                Diagnostic::new(Code::PasswordOverHttp, idp.span, message)
                    .with_label(format!("`{}` is `{}` ({})", url.key, url.value, url.at))
                    .with_help("use an `https://` URL; plain HTTP is accepted only on loopback"),
            );
        }
    }
}
