//! Judging a member's `connected` and `ready` from the evidence a provider
//! reports (docs/provider-protocol.md section 4, "Evidence").
//!
//! Owns the rules that turn facts (the parents a member has learned, its
//! last heartbeat and the server it came through, the provider's clock)
//! and the time of handover's own last write into a judgement. The rule is
//! **no positive evidence, no `connected`**: anything short of it leaves
//! `connected` null, so the member stays in its bridge and is reported
//! pending, which is safe. Pure: no I/O, no clock (every time is passed
//! in). Must not know how a provider gathers the facts, nor plan anything.
//!
//! Only members that carry an `evidence` object are judged; a provider
//! that sends none (protocol 1 providers, the test provider) keeps its own
//! `connected`, as before.

use crate::model::{Evidence, MemberKind, Observed, ObservedMember, Stamp};
use crate::name::Name;
use std::collections::HashMap;

/// Tolerances of the judgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tolerance {
    /// Clock difference allowed between the provider's own clock and the
    /// clocks its facts come from (the management group's database, the
    /// member), in milliseconds. Default 2 minutes.
    pub skew_ms: i64,
    /// How old a reading may be, measured on the provider's clock, to
    /// count at all. Default 10 minutes (a heartbeat every 60 s, four
    /// missed before the member turns grey, plus a slow agent task).
    pub max_age_ms: i64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            skew_ms: 120_000,
            max_age_ms: 600_000,
        }
    }
}

/// When handover last wrote each member's parents, on handover's clock:
/// the moment the write's answer arrived (or the call was given up), so
/// the change is in the management group by then. Keyed by host name (a
/// computer is an agent or a gateway of a management group, never both),
/// so a journal record, which names the member only, can seed it.
pub type Writes = HashMap<Name, Stamp>;

/// The observe call the evidence came back in, on handover's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// When the request was sent.
    pub sent: Stamp,
    /// When the response arrived.
    pub received: Stamp,
}

/// Why a member was judged as it was, for logs and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its last heartbeat came through this server after the write.
    HeartbeatVia(Name),
    /// It has learned exactly its configured parents, after the write, and
    /// its primary is up.
    LearnedParents(Name),
    /// Nothing positive: `connected` is null.
    NoEvidence(&'static str),
}

impl Verdict {
    /// The parent this verdict says the member talks to.
    pub fn connected(&self) -> Option<&Name> {
        match self {
            Verdict::HeartbeatVia(n) | Verdict::LearnedParents(n) => Some(n),
            Verdict::NoEvidence(_) => None,
        }
    }
}

/// Judges every member of `observed` that carries evidence: sets its
/// `connected` (and, for gateways, clears `ready` without a live reading).
/// Returns each judged member's verdict.
pub fn judge_all(
    observed: &mut Observed,
    writes: &Writes,
    exchange: Exchange,
    tol: Tolerance,
) -> Vec<(MemberKind, Name, Verdict)> {
    let up: Vec<Name> = observed
        .management_servers
        .iter()
        .filter(|s| s.up)
        .map(|s| s.name.clone())
        .chain(
            observed
                .gateways
                .iter()
                .filter(|g| g.up)
                .map(|g| g.name.clone()),
        )
        .collect();
    let mut out = Vec::new();
    for (kind, list) in [
        (MemberKind::Gateway, &mut observed.gateways),
        (MemberKind::Agent, &mut observed.agents),
    ] {
        for m in list.iter_mut() {
            let Some(ev) = m.evidence.as_deref() else {
                continue;
            };
            let write = writes.get(&m.name).copied();
            let verdict = judge(m, ev, write, exchange, &up, tol);
            if kind == MemberKind::Gateway && !alive(ev, tol) {
                m.ready = false;
            }
            m.connected = verdict.connected().cloned();
            out.push((kind, m.name.clone(), verdict));
        }
    }
    out
}

/// The verdict for one member with evidence `ev`; `write` is handover's
/// last write to it (None: none known to this process, e.g. after a
/// restart or a takeover by another replica), `up` the servers and
/// gateways observed up.
pub fn judge(
    m: &ObservedMember,
    ev: &Evidence,
    write: Option<Stamp>,
    exchange: Exchange,
    up: &[Name],
    tol: Tolerance,
) -> Verdict {
    let usable = |t: Stamp| usable(t, ev.observed_at, write, exchange, tol);
    if let Some(hb) = &ev.heartbeat
        && let Some(via) = &hb.via
        && usable(hb.at)
    {
        if !m.parents.lists(via) {
            return Verdict::NoEvidence("its heartbeat came through a server it does not list");
        }
        if !up.contains(via) {
            return Verdict::NoEvidence("its heartbeat came through a server that is down");
        }
        return Verdict::HeartbeatVia(via.clone());
    }
    let Some(learned) = &ev.learned else {
        return Verdict::NoEvidence("no learned parents and no heartbeat through a known server");
    };
    if !usable(learned.at) {
        return Verdict::NoEvidence(
            "its learned parents were read before the write, or too long ago",
        );
    }
    let configured: Vec<&Name> = m.parents.iter().collect();
    let learned_list: Vec<&Name> = learned.parents.iter().collect();
    if learned_list != configured {
        return Verdict::NoEvidence("it has not learned its configured parents yet");
    }
    if !up.contains(&m.parents.primary) {
        return Verdict::NoEvidence(
            "its primary is down and no heartbeat says which failover it uses",
        );
    }
    Verdict::LearnedParents(m.parents.primary.clone())
}

/// True when a reading taken at `t` (provider's clock) is fresh, not in
/// the future, and certainly after handover's `write` (handover's clock).
///
/// The provider's clock minus handover's lies between `observed_at −
/// received` and `observed_at − sent` (the provider read its clock during
/// the call). So `t` on handover's clock is at least `t − (observed_at −
/// sent)`; that, less the skew allowed, must be after the write.
fn usable(
    t: Stamp,
    observed_at: Stamp,
    write: Option<Stamp>,
    exchange: Exchange,
    tol: Tolerance,
) -> bool {
    let age = observed_at.millis() - t.millis();
    if age > tol.max_age_ms || age < -tol.skew_ms {
        return false;
    }
    match write {
        None => true,
        Some(w) => {
            let offset_max = observed_at.millis() - exchange.sent.millis();
            t.millis() - offset_max - tol.skew_ms > w.millis()
        }
    }
}

/// A fresh heartbeat or a fresh learned reading: the member's Health
/// Service runs and answers.
fn alive(ev: &Evidence, tol: Tolerance) -> bool {
    let fresh = |t: Stamp| {
        let age = ev.observed_at.millis() - t.millis();
        age <= tol.max_age_ms && age >= -tol.skew_ms
    };
    ev.heartbeat.as_ref().is_some_and(|h| fresh(h.at))
        || ev.learned.as_ref().is_some_and(|l| fresh(l.at))
}

#[cfg(test)]
mod tests;
