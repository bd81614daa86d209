//! The one vocabulary every count of a plan is said in, and how the counts
//! relate: a plan changes **members** (agents and gateways), some through
//! a bridge and the rest set directly, and may retire gateways and fail
//! the Central Management Store over; it does so in **steps**, each either
//! an **operation** (a write the provider performs: a bridge, a prune, a
//! direct write, a retirement, a failover) or a **wait** (for a member to
//! connect, a gateway to be ready, replication, the store to be active).
//!
//! Owns [`Counts`], computed from the steps alone so that `plan`, the
//! `apply` prompt, the `apply` summary and `simulate` say the same
//! numbers. Pure; must not render (see `render::text`).

use super::types::{Action, Plan};
use crate::hash::FastSet;
use crate::model::MemberKind;
use crate::name::Name;
use serde::Serialize;

/// A plan's counts. `steps = operations + waits`; `operations = bridges +
/// prunes + set_directly + retirements + failovers`; `members =
/// through_bridge + set_directly`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Members (agents and gateways) whose parents the plan writes.
    pub members: u64,
    /// Of those, members moved through a bridge (including members found
    /// already in one, which are only waited for and pruned).
    pub through_bridge: u64,
    /// Of those, members whose parents are written once, without a bridge.
    pub set_directly: u64,
    /// Bridge writes (new primary, old parents kept as failovers).
    pub bridges: u64,
    /// Prunes (a bridged member's exact desired parents).
    pub prunes: u64,
    /// Gateways retired.
    pub retirements: u64,
    /// Central Management Store failovers.
    pub failovers: u64,
    /// Operations: every write the provider performs.
    pub operations: u64,
    /// Waits: connections, readiness, replication, the store.
    pub waits: u64,
    /// Steps: operations and waits.
    pub steps: u64,
}

impl Counts {
    /// Counts `plan`'s steps.
    pub fn of(plan: &Plan) -> Counts {
        let mut c = Counts::default();
        let mut written: FastSet<(MemberKind, &Name)> = FastSet::default();
        let mut bridged: FastSet<(MemberKind, &Name)> = FastSet::default();
        for s in &plan.steps {
            match &s.action {
                Action::SetParents {
                    kind, name, bridge, ..
                } => {
                    written.insert((*kind, name));
                    if *bridge {
                        c.bridges += 1;
                        bridged.insert((*kind, name));
                    }
                }
                Action::AwaitConnected { kind, name, .. } => {
                    bridged.insert((*kind, name));
                    c.waits += 1;
                }
                Action::AwaitReady { .. }
                | Action::AwaitReplication { .. }
                | Action::AwaitStoreActive { .. } => c.waits += 1,
                Action::RetireGateway { .. } => c.retirements += 1,
                Action::StoreFailover { .. } => c.failovers += 1,
            }
        }
        for s in &plan.steps {
            if let Action::SetParents {
                kind,
                name,
                bridge: false,
                ..
            } = &s.action
            {
                if bridged.contains(&(*kind, name)) {
                    c.prunes += 1;
                } else {
                    c.set_directly += 1;
                }
            }
        }
        c.members = written.len() as u64;
        c.through_bridge = bridged.intersection(&written).count() as u64;
        c.operations = c.bridges + c.prunes + c.set_directly + c.retirements + c.failovers;
        c.steps = plan.steps.len() as u64;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn example(name: &str) -> Plan {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/topologies")
            .join(name);
        let d = crate::load::topology(&[dir.join("desired.yaml")]).unwrap();
        let o = crate::load::observed(&dir.join("observed.yaml")).unwrap();
        crate::plan::plan(&d, &o)
    }

    #[test]
    fn replace_gateway_counts_add_up() {
        let c = Counts::of(&example("replace-gateway"));
        assert_eq!(
            (c.members, c.through_bridge, c.set_directly),
            (16, 14, 2),
            "{c:?}"
        );
        assert_eq!((c.bridges, c.prunes, c.retirements), (14, 14, 1));
        assert_eq!((c.operations, c.waits, c.steps), (31, 14, 45));
    }

    #[test]
    fn every_example_adds_up() {
        for ex in std::fs::read_dir(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/topologies"),
        )
        .unwrap()
        {
            let name = ex.unwrap().file_name();
            let p = example(name.to_str().unwrap());
            let c = Counts::of(&p);
            assert_eq!(c.operations + c.waits, c.steps, "{name:?}: {c:?}");
            assert_eq!(
                c.operations,
                c.bridges + c.prunes + c.set_directly + c.retirements + c.failovers,
                "{name:?}"
            );
            assert_eq!(c.members, c.through_bridge + c.set_directly, "{name:?}");
            assert_eq!(c.members, p.summary.moves, "{name:?}: {c:?}");
        }
    }
}
