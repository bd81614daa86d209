//! The analysis a rollout runs while a step moves and soaks: are the
//! members it moved still reporting to their new primary, and are their
//! new parents up, ready and (when the provider reports it and the policy
//! bounds it) healthy?
//!
//! Owns [`analyse`] and [`Verdict`]: observation + the moved members +
//! thresholds in, a verdict with reasons out. Pure (no I/O, no clock);
//! must not decide what a failure does (that is the rollout's
//! `onFailure`, in `plan::rollout`).

use super::health;
use super::started::Started;
use crate::diag::thousands;
use crate::hash::FastMap;
use crate::model::{Analysis, Observed};
use crate::name::Name;
use serde::{Deserialize, Serialize};

/// What the analysis concluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// `pending` (nothing moved yet), `passing` or `failed`.
    pub verdict: VerdictKind,
    /// Why it failed, one sentence each; empty unless failed.
    pub reasons: Vec<String>,
    /// Moved members not reporting to their new primary, by name (the
    /// ones a rollback takes back first).
    #[serde(skip)]
    pub failing: Vec<Name>,
}

/// The three verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VerdictKind {
    /// No member of the rollout has finished its move yet.
    Pending,
    /// Within every threshold.
    Passing,
    /// Over a threshold; see the reasons.
    Failed,
}

impl VerdictKind {
    /// As `/status` and the rehearsal JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Pending => "pending",
            VerdictKind::Passing => "passing",
            VerdictKind::Failed => "failed",
        }
    }
}

impl Verdict {
    /// Nothing to judge yet.
    pub fn pending() -> Self {
        Verdict {
            verdict: VerdictKind::Pending,
            reasons: Vec::new(),
            failing: Vec::new(),
        }
    }

    /// True when the analysis failed.
    pub fn failed(&self) -> bool {
        self.verdict == VerdictKind::Failed
    }
}

/// How many failures `moved` members may have under `a`: `maxFailures`,
/// or `maxFailurePercent` of them (rounded down) when that allows more.
pub fn allowance(a: &Analysis, moved: u64) -> u64 {
    let pct = a
        .max_failure_percent
        .map_or(0, |p| moved * u64::from(p) / 100);
    a.max_failures.max(pct)
}

