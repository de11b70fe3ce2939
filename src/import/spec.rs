//! The import mapping file: which export shape to read, which ferry.yaml IDP the users belong
//! to, and the save-user mapping (identifier, attributes, conflict policy, normalisation) in the
//! journeys' expression language, plus roles, groups and the password's hash format. Compiled
//! once; applied to each record by [`ImportMapping::apply`].

use std::path::Path;

use minijinja::Value;
use minijinja::value::Serde;
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use super::readers::SourceKind;
use super::{Password, Record};
use crate::authn::hashes::format::{Algorithm, HashFormat, RawHash};
use crate::authn::hashes::{self, Parsed};
use crate::compile::ir::{ConflictPolicy, ExprId, Normalization};
use crate::config::{ConfigError, Env};
use crate::expr::{self, Checked, ExprSet};
use crate::mapping::{MappedUser, UserMapping, to_json};

/// The variables an import expression may read.
pub const IMPORT_VARIABLES: &[&str] = &["claims", "legacy"];

/// The mapping file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// The export shape.
    pub source: SourceKind,
    /// The ferry.yaml IDP name the journeys use for this provider (default: the source's
    /// name), so a login and an import recognise the same legacy account.
    #[serde(default)]
    pub idp: Option<String>,
    /// The provider kind recorded with each user (default: the source's name).
    #[serde(default)]
    pub provider: Option<String>,
    /// The identifier expression (default: per source, e.g. `claims.email`).
    #[serde(default)]
    pub identifier: Option<String>,
    /// The legacy id expression (default: the source's id field).
    #[serde(default)]
    pub subject: Option<String>,
    /// Attribute names and expressions.
    #[serde(default)]
    pub attributes: Map<String, Json>,
    /// What to do when the identifier already has a user.
    #[serde(default)]
    pub on_conflict: ConflictPolicy,
    /// How identifiers are normalised; use the journeys' setting.
    #[serde(default)]
    pub identifiers: Option<NormalizationFile>,
    /// An expression giving a list of role names.
    #[serde(default)]
    pub roles: Option<String>,
    /// An expression giving a list of group names.
    #[serde(default)]
    pub groups: Option<String>,
    /// Where the password is and how it is hashed.
    #[serde(default)]
    pub password: Option<PasswordFile>,
}

/// Identifier normalisation, as journeys write it.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizationFile {
    /// Trim white space.
    #[serde(default = "yes")]
    pub trim: bool,
    /// Unicode NFC.
    #[serde(default = "yes")]
    pub nfc: bool,
    /// Lower-case.
    #[serde(default = "yes")]
    pub lowercase: bool,
}

fn yes() -> bool {
    true
}

/// The password part of a mapping file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordFile {
    /// The hash field's expression (default: what the source's reader finds).
    #[serde(default)]
    pub hash: Option<String>,
    /// The salt field's expression, when the salt is apart.
    #[serde(default)]
    pub salt: Option<String>,
    /// The record's own iteration count or cost, if it has one.
    #[serde(default)]
    pub iterations: Option<String>,
    /// The hash format.
    #[serde(default)]
    pub format: HashFormat,
}

/// A mapping file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file cannot be read or is not a valid mapping.
    #[error(transparent)]
    File(#[from] ConfigError),
    /// An expression does not compile.
    #[error("mapping expression `{source_text}` does not compile: {reason}")]
    Syntax {
        /// The expression.
        source_text: String,
        /// Why.
        reason: String,
    },
    /// An expression reads something an import record does not hold.
    #[error(
        "mapping expression `{source_text}` reads `{variable}`; imports offer `claims` and `legacy`"
    )]
    Variable {
        /// The expression.
        source_text: String,
        /// The variable.
        variable: String,
    },
    /// A required part is missing.
    #[error("the mapping needs `{0}` for this source")]
    Missing(&'static str),
    /// An attribute is not an expression.
    #[error("attribute `{0}` must be an expression string")]
    Attribute(String),
}

/// Password expressions, compiled.
#[derive(Debug)]
struct PasswordExprs {
    hash: Option<ExprId>,
    salt: Option<ExprId>,
    iterations: Option<ExprId>,
}

/// A compiled mapping file.
#[derive(Debug)]
pub struct ImportMapping {
    /// The export shape.
    pub source: SourceKind,
    /// The IDP name users are recorded under.
    pub idp: String,
    /// The provider kind recorded.
    pub provider: String,
    /// The conflict policy.
    pub policy: ConflictPolicy,
    /// The hash format of the source's passwords.
    pub format: HashFormat,
    normalization: Normalization,
    exprs: ExprSet,
    sources: Vec<String>,
    identifier: ExprId,
    subject: Option<ExprId>,
    attributes: Vec<(String, ExprId)>,
    roles: Option<ExprId>,
    groups: Option<ExprId>,
    password: PasswordExprs,
}

