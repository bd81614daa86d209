//! The provider seam of the simulator: observe, apply, and the virtual
//! clock.
//!
//! Owns turning the simulated estate into an [`Observed`] document (the
//! management group's configuration, never the members' learned one),
//! performing [`Operation`]s idempotently with clear permanent errors for
//! unknown names, injecting transient errors at the `providerErrorRate`
//! and lost answers (applied, reported as a timeout) at the
//! `providerLostAnswerRate`, and the [`Clock`] whose `sleep` advances
//! virtual time; servers' health comes from `health`. Must not know about
//! plans.

use super::state::{Ids, MemberId, ServerKind, Sim};
use super::store_ops::FailoverRequest;
use crate::model::{MemberKind, Observed, ObservedMember, ObservedServer, Parents};
use crate::name::Name;
use crate::provider::{Clock, Operation, Provider, ProviderError, Scope};
use rand::Rng;
use std::time::Duration;

impl Sim {
    /// Draws whether this call fails transiently (only when a
    /// `providerErrorRate` is in force, so other runs draw nothing).
    fn inject(&mut self, what: &str) -> Result<(), ProviderError> {
        if self.error_rate > 0.0 && self.rng.0.random_bool(self.error_rate.min(1.0)) {
            self.calls.transient_failures += 1;
            return Err(ProviderError::Transient(format!(
                "simulated {what} failure at {} s (providerErrorRate {})",
                self.now_ms / 1000,
                self.error_rate
            )));
        }
        Ok(())
    }

    /// Draws whether the answer of an `apply` that succeeded is lost (only
    /// when a `providerLostAnswerRate` is in force): the change stays made,
    /// and the caller sees the transient failure a timed-out call gives.
    fn lose_answer(&mut self) -> Result<(), ProviderError> {
        if self.lost_answer_rate > 0.0 && self.rng.0.random_bool(self.lost_answer_rate.min(1.0)) {
            self.calls.transient_failures += 1;
            return Err(ProviderError::Transient(format!(
                "simulated timeout at {} s: the change was applied but its answer was lost (providerLostAnswerRate {})",
                self.now_ms / 1000,
                self.lost_answer_rate
            )));
        }
        Ok(())
    }

    fn observed_member(&self, m: MemberId) -> ObservedMember {
        let member = &self.members[m as usize];
        let server = member.server.map(|s| &self.servers[s as usize]);
        ObservedMember {
            name: member.name.clone(),
            parents: self.names(&member.mg),
            connected: if self.active(m) {
                member
                    .connected
                    .map(|s| self.servers[s as usize].name.clone())
            } else {
                None
            },
            up: server.is_none_or(|s| s.up),
            ready: server.is_none_or(|s| s.ready),
            evidence: None,
        }
    }

    /// Observes now, without a clock or error injection (for tests and
    /// `export`): every server, and all members or only `scope`'s.
    pub fn snapshot(&self, scope: &Scope) -> Observed {
        let mut out = Observed::new();
        out.management_servers = self
            .servers
            .iter()
            .filter(|s| s.kind == ServerKind::ManagementServer)
            .map(|s| ObservedServer {
                name: s.name.clone(),
                up: s.up,
            })
            .collect();
        let live = |m: &MemberId| !self.members[*m as usize].retired;
        // Gateways through the servers (O(servers), not O(members): a
        // scoped poll must not walk 100,000 agents), in member order.
        let mut gateways: Vec<MemberId> = self
            .servers
            .iter()
            .filter_map(|s| s.member)
            .filter(|m| self.members[*m as usize].kind == MemberKind::Gateway)
            .filter(live)
            .collect();
        gateways.sort_unstable();
        out.gateways = gateways
            .into_iter()
            .map(|m| self.observed_member(m))
            .collect();
        let agents: Vec<MemberId> = match scope {
            Scope::All => (0..self.members.len() as MemberId)
                .filter(|m| self.members[*m as usize].kind == MemberKind::Agent)
                .filter(live)
                .collect(),
            Scope::Members(names) => {
                let mut ids: Vec<MemberId> = names
                    .iter()
                    .filter_map(|n| self.index.members.get(n).copied())
                    .filter(|m| self.members[*m as usize].kind == MemberKind::Agent)
                    .filter(live)
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            }
        };
        out.agents = agents
            .into_iter()
            .map(|m| self.observed_member(m))
            .collect();
        out.management_store = self.store.as_ref().map(|s| s.observe());
        if self.overload_armed {
            for (i, s) in self.servers.iter().enumerate() {
                if let Some(h) = self.health_of(i as u32) {
                    out.health.insert(s.name.clone(), h);
                }
            }
        }
        out
    }

    /// [`Provider::observe`] without async: counts the call and may fail
    /// transiently at the `providerErrorRate`.
    pub fn observe_now(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
        self.calls.observe += 1;
        self.inject("observe")?;
        Ok(self.snapshot(scope))
    }

