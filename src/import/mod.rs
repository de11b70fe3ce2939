//! `ferry import`: export readers, the mapping file, and the pipeline that streams records into
//! the user store in batched transactions with a checkpoint. Reaches data only through
//! [`crate::store::UserStore`]; maps users with [`crate::mapping`], as journeys do.

pub mod auth0_hashes;
pub mod pipeline;
pub mod readers;
pub mod report;
pub mod spec;
pub mod stream;

use serde_json::{Map, Value as Json};

use crate::authn::hashes::Parsed;
use crate::authn::hashes::format::RawHash;

pub use pipeline::{Import, ImportError, Options, Progress};
pub use readers::SourceKind;
pub use report::Summary;
pub use spec::{ImportMapping, SpecError};

/// What an export holds of a user's password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Password {
    /// Raw fields, read through the mapping's hash format.
    Raw(RawHash),
    /// Already read by the reader (Keycloak's credential JSON).
    Parsed(Parsed),
}

/// One user read from an export, before mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The line the record starts on.
    pub line: u64,
    /// The record as mapping expressions see it, under `claims`.
    pub claims: Map<String, Json>,
    /// The legacy id the reader found, if any.
    pub subject: Option<String>,
    /// The password, if the export has one.
    pub password: Option<Password>,
    /// The key to join a separate hash file on (Auth0).
    pub join_key: Option<String>,
    /// A TOTP seed as stored (JSON).
    pub totp: Option<String>,
    /// Roles the export gives.
    pub roles: Option<Vec<String>>,
    /// Groups the export gives.
    pub groups: Option<Vec<String>>,
    /// What the reader left out, for the report.
    pub notes: Vec<String>,
}

impl Record {
    /// A record with only its claims.
    pub fn new(line: u64, claims: Map<String, Json>) -> Self {
        Self {
            line,
            claims,
            subject: None,
            password: None,
            join_key: None,
            totp: None,
            roles: None,
            groups: None,
            notes: Vec::new(),
        }
    }
}
