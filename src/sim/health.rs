//! The health the simulator reports for its management servers and
//! gateways while an `overload` fault is in force: enough to rehearse a
//! rollout's health thresholds (docs/rollouts.md, "Health thresholds").
//!
//! Owns [`Sim::health_of`], a pure function of a server's load: its send
//! queue grows by [`QUEUE_PER_MEMBER`] items for each member connected to
//! it, and a server armed by `overload: {above: N}` turns `warning` above
//! half of N members and `critical` above three quarters of N, before it
//! goes down above N. Servers not armed report `healthy`; a server that is
//! down reports `unknown` (SCOM shows it grey). Without an `overload`
//! fault nothing is reported, so every other rehearsal observes exactly
//! what it did before. Must not change the estate.

use super::ids::ServerId;
use super::state::{ServerKind, Sim};
use crate::model::{Health, HealthState};

/// Items each connected member adds to its parent's send queue.
pub(crate) const QUEUE_PER_MEMBER: u64 = 100;

impl Sim {
    /// The health server `s` reports now, or `None` when the simulator
    /// reports none (no `overload` fault in force, or `s` is no
    /// management server or gateway, or is retired).
    pub(crate) fn health_of(&self, s: ServerId) -> Option<Health> {
        let server = &self.servers[s as usize];
        if !self.overload_armed || server.retired || server.kind == ServerKind::Unknown {
            return None;
        }
        if !server.up {
            return Some(Health {
                state: Some(HealthState::Unknown),
                send_queue_size: None,
            });
        }
        let carried = server.connected.len() as u64;
        let state = match server.overload_above.map(u64::from) {
            Some(above) if 4 * carried > 3 * above => HealthState::Critical,
            Some(above) if 2 * carried > above => HealthState::Warning,
            _ => HealthState::Healthy,
        };
        Some(Health {
            state: Some(state),
            send_queue_size: Some(carried * QUEUE_PER_MEMBER),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Health, HealthState};
    use crate::provider::Scope;
    use crate::sim::{FaultSchedule, Sim, SimConfig};

    /// `n` agents on gw2 (and none on gw1), with `faults`.
    fn sim(n: usize, faults: &str) -> Sim {
        let mut t = String::from(
            "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{name: ms1}]\ngateways:\n  - {name: gw1, primary: ms1, connected: ms1}\n  - {name: gw2, primary: ms1, connected: ms1}\nagents:\n",
        );
        for i in 0..n {
            t.push_str(&format!(
                "  - {{name: a{i}, primary: gw2, connected: gw2}}\n"
            ));
        }
        let o = crate::load::observed_str(&t, "o.yaml").unwrap();
        let f = FaultSchedule::parse(faults, "f.yaml").unwrap();
        let mut s = Sim::try_new(&o, SimConfig::seeded(1).with_faults(f)).unwrap();
        s.advance(std::time::Duration::from_secs(1));
        s
    }

    fn health(s: &Sim, name: &str) -> Option<Health> {
        s.snapshot(&Scope::All)
            .health
            .get(&name.parse::<crate::name::Name>().unwrap())
            .copied()
    }

    fn state(s: &Sim, name: &str) -> Option<HealthState> {
        health(s, name).and_then(|h| h.state)
    }

    #[test]
    fn without_an_overload_fault_no_health_is_reported() {
        let s = sim(3, "faults: []\n");
        assert!(s.snapshot(&Scope::All).health.is_empty());
    }

    #[test]
    fn an_armed_gateway_turns_warning_then_critical_as_it_nears_its_limit() {
        for (n, want) in [
            (6, HealthState::Healthy),
            (7, HealthState::Warning),
            (9, HealthState::Warning),
            (10, HealthState::Critical),
            (12, HealthState::Critical),
        ] {
            let s = sim(n, "faults:\n  - overload: {server: gw2, above: 12}\n");
            assert_eq!(state(&s, "gw2"), Some(want), "{n} agents");
            assert_eq!(
                health(&s, "gw2").unwrap().send_queue_size,
                Some(100 * n as u64)
            );
            // The others report healthy with their own (small) queue.
            assert_eq!(state(&s, "gw1"), Some(HealthState::Healthy));
            assert_eq!(health(&s, "ms1").unwrap().send_queue_size, Some(200));
        }
    }

    #[test]
    fn past_its_limit_it_goes_down_and_reports_unknown() {
        let s = sim(13, "faults:\n  - overload: {server: gw2, above: 12}\n");
        assert_eq!(
            health(&s, "gw2"),
            Some(Health {
                state: Some(HealthState::Unknown),
                send_queue_size: None
            })
        );
    }
}
