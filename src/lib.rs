//! Ferry: a declarative journey engine that moves users off one identity provider onto
//! another while they keep logging in.
//!
//! Journeys are read by [`syntax`], checked by [`rules`], compiled by [`compile`] into the
//! IR that [`runtime`] runs.

pub mod compile;
pub mod diag;
pub mod expr;
pub mod lint;
pub mod providers;
pub mod rules;
pub mod secret;
pub mod syntax;
