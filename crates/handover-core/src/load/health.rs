//! Loading the `health` a provider reports for a management server or
//! gateway (`health: {state, sendQueueSize}`, docs/provider-protocol.md
//! section 4), strictly, each problem at its place.
//!
//! Owns the checks of one `health` mapping: the state is one of the
//! console's words, the send queue a whole number of at least 0, and only
//! management servers and gateways report it. Must not judge the health
//! (that is a rollout's analysis, `plan::rollout::health`).

use super::build::{Builder, quote};
use super::doc::HealthDoc;
use crate::diag::{Diagnostic, Pos};
use crate::model::{Health, HealthState};

impl Builder<'_> {
    /// The health of `who` (`management server ms1`, `gateway gw9`), or
    /// `None` with a diagnostic at each bad value.
    pub(super) fn health(&mut self, h: &HealthDoc, who: &str) -> Option<Health> {
        self.unknown(&h.unknown);
        let mut ok = true;
        let state = match &h.state {
            None => None,
            Some(t) => match HealthState::parse(&t.value) {
                Some(s) => Some(s),
                None => {
                    let pos = self.pos(t);
                    let mut d = Diagnostic::at(
                        pos,
                        format!(
                            "{who}: health.state is {}; expected one of {}",
                            quote(&t.value),
                            HealthState::WORDS.join(", ")
                        ),
                    );
                    if let Some(s) = HealthState::from_scom_word(&t.value) {
                        d = d.with_hint(format!(
                            "write {} (handover uses the Operations console's words, in lowercase)",
                            s.as_str()
                        ));
                    }
                    self.diags.push(d);
                    ok = false;
                    None
                }
            },
        };
        let send_queue_size = match &h.send_queue_size {
            None => None,
            Some(v) => match u64::try_from(v.value) {
                Ok(n) => Some(n),
                Err(_) => {
                    let pos = self.pos(v);
                    self.diags.push(Diagnostic::at(
                        pos,
                        format!(
                            "{who}: health.sendQueueSize is {}; expected a whole number of at least 0",
                            v.value
                        ),
                    ));
                    ok = false;
                    None
                }
            },
        };
        ok.then_some(Health {
            state,
            send_queue_size,
        })
    }

    /// Refuses the `health` of an agent, at the agent's name: only a
    /// parent's health is judged.
    pub(super) fn agent_health(&mut self, at: Pos, agent: &str) {
        self.diags.push(
            Diagnostic::at(
                at,
                format!(
                    "agent {agent} reports health; only management servers and gateways report health (a rollout judges the health of new parents)"
                ),
            )
            .with_hint("remove health from the agent"),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Health, HealthState};

    fn load(text: &str) -> Result<crate::model::Observed, String> {
        crate::load::observed_str(text, "o.yaml").map_err(|d| d.to_string())
    }

    const HEAD: &str = "apiVersion: handover/v1\nkind: Observed\n";

    #[test]
    fn health_of_servers_and_gateways_is_read() {
        let o = load(&format!(
            "{HEAD}managementServers:\n  - name: ms1\n    health: {{state: healthy, sendQueueSize: 40}}\n  - name: ms2\ngateways:\n  - name: gw9\n    primary: ms1\n    connected: ms1\n    health: {{state: critical}}\nagents: []\n"
        ))
        .unwrap();
        let n = |s: &str| -> crate::name::Name { s.parse().unwrap() };
        assert_eq!(
            o.health.get(&n("ms1")),
            Some(&Health {
                state: Some(HealthState::Healthy),
                send_queue_size: Some(40)
            })
        );
        assert_eq!(o.health.get(&n("ms2")), None);
        assert_eq!(o.health[&n("gw9")].state, Some(HealthState::Critical));
        assert_eq!(o.health[&n("gw9")].send_queue_size, None);
    }

    #[test]
    fn bad_health_values_are_reported_at_their_place() {
        let e = load(&format!(
            "{HEAD}managementServers:\n  - name: ms1\n    health: {{state: Error, sendQueueSize: -5}}\ngateways:\n  - name: gw9\n    primary: ms1\n    health: {{state: red, queue: 3}}\nagents:\n  - name: a1\n    primary: gw9\n    health: {{state: healthy}}\n"
        ))
        .unwrap_err();
        for want in [
            "o.yaml:5:21: management server ms1: health.state is \"Error\"; expected one of healthy, warning, critical, unknown",
            "write critical (handover uses the Operations console's words",
            "o.yaml:5:43: management server ms1: health.sendQueueSize is -5; expected a whole number of at least 0",
            "o.yaml:9:21: gateway gw9: health.state is \"red\"",
            "queue",
            "o.yaml:11:11: agent a1 reports health; only management servers and gateways report health",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
    }
}
