//! The analysis a rollout runs while a step moves and soaks: are the
//! members it moved still reporting to their new primary, and are their
//! new parents up and ready?
//!
//! Owns [`analyse`] and [`Verdict`]: observation + the moved members +
//! thresholds in, a verdict with reasons out. Pure (no I/O, no clock);
//! must not decide what a failure does (that is the rollout's
//! `onFailure`, in `plan::rollout`).

use super::Started;
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
/// ready.
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
            }
        } else if let Some((up, ready)) = gateways.get(p) {
            if !up {
                reasons.push(format!("gateway {p}, a new primary, is down"));
            } else if !ready {
                reasons.push(format!(
                    "gateway {p}, a new primary, is not ready (not approved, no certificate, or no configuration yet)"
                ));
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
