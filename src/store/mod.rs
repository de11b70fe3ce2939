//! Stores: the user store (users, credentials, roles and groups, migration log, import
//! checkpoints) and the session store, as traits with their embedded implementations (SQLite,
//! memory) and their scale-out ones (PostgreSQL, Redis). Knows nothing of journeys.

#[cfg(test)]
mod conformance;
mod memory;
mod memory_users;
pub mod plan;
mod postgres;
mod progress_sql;
mod redis_sessions;
#[cfg(test)]
mod session_conformance;
mod sqlite;
#[cfg(test)]
mod testing;

pub use memory::MemorySessions;
pub use memory_users::MemoryUsers;
pub use postgres::PostgresUsers;
pub use redis_sessions::{DEFAULT_PREFIX as DEFAULT_SESSION_PREFIX, RedisSessions};
pub use sqlite::SqliteUsers;

use async_trait::async_trait;
use serde_json::{Map, Value as Json};
use uuid::Uuid;

pub use crate::syntax::ast::ConflictPolicy;

/// A local user.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    /// Ferry's id for the user; the `sub` of completion tokens.
    pub id: Uuid,
    /// The normalised identifier the user logs in with.
    pub identifier: String,
    /// Mapped attributes.
    pub attributes: Map<String, Json>,
    /// The legacy account the user came from, if migrated.
    pub legacy: Option<LegacyAccount>,
    /// When the migration completed, in ms since the epoch.
    pub migrated_at: Option<i64>,
}

/// Where a user came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyAccount {
    /// The IDP's name in ferry.yaml.
    pub idp: String,
    /// The provider kind (`okta`, `user_file`, …).
    pub provider: String,
    /// The user's id at the legacy IDP.
    pub subject: String,
}

/// A user to record from a legacy account: a verified login (a journey's save-user step) or
/// an export record (`ferry import`). The user, its credentials, roles, groups and the log
/// entry are written together or not at all.
#[derive(Clone, Debug)]
pub struct Migration {
    /// The normalised identifier.
    pub identifier: String,
    /// Mapped attributes.
    pub attributes: Map<String, Json>,
    /// The legacy account.
    pub legacy: LegacyAccount,
    /// Credentials to store.
    pub credentials: Vec<NewCredential>,
    /// Roles from the export; `None` leaves the user's roles alone.
    pub roles: Option<Vec<String>>,
    /// Groups from the export; `None` leaves the user's groups alone.
    pub groups: Option<Vec<String>>,
    /// Whether this completes the user's migration (false for an imported user without a
    /// password, who migrates at their first login).
    pub completes: bool,
    /// What to do if the identifier already has a user.
    pub policy: ConflictPolicy,
    /// The journey that verified the user, or the import that read it.
    pub journey: String,
    /// How the user came (`password`, `import`, …).
    pub method: String,
    /// The time of the migration, in ms since the epoch.
    pub at: i64,
}

/// The kinds of credential the store keeps, at most one of each per user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CredentialKind {
    /// A password hash (a PHC or modular-crypt string).
    Password,
    /// A TOTP seed, as JSON (`secret` in base32, `digits`, `period`, `algorithm`).
    Totp,
    /// The user's passkeys, as a JSON array of WebAuthn credentials (public keys).
    Passkey,
    /// An email address the user proved with a code, as JSON (`address`).
    Email,
    /// A phone number the user proved with a code, as JSON (`address`, E.164).
    Sms,
}

impl CredentialKind {
    /// Every kind, in a fixed order.
    pub const ALL: &'static [CredentialKind] = &[
        CredentialKind::Password,
        CredentialKind::Totp,
        CredentialKind::Passkey,
        CredentialKind::Email,
        CredentialKind::Sms,
    ];

    /// The kind's name in the store.
    pub fn name(self) -> &'static str {
        match self {
            CredentialKind::Password => "password",
            CredentialKind::Totp => "totp",
            CredentialKind::Passkey => "passkey",
            CredentialKind::Email => "email",
            CredentialKind::Sms => "sms",
        }
    }

    /// The kind with this name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }
}

/// A stored credential with its use counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCredential {
    /// The stored value (for TOTP, the sealed seed).
    pub secret: String,
    /// For TOTP, the time step of the last accepted code.
    pub last_used: Option<i64>,
}

/// Where a user stands with one registration prompt (a `register_authenticator` step).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PromptState {
    /// The prompt's name.
    pub prompt: String,
    /// How many times the user skipped it.
    pub skips: u32,
    /// When it was first shown, ms since the epoch.
    pub first_asked_at: Option<i64>,
    /// When it was last shown.
    pub last_asked_at: Option<i64>,
    /// When it was last skipped.
    pub last_skipped_at: Option<i64>,
    /// When the user registered an authenticator through it.
    pub registered_at: Option<i64>,
}

