//! [`Started`]: a member a rollout admitted, with its parents before and
//! after. Its own file so that the analysis reads it without importing
//! the rollout that remembers it.
//!
//! Owns the plain record only. Must not decide anything.

use crate::model::{MemberKind, Parents};
use crate::name::Name;
use serde::{Deserialize, Serialize};

/// A member the rollout started: where it was, where it goes, and in
/// which step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// Agent or gateway.
    pub kind: MemberKind,
    /// The member.
    pub name: Name,
    /// Its configured parents when the rollout admitted it: where a
    /// rollback takes it.
    pub before: Parents,
    /// Its desired parents.
    pub after: Parents,
    /// The step (0-based) that admitted it.
    pub step: usize,
}
