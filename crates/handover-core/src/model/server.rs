//! The kind of a server members report to.
//!
//! Owns [`ServerKind`], the one answer to "what is this parent" that
//! assignment (capacity and load tables), planning (why a step waits) and
//! the simulator share. Must not hold anything else.

use serde::{Deserialize, Serialize};

/// What kind of server a parent is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerKind {
    /// A management server: its capacity counts agents and gateways.
    ManagementServer,
    /// A gateway server: its capacity counts agents.
    Gateway,
    /// A name a member lists as a parent but that is neither observed nor
    /// defined as a server.
    Unknown,
}

impl ServerKind {
    /// The administrators' words (`server` when unknown).
    pub fn as_str(self) -> &'static str {
        match self {
            ServerKind::ManagementServer => "management server",
            ServerKind::Gateway => "gateway",
            ServerKind::Unknown => "server",
        }
    }
}