/// A record mapped to a user.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapped {
    /// The legacy id.
    pub subject: String,
    /// Identifier and attributes.
    pub user: MappedUser,
    /// The password to store, if usable.
    pub password: Option<Parsed>,
    /// Roles and groups, if the export or mapping gives them.
    pub roles: Option<Vec<String>>,
    /// Groups.
    pub groups: Option<Vec<String>>,
    /// A TOTP seed, as stored.
    pub totp: Option<String>,
    /// What the report should flag (weak hash, password left out, credentials skipped).
    pub flags: Vec<String>,
}

impl ImportMapping {
    /// Reads and compiles a mapping file; `${NAME}` references resolve from `env`.
    pub fn load(path: &Path, env: &dyn Env) -> Result<Self, SpecError> {
        let file: MappingFile = crate::config::read_yaml(path, env)?;
        Self::compile(file)
    }

    /// Compiles a mapping.
    pub fn compile(file: MappingFile) -> Result<Self, SpecError> {
        let mut sources = Vec::new();
        let mut add = |text: String| -> Result<ExprId, SpecError> {
            check(&text)?;
            sources.push(text);
            Ok(ExprId(sources.len() as u32 - 1))
        };
        let identifier = file
            .identifier
            .or_else(|| file.source.default_identifier().map(str::to_owned))
            .ok_or(SpecError::Missing("identifier"))?;
        let identifier = add(identifier)?;
        let subject = file.subject.map(&mut add).transpose()?;
        if subject.is_none() && matches!(file.source, SourceKind::Csv | SourceKind::Jsonl) {
            return Err(SpecError::Missing("subject"));
        }
        let mut attributes = Vec::new();
        for (name, value) in file.attributes {
            let Json::String(text) = value else {
                return Err(SpecError::Attribute(name));
            };
            attributes.push((name, add(text)?));
        }
        let roles = file.roles.map(&mut add).transpose()?;
        let groups = file.groups.map(&mut add).transpose()?;
        let password_file = file.password.unwrap_or_default();
        let password = PasswordExprs {
            hash: password_file.hash.map(&mut add).transpose()?,
            salt: password_file.salt.map(&mut add).transpose()?,
            iterations: password_file.iterations.map(&mut add).transpose()?,
        };
        let format = password_file.format;
        if file.source == SourceKind::Firebase && format.algorithm != Algorithm::FirebaseScrypt {
            return Err(SpecError::Missing(
                "password.format with algorithm firebase_scrypt",
            ));
        }
        let exprs = ExprSet::compile(&sources).map_err(|e| SpecError::Syntax {
            source_text: e.source_text,
            reason: e.reason,
        })?;
        Ok(Self {
            source: file.source,
            idp: file.idp.unwrap_or_else(|| file.source.name().to_owned()),
            provider: file
                .provider
                .unwrap_or_else(|| file.source.name().to_owned()),
            policy: file.on_conflict,
            format,
            normalization: file.identifiers.map_or_else(Normalization::default, |n| {
                Normalization {
                    trim: n.trim,
                    nfc: n.nfc,
                    lowercase: n.lowercase,
                }
            }),
            exprs,
            sources,
            identifier,
            subject,
            attributes,
            roles,
            groups,
            password,
        })
    }

    /// Maps one record, or says why it cannot be imported.
    pub fn apply(&self, record: Record) -> Result<Mapped, String> {
        let claims = Value::from(Serde(Json::Object(record.claims)));
        let subject = match self.subject {
            Some(expr) => {
                let ctx = minijinja::context! { claims => claims.clone() };
                self.text(&ctx, expr)?
                    .ok_or("the subject expression gave nothing")?
            }
            None => record
                .subject
                .ok_or("the record has no legacy id; set `subject` in the mapping")?,
        };
        let legacy = json!({ "idp": self.idp, "provider": self.provider, "subject": subject });
        let ctx = minijinja::context! { claims => claims, legacy => Value::from(Serde(legacy)) };
        let user = self.user_mapping().apply(&ctx).map_err(|e| chain(&e))?;
        let mut flags = record.notes;
        let password = self.password(&ctx, record.password, &mut flags)?;
        Ok(Mapped {
            subject,
            user,
            password,
            roles: self.list(&ctx, self.roles)?.or(record.roles),
            groups: self.list(&ctx, self.groups)?.or(record.groups),
            totp: record.totp,
            flags,
        })
    }

