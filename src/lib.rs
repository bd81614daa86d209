//! handover keeps the topology of a monitoring estate equal to what a team
//! committed to git: which management or gateway server each Operations
//! Manager agent and gateway reports to, and where the Skype for Business
//! Central Management Store is active.
//!
//! The crate is a pure core with thin edges (see `docs/design.md`):
//!
//! - core, no I/O: [`name`], [`diag`], [`model`], [`assign`], [`plan`], [`render`];
//! - edges: [`provider`] (the seam to targets), [`execute`] (applying plans),
//!   [`sim`] (the embedded simulator target), [`state`] (lock and journal),
//!   [`reconcile`] (the GitOps loop's sources, status and listener),
//!   [`ha`] (high availability on etcd: election, fencing, shared history),
//!   the CLI in `main.rs`.

#![warn(missing_docs)]

pub mod assign;
pub mod diag;
pub mod execute;
pub mod export;
pub mod graph;
pub mod ha;
pub mod load;
pub mod model;
pub mod name;
pub mod plan;
pub mod provider;
pub mod reconcile;
pub mod render;
pub mod report;
pub mod run;
pub mod sim;
pub mod state;
pub mod synth;
pub mod validate;
pub mod verdict;
