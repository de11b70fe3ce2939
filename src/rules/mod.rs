//! Journey rules: one file per rule, each with its code, documentation and check. The checks
//! run over the AST (whichever spelling it came from), a symbol table and, when `ferry.yaml`
//! is given, what it says about each IDP; the compiler refuses a journey any error-level rule
//! flags, and `ferry lint` reports them all. Never reaches the network, a store or the runtime.
//!
//! Rules about kinds of step ask the AST what a step is (a security step, a legacy check, a
//! wait, a code check) rather than naming kinds, so new kinds are covered once they answer.

mod acknowledgement;
mod authenticators;
mod complete_unverified;
mod condition_skips_security;
mod deployment;
mod duplicate_name;
mod expression_syntax;
mod front_end;
mod graph;
mod identifier_not_normalized;
mod never_migrates;
mod options;
mod password_grant;
mod password_over_http;
mod save_unverified;
mod secret_in_journey;
mod unbounded_code_retry;
mod unhandled_outcome;
mod unknown_idp;
mod unknown_outcome;
mod unknown_step;
mod unknown_variable;
mod unreachable_step;
mod unsupported_method;
mod unverified_email_key;
mod variable_not_available;
mod wait_free_cycle;

pub use deployment::{Deployment, IdpSettings, SettingUrl};
pub use options::{Level, LintSettings, Options, OptionsError};

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
    /// Whether configuration may change its severity and journeys may acknowledge it; the
    /// rules the compiler depends on (names, outcomes, syntax) are fixed.
    pub configurable: bool,
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
    &wait_free_cycle::RULE,
    &never_migrates::RULE,
    &acknowledgement::BAD,
    &acknowledgement::UNUSED,
    &expression_syntax::RULE,
    &unknown_variable::RULE,
    &variable_not_available::RULE,
    &unsupported_method::RULE,
    &unverified_email_key::RULE,
    &authenticators::UNPROVEN,
    &authenticators::POLICY,
    &save_unverified::RULE,
    &secret_in_journey::RULE,
    &password_over_http::RULE,
    &password_grant::RULE,
    &identifier_not_normalized::RULE,
    &unbounded_code_retry::RULE,
    &condition_skips_security::RULE,
    &complete_unverified::RULE,
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
    /// What `ferry.yaml` says about the IDPs, when linting with it.
    pub deployment: Option<&'a Deployment>,
}

impl<'a> Context<'a> {
    /// Builds the symbol tables and checks every expression once.
    pub fn new(journey: &'a Journey, deployment: Option<&'a Deployment>) -> Self {
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
            deployment,
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

/// Runs every rule over a journey with default severities and the journey's own
/// acknowledgements; diagnostics come back in source order.
pub fn check(journey: &Journey) -> Vec<Diagnostic> {
    check_with(journey, &Options::default())
}

/// Runs every rule over a journey, then applies the configured severities and the
/// acknowledgements (the journey's own first, then those in configuration).
pub fn check_with(journey: &Journey, options: &Options) -> Vec<Diagnostic> {
    let context = Context::new(journey, options.deployment.as_ref());
    let mut out = Vec::new();
    for rule in REGISTRY {
        if let Some(check) = rule.check {
            check(&context, &mut out);
        }
    }
    let mut out = options.apply(journey, out);
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
