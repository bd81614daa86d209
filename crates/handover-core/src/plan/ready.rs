//! Parent readiness (docs/spec.md rule 3): may a member be moved onto this server?
//!
//! Owns the one question the planner asks of every parent a change adds or
//! makes primary: is it present, up, ready and (for a gateway) connected?
//! Answers with a typed [`BlockReason`]. Reads the observed state only; must
//! not decide anything about the member being moved.

use super::types::{BlockReason, ServerKind};
use crate::hash::{FastMap as HashMap, FastSet as HashSet};
use crate::model::{Observed, ObservedMember, Topology};
use crate::name::Name;

/// The observed servers, indexed by name, plus what the plan itself will
/// bring about (a gateway whose own plan ends connected).
pub(crate) struct Servers<'a> {
    management: HashMap<&'a Name, bool>,
    gateways: HashMap<&'a Name, &'a ObservedMember>,
    desired_management: HashSet<&'a Name>,
    desired_gateways: HashSet<&'a Name>,
    /// Gateways, up and ready, whose own plan waits until they are connected
    /// to their new primary; members moving onto them come after that.
    will_connect: HashSet<Name>,
}

impl<'a> Servers<'a> {
    /// Indexes the observed management servers and gateways.
    pub(crate) fn new(desired: &'a Topology, observed: &'a Observed) -> Self {
        let mut management = HashMap::default();
        for m in &observed.management_servers {
            management.entry(&m.name).or_insert(m.up);
        }
        let mut gateways = HashMap::default();
        for g in &observed.gateways {
            gateways.entry(&g.name).or_insert(g);
        }
        Servers {
            management,
            gateways,
            desired_management: desired.management_servers.iter().map(|m| &m.name).collect(),
            desired_gateways: desired.gateways.iter().map(|g| &g.name).collect(),
            will_connect: HashSet::default(),
        }
    }

    /// The observed gateway called `name`.
    pub(crate) fn gateway(&self, name: &Name) -> Option<&'a ObservedMember> {
        self.gateways.get(name).copied()
    }

    /// Records that `gateway`'s own plan ends with it connected.
    pub(crate) fn will_connect(&mut self, gateway: Name) {
        self.will_connect.insert(gateway);
    }

    /// Whether a member may be moved onto `server` now (or, for a gateway
    /// whose own plan connects it, once that plan has finished).
    pub(crate) fn check(&self, server: &Name) -> Result<(), BlockReason> {
        if let Some(&up) = self.management.get(server) {
            return if up {
                Ok(())
            } else {
                Err(BlockReason::ParentDown {
                    parent: server.clone(),
                    parent_kind: ServerKind::ManagementServer,
                })
            };
        }
        let Some(g) = self.gateways.get(server) else {
            let parent_kind = if self.desired_management.contains(server) {
                ServerKind::ManagementServer
            } else if self.desired_gateways.contains(server) {
                ServerKind::Gateway
            } else {
                ServerKind::Unknown
            };
            return Err(BlockReason::ParentAbsent {
                parent: server.clone(),
                parent_kind,
            });
        };
        if !g.up {
            Err(BlockReason::ParentDown {
                parent: server.clone(),
                parent_kind: ServerKind::Gateway,
            })
        } else if !g.ready {
            Err(BlockReason::ParentNotReady {
                parent: server.clone(),
            })
        } else if g.connected.is_none() && !self.will_connect.contains(server) {
            Err(BlockReason::ParentNotConnected {
                parent: server.clone(),
            })
        } else {
            Ok(())
        }
    }

    /// True when `server` is an observed gateway that is up and ready (its
    /// connection aside).
    pub(crate) fn gateway_up_and_ready(&self, server: &Name) -> bool {
        self.gateways.get(server).is_some_and(|g| g.up && g.ready)
    }
}
