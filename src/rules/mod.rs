//! Journey rules: one file per rule, each with its code, documentation and check. The checks
//! run over the AST and a symbol table; the compiler refuses a journey any error-level rule
//! flags, and `ferry lint` reports them all. Never reaches the network, a store or the runtime.

mod duplicate_name;
mod expression_syntax;
mod front_end;
mod unhandled_outcome;
mod unknown_idp;
mod unknown_outcome;
mod unknown_step;
mod unknown_variable;
mod unreachable_step;
mod unsupported_method;

use std::collections::{BTreeSet, HashMap};

use crate::diag::{Code, Diagnostic};
use crate::expr::{self, Checked};
use crate::syntax::ast::{Expr, IdpDecl, Journey};

/// A rule: its code, what it is about, its documentation, and its check if it has one (rules
/// for the front ends' own errors are reported by the readers).
pub struct Rule {
    /// The code it reports.
    pub code: Code,
    /// One line: what it flags.
    pub summary: &'static str,
    /// Markdown: what it flags, why it matters, a failing example, the fixed form.
    pub doc: &'static str,
    /// The check, run over every journey.
    pub check: Option<fn(&Context<'_>, &mut Vec<Diagnostic>)>,
}

/// Every rule, in code order.
pub static REGISTRY: &[&Rule] = &[
    &front_end::YAML_SYNTAX,
    &front_end::SCHEMA,
    &front_end::STEP_KIND,
    &front_end::DSL_SYNTAX,
    &front_end::UNTERMINATED,
    &front_end::DUPLICATE_KEY,
    &unknown_step::RULE,
    &unknown_idp::RULE,
    &unknown_outcome::RULE,
    &unhandled_outcome::RULE,
    &unreachable_step::RULE,
    &duplicate_name::RULE,
    &expression_syntax::RULE,
    &unknown_variable::RULE,
    &unsupported_method::RULE,
];

/// The rule that reports a code.
pub fn rule(code: Code) -> Option<&'static Rule> {
    REGISTRY.iter().copied().find(|r| r.code == code)
}

/// What the rules see: the journey and its symbol tables, built once.
pub struct Context<'a> {
    /// The journey as written.
    pub journey: &'a Journey,
    /// Step ids to their index in `journey.steps` (the first, if written twice).
    pub steps: HashMap<&'a str, usize>,
    /// IDP names to their declaration.
    pub idps: HashMap<&'a str, &'a IdpDecl>,
    /// Every prompt field name in the journey.
    pub fields: BTreeSet<&'a str>,
    /// Every expression, with the index of its step and what checking it found.
    pub exprs: Vec<(usize, &'a Expr, Checked)>,
}

impl<'a> Context<'a> {
    /// Builds the symbol tables and checks every expression once.
    pub fn new(journey: &'a Journey) -> Self {
        let mut steps = HashMap::new();
        for (i, step) in journey.steps.iter().enumerate() {
            steps.entry(step.id.value.as_str()).or_insert(i);
        }
        let idps = journey
            .idps
            .iter()
            .map(|d| (d.name.value.as_str(), d))
            .collect();
        let fields = journey
            .steps
            .iter()
            .filter_map(|s| match &s.kind.value {
                crate::syntax::ast::StepKind::Prompt(p) => Some(p.fields.iter()),
                _ => None,
            })
            .flatten()
            .map(|f| f.name.value.as_str())
            .collect();
        let env = expr::environment();
        let exprs = journey
            .steps
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.kind.value.expressions().into_iter().map(move |e| (i, e)))
            .map(|(i, e)| (i, e, expr::check(&env, &e.source)))
            .collect();
        Self {
            journey,
            steps,
            idps,
            fields,
            exprs,
        }
    }

    /// Indices of the steps each step's edges lead to, skipping unknown targets.
    pub fn successors(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        self.journey.steps[index]
            .on
            .iter()
            .filter_map(|e| self.steps.get(e.target.value.as_str()).copied())
    }
}

/// Runs every rule over a journey; diagnostics come back in source order.
pub fn check(journey: &Journey) -> Vec<Diagnostic> {
    let context = Context::new(journey);
    let mut out = Vec::new();
    for rule in REGISTRY {
        if let Some(check) = rule.check {
            check(&context, &mut out);
        }
    }
    out.sort_by_key(|d| (d.span.start, d.code));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_exactly_one_rule() {
        for code in Code::ALL {
            let count = REGISTRY.iter().filter(|r| r.code == *code).count();
            assert_eq!(count, 1, "{}", code.id());
        }
    }

    #[test]
    fn every_rule_documents_all_sections() {
        for rule in REGISTRY {
            for section in [
                "## What it flags",
                "## Why it matters",
                "## Example",
                "## Fixed",
            ] {
                assert!(
                    rule.doc.contains(section),
                    "{} lacks {section}",
                    rule.code.id()
                );
            }
        }
    }
}
