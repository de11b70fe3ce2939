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
steps:
  ask:
    prompt: { fields: { identifier: text }
```

## Fixed
```yaml
steps:
  ask:
    prompt: { fields: { identifier: text } }
```
"#,
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
steps:
  ask:
    promt: { fields: { identifier: text } }
```

## Fixed
```yaml
steps:
  ask:
    prompt: { fields: { identifier: text } }
```
"#,
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
steps:
  lookup:
    on: { found: done }
```

## Fixed
```yaml
steps:
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: done, not_found: done }
```
"#,
    check: None,
};
