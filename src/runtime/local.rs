//! Local second factors: the `check_totp` step. The user's TOTP seed is opened with the
//! configured key only for the check; an accepted code's time step is recorded atomically, so
//! the same code never passes twice. An unreadable seed fails the session rather than
//! letting the user around it.

use super::session::Proof;
use super::steps::{Exec, Fault, Run, outcome, store_down};
use super::throttle;
use crate::authn::Sealer;
use crate::authn::totp::Seed;
use crate::compile::ir::ExprId;
use crate::secret::Secret;
use crate::store::{CredentialKind, StoredCredential};

/// The associated data TOTP seeds are sealed under.
pub const TOTP: &str = "totp";

/// A stored seed, opened: sealed by Ferry, or plain as an import before sealing wrote it
/// (then `true`, so the caller seals it after a good code).
pub fn open_seed(sealer: &Sealer, stored: &str) -> Result<(Seed, bool), String> {
    let (plain, was_plain) = if Sealer::is_sealed(stored) {
        let opened = sealer.open(TOTP, stored).map_err(|e| e.to_string())?;
        (opened, false)
    } else {
        (Secret::new(stored), true)
    };
    let seed = Seed::parse(plain.expose()).map_err(|e| e.to_string())?;
    Ok((seed, was_plain))
}

impl Run<'_> {
    /// The engine's sealer; a journey with TOTP steps is not ready without one.
    pub(super) fn sealer(&self) -> Result<&Sealer, Fault> {
        self.engine
            .sealer
            .as_deref()
            .ok_or_else(|| Fault::Broken("TOTP needs `authenticators.encryption_key`".into()))
    }

    /// Checks a code against the local TOTP seed of the user looked up, under the same
    /// throttling as passwords but counted under the code keys, so that a right password
    /// does not clear a run of wrong codes.
    pub(super) async fn check_totp(&mut self, code: ExprId) -> Result<Exec, Fault> {
        let identifier = match (&self.session.user, &self.session.lookup) {
            (Some(user), _) => user.identifier.clone(),
            (None, Some(lookup)) => lookup.clone(),
            (None, None) => return Err(Fault::Broken("check_totp ran before find_user".into())),
        };
        let code = self.secret(code)?;
        let both = self.code_keys(&identifier);
        if let Some(locked) = self.count_code_attempt(&both).await? {
            return Ok(locked);
        }
        let keys = &both[1];

        let verdict = match self.verify_totp(&code).await? {
            Ok(verdict) => verdict,
            Err(down) => return Ok(down),
        };

        let store = self.engine.users.as_ref();
        let settings = &self.engine.throttle;
        let now = self.engine.clock.now_ms();
        let result = match verdict {
            "success" => throttle::succeeded(store, settings, keys).await,
            "failure" => throttle::failed(store, settings, keys, now)
                .await
                .map(|locked| self.transient.locked_until = locked),
            _ => Ok(()),
        };
        if let Err(e) = result {
            return Ok(store_down(&e));
        }
        Ok(outcome(verdict))
    }

    /// `success`, `failure` or `not_enrolled`; `Err` when the store failed.
    async fn verify_totp(&mut self, code: &Secret) -> Result<Result<&'static str, Exec>, Fault> {
        let Some(user) = self.session.user.clone() else {
            return Ok(Ok("failure"));
        };
        let users = self.engine.users.as_ref();
        let stored = match users.credential(user.id, CredentialKind::Totp).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return Ok(Ok("not_enrolled")),
            Err(e) => return Ok(Err(store_down(&e))),
        };
        let (seed, was_plain) = open_seed(self.sealer()?, &stored.secret).map_err(|why| {
            tracing::error!(target: "ferry::journey", user = %user.id, error = %why, "stored TOTP seed unusable");
            Fault::Broken("the user's TOTP seed cannot be used".into())
        })?;

        let now = self.engine.clock.now_secs();
        let Some(matched) = seed.verify(code, now, stored.last_used) else {
            return Ok(Ok("failure"));
        };
        let fresh = match users
            .use_credential(user.id, CredentialKind::Totp, matched.step)
            .await
        {
            Ok(fresh) => fresh,
            Err(e) => return Ok(Err(store_down(&e))),
        };
        if !fresh {
            return Ok(Ok("failure"));
        }
        if was_plain {
            self.reseal(user.id, &seed, matched.step).await?;
        }
        self.session.proofs.push(Proof::LocalTotp { user: user.id });
        Ok(Ok("success"))
    }

    /// Replaces a plain imported seed by a sealed one, keeping its last used step.
    async fn reseal(&self, user: uuid::Uuid, seed: &Seed, step: i64) -> Result<(), Fault> {
        let sealed = self
            .sealer()?
            .seal(TOTP, &seed.to_stored())
            .map_err(super::steps::fault)?;
        let credential = StoredCredential {
            secret: sealed,
            last_used: Some(step),
        };
        let at = self.engine.clock.now_ms();
        if let Err(e) = self
            .engine
            .users
            .set_credential(user, CredentialKind::Totp, &credential, at)
            .await
        {
            tracing::warn!(target: "ferry::journey", user = %user, error = %e, "sealing an imported TOTP seed failed");
        }
        Ok(())
    }
}
