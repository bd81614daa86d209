//! The embedded simulator: a management group (and optionally a Central
//! Management Store) in virtual time, faithful to the stranding hazard
//! (docs/spec.md section 7, `docs/simulator.md`).
//!
//! Owns the simulated estate and its rules: two views per member (the
//! management group's configuration and the member's learned one),
//! acceptance by servers, propagation delay, 60 s retries with per-member
//! phases, fail-back, stranding, faults (docs/spec.md section 6) and the store.
//! It implements [`Provider`](crate::provider::Provider) and
//! [`Clock`](crate::provider::Clock) so the executor drives it exactly as it
//! drives a real target. Deterministic for a seed (ChaCha8); cost is
//! proportional to events, not fleet size × ticks. Must not depend on the
//! planner or the executor, and apart from `file` does no file I/O (state is saved to and
//! loaded from strings).
//!
//! Files: `state` (data), `events` (queue), `rules` (member dynamics),
//! `faults` (faults file and firing), `store` (Central Management Store),
//! `provider` (the provider seam: observe/apply/clock), `file` (the `sim:FILE`
//! target: the one part that reads and writes files).

mod config;
mod events;
pub mod faults;
pub mod file;
mod fire;
mod health;
mod ids;
mod provider;
mod rules;
mod state;
mod store;
mod store_ops;

pub use config::{DelayRange, SimConfig};
pub use faults::{Fault, FaultAction, FaultSchedule, Fired};
pub use state::{Calls, Sim};

/// The simulator as a target: [`Sim`] itself implements
/// [`Provider`](crate::provider::Provider) and
/// [`Clock`](crate::provider::Clock).
pub type SimTarget = Sim;

use crate::model::{MemberKind, Observed, Parents};
use crate::name::Name;
use std::time::Duration;

/// One member as the simulator sees it, for tests and reports: both of
/// its views (the management group's configuration and what the member has
/// learned), which no observation shows. Not the executor's knowledge of a
/// member (`execute::view`, from observations) nor `render::MemberView`
/// (one member's change as a plan shows it to people).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulatedMember {
    /// Its host name.
    pub name: Name,
    /// Agent or gateway.
    pub kind: MemberKind,
    /// The management group's configuration.
    pub configured: Parents,
    /// What the member last learned and acts on.
    pub learned: Parents,
    /// The server it is connected to now.
    pub connected: Option<Name>,
    /// Heartbeating (and, for a gateway, its server up).
    pub online: bool,
    /// Never picks up new configuration.
    pub never_ack: bool,
}

/// Why a saved simulation could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a saved simulation (bad JSON or wrong shape).
    #[error("not a saved simulation: {0}")]
    Json(#[from] serde_json::Error),
    /// The JSON parses but refers to things that do not exist.
    #[error("saved simulation is inconsistent: {0}")]
    Inconsistent(String),
}

impl Sim {
    /// Virtual time since the simulation started.
    pub fn now(&self) -> Duration {
        Duration::from_millis(self.now_ms)
    }

    /// When the next scheduled fault fires, if one is still to come.
    pub fn next_fault_at(&self) -> Option<Duration> {
        self.config
            .faults
            .faults
            .get(self.faults_fired)
            .map(|f| f.at.as_duration())
    }

    /// When the next event of any kind is due; `None` when nothing can
    /// change any more without an outside call (see [`Sim::is_quiescent`]).
    pub fn next_event_at(&self) -> Option<Duration> {
        self.queue.next_at().map(Duration::from_millis)
    }

    /// True when no event is scheduled: without a new `apply` (or a
    /// fault, which would be an event) nothing will ever change. Members
    /// waiting on a down server are parked, not polled, so a stranded or
    /// blocked estate is quiescent.
    pub fn is_quiescent(&self) -> bool {
        self.queue.len() == 0
    }

    /// True while the estate is still moving on its own: a member will
    /// learn, reconnect or fail back, or the store will finish a failover
    /// or replication, without any new call. Scheduled faults do not count
    /// (see [`Sim::next_fault_at`]). A rehearsal must not call an estate
    /// converged while it is settling: a member that a fault has just let
    /// back in is up and online but not yet connected.
    pub fn is_settling(&self) -> bool {
        self.queue
            .iter()
            .any(|e| !matches!(e, events::Event::Fault { .. }))
    }

    /// How many events are scheduled.
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// Provider call counters.
    pub fn calls(&self) -> Calls {
        self.calls
    }

    /// The settings this simulation runs with.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Members that are online, disconnected, and none of whose learned
    /// servers both still lists them in the management group's
    /// configuration and could ever relay configuration again (a
    /// management server, or a gateway whose own learned chain still leads
    /// to one): no configuration can reach them. Sorted by name.
    pub fn stranded(&self) -> Vec<Name> {
        let rooted = self.rooted_now();
        let mut out: Vec<Name> = (0..self.members.len() as u32)
            .filter(|&m| self.is_stranded_with(m, &rooted))
            .map(|m| self.members[m as usize].name.clone())
            .collect();
        out.sort();
        out
    }

