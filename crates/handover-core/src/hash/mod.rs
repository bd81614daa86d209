//! Every hash handover computes, in one place.
//!
//! Owns FNV-1a (64 bit), the one function behind every id that is written
//! down and compared later: the plan's `observed_digest`, the simulator
//! file's digest, a desired revision (`files:fnv1a64:…`), the git source's
//! checkout name and change detector, the lock file's name; and, in
//! `fast`, the hasher of the in-memory name-keyed maps ([`FastMap`]). A persisted id
//! that changed between releases would break saved plans, locks and
//! journals, so the known-answer tests below pin the function: they must
//! never be edited to pass. Must not: depend on anything in the crate
//! (every layer hashes), use a `std` hasher or a random seed (both differ
//! between runs or Rust releases).
//!
//! Assignment's rendezvous weights (`assign::hash`) start from this FNV-1a
//! and add their own finaliser.

mod fast;
mod fnv;

pub use fast::{FastMap, FastSet, Fnv};
pub use fnv::{FNV_OFFSET, FNV_PRIME, Fnv1a, fnv1a64, fnv1a64_hex};
