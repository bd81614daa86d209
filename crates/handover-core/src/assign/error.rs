//! Why agents could not be assigned: a rule's glob that does not compile,
//! or spread rules that match more agents than their pools can take.
//!
//! Owns [`AssignError`] and its parts, with their diagnostics. Must not
//! decide anything or import another file of `assign`.

use crate::diag::Diagnostic;
use crate::model::Topology;
use crate::name::Name;
use std::fmt;

/// A rule whose glob does not compile (validation reports it first; this is
/// the typed error for callers that skipped validation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("agentRules[{index}]: {pattern:?} is not a valid glob: {reason}")]
pub struct GlobError {
    /// The rule's index.
    pub index: usize,
    /// Its pattern.
    pub pattern: String,
    /// What the glob parser said.
    pub reason: String,
}

/// A spread rule matches more agents than its pool has room for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityError {
    /// The rule's index in `agentRules`.
    pub index: usize,
    /// Its pattern.
    pub pattern: String,
    /// Where the rule was written.
    pub pos: crate::diag::Pos,
    /// The distinct pool members, by name.
    pub pool: Vec<Name>,
    /// Observed agents the rule matched (first match, not listed by name).
    pub agents: u64,
    /// Sum of the pool members' `policy.capacity`.
    pub capacity: u64,
    /// Members already on the pool from explicit entries, fixed rules,
    /// unmanaged agents, gateways and earlier spread rules.
    pub used: u64,
}

impl CapacityError {
    /// The room the rule had: capacity less what was already used.
    pub fn room(&self) -> u64 {
        self.capacity.saturating_sub(self.used)
    }

    /// As a diagnostic at the rule, with what to do.
    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic::at(self.pos.clone(), self.message()).with_hint(
            "add servers to the rule's spread list, raise policy.capacity, or narrow its match",
        )
    }

    fn message(&self) -> String {
        let pool: Vec<&str> = self.pool.iter().map(Name::as_str).collect();
        let pool = if pool.is_empty() {
            "(empty)".to_string()
        } else {
            pool.join(", ")
        };
        format!(
            "agentRules[{}] {:?}: {} agents match, but its pool [{}] has room for {} \
             (capacity {} in all, {} already taken by explicit entries, fixed rules, \
             unmanaged agents, gateways and earlier rules)",
            self.index,
            self.pattern,
            self.agents,
            pool,
            self.room(),
            self.capacity,
            self.used
        )
    }
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message())
    }
}

/// Why the agents could not be assigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignError {
    /// A rule's glob does not compile.
    #[error(transparent)]
    Glob(#[from] GlobError),
    /// One or more spread rules match more agents than their pools can take.
    #[error("{}", join_lines(.0))]
    OverCapacity(Vec<CapacityError>),
}

fn join_lines(errors: &[CapacityError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl AssignError {
    /// As diagnostics pointing at the offending rules.
    pub fn to_diagnostics(&self, t: &Topology) -> Vec<Diagnostic> {
        match self {
            AssignError::Glob(g) => {
                let pos = t.agent_rules.get(g.index).map(|r| r.pos.clone());
                vec![Diagnostic {
                    pos,
                    message: g.to_string(),
                    hint: Some(
                        "use *, ? and [...] as usual; close every [ and escape a literal one as \\["
                            .into(),
                    ),
                }]
            }
            AssignError::OverCapacity(v) => v.iter().map(CapacityError::to_diagnostic).collect(),
        }
    }
}
