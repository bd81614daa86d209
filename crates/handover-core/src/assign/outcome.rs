//! What assignment produces: each managed agent's desired parents, where
//! they come from, and the notes a spread rule leaves.
//!
//! Owns [`Assignment`] and its parts. Must not decide anything (that is
//! `assign` and its rules) or import another file of `assign`.

use crate::model::Parents;
use crate::name::Name;
use std::fmt;

/// Where an agent's desired parents come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `agents[i]` of the topology.
    Explicit(usize),
    /// `agentRules[i]` of the topology.
    Rule(usize),
}

/// Why a rule-matched agent is not where its rule alone would put it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// Its observed primary is a pool member that is not ready (down, not
    /// ready, or not observed). It stays there: a parent that is not ready
    /// gets no new agents, but its agents are not moved away for that alone.
    KeptOnNotReady {
        /// The pool member it stays on.
        server: Name,
    },
    /// No ready member of its pool has room left; it keeps its observed
    /// parents until one has.
    WaitingForReadyRoom,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::KeptOnNotReady { server } => write!(
                f,
                "kept on {server}, which is not ready; agents are not moved away from a parent for that alone"
            ),
            Note::WaitingForReadyRoom => f.write_str(
                "no ready server of its pool has room; keeps its current parents until one has",
            ),
        }
    }
}

/// One managed agent and its desired parents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentAssignment {
    /// The agent.
    pub name: Name,
    /// Its desired parents.
    pub parents: Parents,
    /// Which entry or rule gave them.
    pub source: Source,
    /// Set when a spread rule kept it where it is; the plan should say so.
    pub note: Option<Note>,
}

/// The desired parents of every managed agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    /// Explicit agents in topology order, then rule-matched observed agents
    /// in observed order.
    pub agents: Vec<AgentAssignment>,
    /// Observed agents that no entry and no rule names, in observed order.
    pub unmanaged: Vec<Name>,
}

impl Assignment {
    /// The agents a spread rule kept where they are, with the reason.
    pub fn notes(&self) -> impl Iterator<Item = (&Name, &Note)> {
        self.agents
            .iter()
            .filter_map(|a| a.note.as_ref().map(|n| (&a.name, n)))
    }
}
