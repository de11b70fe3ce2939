//! Local authenticators in PostgreSQL: credentials other than the password hash, their use
//! counters, and the registration-prompt state of each user.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::store::{CredentialKind, PromptState, StoreError, StoredCredential};

pub async fn credential(
    pool: &PgPool,
    user: Uuid,
    kind: CredentialKind,
) -> Result<Option<StoredCredential>, StoreError> {
    let row = sqlx::query(
        "SELECT secret, last_used FROM credentials WHERE user_id = $1::uuid AND kind = $2",
    )
    .bind(user.to_string())
    .bind(kind.name())
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(StoredCredential {
        secret: row.try_get("secret")?,
        last_used: row.try_get("last_used")?,
    }))
}

pub async fn kinds(pool: &PgPool, user: Uuid) -> Result<Vec<CredentialKind>, StoreError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM credentials WHERE user_id = $1::uuid ORDER BY kind COLLATE \"C\"",
    )
    .bind(user.to_string())
    .fetch_all(pool)
    .await?;
    Ok(names
        .iter()
        .filter_map(|n| CredentialKind::parse(n))
        .collect())
}

pub async fn set(
    pool: &PgPool,
    user: Uuid,
    kind: CredentialKind,
    credential: &StoredCredential,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO credentials (user_id, kind, secret, last_used, created_at, updated_at) \
         VALUES ($1::uuid, $2, $3, $4, $5, $5) ON CONFLICT (user_id, kind) DO UPDATE \
         SET secret = excluded.secret, last_used = excluded.last_used, \
         updated_at = excluded.updated_at",
    )
    .bind(user.to_string())
    .bind(kind.name())
    .bind(&credential.secret)
    .bind(credential.last_used)
    .bind(at)
    .execute(pool)
    .await?;
    Ok(())
}

/// One conditional update: under concurrent uses of one counter, PostgreSQL re-checks the
/// condition against the row the first writer left, so only one of them succeeds.
pub async fn use_counter(
    pool: &PgPool,
    user: Uuid,
    kind: CredentialKind,
    counter: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE credentials SET last_used = $3 WHERE user_id = $1::uuid AND kind = $2 \
         AND (last_used IS NULL OR last_used < $3)",
    )
    .bind(user.to_string())
    .bind(kind.name())
    .bind(counter)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn prompt_states(pool: &PgPool, user: Uuid) -> Result<Vec<PromptState>, StoreError> {
    let rows = sqlx::query(
        "SELECT prompt, skips, first_asked_at, last_asked_at, last_skipped_at, registered_at \
         FROM authenticator_prompts WHERE user_id = $1::uuid ORDER BY prompt COLLATE \"C\"",
    )
    .bind(user.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter().map(prompt_from_row).collect()
}

fn prompt_from_row(row: &PgRow) -> Result<PromptState, StoreError> {
    let skips: i64 = row.try_get("skips")?;
    Ok(PromptState {
        prompt: row.try_get("prompt")?,
        skips: u32::try_from(skips).unwrap_or(u32::MAX),
        first_asked_at: row.try_get("first_asked_at")?,
        last_asked_at: row.try_get("last_asked_at")?,
        last_skipped_at: row.try_get("last_skipped_at")?,
        registered_at: row.try_get("registered_at")?,
    })
}

pub async fn save_prompt_state(
    pool: &PgPool,
    user: Uuid,
    state: &PromptState,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO authenticator_prompts (user_id, prompt, skips, first_asked_at, \
         last_asked_at, last_skipped_at, registered_at) \
         VALUES ($1::uuid, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (user_id, prompt) DO UPDATE SET skips = excluded.skips, \
         first_asked_at = excluded.first_asked_at, last_asked_at = excluded.last_asked_at, \
         last_skipped_at = excluded.last_skipped_at, registered_at = excluded.registered_at",
    )
    .bind(user.to_string())
    .bind(&state.prompt)
    .bind(i64::from(state.skips))
    .bind(state.first_asked_at)
    .bind(state.last_asked_at)
    .bind(state.last_skipped_at)
    .bind(state.registered_at)
    .execute(pool)
    .await?;
    Ok(())
}
