//! Rules whose findings the readers themselves report: the YAML syntax, the schema, and the
//! one-kind-per-step requirement.

use super::Rule;
use crate::diag::Code;

/// `J001`: the file is not valid YAML.
pub static YAML_SYNTAX: Rule = Rule {
    code: Code::YamlSyntax,
    summary: "the file is not valid YAML",
    doc: r#"## What it flags
Text the YAML reader cannot read: bad indentation, an unclosed quote or bracket, a key
written twice in one mapping, more than one document in a file.

## Why it matters
Nothing else can be checked until the file reads as YAML.

## Example
```yaml
journey: example
idps:
  legacy: { provider: user_file }
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password }
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
Expected: J001

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
    check: None,
};

/// `J002`: the document does not match `schemas/journey.schema.json`.
pub static SCHEMA: Rule = Rule {
    code: Code::Schema,
    summary: "the journey does not match the journey schema",
    doc: r#"## What it flags
A key the schema does not know, a missing required key, a value of the wrong type, or a
value outside its allowed set, checked against `schemas/journey.schema.json`.

## Why it matters
The schema is the journey language's definition; editors use the same file to complete
and check journeys as they are typed.

## Example
```yaml
journey: example
idps:
  legacy: { provider: user_file }
start: ask
steps:
  ask:
    promt: { fields: { identifier: text, password: password } }
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
Expected: J002

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
    check: None,
};

/// `J003`: a step has no kind, or more than one.
pub static STEP_KIND: Rule = Rule {
    code: Code::StepKind,
    summary: "a step must have exactly one kind",
    doc: r#"## What it flags
A step with none of the kind keys (`prompt`, `find_user`, `check_password`,
`legacy_password`, `save_user`, `branch`, `complete`, `fail`), or with two of them.

## Why it matters
A step does one thing, and its kind decides its outcomes.

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
    on: { else: denied }
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J003

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
    check: None,
};

/// `J004`: the file is not valid journey DSL.
pub static DSL_SYNTAX: Rule = Rule {
    code: Code::DslSyntax,
    summary: "the file is not valid journey DSL",
    doc: r#"## What it flags
Text the DSL reader (`grammar/journey.pest`) cannot read: a missing `->` between an outcome
and its next step, a missing `=` or `:`, an unclosed parenthesis or brace, a setting after
the first `idp` or `step`, a file that does not start with `journey NAME`, or nesting
deeper than any journey needs.

## Why it matters
Nothing else can be checked until the file reads as a journey.

## Example
```journey
journey example
start: ask

idp legacy = user_file

step ask = prompt(fields: { identifier: text, password: password })
  submitted -> check

step check = legacy_password(idp: legacy, username: input.identifier, password: input.password)
  success save
  else -> denied

step save = save_user(identifier: input.identifier)
  created -> done
  updated -> done
  conflict -> denied

step done = complete

step denied = fail(reason: invalid_credentials)
```
Expected: J004

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
    check: None,
};

/// `J005`: a string or a template is not closed on its line.
pub static UNTERMINATED: Rule = Rule {
    code: Code::Unterminated,
    summary: "a string or template is not closed on its line",
    doc: r#"## What it flags
A `"` string or a `{{ ... }}` template in a DSL file whose closing `"` or `}}` is missing
before the end of the line. Strings and templates end on the line they start; write `\n`
for a line break inside a string.

## Why it matters
Everything after an unclosed quote would be read as part of the string, so the reader
stops at the line's end and points at the opening quote.

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

step denied = fail(reason: invalid_credentials, message: "Wrong password.)
```
Expected: J005

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
    check: None,
};

/// `J006`: a key written twice in one set of settings of a DSL file.
pub static DUPLICATE_KEY: Rule = Rule {
    code: Code::DuplicateKey,
    summary: "a key is written twice in one set of settings",
    doc: r#"## What it flags
The same key twice in one `( ... )` or `{ ... }` of a DSL file, in a step's own settings,
or among the journey's settings. (Steps, IDPs, outcomes, fields, attributes and cases
written twice are `J106`; in YAML the reader refuses any key written twice as `J001`.)

## Why it matters
Only one of the two values can be meant; Ferry will not guess which.

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

step save = save_user(identifier: input.identifier, identifier: input.password)
  created -> done
  updated -> done
  conflict -> denied

step done = complete

step denied = fail(reason: invalid_credentials)
```
Expected: J006

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
    check: None,
};