    /// [`Provider::apply`] without async: counts the call, may fail
    /// transiently (a failed call has no effect), refuses unknown names and
    /// impossible changes permanently, and changes nothing when the
    /// operation's effect already holds. A call that succeeded may still
    /// lose its answer (`providerLostAnswerRate`): it reports a transient
    /// failure although its change was made.
    pub fn apply_now(&mut self, op: &Operation) -> Result<(), ProviderError> {
        self.calls.apply += 1;
        self.inject("apply")?;
        let result = match op {
            Operation::SetParents {
                kind,
                name,
                parents,
            } => self.set_parents(*kind, name, parents),
            Operation::RetireGateway { name } => self.retire_gateway(name),
            Operation::StoreFailover {
                pool,
                mode,
                backup_sql_server,
                ..
            } => self.store_failover(FailoverRequest {
                pool,
                mode: *mode,
                backup_sql_server: backup_sql_server.as_ref(),
            }),
        };
        self.after_change();
        match result {
            Ok(changed) => {
                if changed {
                    self.calls.changes += 1;
                }
                self.lose_answer()
            }
            Err(e) => {
                self.calls.permanent_failures += 1;
                Err(e)
            }
        }
    }

    fn set_parents(
        &mut self,
        kind: MemberKind,
        name: &Name,
        parents: &Parents,
    ) -> Result<bool, ProviderError> {
        let perm = |msg: String| Err(ProviderError::Permanent(msg));
        let Some(&m) = self.index.members.get(name) else {
            return perm(format!(
                "unknown {kind} {name}: the management group has no such member"
            ));
        };
        let member = &self.members[m as usize];
        if member.retired {
            return perm(format!("gateway {name} has been retired"));
        }
        if member.kind != kind {
            return perm(format!("{name} is a {}, not a {kind}", member.kind));
        }
        let mut ids = Vec::new();
        for p in parents.iter() {
            let known = self.index.servers.get(p).filter(|&&s| {
                let srv = &self.servers[s as usize];
                srv.kind != ServerKind::Unknown && !srv.retired
            });
            let Some(&s) = known else {
                return perm(format!(
                    "unknown parent {p} for {kind} {name}: no management server or gateway has that name"
                ));
            };
            if member.server == Some(s) {
                return perm(format!("{kind} {name} cannot be its own parent"));
            }
            if ids.contains(&s) {
                return perm(format!(
                    "{p} is listed twice in the parents of {kind} {name}"
                ));
            }
            ids.push(s);
        }
        let ids = Ids {
            primary: ids[0],
            failover: ids[1..].to_vec(),
        };
        Ok(self.set_configured(m, ids))
    }

    fn retire_gateway(&mut self, name: &Name) -> Result<bool, ProviderError> {
        let Some(&s) = self.index.servers.get(name) else {
            return Err(ProviderError::Permanent(format!("unknown gateway {name}")));
        };
        if self.servers[s as usize].kind != ServerKind::Gateway {
            return Err(ProviderError::Permanent(format!("{name} is not a gateway")));
        }
        if self.servers[s as usize].retired {
            return Ok(false);
        }
        let listed: Vec<&Name> = self
            .members
            .iter()
            .filter(|m| !m.retired && m.mg.lists(s))
            .map(|m| &m.name)
            .collect();
        if let Some(first) = listed.first() {
            return Err(ProviderError::Permanent(format!(
                "gateway {name} is still a parent of {} member(s), such as {first}; move them first",
                listed.len()
            )));
        }
        self.servers[s as usize].retired = true;
        self.servers[s as usize].up = false;
        self.roots_stale = true;
        self.drop_all(s);
        if let Some(m) = self.servers[s as usize].member {
            self.disconnect(m);
            self.members[m as usize].retired = true;
        }
        Ok(true)
    }
}

impl Provider for Sim {
    async fn observe(&mut self, scope: &Scope) -> Result<Observed, ProviderError> {
        self.observe_now(scope)
    }

    async fn apply(&mut self, op: &Operation) -> Result<(), ProviderError> {
        self.apply_now(op)
    }
}

impl Clock for Sim {
    fn now(&self) -> Duration {
        Sim::now(self)
    }

    async fn sleep(&mut self, d: Duration) {
        self.advance(d)
    }
}

impl crate::provider::Schedule for Sim {
    fn next_scheduled(&self) -> Option<std::time::Duration> {
        self.next_fault_at()
    }
}

impl crate::provider::Inspect for Sim {
    fn stranded(&self) -> Vec<crate::name::Name> {
        Sim::stranded(self)
    }

    fn stranded_ever(&self) -> Vec<crate::name::Name> {
        Sim::stranded_ever(self)
    }

    fn settling(&self) -> bool {
        self.is_settling()
    }
}
