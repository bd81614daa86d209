//! What every member of a management group shares: its kind and its
//! configured parents, and the `apiVersion` every document carries.
//!
//! Owns [`MemberKind`], [`Parents`] and [`API_VERSION`], the leaf the other
//! model files build on (so none of them imports `model` itself). Must not
//! import another model file, or touch I/O.

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
