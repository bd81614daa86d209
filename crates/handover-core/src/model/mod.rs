//! The topology model: plain data the planner, simulator and executor share.
//!
//! Owns the shapes of docs/spec.md section 2: the desired [`Topology`], the
//! [`Observed`] state and the [`Policy`]. Everything here is plain data with
//! no I/O, no clock and no async; loading fills it in (with source positions
//! for error messages), validation checks it, planning reads it.

pub mod approval;
pub mod cost;
pub mod desired;
pub mod health;
pub mod notify;
pub mod observed;
pub mod policy;
pub mod rollout;
pub mod server;
pub mod window;

pub use approval::Approval;
pub use cost::{Cost, CostError, Millis};
pub use desired::{
    AgentRule, DisasterRecovery, MemberDef, RuleAssign, ServerDef, StoreSpec, Topology,
};
pub use health::{Health, HealthState};
pub use observed::{
    Evidence, Heartbeat, Learned, Observed, ObservedMember, ObservedPool, ObservedServer,
    ObservedStore, Stamp,
};
pub use policy::{Capacity, Policy, Poll, Seconds};
pub use rollout::{Analysis, OnFailure, Rollout, Step, StepTarget};
pub use server::ServerKind;
pub use window::{Window, WindowKind};

use crate::name::Name;
use serde::{Deserialize, Serialize};

/// The `apiVersion` every handover document carries.
pub const API_VERSION: &str = "handover/v1";

/// What kind of member a parent assignment belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    /// A gateway server, itself a member of a management server or gateway.
    Gateway,
    /// An agent-managed computer.
    Agent,
}

impl MemberKind {
    /// The word administrators use, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::Gateway => "gateway",
            MemberKind::Agent => "agent",
        }
    }
}

impl std::fmt::Display for MemberKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member's configured parents: one primary, then ordered failovers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Parents {
    /// The server it receives configuration from and reports to.
    pub primary: Name,
    /// Servers it tries, in order, when the primary does not accept it.
    #[serde(default)]
    pub failover: Vec<Name>,
}

impl Parents {
    /// Parents with no failovers.
    pub fn primary_only(primary: Name) -> Self {
        Parents {
            primary,
            failover: Vec::new(),
        }
    }

    /// The primary, then the failovers, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Name> {
        std::iter::once(&self.primary).chain(self.failover.iter())
    }

    /// True when `server` is the primary or a failover.
    pub fn lists(&self, server: &Name) -> bool {
        self.iter().any(|s| s == server)
    }
}
