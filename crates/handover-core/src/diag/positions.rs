//! Where the loader found each part of a document, for the validator's
//! messages: the positions the model itself does not carry.
//!
//! Owns [`ObservedPositions`], [`MemberPos`] and [`RulePos`]. The loader
//! (`load::build`) fills them while it reads; validation reads them to
//! point a problem at its field. They live here, below both, so that
//! neither imports the other for them. Must not hold anything but
//! positions.

use super::Pos;

/// Source positions of an observed document, parallel to [`Observed`](crate::model::Observed)'s
/// vectors (the observed model itself carries none).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedPositions {
    /// Where each management server's name was written.
    pub management_servers: Vec<Pos>,
    /// Each gateway's positions.
    pub gateways: Vec<MemberPos>,
    /// Each agent's positions.
    pub agents: Vec<MemberPos>,
    /// Where each store pool's name was written.
    pub pools: Vec<Pos>,
    /// Where `activePool` was written.
    pub active_pool: Option<Pos>,
}

/// Where an observed member's fields were written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemberPos {
    /// Its name.
    pub name: Pos,
    /// Its primary.
    pub primary: Pos,
    /// Each failover.
    pub failover: Vec<Pos>,
    /// `connected`, when given.
    pub connected: Option<Pos>,
}

/// Where the fields of one agent rule were written (the model keeps only
/// the place of `match`); the loader fills one per rule, parallel to
/// `Topology::agent_rules`, so that a rule's problem points at the field
/// that has it. A field not given (or a rule built in code) falls back to
/// the rule's `match`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RulePos {
    /// `primary`.
    pub primary: Option<Pos>,
    /// Each entry of `failover`.
    pub failover: Vec<Pos>,
    /// The `spread` list.
    pub spread: Option<Pos>,
    /// Each entry of `spread`.
    pub pool: Vec<Pos>,
    /// `failoverCount`.
    pub failover_count: Option<Pos>,
}
