//! Is a saved plan (`apply PLANFILE`) still right for the estate as it is
//! now? And if not, what changed?
//!
//! Owns the comparison of a plan's `observed_digest` with a fresh
//! observation ([`crate::plan::digest`]) and the explanation given when
//! they differ: up to ten members or servers whose state is no longer what
//! the plan assumed. A plan does not record its whole starting state, so
//! the explanation reads what the steps imply (a bridge lists the old
//! parents as its extra failovers; a chain that starts with an await
//! assumed a member already in a bridge). Pure.

use crate::execute::is_bridge_of;
use crate::model::{MemberKind, Observed, ObservedMember, Parents};
use crate::name::Name;
use crate::plan::{Action, Plan};
use std::collections::{BTreeMap, HashMap};

/// At most this many differences are listed.
pub const MAX_LISTED: usize = 10;

/// Why a plan is stale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stale {
    /// The digest the plan was made with.
    pub planned: String,
    /// The digest of the fresh observation.
    pub now: String,
    /// What changed, one sentence each, at most [`MAX_LISTED`].
    pub changes: Vec<String>,
    /// How many differences were found in all.
    pub total: usize,
}

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "the plan is stale: the estate has changed since it was planned (observed digest {} then, {} now)",
            self.planned, self.now
        )?;
        for c in &self.changes {
            writeln!(f, "  - {c}")?;
        }
        if self.total > self.changes.len() {
            writeln!(f, "  - and {} more", self.total - self.changes.len())?;
        }
        if self.total == 0 {
            writeln!(
                f,
                "  - a member or server this plan touches is no longer in the state the plan assumed"
            )?;
        }
        write!(
            f,
            "run `handover plan` again (or `handover apply --desired PATH`), review it, and apply the new plan"
        )
    }
}

/// A saved plan without `observed_digest`: nobody can tell whether the
/// estate has changed since it was made, so `apply PLANFILE` refuses it
/// unless `--force` is given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{file}: the plan has no observed_digest, so handover cannot tell whether the estate has changed since it was planned; expected a plan written by `handover plan --out FILE` (which records observed_digest): plan again, or pass --force to apply this plan as it is"
)]
pub struct MissingDigest {
    /// The plan file, as given.
    pub file: String,
}

/// Refuses a saved plan that has no `observed_digest` unless `force`.
/// Checked before the target is opened, so nothing is applied.
pub fn require_digest(plan: &Plan, file: &str, force: bool) -> Result<(), MissingDigest> {
    if plan.observed_digest.is_some() || force {
        Ok(())
    } else {
        Err(MissingDigest {
            file: file.to_string(),
        })
    }
}

/// Checks `plan` against a fresh observation. A plan without a digest
/// passes this check; `apply` refuses it earlier, unless `--force`
/// ([`require_digest`]).
pub fn check(plan: &Plan, fresh: &Observed) -> Result<(), Stale> {
    let Some(planned) = &plan.observed_digest else {
        return Ok(());
    };
    let now = crate::plan::digest(fresh, plan);
    if &now == planned {
        return Ok(());
    }
    let all = what_changed(plan, fresh);
    Err(Stale {
        planned: planned.clone(),
        now,
        total: all.len(),
        changes: all.into_iter().take(MAX_LISTED).collect(),
    })
}

fn parents_text(p: &Parents) -> String {
    let f: Vec<&str> = p.failover.iter().map(|n| n.as_str()).collect();
    if f.is_empty() {
        format!("primary {}", p.primary)
    } else {
        format!("primary {}, failover {}", p.primary, f.join(", "))
    }
}

/// Everything in `fresh` that contradicts what `plan`'s steps imply.
pub fn what_changed(plan: &Plan, fresh: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    let members: HashMap<(MemberKind, &Name), &ObservedMember> = fresh
        .gateways
        .iter()
        .map(|m| ((MemberKind::Gateway, &m.name), m))
        .chain(
            fresh
                .agents
                .iter()
                .map(|m| ((MemberKind::Agent, &m.name), m)),
        )
        .collect();
    // Per member: its steps in plan order.
    let mut chains: BTreeMap<(MemberKind, Name), Vec<&Action>> = BTreeMap::new();
    for s in &plan.steps {
        match &s.action {
            Action::SetParents { kind, name, .. } | Action::AwaitConnected { kind, name, .. } => {
                chains
                    .entry((*kind, name.clone()))
                    .or_default()
                    .push(&s.action)
            }
            _ => {}
        }
    }
    for ((kind, name), steps) in &chains {
        let Some(m) = members.get(&(*kind, name)) else {
            out.push(format!("{kind} {name} is no longer observed"));
            continue;
        };
        let writes: Vec<(Parents, bool)> = steps
            .iter()
            .filter_map(|a| match a {
                Action::SetParents { bridge, .. } => Some((a.parents()?, *bridge)),
                _ => None,
            })
            .collect();
        let Some(last) = writes.last().map(|(p, _)| p) else {
            continue;
        };
        if matches!(steps[0], Action::AwaitConnected { .. }) {
            if !is_bridge_of(last, &m.parents) {
                out.push(format!(
                    "{kind} {name} was in a bridge when planned; it now has {}",
                    parents_text(&m.parents)
                ));
            }
            continue;
        }
        if let Some((p, _)) = writes.iter().find(|(p, _)| p == &m.parents) {
            out.push(format!(
                "{kind} {name} already has the parents this plan would write ({})",
                parents_text(p)
            ));
            continue;
        }
        if let Some((bridge, true)) = writes.first() {
            // The bridge's extra failovers are the parents it had.
            let old: Vec<&Name> = bridge.failover[last.failover.len()..].iter().collect();
            if old.iter().any(|o| !m.parents.lists(o)) {
                out.push(format!(
                    "{kind} {name} now has {}; the plan was made when it listed {}",
                    parents_text(&m.parents),
                    old.iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    // Servers the plan moves members onto, or waits for.
    let mut servers: Vec<&Name> = Vec::new();
    for s in &plan.steps {
        match &s.action {
            Action::SetParents { primary, .. } => servers.push(primary),
            Action::AwaitReady { name, .. } => servers.push(name),
            _ => {}
        }
    }
    servers.sort();
    servers.dedup();
    for s in servers {
        if let Some(ms) = fresh.management_servers.iter().find(|m| &m.name == s) {
            if !ms.up {
                out.push(format!("management server {s} is down"));
            }
        } else if let Some(g) = members.get(&(MemberKind::Gateway, s)) {
            if !g.up {
                out.push(format!("gateway {s} is down"));
            } else if !g.ready {
                out.push(format!("gateway {s} is not ready"));
            }
        } else {
            out.push(format!("server {s} is no longer observed"));
        }
    }
    let touches_store = plan.steps.iter().any(|s| {
        matches!(
            s.action,
            Action::StoreFailover { .. }
                | Action::AwaitReplication { .. }
                | Action::AwaitStoreActive { .. }
        )
    });
    if touches_store {
        match &fresh.management_store {
            None => out.push("the target no longer reports a Central Management Store".into()),
            Some(st) => {
                for a in &plan.steps {
                    if let Action::StoreFailover { pool, .. } = &a.action {
                        if st.active_pool.as_ref() == Some(pool) {
                            out.push(format!(
                                "the Central Management Store is already active in {pool}"
                            ));
                        }
                        if st.pools.iter().any(|p| &p.name == pool && !p.up) {
                            out.push(format!("pool {pool} is down"));
                        }
                    }
                }
            }
        }
    }
    out
}
