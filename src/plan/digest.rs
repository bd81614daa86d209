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
use crate::model::{MemberKind, Observed, ObservedMember};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

/// The digest of the parts of `observed` that `plan` depends on, as
/// `fnv1a64:` followed by 16 hex digits.
pub fn digest(observed: &Observed, plan: &Plan) -> String {
    let mut members: BTreeSet<(MemberKind, String)> = BTreeSet::new();
    let mut servers: BTreeSet<String> = BTreeSet::new();
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
                members.insert((*kind, name.to_lowercase()));
                servers.insert(primary.to_lowercase());
                servers.extend(failover.iter().map(|f| f.to_lowercase()));
            }
            Action::AwaitConnected { kind, name, server } => {
                members.insert((*kind, name.to_lowercase()));
                servers.insert(server.to_lowercase());
            }
            Action::AwaitReady { name, .. } | Action::RetireGateway { name, .. } => {
                servers.insert(name.to_lowercase());
            }
            Action::AwaitReplication { .. }
            | Action::StoreFailover { .. }
            | Action::AwaitStoreActive { .. } => store = true,
        }
    }
    for b in &plan.blocked {
        match b.kind {
            BlockedKind::Gateway => {
                members.insert((MemberKind::Gateway, b.name.to_lowercase()));
            }
            BlockedKind::Agent => {
                members.insert((MemberKind::Agent, b.name.to_lowercase()));
            }
            BlockedKind::Store => store = true,
        }
        if let Some(p) = b.reason.parent() {
            servers.insert(p.to_lowercase());
        }
    }

    let index = |list: &'_ [ObservedMember]| -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for (i, x) in list.iter().enumerate() {
            m.entry(x.name.to_lowercase()).or_insert(i);
        }
        m
    };
    let gateways = index(&observed.gateways);
    let agents = if members.iter().any(|(k, _)| *k == MemberKind::Agent) {
        index(&observed.agents)
    } else {
        HashMap::new()
    };
    let mut text = String::new();
    for (kind, name) in &members {
        let found = match kind {
            MemberKind::Gateway => gateways.get(name).map(|&i| &observed.gateways[i]),
            MemberKind::Agent => agents.get(name).map(|&i| &observed.agents[i]),
        };
        let _ = write!(text, "m {kind} {name}");
        match found {
            Some(m) => {
                for p in m.parents.iter() {
                    let _ = write!(text, " {}", p.to_lowercase());
                }
                let _ = write!(
                    text,
                    " @{}",
                    m.connected
                        .as_ref()
                        .map(|c| c.to_lowercase())
                        .unwrap_or_default()
                );
            }
            None => text.push_str(" absent"),
        }
        text.push('\n');
    }
    for s in &servers {
        let _ = write!(text, "s {s}");
        if let Some(m) = observed
            .management_servers
            .iter()
            .find(|m| m.name.as_str().eq_ignore_ascii_case(s))
        {
            let _ = write!(text, " ms up={}", m.up);
        } else if let Some(&i) = gateways.get(s) {
            let g = &observed.gateways[i];
            let _ = write!(
                text,
                " gw up={} ready={} @{}",
                g.up,
                g.ready,
                g.connected
                    .as_ref()
                    .map(|c| c.to_lowercase())
                    .unwrap_or_default()
            );
            for p in g.parents.iter() {
                let _ = write!(text, " {}", p.to_lowercase());
            }
        } else {
            text.push_str(" absent");
        }
        text.push('\n');
    }
    if store {
        match &observed.management_store {
            Some(st) => {
                let _ = write!(
                    text,
                    "store {} repl={}",
                    st.active_pool
                        .as_ref()
                        .map(|p| p.to_lowercase())
                        .unwrap_or_default(),
                    st.replication_complete
                );
                let mut pools: Vec<(String, bool)> = st
                    .pools
                    .iter()
                    .map(|p| (p.name.to_lowercase(), p.up))
                    .collect();
                pools.sort();
                for (p, up) in pools {
                    let _ = write!(text, " {p}={up}");
                }
            }
            None => text.push_str("store absent"),
        }
        text.push('\n');
    }
    format!("fnv1a64:{:016x}", fnv1a64(text.as_bytes()))
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_the_published_function() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