    fn user_mapping(&self) -> UserMapping<'_> {
        UserMapping {
            exprs: &self.exprs,
            sources: &self.sources,
            identifier: self.identifier,
            attributes: &self.attributes,
            normalization: self.normalization,
        }
    }

    /// The record's password, read through the format; an unusable one is left out and
    /// flagged, so the user still arrives and migrates at login.
    fn password(
        &self,
        ctx: &Value,
        found: Option<Password>,
        flags: &mut Vec<String>,
    ) -> Result<Option<Parsed>, String> {
        let found = match self.raw_from_mapping(ctx)? {
            Some(raw) => Some(Password::Raw(raw)),
            None => found,
        };
        let parsed = match found {
            None => return Ok(None),
            Some(Password::Parsed(parsed)) => parsed,
            Some(Password::Raw(raw)) => match self.format.read(&raw) {
                Ok(parsed) => parsed,
                Err(e) => {
                    flags.push(format!("password not imported: {e}"));
                    return Ok(None);
                }
            },
        };
        if let Some(weak) = hashes::weakness(&parsed) {
            flags.push(format!("weak hash: {weak}"));
        }
        Ok(Some(parsed))
    }

    fn raw_from_mapping(&self, ctx: &Value) -> Result<Option<RawHash>, String> {
        let Some(hash) = self.password.hash else {
            return Ok(None);
        };
        let Some(hash) = self.text(ctx, hash)?.filter(|h| !h.is_empty()) else {
            return Ok(None);
        };
        let salt = match self.password.salt {
            Some(expr) => self.text(ctx, expr)?,
            None => None,
        };
        let iterations = match self.password.iterations {
            Some(expr) => match self.text(ctx, expr)? {
                Some(n) => Some(
                    n.parse()
                        .map_err(|_| format!("iterations `{n}` is not a count"))?,
                ),
                None => None,
            },
            None => None,
        };
        Ok(Some(RawHash {
            hash,
            salt,
            iterations,
        }))
    }

    /// An expression's value as text: strings as they are, numbers written out, nothing as
    /// `None`.
    fn text(&self, ctx: &Value, expr: ExprId) -> Result<Option<String>, String> {
        let value = self
            .user_mapping()
            .eval(ctx, expr)
            .map_err(|e| e.to_string())?;
        Ok(match to_json(&value) {
            None => None,
            Some(Json::String(s)) => Some(s),
            Some(Json::Number(n)) => Some(n.to_string()),
            Some(other) => return Err(format!("expected text, got `{other}`")),
        })
    }

    fn list(&self, ctx: &Value, expr: Option<ExprId>) -> Result<Option<Vec<String>>, String> {
        let Some(expr) = expr else {
            return Ok(None);
        };
        let value = self
            .user_mapping()
            .eval(ctx, expr)
            .map_err(|e| e.to_string())?;
        match to_json(&value) {
            None => Ok(Some(Vec::new())),
            Some(Json::Array(items)) => items
                .into_iter()
                .map(|i| match i {
                    Json::String(s) => Ok(s),
                    other => Err(format!("a role or group must be a string, not `{other}`")),
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(Json::String(s)) => Ok(Some(vec![s])),
            Some(other) => Err(format!("roles and groups must be a list, not `{other}`")),
        }
    }
}

fn check(text: &str) -> Result<(), SpecError> {
    match expr::check(&expr::environment(), text) {
        Checked::Invalid(reason, _) => Err(SpecError::Syntax {
            source_text: text.to_owned(),
            reason,
        }),
        Checked::Ok(paths) => {
            let bad = paths
                .iter()
                .find(|p| !IMPORT_VARIABLES.contains(&p.split('.').next().unwrap_or_default()));
            match bad {
                Some(variable) => Err(SpecError::Variable {
                    source_text: text.to_owned(),
                    variable: variable.clone(),
                }),
                None => Ok(()),
            }
        }
    }
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(yaml_like: Json) -> Result<ImportMapping, SpecError> {
        ImportMapping::compile(serde_json::from_value(yaml_like).unwrap())
    }

    #[test]
    fn expressions_may_read_only_claims_and_legacy() {
        let err =
            mapping(json!({"source": "okta", "attributes": {"x": "input.password"}})).unwrap_err();
        assert!(
            matches!(err, SpecError::Variable { ref variable, .. } if variable == "input.password")
        );
        assert!(matches!(
            mapping(json!({"source": "csv", "identifier": "claims.u"})),
            Err(SpecError::Missing("subject"))
        ));
        assert!(matches!(
            mapping(json!({"source": "firebase"})),
            Err(SpecError::Missing(_))
        ));
    }

    #[test]
    fn a_record_maps_with_its_legacy_account_and_flags() {
        let m = mapping(json!({
            "source": "jsonl", "idp": "legacy", "identifier": "claims.login",
            "subject": "claims.uid", "attributes": {"who": "legacy.subject ~ '@' ~ legacy.idp"},
            "roles": "claims.roles",
            "password": {"hash": "claims.pw", "salt": "claims.salt",
                         "format": {"algorithm": "digest", "digest": "md5", "hash_encoding": "hex",
                                    "salt_encoding": "utf8"}}
        }))
        .unwrap();
        let claims = json!({"login": "Ann", "uid": 42, "roles": ["a"], "pw": "00", "salt": "s"});
        let Json::Object(claims) = claims else {
            panic!()
        };
        let mapped = m.apply(Record::new(1, claims)).unwrap();
        assert_eq!(mapped.subject, "42");
        assert_eq!(mapped.user.identifier, "ann");
        assert_eq!(mapped.user.attributes["who"], "42@legacy");
        assert_eq!(mapped.roles, Some(vec!["a".to_owned()]));
        assert!(mapped.password.is_some());
        assert!(
            mapped.flags.iter().any(|f| f.contains("md5")),
            "{:?}",
            mapped.flags
        );
    }
}
