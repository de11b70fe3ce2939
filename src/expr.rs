//! Journey expressions: MiniJinja expressions compiled once at load, evaluated in a sandbox
//! (no loader, no file or network access, bounded fuel, undefined values are errors).

use std::collections::BTreeSet;

use minijinja::{Environment, Expression, UndefinedBehavior, Value};

/// The variables a journey expression may read at the top level.
pub const CONTEXT_VARIABLES: &[&str] = &["input", "claims", "user", "legacy", "mfa"];

/// Evaluation steps one expression may take before it is stopped.
const FUEL: u64 = 20_000;

/// The sandboxed environment every journey expression runs in.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(64);
    env.set_debug(false);
    // `debug()` would print the whole context, secrets included.
    env.remove_global("debug");
    env
}

/// What checking one expression's text found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// It compiles; these are the variable paths it reads (`input.identifier`, `claims`, …).
    Ok(BTreeSet<String>),
    /// It does not compile: the message and the byte range within the expression, if known.
    Invalid(String, Option<std::ops::Range<usize>>),
}

/// Compiles an expression's text without keeping it, to check it and list what it reads.
pub fn check(env: &Environment<'static>, source: &str) -> Checked {
    let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    match env.compile_expression(source) {
        Ok(expr) => Checked::Ok(
            expr.undeclared_variables(true)
                .into_iter()
                .filter(|v| !globals.contains(v.split('.').next().unwrap_or_default()))
                .collect(),
        ),
        Err(e) => Checked::Invalid(message_of(&e), e.range()),
    }
}

fn message_of(e: &minijinja::Error) -> String {
    e.detail()
        .map_or_else(|| e.kind().to_string(), str::to_owned)
}

self_cell::self_cell!(
    struct Cell {
        owner: Environment<'static>,
        #[covariant]
        dependent: Compiled,
    }
);

type Compiled<'env> = Vec<Expression<'env, 'static>>;

/// A journey's expressions, compiled once, addressed by index.
pub struct ExprSet(Cell);

/// Why an expression could not be evaluated.
#[derive(Debug, thiserror::Error)]
#[error("expression `{source_text}` failed: {reason}")]
pub struct EvalError {
    /// The expression's text.
    pub source_text: String,
    /// What MiniJinja reported.
    pub reason: String,
}

impl ExprSet {
    /// Compiles every source; fails on the first that does not compile.
    pub fn compile(sources: &[String]) -> Result<Self, EvalError> {
        let cell = Cell::try_new(environment(), |env| {
            sources
                .iter()
                .map(|s| {
                    env.compile_expression_owned(s.clone())
                        .map_err(|e| EvalError {
                            source_text: s.clone(),
                            reason: message_of(&e),
                        })
                })
                .collect::<Result<Compiled<'_>, _>>()
        })?;
        Ok(Self(cell))
    }

    /// Evaluates expression `index` against a context value.
    pub fn eval(&self, index: usize, source: &str, context: &Value) -> Result<Value, EvalError> {
        let fail = |reason: String| EvalError {
            source_text: source.to_owned(),
            reason,
        };
        let expr = self
            .0
            .borrow_dependent()
            .get(index)
            .ok_or_else(|| fail("no such compiled expression".to_owned()))?;
        expr.eval(context.clone()).map_err(|e| fail(message_of(&e)))
    }

    /// How many expressions the set holds.
    pub fn len(&self) -> usize {
        self.0.borrow_dependent().len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for ExprSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExprSet({} expressions)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn check_lists_variable_paths_without_functions() {
        let env = environment();
        let Checked::Ok(vars) = check(&env, "claims.email | lower ~ range(2) | string") else {
            panic!("should compile");
        };
        assert_eq!(
            vars.into_iter().collect::<Vec<_>>(),
            vec!["claims.email".to_owned()]
        );
    }

    #[test]
    fn check_reports_syntax_errors_with_range() {
        let env = environment();
        let Checked::Invalid(message, range) = check(&env, "input.x |") else {
            panic!("should not compile");
        };
        assert!(!message.is_empty());
        assert!(range.is_some());
    }

    #[test]
    fn compiled_expressions_evaluate_and_undefined_is_strict() {
        let sources = vec![
            "input.name | lower".to_owned(),
            "input.missing.deeper".to_owned(),
        ];
        let set = ExprSet::compile(&sources).unwrap();
        let ctx = context! { input => context! { name => "ALICE" } };
        assert_eq!(
            set.eval(0, &sources[0], &ctx).unwrap().as_str(),
            Some("alice")
        );
        assert!(set.eval(1, &sources[1], &ctx).is_err());
    }
}
