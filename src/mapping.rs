//! Mapping a legacy account to a local user, in one place for a journey's save-user step and
//! for `ferry import`: the identifier and attribute expressions are evaluated in the same
//! sandboxed environment ([`crate::expr`]), undefined and none values drop the attribute, and
//! the identifier is normalised by [`crate::identifier`]. So a user imported and a user
//! migrated at login end up identical. Knows nothing of stores or sessions.

use minijinja::Value;
use serde_json::{Map, Value as Json};

use crate::compile::ir::{ExprId, Normalization};
use crate::expr::{EvalError, ExprSet};
use crate::identifier::{self, IdentifierError};

/// What a legacy account maps to.
#[derive(Clone, Debug, PartialEq)]
pub struct MappedUser {
    /// The normalised identifier.
    pub identifier: String,
    /// The attributes.
    pub attributes: Map<String, Json>,
}

/// Why a mapping could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// An expression failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// The identifier expression gave something other than a string.
    #[error("the identifier expression `{0}` must give a string")]
    NotAString(String),
    /// The identifier cannot be used.
    #[error("the identifier cannot be used")]
    Identifier(#[source] IdentifierError),
}

/// The expressions of one mapping, compiled.
#[derive(Clone, Copy, Debug)]
pub struct UserMapping<'a> {
    /// The compiled expressions.
    pub exprs: &'a ExprSet,
    /// Their source texts, by index.
    pub sources: &'a [String],
    /// The identifier expression.
    pub identifier: ExprId,
    /// Attribute names and expressions.
    pub attributes: &'a [(String, ExprId)],
    /// How identifiers are normalised.
    pub normalization: Normalization,
}

impl UserMapping<'_> {
    /// Evaluates the mapping against a context value.
    pub fn apply(&self, ctx: &Value) -> Result<MappedUser, MapError> {
        let raw = self.eval(ctx, self.identifier)?;
        let raw = raw
            .as_str()
            .ok_or_else(|| MapError::NotAString(self.source(self.identifier).to_owned()))?;
        let identifier =
            identifier::normalize(raw, self.normalization).map_err(MapError::Identifier)?;
        let mut attributes = Map::new();
        for (name, expr) in self.attributes {
            if let Some(value) = to_json(&self.eval(ctx, *expr)?) {
                attributes.insert(name.clone(), value);
            }
        }
        Ok(MappedUser {
            identifier,
            attributes,
        })
    }

    /// Evaluates one expression of the set.
    pub fn eval(&self, ctx: &Value, expr: ExprId) -> Result<Value, EvalError> {
        self.exprs.eval(expr.0 as usize, self.source(expr), ctx)
    }

    fn source(&self, expr: ExprId) -> &str {
        self.sources.get(expr.0 as usize).map_or("", String::as_str)
    }
}

/// A MiniJinja value as JSON; `None` for undefined and none, which mean "nothing".
pub fn to_json(value: &Value) -> Option<Json> {
    if value.is_undefined() || value.is_none() {
        return None;
    }
    serde_json::to_value(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn identifiers_are_normalised_and_nothing_drops_an_attribute() {
        let sources: Vec<String> = ["claims.login", "claims.mail | lower", "claims.nick"]
            .map(str::to_owned)
            .to_vec();
        let exprs = ExprSet::compile(&sources).unwrap();
        let attributes = [
            ("email".to_owned(), ExprId(1)),
            ("nick".to_owned(), ExprId(2)),
        ];
        let mapping = UserMapping {
            exprs: &exprs,
            sources: &sources,
            identifier: ExprId(0),
            attributes: &attributes,
            normalization: Normalization::default(),
        };
        let ctx =
            context! { claims => context! { login => " Bob ", mail => "B@X.io", nick => () } };
        let mapped = mapping.apply(&ctx).unwrap();
        assert_eq!(mapped.identifier, "bob");
        assert_eq!(mapped.attributes.get("email"), Some(&Json::from("b@x.io")));
        assert!(!mapped.attributes.contains_key("nick"));
    }

    #[test]
    fn a_non_string_identifier_is_refused() {
        let sources = vec!["claims.n".to_owned()];
        let exprs = ExprSet::compile(&sources).unwrap();
        let mapping = UserMapping {
            exprs: &exprs,
            sources: &sources,
            identifier: ExprId(0),
            attributes: &[],
            normalization: Normalization::default(),
        };
        let ctx = context! { claims => context! { n => 3 } };
        assert!(matches!(mapping.apply(&ctx), Err(MapError::NotAString(_))));
    }
}