/// A credential to store with a migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCredential {
    /// What it is.
    pub kind: CredentialKind,
    /// The stored value.
    pub secret: String,
    /// Replace the user's credential of this kind (a password just proven at login), or
    /// only fill a gap (an imported hash never overwrites a newer local one).
    pub replace: bool,
}

/// Where a named import stands.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Checkpoint {
    /// The import's name.
    pub import: String,
    /// A fingerprint of what it reads, so a changed file is not resumed by mistake.
    pub source: String,
    /// Records consumed and committed so far.
    pub position: u64,
    /// Whether it ran to the end.
    pub finished: bool,
}

/// How far the migration has come, from the users and the migration log.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    /// Users in the store.
    pub users: u64,
    /// Users whose migration is complete: verified at a login, or imported with a password.
    pub migrated: u64,
    /// Users known but not migrated yet (imported without a password): their first login
    /// will verify them against the legacy IDP.
    pub pending: u64,
    /// Per legacy IDP (the name in ferry.yaml), users and migrated users, by name.
    pub by_source: Vec<SourceProgress>,
    /// Users created, by how they came (`password`, `email_otp`, `oidc`, `import`, …).
    pub created_by: std::collections::BTreeMap<String, u64>,
    /// Users created since the time asked for.
    pub created_since: u64,
    /// When the last migration log entry was written, ms since the epoch.
    pub last_at: Option<i64>,
    /// Imports that ran, by name.
    pub imports: Vec<Checkpoint>,
}

/// One legacy IDP's share of the users.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceProgress {
    /// The IDP's name in ferry.yaml; empty for users with no legacy account.
    pub source: String,
    /// Its users.
    pub users: u64,
    /// Those migrated.
    pub migrated: u64,
}

/// A batch of migrations written in one transaction, with the checkpoint reached after it.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    /// The migrations, in source order.
    pub migrations: &'a [Migration],
    /// The checkpoint to record with them.
    pub checkpoint: Option<&'a Checkpoint>,
    /// Decide everything, then roll back: nothing is written.
    pub dry_run: bool,
}

/// A user's roles and groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Memberships {
    /// Role names, sorted.
    pub roles: Vec<String>,
    /// Group names, sorted.
    pub groups: Vec<String>,
}

/// What saving a migration did.
#[derive(Clone, Debug, PartialEq)]
pub enum Saved {
    /// A new user.
    Created(User),
    /// An existing user, updated per the policy.
    Updated(User),
    /// Not saved: the policy said so, or the user belongs to another legacy account.
    Conflict(ConflictKind),
}

/// Why a migration was not saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictKind {
    /// The identifier has a user and the policy is `fail`.
    Exists,
    /// The identifier's user came from a different legacy account.
    OtherLegacyAccount,
    /// The legacy account already belongs to a user with another identifier.
    AccountTaken,
}

