//! One reader per export shape: each turns a vendor's user object into a [`Record`] — the
//! legacy id, the claims mapping expressions read, and what the export holds of passwords,
//! TOTP seeds, roles and groups. The shapes follow the vendors' documented exports; see
//! `tests/fixtures/import/README.md`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use super::{Password, Record};
use crate::authn::hashes::codec::{Encoding, b64};
use crate::authn::hashes::format::RawHash;
use crate::authn::hashes::{Digest, Parsed};
use crate::idp::user_file;

/// The export shapes `ferry import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Auth0's user export (NDJSON), joined with its password-hash export.
    Auth0,
    /// A Keycloak realm export (`kc.sh export`), realm file or users file.
    Keycloak,
    /// `firebase auth:export` JSON.
    Firebase,
    /// Okta Users API pages (a JSON array) or one user per line.
    Okta,
    /// Cognito `ListUsers` pages (`Users`) or one user per line.
    Cognito,
    /// Microsoft Graph `/users` pages (`value`) or one user per line.
    Entra,
    /// Ferry's legacy user file (the `user_file` connector's JSON Lines).
    UserFile,
    /// Any CSV with a header row.
    Csv,
    /// Any JSON Lines file.
    Jsonl,
}

/// How a source's file is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A JSON document with the records in an array at the top or under this key.
    Document(&'static str),
    /// One JSON object per line.
    Lines,
    /// CSV with a header row.
    Csv,
}

impl SourceKind {
    /// The source's name in mapping files.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Auth0 => "auth0",
            SourceKind::Keycloak => "keycloak",
            SourceKind::Firebase => "firebase",
            SourceKind::Okta => "okta",
            SourceKind::Cognito => "cognito",
            SourceKind::Entra => "entra",
            SourceKind::UserFile => "user_file",
            SourceKind::Csv => "csv",
            SourceKind::Jsonl => "jsonl",
        }
    }

    /// How a file of this source is laid out; `lines` when its name ends in `.jsonl` or
    /// `.ndjson` (for the sources that come both ways).
    pub fn layout(self, lines: bool) -> Layout {
        match self {
            SourceKind::Auth0 | SourceKind::UserFile | SourceKind::Jsonl => Layout::Lines,
            SourceKind::Csv => Layout::Csv,
            SourceKind::Keycloak => Layout::Document("users"),
            SourceKind::Firebase => Layout::Document("users"),
            _ if lines => Layout::Lines,
            SourceKind::Okta => Layout::Document("users"),
            SourceKind::Cognito => Layout::Document("Users"),
            SourceKind::Entra => Layout::Document("value"),
        }
    }

    /// The identifier expression used when the mapping gives none.
    pub fn default_identifier(self) -> Option<&'static str> {
        match self {
            SourceKind::Auth0 | SourceKind::Firebase => Some("claims.email"),
            SourceKind::Keycloak | SourceKind::UserFile => Some("claims.username"),
            SourceKind::Okta => Some("claims.profile.login"),
            SourceKind::Cognito => Some("claims.Username"),
            SourceKind::Entra => Some("claims.userPrincipalName"),
            SourceKind::Csv | SourceKind::Jsonl => None,
        }
    }

    /// Reads one user object of this source.
    pub fn record(self, line: u64, object: Map<String, Json>) -> Result<Record, String> {
        let mut record = Record::new(line, object);
        match self {
            SourceKind::Auth0 => auth0(&mut record)?,
            SourceKind::Keycloak => keycloak(&mut record)?,
            SourceKind::Firebase => firebase(&mut record)?,
            SourceKind::Okta | SourceKind::Entra => record.subject = text(&record.claims, "id"),
            SourceKind::Cognito => cognito(&mut record),
            SourceKind::UserFile => return legacy_file(line, &record.claims),
            SourceKind::Csv | SourceKind::Jsonl => {}
        }
        Ok(record)
    }
}