/// Judges the members the rollout moved, as `observed` shows them now.
///
/// A member has *moved* when its configured parents are exactly the ones
/// the rollout gave it (its bridge is pruned); members still in a bridge
/// are not judged yet. A moved member fails when it does not report to its
/// new primary (it is on a failover, or disconnected, or gone). The
/// analysis fails when more moved members fail than [`allowance`] allows,
/// or when a new primary of a moved member is down or (a gateway) not
/// ready, or reports a health outside `a`'s bounds ([`health::judge`]).
pub fn analyse(observed: &Observed, started: &[Started], a: &Analysis) -> Verdict {
    let members: FastMap<&Name, &crate::model::ObservedMember> = observed
        .gateways
        .iter()
        .chain(observed.agents.iter())
        .map(|m| (&m.name, m))
        .collect();
    let mut moved = 0u64;
    let mut off: Vec<(&Name, String)> = Vec::new();
    let mut parents: Vec<&Name> = Vec::new();
    for s in started {
        let Some(m) = members.get(&s.name) else {
            continue;
        };
        if m.parents != s.after {
            continue;
        }
        moved += 1;
        if !parents.contains(&&s.after.primary) {
            parents.push(&s.after.primary);
        }
        match &m.connected {
            Some(c) if *c == s.after.primary => {}
            Some(c) => off.push((&s.name, format!("on failover {c}"))),
            None => off.push((&s.name, "disconnected".to_string())),
        }
    }
    if moved == 0 {
        return Verdict::pending();
    }
    let mut reasons = Vec::new();
    let allowed = allowance(a, moved);
    if off.len() as u64 > allowed {
        let shown: Vec<String> = off
            .iter()
            .take(5)
            .map(|(n, how)| format!("{n} ({how})"))
            .collect();
        let more = if off.len() > shown.len() {
            format!(", and {} more", off.len() - shown.len())
        } else {
            String::new()
        };
        reasons.push(format!(
            "{} of {} moved members are not reporting to their new primary (at most {allowed} may be): {}{more}",
            thousands(off.len() as u64),
            thousands(moved),
            shown.join(", ")
        ));
    }
    let servers: FastMap<&Name, bool> = observed
        .management_servers
        .iter()
        .map(|s| (&s.name, s.up))
        .collect();
    let gateways: FastMap<&Name, (bool, bool)> = observed
        .gateways
        .iter()
        .map(|g| (&g.name, (g.up, g.ready)))
        .collect();
    for p in parents {
        if let Some(up) = servers.get(p) {
            if !up {
                reasons.push(format!("management server {p}, a new primary, is down"));
            } else {
                let who = format!("management server {p}");
                reasons.extend(health::judge(&who, observed.health.get(p), a));
            }
        } else if let Some((up, ready)) = gateways.get(p) {
            if !up {
                reasons.push(format!("gateway {p}, a new primary, is down"));
            } else if !ready {
                reasons.push(format!(
                    "gateway {p}, a new primary, is not ready (not approved, no certificate, or no configuration yet)"
                ));
            } else {
                let who = format!("gateway {p}");
                reasons.extend(health::judge(&who, observed.health.get(p), a));
            }
        } else {
            reasons.push(format!(
                "{p}, a new primary, is no longer in the management group"
            ));
        }
    }
    let failing = off.iter().map(|(n, _)| (*n).clone()).collect();
    Verdict {
        verdict: if reasons.is_empty() {
            VerdictKind::Passing
        } else {
            VerdictKind::Failed
        },
        reasons,
        failing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::observed_str;
    use crate::model::{HealthState, MemberKind, Parents};

    /// a1 and a2 moved from gw1 to gw2 (a2 to ms2), both reporting to
    /// their new primary; `health` is written into gw1's, gw2's and ms2's
    /// entries.
    fn observed(gw1: &str, gw2: &str, ms2: &str) -> Observed {
        let h = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                format!(", health: {{{s}}}")
            }
        };
        observed_str(
            &format!(
                "apiVersion: handover/v1\nkind: Observed\nmanagementServers: [{{name: ms1}}, {{name: ms2{}}}]\ngateways:\n  - {{name: gw1, primary: ms1, connected: ms1{}}}\n  - {{name: gw2, primary: ms1, connected: ms1{}}}\nagents:\n  - {{name: a1, primary: gw2, connected: gw2}}\n  - {{name: a2, primary: ms2, connected: ms2}}\n",
                h(ms2),
                h(gw1),
                h(gw2)
            ),
            "o.yaml",
        )
        .unwrap()
    }

    fn started() -> Vec<Started> {
        let n = |s: &str| -> Name { s.parse().unwrap() };
        ["a1", "a2"]
            .iter()
            .zip(["gw2", "ms2"])
            .map(|(a, to)| Started {
                kind: MemberKind::Agent,
                name: n(a),
                before: Parents::primary_only(n("gw1")),
                after: Parents::primary_only(n(to)),
                step: 0,
            })
            .collect()
    }

    fn bounds() -> Analysis {
        Analysis {
            fail_on_health: Some(HealthState::Critical),
            max_send_queue_size: Some(5000),
            ..Analysis::default()
        }
    }

    #[test]
    fn a_new_gateway_in_critical_health_fails_the_analysis() {
        let v = analyse(
            &observed("", "state: critical, sendQueueSize: 12000", ""),
            &started(),
            &bounds(),
        );
        assert!(v.failed());
        assert_eq!(
            v.reasons,
            [
                "gateway gw2, a new primary, reports health critical (the analysis fails on critical)",
                "gateway gw2, a new primary, reports a send queue size of 12,000 (at most 5,000 allowed)"
            ]
        );
        assert!(v.failing.is_empty(), "no member is off its primary");
    }

    #[test]
    fn a_new_management_server_over_its_send_queue_fails_the_analysis() {
        let v = analyse(
            &observed("", "state: healthy", "sendQueueSize: 5001"),
            &started(),
            &bounds(),
        );
        assert_eq!(
            v.reasons,
            [
                "management server ms2, a new primary, reports a send queue size of 5,001 (at most 5,000 allowed)"
            ]
        );
    }

    #[test]
    fn an_old_parent_in_bad_health_is_not_judged() {
        let v = analyse(
            &observed(
                "state: critical, sendQueueSize: 99999",
                "state: warning",
                "",
            ),
            &started(),
            &bounds(),
        );
        assert_eq!(v.verdict, VerdictKind::Passing, "{:?}", v.reasons);
    }

    #[test]
    fn without_health_bounds_reported_health_is_not_judged() {
        let v = analyse(
            &observed("", "state: critical, sendQueueSize: 12000", ""),
            &started(),
            &Analysis::default(),
        );
        assert_eq!(v.verdict, VerdictKind::Passing);
    }

    #[test]
    fn a_down_gateway_is_reported_down_not_unhealthy() {
        let mut o = observed("", "state: critical", "");
        o.gateways[1].up = false;
        let v = analyse(&o, &started(), &bounds());
        assert_eq!(v.reasons, ["gateway gw2, a new primary, is down"]);
    }
}
