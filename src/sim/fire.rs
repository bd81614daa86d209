//! Firing faults (docs/spec.md section 6) at their virtual times: what
//! each fault of the schedule does to the simulated estate.
//!
//! Owns the `impl Sim` half of faults, apart from the schedule (`faults`:
//! parsing and checking the file) so that the schedule, which a
//! simulation's settings hold, does not import the simulation. Must not
//! parse anything.

use super::faults::{FaultAction, Fired};
use super::ids::MemberId;
use super::state::Sim;
use crate::name::Name;

impl Sim {
    /// The faults injected so far, in the order they fired.
    pub fn faults_fired(&self) -> Vec<Fired> {
        self.config.faults.faults[..self.faults_fired.min(self.config.faults.faults.len())]
            .iter()
            .map(|f| Fired {
                at: f.at.0 as f64,
                fault: f.action.key(),
                what: f.action.what(),
            })
            .collect()
    }
}

impl Sim {
    /// Queues every fault of the (time-sorted) schedule.
    pub(crate) fn schedule_faults(&mut self) {
        for (index, f) in self.config.faults.faults.iter().enumerate() {
            self.queue.push(
                f.at.0.saturating_mul(1000),
                super::events::Event::Fault { index },
            );
        }
    }

    /// Fires fault `index`.
    pub(crate) fn fire_fault(&mut self, index: usize) {
        self.faults_fired = self.faults_fired.max(index + 1);
        let Some(action) = self
            .config
            .faults
            .faults
            .get(index)
            .map(|f| f.action.clone())
        else {
            return;
        };
        match action {
            FaultAction::Down(names) => names.iter().for_each(|n| self.server_down(n)),
            FaultAction::Up(names) => names.iter().for_each(|n| self.server_up(n)),
            FaultAction::Offline(names) => {
                for m in self.member_ids(&names) {
                    self.members[m as usize].online = false;
                    self.disconnect(m);
                }
            }
            FaultAction::Online(names) => {
                for m in self.member_ids(&names) {
                    self.members[m as usize].online = true;
                    self.maybe_learn(m);
                    self.nudge(m);
                }
            }
            FaultAction::NeverAck(names) => {
                for m in self.member_ids(&names) {
                    self.members[m as usize].never_ack = true;
                }
            }
            FaultAction::Ready(names) => {
                for n in &names {
                    if let Some(&s) = self.index.servers.get(n) {
                        self.servers[s as usize].ready = true;
                        self.wake(s);
                    }
                }
            }
            FaultAction::ProviderErrorRate(r) => self.error_rate = r,
            FaultAction::ProviderLostAnswerRate(r) => self.lost_answer_rate = r,
            FaultAction::BothActive(on) => self.store_split_next(on),
            FaultAction::ReplicationLag(lag) => {
                self.set_replication_lag(std::time::Duration::from_secs(lag.0))
            }
            FaultAction::Overload { server, above } => {
                if let Some(&s) = self.index.servers.get(&server) {
                    self.servers[s as usize].overload_above = Some(above);
                    self.overload_armed = true;
                }
            }
        }
    }

    /// Takes down every server armed by an `overload` fault that carries
    /// more members than it can: its members drop and fail over.
    pub(crate) fn check_overload(&mut self) {
        if !self.overload_armed {
            return;
        }
        let over: Vec<Name> = self
            .servers
            .iter()
            .filter(|s| {
                s.up && s
                    .overload_above
                    .is_some_and(|n| s.connected.len() > n as usize)
            })
            .map(|s| s.name.clone())
            .collect();
        for n in over {
            tracing::debug!(server = %n, "overloaded: the server goes down");
            self.server_down(&n);
        }
    }

    fn member_ids(&self, names: &[Name]) -> Vec<MemberId> {
        names
            .iter()
            .filter_map(|n| self.index.members.get(n).copied())
            .collect()
    }

    fn server_down(&mut self, n: &Name) {
        if let Some(&s) = self.index.servers.get(n) {
            self.servers[s as usize].up = false;
            self.drop_all(s);
            if let Some(m) = self.servers[s as usize].member {
                self.disconnect(m);
            }
        } else if let Some(p) = self.store.as_ref().and_then(|st| st.pool(n)) {
            self.pool_down(p);
        }
    }

    fn server_up(&mut self, n: &Name) {
        if let Some(&s) = self.index.servers.get(n) {
            self.servers[s as usize].up = true;
            self.wake(s);
            if let Some(m) = self.servers[s as usize].member {
                self.maybe_learn(m);
                self.nudge(m);
            }
        } else if let Some(p) = self.store.as_ref().and_then(|st| st.pool(n)) {
            self.pool_up(p);
        }
    }
}
