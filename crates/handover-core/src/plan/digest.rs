//! The observed digest: has the world moved since the plan was made?
//!
//! Owns [`digest`], a stable hash of exactly the observed facts a plan
//! depends on: for every member the plan changes or blocks, its observed
//! parents and connection (or its absence); for every server a step or a
//! blocked reason names, whether it is up, ready and connected (or absent);
//! and the store when the plan touches it. `plan` stores it in
//! `observed_digest`; `apply PLANFILE` recomputes it from a fresh
//! observation and refuses the plan when they differ. Members the plan does
//! not mention are not part of it: their drift does not make the plan
//! wrong, it only leaves work for the next plan. The hash is FNV-1a (64 bit)
//! over a canonical text with lowercase names, so it is the same on every
//! machine and release. Pure.

use super::types::{Action, BlockedKind, Plan};
use crate::hash::FastMap;
use crate::model::{MemberKind, Observed, ObservedMember};
use crate::name::Name;
use std::fmt::Write;

/// The digest of the parts of `observed` that `plan` depends on, as
/// `fnv1a64:` followed by 16 hex digits.
pub fn digest(observed: &Observed, plan: &Plan) -> String {
    let mut members: Vec<(MemberKind, &Name)> = Vec::new();
    let mut servers: Vec<&Name> = Vec::new();
    let mut store = false;
    for s in &plan.steps {
        match &s.action {
            Action::SetParents {
                kind,
                name,
                primary,
                failover,
                ..
            } => {
                members.push((*kind, name));
                servers.push(primary);
                servers.extend(failover);
            }
            Action::AwaitConnected { kind, name, server } => {
                members.push((*kind, name));
                servers.push(server);
            }
            Action::AwaitReady { name, .. } | Action::RetireGateway { name, .. } => {
                servers.push(name);
            }
            Action::AwaitReplication { .. }
            | Action::StoreFailover { .. }
            | Action::AwaitStoreActive { .. } => store = true,
        }
    }
    for b in &plan.blocked {
        match b.kind {
            BlockedKind::Gateway => members.push((MemberKind::Gateway, &b.name)),
            BlockedKind::Agent => members.push((MemberKind::Agent, &b.name)),
            BlockedKind::Store => store = true,
        }
        servers.extend(b.reason.servers());
    }
    // Name orders and compares case-insensitively: one entry per host.
    members.dedup();
    members.sort();
    members.dedup();
    let distinct: crate::hash::FastSet<&Name> = servers.drain(..).collect();
    servers.extend(distinct);
    servers.sort();

    let gateways = index(&observed.gateways);
    let agents = if members.iter().any(|(k, _)| *k == MemberKind::Agent) {
        index(&observed.agents)
    } else {
        FastMap::default()
    };
    let mut text = String::with_capacity(64 * (members.len() + servers.len()) + 64);
    let lower = |text: &mut String, n: &Name| {
        text.extend(n.as_str().chars().map(|c| c.to_ascii_lowercase()));
    };
    for (kind, name) in &members {
        let found = match kind {
            MemberKind::Gateway => gateways.get(name).map(|&i| &observed.gateways[i]),
            MemberKind::Agent => agents.get(name).map(|&i| &observed.agents[i]),
        };
        let _ = write!(text, "m {kind} ");
        lower(&mut text, name);
        match found {
            Some(m) => {
                for p in m.parents.iter() {
                    text.push(' ');
                    lower(&mut text, p);
                }
                text.push_str(" @");
                if let Some(c) = &m.connected {
                    lower(&mut text, c);
                }
            }
            None => text.push_str(" absent"),
        }
        text.push('\n');
    }
    for s in &servers {
        text.push_str("s ");
        lower(&mut text, s);
        if let Some(m) = observed.management_servers.iter().find(|m| &m.name == *s) {
            let _ = write!(text, " ms up={}", m.up);
        } else if let Some(&i) = gateways.get(s) {
            let g = &observed.gateways[i];
            let _ = write!(text, " gw up={} ready={} @", g.up, g.ready);
            if let Some(c) = &g.connected {
                lower(&mut text, c);
            }
            for p in g.parents.iter() {
                text.push(' ');
                lower(&mut text, p);
            }
        } else {
            text.push_str(" absent");
        }
        text.push('\n');
    }
    if store {
        match &observed.management_store {
            Some(st) => {
                text.push_str("store ");
                if let Some(p) = &st.active_pool {
                    lower(&mut text, p);
                }
                let _ = write!(text, " repl={}", st.replication_complete);
                let mut pools: Vec<(&Name, bool, bool)> =
                    st.pools.iter().map(|p| (&p.name, p.up, p.active)).collect();
                pools.sort();
                for (p, up, active) in pools {
                    text.push(' ');
                    lower(&mut text, p);
                    let _ = write!(text, "={up}");
                    if active {
                        text.push_str("+active");
                    }
                }
            }
            None => text.push_str("store absent"),
        }
        text.push('\n');
    }
    crate::hash::fnv1a64_hex(text.as_bytes())
}

fn index(list: &[ObservedMember]) -> FastMap<&Name, usize> {
    let mut m = FastMap::with_capacity_and_hasher(list.len(), Default::default());
    for (i, x) in list.iter().enumerate() {
        m.entry(&x.name).or_insert(i);
    }
    m
}
