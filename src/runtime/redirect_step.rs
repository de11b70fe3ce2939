//! The `legacy_redirect` step: entering it starts a redirect and indexes the session by the
//! `state`'s hash; the callback resumes it, once. The relying party's checks live in
//! [`crate::idp::redirect`]; this file keeps the session's side.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::session::{Proof, SessionLegacy};
use super::steps::{Exec, Fault, Run};
use crate::compile::ir::{Idp, IdpId};
use crate::idp::redirect::{CallbackParams, RedirectClient, RedirectError, state_hash};
use crate::store::Stored;

/// Longest the callback's exchange with the provider may take.
const FINISH_LIMIT: Duration = Duration::from_secs(30);

/// The session store key that finds a session by its redirect's `state` hash.
pub fn state_key(hash: &str) -> String {
    format!("redirect-state:{hash}")
}

/// Whether a callback's `state` is the one the session's waiting redirect sent.
pub fn state_matches(session: &super::Session, callback: &CallbackParams) -> bool {
    let (Some(pending), Some(state)) = (&session.redirect, &callback.state) else {
        return false;
    };
    crate::secret::Secret::new(state_hash(state.expose())).ct_eq(&pending.state_hash)
}

impl Run<'_> {
    fn redirect_client(&self, idp: IdpId) -> Result<(Idp, Arc<RedirectClient>), Fault> {
        let decl = self
            .journey
            .idp(idp)
            .ok_or_else(|| Fault::Broken("unknown IDP index".into()))?;
        let client =
            self.engine.redirects.get(&decl.name).ok_or_else(|| {
                Fault::Broken(format!("IDP `{}` has no redirect client", decl.name))
            })?;
        Ok((decl.clone(), client.clone()))
    }

    /// Entering the step: a fresh redirect, the session indexed by its `state`, then wait.
    pub(super) async fn legacy_redirect_begin(&mut self, idp: IdpId) -> Result<Exec, Fault> {
        let (decl, client) = self.redirect_client(idp)?;
        let id = self
            .transient
            .session_id
            .clone()
            .ok_or_else(|| Fault::Broken("a redirect needs the session's id".into()))?;
        let begun = match client.begin().await {
            Ok(begun) => begun,
            Err(e) => return Ok(self.redirect_failed(&decl, &e, 0)),
        };
        let index = Stored {
            data: id.expose().as_bytes().to_vec(),
            expires_at: self.session.expires_at,
        };
        let key = state_key(&begun.pending.state_hash);
        if let Err(e) = self.engine.sessions.create(&key, index).await {
            tracing::error!(target: "ferry::store", error = %e, "session store failed");
            return Ok(Exec::Outcome("unavailable".into()));
        }
        self.session.redirect = Some(begun.pending);
        Ok(Exec::Wait)
    }

    /// The callback: the provider's answer checked, the account recorded, the redirect
    /// forgotten whatever happens, so the same callback can never complete twice.
    pub(super) async fn legacy_redirect_finish(
        &mut self,
        idp: IdpId,
        callback: &CallbackParams,
    ) -> Result<Exec, Fault> {
        let (decl, client) = self.redirect_client(idp)?;
        let pending = self
            .session
            .redirect
            .take()
            .filter(|p| p.idp == decl.name)
            .ok_or_else(|| Fault::Broken("legacy_redirect resumed without a redirect".into()))?;

        let started = Instant::now();
        let call = tokio::time::timeout(FINISH_LIMIT, client.finish(&pending, callback)).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;

        let verified = match call {
            Ok(Ok(verified)) => verified,
            Ok(Err(e)) => {
                self.observe(&decl, "oidc", e.outcome(), started.elapsed());
                return Ok(self.redirect_failed(&decl, &e, elapsed_ms));
            }
            Err(_) => {
                let provider = decl.provider.name();
                tracing::warn!(target: "ferry::legacy", idp = %decl.name, provider, elapsed_ms, "legacy call timed out");
                self.observe(&decl, "oidc", "unavailable", started.elapsed());
                return Ok(Exec::Outcome("unavailable".into()));
            }
        };
        self.observe(&decl, "oidc", "success", started.elapsed());
        tracing::debug!(target: "ferry::legacy", idp = %decl.name, provider = decl.provider.name(), elapsed_ms, outcome = "success", "legacy redirect");
        let subject = verified.subject;
        self.session.claims = verified.claims;
        self.session.legacy = Some(SessionLegacy {
            idp: decl.name.clone(),
            provider: decl.provider.name().into(),
            subject: subject.clone(),
        });
        self.session.proofs.push(Proof::LegacyRedirect {
            idp: decl.name.clone(),
            subject,
        });
        Ok(Exec::Outcome("success".into()))
    }

    fn redirect_failed(&mut self, decl: &Idp, error: &RedirectError, elapsed_ms: u64) -> Exec {
        let (outcome, cause) = (error.outcome(), error.cause());
        let provider = decl.provider.name();
        if outcome == "unavailable" {
            tracing::warn!(target: "ferry::legacy", idp = %decl.name, provider, elapsed_ms, outcome, cause, error = %error, "legacy redirect failed");
        } else {
            tracing::info!(target: "ferry::legacy", idp = %decl.name, provider, elapsed_ms, outcome, cause, "legacy redirect refused");
        }
        self.transient.cause = Some(cause);
        Exec::Outcome(outcome.into())
    }

    /// Whether the user signed in at `idp` in this session (so may choose a new password).
    pub(super) fn redirected(&self, idp: &str) -> bool {
        let Some(legacy) = &self.session.legacy else {
            return false;
        };
        self.session.proofs.iter().any(|p| match p {
            Proof::LegacyRedirect { idp: i, subject } => {
                i == idp && legacy.idp == idp && *subject == legacy.subject
            }
            _ => false,
        })
    }
}