    /// Every member that was stranded at some instant since the
    /// simulation was built (judged after every event and every call),
    /// including those stranded now and those something healed later
    /// (a write that lists a server they learned again). Sorted by name.
    pub fn stranded_ever(&self) -> Vec<Name> {
        let mut out: Vec<Name> = self
            .stranded_ever
            .iter()
            .map(|&m| self.members[m as usize].name.clone())
            .chain(self.stranded())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// True when gateway `name` has a working path to a management server
    /// now (its own connection, and its parent's, and so on, reach one that
    /// is up); `None` when it is not a gateway.
    pub fn gateway_has_path(&self, name: &Name) -> Option<bool> {
        let &s = self.index.servers.get(name)?;
        (self.servers[s as usize].kind == state::ServerKind::Gateway).then(|| self.has_path(s))
    }

    /// One member's two views, connection and health; `None` if unknown.
    pub fn member(&self, name: &Name) -> Option<SimulatedMember> {
        let id = *self.index.members.get(name)?;
        let m = &self.members[id as usize];
        if m.retired {
            return None;
        }
        Some(SimulatedMember {
            name: m.name.clone(),
            kind: m.kind,
            configured: self.names(&m.mg),
            learned: self.names(&m.learned),
            connected: m.connected.map(|s| self.servers[s as usize].name.clone()),
            online: self.active(id),
            never_ack: m.never_ack,
        })
    }

    /// Saves the whole state (clock, both views, queue, random stream,
    /// counters, settings) as JSON. The same state gives the same text.
    pub fn save_json(&self) -> String {
        serde_json::to_string(self).expect("the simulator state always serialises")
    }

    /// Loads a state saved by [`Sim::save_json`]; it continues exactly as
    /// the saved one would have.
    pub fn load_json(text: &str) -> Result<Sim, LoadError> {
        let mut sim: Sim = serde_json::from_str(text)?;
        sim.check_ids().map_err(LoadError::Inconsistent)?;
        sim.rebuild_derived();
        for s in 0..sim.servers.len() {
            let p = sim.servers[s].kind == state::ServerKind::Gateway && sim.has_path(s as u32);
            sim.servers[s].had_path = p;
        }
        Ok(sim)
    }

    /// Builds a simulation from an observed state: the learned
    /// configuration starts equal to the management group's; members are
    /// connected as observed unless that server would not accept them.
    /// Faults naming unknown hosts are ignored when they fire; check them
    /// first with [`FaultSchedule::check_names`] (or use [`Sim::try_new`]).
    pub fn from_observed(observed: &Observed, config: SimConfig) -> Sim {
        rules::build(observed, config)
    }

    /// Like [`Sim::from_observed`], refusing a faults schedule that names
    /// hosts the observed state does not have.
    pub fn try_new(
        observed: &Observed,
        config: SimConfig,
    ) -> Result<Sim, crate::diag::Diagnostics> {
        config.faults.check_names(observed)?;
        Ok(Sim::from_observed(observed, config))
    }

    /// Advances virtual time by `d`, processing every event due meanwhile.
    pub fn advance(&mut self, d: Duration) {
        let ms = d.as_nanos().div_ceil(1_000_000);
        let target = self
            .now_ms
            .saturating_add(u64::try_from(ms).unwrap_or(u64::MAX));
        self.run_until(target);
    }

    /// Advances until no event is left or `limit` of virtual time has
    /// passed, whichever comes first; returns true when quiescent.
    pub fn run_until_quiescent(&mut self, limit: Duration) -> bool {
        let end = self.now_ms.saturating_add(limit.as_millis() as u64);
        while let Some(at) = self.queue.next_at() {
            if at > end {
                break;
            }
            self.run_until(at);
        }
        self.is_quiescent()
    }

    fn check_ids(&self) -> Result<(), String> {
        let ns = self.servers.len() as u32;
        let nm = self.members.len() as u32;
        if self.stranded_ever.iter().any(|&m| m >= nm) {
            return Err("stranded_ever names a member that does not exist".into());
        }
        for m in &self.members {
            let ids = m.mg.iter().chain(m.learned.iter()).chain(m.connected);
            if ids.into_iter().any(|s| s >= ns) || m.server.is_some_and(|s| s >= ns) {
                return Err(format!(
                    "member {} names a server that does not exist",
                    m.name
                ));
            }
        }
        for s in &self.servers {
            if s.member.is_some_and(|m| m >= nm) || s.waiting.iter().any(|(m, _)| *m >= nm) {
                return Err(format!(
                    "server {} names a member that does not exist",
                    s.name
                ));
            }
        }
        let pools = self.store.as_ref().map_or(0, |s| s.pools.len() as u32);
        if let Some(store) = &self.store {
            let bad = store.active.is_some_and(|a| a >= pools)
                || store.failover.as_ref().is_some_and(|f| f.pool >= pools)
                || store.also_active.iter().any(|&a| a >= pools);
            if bad {
                return Err("the store names a pool that does not exist".into());
            }
        }
        for ev in self.queue.iter() {
            let ok = match ev {
                events::Event::Learn { member } | events::Event::Retry { member } => *member < nm,
                events::Event::Fault { index } => *index < self.config.faults.faults.len(),
                events::Event::StoreActive { pool, .. } => *pool < pools,
                events::Event::Replicated { .. } => self.store.is_some(),
            };
            if !ok {
                return Err(format!(
                    "a scheduled event refers to something that does not exist: {ev:?}"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
