//! What a batch of migrations does, decided apart from any database: given the users that the
//! batch's identifiers and legacy accounts already have, which records create, update or
//! conflict, and the writes that follow. Every store applies the rules through this one place,
//! so a login's save-user step and an import can never disagree. Two legacy accounts are never
//! merged into one user.

use std::collections::HashMap;

use uuid::Uuid;

use super::{ConflictKind, ConflictPolicy, LegacyAccount, Migration, NewCredential, Saved, User};

/// The users a batch touches, as the store holds them before the batch.
#[derive(Debug, Default)]
pub struct Known {
    /// Users by normalised identifier.
    pub by_identifier: HashMap<String, User>,
    /// User ids by legacy account (`idp`, `subject`).
    pub holders: HashMap<(String, String), Uuid>,
}

/// A user row to write: its final state after the batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Write {
    /// The user.
    pub user: User,
    /// Whether the row is new.
    pub new: bool,
    /// When it was first written in this batch.
    pub at: i64,
    /// When it was last changed in this batch.
    pub updated_at: i64,
}

/// One migration-log row.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    /// The user.
    pub user: Uuid,
    /// `created` or `updated`.
    pub event: &'static str,
    /// The migration, by position in the batch.
    pub index: usize,
}

/// Everything a batch writes.
#[derive(Debug, Default)]
pub struct Plan {
    /// One outcome per migration, in order.
    pub outcomes: Vec<Saved>,
    /// User rows, one per user touched.
    pub writes: Vec<Write>,
    /// Credentials, one per user and kind.
    pub credentials: Vec<(Uuid, NewCredential)>,
    /// Users whose roles are replaced, with the new roles.
    pub roles: Vec<(Uuid, Vec<String>)>,
    /// Users whose groups are replaced, with the new groups.
    pub groups: Vec<(Uuid, Vec<String>)>,
    /// Log rows.
    pub log: Vec<LogEntry>,
}

#[derive(Default)]
struct Builder {
    plan: Plan,
    /// The write holding each identifier's state after the records planned so far; it
    /// shadows [`Known::by_identifier`].
    written: HashMap<String, usize>,
    write_of: HashMap<Uuid, usize>,
    credential_of: HashMap<(Uuid, &'static str), usize>,
    roles: HashMap<Uuid, Vec<String>>,
    groups: HashMap<Uuid, Vec<String>>,
}

/// Decides a batch in order; `new_id` names each user created.
pub fn plan(migrations: &[Migration], mut known: Known, mut new_id: impl FnMut() -> Uuid) -> Plan {
    let mut b = Builder::default();
    for (index, m) in migrations.iter().enumerate() {
        let current = match b.written.get(&m.identifier) {
            Some(&i) => b.plan.writes.get(i).map(|w| &w.user),
            None => known.by_identifier.get(&m.identifier),
        };
        let outcome = decide(&known, current, m);
        let saved = match outcome {
            Decision::Conflict(kind) => Saved::Conflict(kind),
            Decision::Create => b.create(&mut known, m, new_id(), index),
            Decision::Update(user) => b.update(&mut known, m, user, index),
        };
        b.plan.outcomes.push(saved);
    }
    b.finish()
}

enum Decision {
    Create,
    Update(User),
    Conflict(ConflictKind),
}

/// What the migration does to `current`, the identifier's user as the batch has left it.
fn decide(known: &Known, current: Option<&User>, m: &Migration) -> Decision {
    let holder = known.holders.get(&account_key(&m.legacy)).copied();
    let Some(user) = current else {
        return match holder {
            Some(_) => Decision::Conflict(ConflictKind::AccountTaken),
            None => Decision::Create,
        };
    };
    match &user.legacy {
        Some(l) if l.idp != m.legacy.idp || l.subject != m.legacy.subject => {
            return Decision::Conflict(ConflictKind::OtherLegacyAccount);
        }
        None if holder.is_some_and(|h| h != user.id) => {
            return Decision::Conflict(ConflictKind::AccountTaken);
        }
        _ => {}
    }
    if m.policy == ConflictPolicy::Fail {
        return Decision::Conflict(ConflictKind::Exists);
    }
    Decision::Update(user.clone())
}

fn account_key(legacy: &LegacyAccount) -> (String, String) {
    (legacy.idp.clone(), legacy.subject.clone())
}

impl Builder {
    fn create(&mut self, known: &mut Known, m: &Migration, id: Uuid, index: usize) -> Saved {
        let user = User {
            id,
            identifier: m.identifier.clone(),
            attributes: m.attributes.clone(),
            legacy: Some(m.legacy.clone()),
            migrated_at: m.completes.then_some(m.at),
        };
        self.record(known, m, &user, true, index);
        Saved::Created(user)
    }

    fn update(&mut self, known: &mut Known, m: &Migration, mut user: User, index: usize) -> Saved {
        let replace = m.policy == ConflictPolicy::Update;
        if replace {
            user.attributes.extend(m.attributes.clone());
        }
        user.legacy = Some(m.legacy.clone());
        if m.completes {
            user.migrated_at = user.migrated_at.or(Some(m.at));
        }
        self.record(known, m, &user, false, index);
        Saved::Updated(user)
    }

    /// Notes the user's new state, credentials, memberships and log row.
    fn record(&mut self, known: &mut Known, m: &Migration, user: &User, new: bool, index: usize) {
        known.holders.insert(account_key(&m.legacy), user.id);
        let i = match self.write_of.get(&user.id) {
            Some(&i) => {
                self.plan.writes[i].user = user.clone();
                self.plan.writes[i].updated_at = m.at;
                i
            }
            None => {
                let i = self.plan.writes.len();
                self.write_of.insert(user.id, i);
                self.plan.writes.push(Write {
                    user: user.clone(),
                    new,
                    at: m.at,
                    updated_at: m.at,
                });
                i
            }
        };
        self.written.insert(user.identifier.clone(), i);
        for credential in &m.credentials {
            self.credential(user.id, credential);
        }
        let memberships = new || m.policy == ConflictPolicy::Update;
        if let (true, Some(roles)) = (memberships, &m.roles) {
            self.roles.insert(user.id, roles.clone());
        }
        if let (true, Some(groups)) = (memberships, &m.groups) {
            self.groups.insert(user.id, groups.clone());
        }
        let event = if new { "created" } else { "updated" };
        self.plan.log.push(LogEntry {
            user: user.id,
            event,
            index,
        });
    }

    /// One credential per user and kind: a replacing one wins, a gap-filling one fills only
    /// a gap left by the batch itself.
    fn credential(&mut self, user: Uuid, credential: &NewCredential) {
        let key = (user, credential.kind.name());
        match self.credential_of.get(&key) {
            Some(&i) if credential.replace => self.plan.credentials[i].1 = credential.clone(),
            Some(_) => {}
            None => {
                self.credential_of.insert(key, self.plan.credentials.len());
                self.plan.credentials.push((user, credential.clone()));
            }
        }
    }

    fn finish(mut self) -> Plan {
        self.plan.roles = sorted(self.roles);
        self.plan.groups = sorted(self.groups);
        self.plan
    }
}

/// Memberships to replace (an empty list removes them all), in a stable order.
fn sorted(map: HashMap<Uuid, Vec<String>>) -> Vec<(Uuid, Vec<String>)> {
    let mut out: Vec<_> = map.into_iter().collect();
    out.sort_by_key(|(id, _)| *id);
    out
}