/// A store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or could not be reached.
    #[error("the user store failed")]
    Database(#[from] sqlx::Error),
    /// A stored row could not be read back.
    #[error("a stored {what} cannot be read")]
    Corrupt {
        /// What could not be read.
        what: &'static str,
    },
    /// Applying the schema migrations failed.
    #[error("the user store's schema could not be brought up to date")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The shared session store (Redis) failed or could not be reached.
    #[error("the session store failed")]
    Sessions(#[from] redis::RedisError),
}

/// Users, credentials and the migration log.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// The user with this normalised identifier.
    async fn find(&self, identifier: &str) -> Result<Option<User>, StoreError>;

    /// The user's password hash (a PHC string), if they have one.
    async fn password_hash(&self, user: Uuid) -> Result<Option<String>, StoreError>;

    /// Replaces the user's password hash, as after a rehash.
    async fn set_password_hash(&self, user: Uuid, hash: &str, at: i64) -> Result<(), StoreError>;

    /// Records a verified legacy login: creates or updates the user, its password hash and
    /// a log entry, in one transaction.
    async fn save_migration(&self, migration: &Migration) -> Result<Saved, StoreError>;

    /// Records a batch of migrations in one transaction, by the same rules as
    /// [`UserStore::save_migration`] applied in order, with the batch's checkpoint.
    async fn save_batch(&self, batch: Batch<'_>) -> Result<Vec<Saved>, StoreError>;

    /// Where a named import stands, if it ever ran.
    async fn checkpoint(&self, import: &str) -> Result<Option<Checkpoint>, StoreError>;

    /// Writes a checkpoint on its own (at the start or end of an import).
    async fn set_checkpoint(&self, checkpoint: &Checkpoint, at: i64) -> Result<(), StoreError>;

    /// The user's roles and groups.
    async fn memberships(&self, user: Uuid) -> Result<Memberships, StoreError>;

    /// How many users the store holds.
    async fn count_users(&self) -> Result<u64, StoreError>;

    /// How far the migration has come; `since` bounds [`Progress::created_since`].
    async fn progress(&self, since: i64) -> Result<Progress, StoreError>;

    /// The failed-login record for a throttling key (an account or a client address).
    async fn failures(&self, key: &str) -> Result<Failures, StoreError>;

    /// Counts one more failure for a key, atomically, and returns the new record.
    async fn add_failure(&self, key: &str, at: i64) -> Result<Failures, StoreError>;

    /// Locks a key until a time.
    async fn lock(&self, key: &str, until: i64) -> Result<(), StoreError>;

    /// Forgets a key's failures and lock, as after a successful login.
    async fn clear_failures(&self, key: &str) -> Result<(), StoreError>;

    /// Starts a key's count again if it is stale: its lock ended by `now`, or, with no lock,
    /// its last failure came before `idle_before`. One atomic step: of several requests that
    /// saw the same stale count, only the first resets it, so what the others add next is
    /// not wiped.
    async fn restart_stale(&self, key: &str, now: i64, idle_before: i64) -> Result<(), StoreError>;

    /// The user's credential of a kind, with its use counter.
    async fn credential(
        &self,
        user: Uuid,
        kind: CredentialKind,
    ) -> Result<Option<StoredCredential>, StoreError>;

    /// The kinds of credential the user has.
    async fn credential_kinds(&self, user: Uuid) -> Result<Vec<CredentialKind>, StoreError>;

    /// Stores the user's credential of a kind, replacing any, with its use counter.
    async fn set_credential(
        &self,
        user: Uuid,
        kind: CredentialKind,
        credential: &StoredCredential,
        at: i64,
    ) -> Result<(), StoreError>;

    /// Records a use of the credential with a counter (a TOTP step), atomically, only if it
    /// is above the last one recorded; returns whether it was. Two requests with one code
    /// cannot both succeed.
    async fn use_credential(
        &self,
        user: Uuid,
        kind: CredentialKind,
        counter: i64,
    ) -> Result<bool, StoreError>;

    /// The user's state for every registration prompt shown to them.
    async fn prompt_states(&self, user: Uuid) -> Result<Vec<PromptState>, StoreError>;

    /// Writes the user's state for one registration prompt.
    async fn save_prompt_state(&self, user: Uuid, state: &PromptState) -> Result<(), StoreError>;
}

/// Consecutive failed logins for one throttling key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Failures {
    /// Failures since the last success.
    pub count: u32,
    /// When the last one happened, ms since the epoch.
    pub last_at: i64,
    /// Until when the key is locked, ms since the epoch.
    pub locked_until: Option<i64>,
}

/// A session's serialised state as the session store keeps it.
#[derive(Clone, Debug)]
pub struct Stored {
    /// The serialised session.
    pub data: Vec<u8>,
    /// When it expires, in ms since the epoch.
    pub expires_at: i64,
}

/// A lease older than this is treated as abandoned (its request died mid-advance), by every
/// session store.
const LEASE_MS: i64 = 120_000;

/// Proof of holding a session for one advance; handed back on release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseToken(pub u64);

/// Why a session could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum AcquireError {
    /// No such session, or it expired or ended.
    #[error("the session does not exist or has expired")]
    NotFound,
    /// Another request is advancing it right now.
    #[error("the session is busy with another request")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sessions in flight, by id. One holder at a time per session.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    async fn create(&self, id: &str, session: Stored) -> Result<(), StoreError>;

    /// Takes a session for one advance, refusing if another request holds it.
    async fn acquire(&self, id: &str, now: i64) -> Result<(LeaseToken, Stored), AcquireError>;

    /// Gives a session back with its new state, or ends it with `None`. A lease that no
    /// longer matches (the session expired and was taken again) changes nothing.
    async fn release(
        &self,
        id: &str,
        lease: LeaseToken,
        session: Option<Stored>,
    ) -> Result<(), StoreError>;

    /// Removes expired sessions; returns how many.
    async fn sweep(&self, now: i64) -> Result<usize, StoreError>;
}
