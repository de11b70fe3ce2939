//! Ferry: a declarative journey engine that moves users off one identity provider onto
//! another while they keep logging in.
//!
//! Journeys are read by [`syntax`], checked by [`rules`], compiled by [`compile`] into the
//! IR that [`runtime`] runs.

pub mod authn;
pub mod clock;
pub mod compile;
pub mod config;
pub mod diag;
pub mod expr;
pub mod graph;
pub mod identifier;
pub mod idp;
pub mod import;
pub mod lint;
pub mod mapping;
pub mod metrics;
pub mod providers;
pub mod rules;
pub mod runtime;
pub mod secret;
pub mod server;
pub mod store;
pub mod syntax;
