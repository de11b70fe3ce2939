//! `J107`: a loop of steps none of which waits for the user.

use super::{Context, Rule};
use crate::diag::{Code, Diagnostic};

/// The rule.
pub static RULE: Rule = Rule {
    code: Code::WaitFreeCycle,
    summary: "a loop of steps that never waits for the user",
    doc: r#"## What it flags
Steps that lead back to themselves without passing a step that waits for the user (a
prompt, or a step that waits for a code or a redirect).

## Why it matters
Nothing changes between two turns of such a loop, so it would run until Ferry's bound on
steps per request stops it and fails the session: a login that can never succeed, and
wasted calls to the legacy provider on every turn.

## Example
```yaml
journey: example
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: check, not_found: lookup }
  check:
    check_password: { password: input.password }
    on: { success: done, else: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
Expected: J107

## Fixed
```yaml
journey: example
start: ask
steps:
  ask:
    prompt: { fields: { identifier: text, password: password } }
    on: { submitted: lookup }
  lookup:
    find_user: { identifier: input.identifier }
    on: { found: check, not_found: ask }
  check:
    check_password: { password: input.password }
    on: { success: done, else: denied }
  done:
    complete: {}
  denied:
    fail: { reason: invalid_credentials }
```
"#,
    configurable: true,
    check: Some(check),
};

fn check(cx: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for component in loops(cx) {
        let first = component[0];
        let step = &cx.journey.steps[first];
        let names: Vec<String> = component
            .iter()
            .map(|&i| format!("`{}`", cx.journey.steps[i].id.value))
            .collect();
        let mut d = Diagnostic::new(
            Code::WaitFreeCycle,
            step.id.span,
            format!(
                "the loop through {} never waits for the user",
                names.join(", ")
            ),
        )
        .with_label("the loop starts here")
        .with_help("lead one outcome of the loop to a prompt, or out of the loop to a failure");
        for &i in &component[1..] {
            d = d.with_secondary(cx.journey.steps[i].id.span, "part of the loop");
        }
        out.push(d);
    }
}

/// Strongly connected groups of non-waiting steps that form a loop, each sorted by source
/// order (Tarjan's algorithm, iterative).
fn loops(cx: &Context<'_>) -> Vec<Vec<usize>> {
    let steps = &cx.journey.steps;
    let n = steps.len();
    let waits = |i: usize| steps[i].kind.value.waits();
    let succ: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            if waits(i) {
                return Vec::new();
            }
            cx.successors(i).filter(|&j| !waits(j)).collect()
        })
        .collect();
    let mut tarjan = Tarjan {
        index: vec![usize::MAX; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for root in 0..n {
        if tarjan.index[root] == usize::MAX {
            tarjan.visit(root, &succ);
        }
    }
    let mut found: Vec<Vec<usize>> = tarjan
        .found
        .into_iter()
        .filter(|c| c.len() > 1 || succ[c[0]].contains(&c[0]))
        .map(|mut c| {
            c.sort_unstable();
            c
        })
        .collect();
    found.sort();
    found
}

struct Tarjan {
    index: Vec<usize>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next: usize,
    found: Vec<Vec<usize>>,
}

impl Tarjan {
    fn visit(&mut self, root: usize, succ: &[Vec<usize>]) {
        let mut frames: Vec<(usize, usize)> = vec![(root, 0)];
        self.open(root);
        while let Some(&mut (v, ref mut child)) = frames.last_mut() {
            if let Some(&w) = succ[v].get(*child) {
                *child += 1;
                if self.index[w] == usize::MAX {
                    self.open(w);
                    frames.push((w, 0));
                } else if self.on_stack[w] {
                    self.low[v] = self.low[v].min(self.index[w]);
                }
                continue;
            }
            frames.pop();
            if let Some(&(parent, _)) = frames.last() {
                self.low[parent] = self.low[parent].min(self.low[v]);
            }
            if self.low[v] == self.index[v] {
                self.close(v);
            }
        }
    }

    fn open(&mut self, v: usize) {
        self.index[v] = self.next;
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
    }

    fn close(&mut self, v: usize) {
        let mut component = Vec::new();
        while let Some(w) = self.stack.pop() {
            self.on_stack[w] = false;
            component.push(w);
            if w == v {
                break;
            }
        }
        self.found.push(component);
    }
}