fn text(object: &Map<String, Json>, key: &str) -> Option<String> {
    match object.get(key)? {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Auth0: `user_id` is the legacy id; database users (`auth0|…`) are joined with the
/// password-hash export on it; social users have no hash.
fn auth0(record: &mut Record) -> Result<(), String> {
    let id = text(&record.claims, "user_id").ok_or("the record has no `user_id`")?;
    if id.starts_with("auth0|") {
        record.join_key = Some(id.clone());
    }
    record.subject = Some(id);
    Ok(())
}

/// Firebase: `localId`; `passwordHash` and `salt` (base64) are taken out of the claims.
fn firebase(record: &mut Record) -> Result<(), String> {
    record.subject = Some(text(&record.claims, "localId").ok_or("the record has no `localId`")?);
    let hash = record.claims.remove("passwordHash");
    let salt = record.claims.remove("salt");
    if let Some(Json::String(hash)) = hash.filter(|h| h.as_str().is_some_and(|s| !s.is_empty())) {
        record.password = Some(Password::Raw(RawHash {
            hash,
            salt: salt.and_then(|s| s.as_str().map(str::to_owned)),
            iterations: None,
        }));
    }
    Ok(())
}

/// Cognito: the `Attributes` (or `UserAttributes`) name/value list becomes an
/// `attributes` object; the legacy id is the `sub` attribute, else `Username`.
fn cognito(record: &mut Record) {
    let list = record
        .claims
        .get("Attributes")
        .or_else(|| record.claims.get("UserAttributes"))
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let attributes: Map<String, Json> = list
        .iter()
        .filter_map(|a| Some((a.get("Name")?.as_str()?.to_owned(), a.get("Value")?.clone())))
        .collect();
    record.subject = text(&attributes, "sub").or_else(|| text(&record.claims, "Username"));
    record
        .claims
        .insert("attributes".into(), Json::Object(attributes));
}

/// Ferry's legacy user file, read as its connector reads it. Users the connector would never
/// migrate (disabled, locked, expired password) are refused with that reason.
fn legacy_file(line: u64, object: &Map<String, Json>) -> Result<Record, String> {
    let text = Json::Object(object.clone()).to_string();
    let (_, parsed) = user_file::parse_line(&text)?;
    let refusal = [
        (parsed.disabled, "the legacy account is disabled"),
        (parsed.locked, "the legacy account is locked"),
        (parsed.password_expired, "the legacy password has expired"),
    ];
    if let Some((_, why)) = refusal.iter().find(|(flag, _)| *flag) {
        return Err((*why).to_owned());
    }
    let mut record = Record::new(line, parsed.claims);
    record.subject = Some(parsed.subject);
    record.password = Some(Password::Raw(RawHash {
        hash: parsed.hash,
        salt: None,
        iterations: None,
    }));
    Ok(record)
}

/// Keycloak: `id`; `credentials` leave the claims (they hold secrets) and become a password
/// hash and a TOTP seed; realm and client roles and group paths become memberships.
fn keycloak(record: &mut Record) -> Result<(), String> {
    record.subject = Some(text(&record.claims, "id").ok_or("the record has no `id`")?);
    let credentials = record.claims.remove("credentials");
    for credential in credentials
        .as_ref()
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        keycloak_credential(record, credential);
    }
    let mut roles: Vec<String> = strings(record.claims.get("realmRoles"));
    if let Some(Json::Object(clients)) = record.claims.get("clientRoles") {
        for (client, list) in clients {
            roles.extend(
                strings(Some(list))
                    .into_iter()
                    .map(|r| format!("{client}:{r}")),
            );
        }
    }
    record.roles = Some(roles);
    record.groups = Some(strings(record.claims.get("groups")));
    Ok(())
}

fn strings(value: Option<&Json>) -> Vec<String> {
    value
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn keycloak_credential(record: &mut Record, credential: &Json) {
    let kind = credential.get("type").and_then(Json::as_str).unwrap_or("?");
    let inner = |key| {
        credential
            .get(key)
            .and_then(Json::as_str)
            .and_then(|s| serde_json::from_str::<Json>(s).ok())
    };
    let (Some(secret), Some(data)) = (inner("secretData"), inner("credentialData")) else {
        record.notes.push(format!(
            "a `{kind}` credential without readable data was skipped"
        ));
        return;
    };
    let outcome = match kind {
        "password" => keycloak_password(&secret, &data).map(|p| record.password = Some(p)),
        "otp" => keycloak_otp(&secret, &data).map(|t| record.totp = Some(t)),
        other => Err(format!("`{other}` credentials are not imported")),
    };
    if let Err(note) = outcome {
        record.notes.push(note);
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KcPasswordData {
    hash_iterations: u32,
    algorithm: String,
    #[serde(default)]
    additional_parameters: Map<String, Json>,
}

fn keycloak_password(secret: &Json, data: &Json) -> Result<Password, String> {
    let data: KcPasswordData = serde_json::from_value(data.clone())
        .map_err(|e| format!("the password credential data is not readable: {e}"))?;
    let bytes = |key: &str| {
        let text = secret.get(key).and_then(Json::as_str).unwrap_or_default();
        Encoding::Base64
            .decode(text)
            .map_err(|e| format!("the password credential's `{key}` is {e}"))
    };
    let (salt, hash) = (bytes("salt")?, bytes("value")?);
    let digest = match data.algorithm.as_str() {
        "pbkdf2" => Digest::Sha1,
        "pbkdf2-sha256" => Digest::Sha256,
        "pbkdf2-sha512" => Digest::Sha512,
        "argon2" => return keycloak_argon2(&data, &salt, &hash),
        other => {
            return Err(format!(
                "keycloak password algorithm `{other}` is not supported"
            ));
        }
    };
    Ok(Password::Parsed(Parsed::Pbkdf2 {
        digest,
        iterations: data.hash_iterations,
        salt,
        hash,
    }))
}

/// Keycloak keeps argon2 parameters as arrays of strings (`"memory": ["7168"]`).
fn keycloak_argon2(data: &KcPasswordData, salt: &[u8], hash: &[u8]) -> Result<Password, String> {
    let param = |key: &str, default: &str| {
        data.additional_parameters
            .get(key)
            .and_then(|v| v.get(0).or(Some(v)))
            .and_then(Json::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    let variant = match param("type", "id").as_str() {
        kind @ ("id" | "i" | "d") => format!("argon2{kind}"),
        other => return Err(format!("keycloak argon2 type `{other}` is not supported")),
    };
    let version = match param("version", "1.3").as_str() {
        "1.3" => 19,
        "1.0" => 16,
        other => {
            return Err(format!(
                "keycloak argon2 version `{other}` is not supported"
            ));
        }
    };
    let memory = param("memory", "7168");
    let parallelism = param("parallelism", "1");
    let phc = format!(
        "${variant}$v={version}$m={memory},t={},p={parallelism}${}${}",
        data.hash_iterations,
        b64(salt),
        b64(hash)
    );
    Ok(Password::Parsed(Parsed::Argon2(phc)))
}

/// A Keycloak TOTP seed. The HMAC key is the secret string's own bytes (what the QR code
/// carries in base32); stored as base64 with the code's parameters.
fn keycloak_otp(secret: &Json, data: &Json) -> Result<String, String> {
    let sub_type = data.get("subType").and_then(Json::as_str).unwrap_or("totp");
    if sub_type != "totp" {
        return Err(format!(
            "`{sub_type}` one-time-password credentials are not imported"
        ));
    }
    let key = secret
        .get("value")
        .and_then(Json::as_str)
        .ok_or("the otp credential has no value")?;
    let algorithm = match data
        .get("algorithm")
        .and_then(Json::as_str)
        .unwrap_or("HmacSHA1")
    {
        "HmacSHA1" => "SHA1",
        "HmacSHA256" => "SHA256",
        "HmacSHA512" => "SHA512",
        other => return Err(format!("totp algorithm `{other}` is not supported")),
    };
    let seed = json!({
        "key": b64(key.as_bytes()),
        "digits": data.get("digits").and_then(Json::as_u64).unwrap_or(6),
        "period": data.get("period").and_then(Json::as_u64).unwrap_or(30),
        "algorithm": algorithm,
    });
    Ok(seed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Json) -> Map<String, Json> {
        match value {
            Json::Object(o) => o,
            _ => Map::new(),
        }
    }

    #[test]
    fn cognito_attributes_become_an_object_and_sub_the_subject() {
        let record = SourceKind::Cognito
            .record(
                3,
                object(json!({"Username": "u1", "Attributes": [
                    {"Name": "sub", "Value": "abc"}, {"Name": "email", "Value": "a@x.io"}]})),
            )
            .unwrap();
        assert_eq!(record.subject.as_deref(), Some("abc"));
        assert_eq!(record.claims["attributes"]["email"], "a@x.io");
        assert!(record.password.is_none());
    }

    #[test]
    fn keycloak_credentials_leave_the_claims() {
        let record = SourceKind::Keycloak
            .record(
                1,
                object(json!({"id": "k1", "username": "kim", "credentials": [
                {"type": "webauthn", "secretData": "{}", "credentialData": "{}"}],
                "realmRoles": ["user"], "clientRoles": {"app": ["admin"]}, "groups": ["/staff"]})),
            )
            .unwrap();
        assert!(!record.claims.contains_key("credentials"));
        assert_eq!(
            record.roles,
            Some(vec!["user".to_owned(), "app:admin".to_owned()])
        );
        assert_eq!(record.groups, Some(vec!["/staff".to_owned()]));
        assert_eq!(
            record.notes,
            vec!["`webauthn` credentials are not imported".to_owned()]
        );
    }

    #[test]
    fn records_without_their_id_are_refused() {
        assert!(SourceKind::Auth0.record(1, Map::new()).is_err());
        assert!(SourceKind::Firebase.record(1, Map::new()).is_err());
        assert!(SourceKind::Keycloak.record(1, Map::new()).is_err());
    }
}
