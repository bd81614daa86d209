//! The dense ids the simulator addresses servers and members by.
//!
//! Owns the two aliases only, a leaf every other part of the simulator may
//! import. Must not hold behaviour.

/// Dense id of a server (management server, gateway, or a parent name that
/// no server answers to).
pub(crate) type ServerId = u32;
/// Dense id of a member (gateway or agent).
pub(crate) type MemberId = u32;
