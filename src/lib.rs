//! handover keeps the topology of a monitoring estate equal to what a team
//! committed to git: which management or gateway server each Operations
//! Manager agent and gateway reports to, and where the Skype for Business
//! Central Management Store is active.
//!
//! Two crates (see `docs/design.md`, "Crates and modules"):
//!
//! - `handover-core` (`crates/handover-core`), the pure core, no I/O beyond
//!   reading the files it is handed, no clock, no async: [`hash`],
//!   [`diag`], [`name`], [`model`], [`load`], [`synth`], [`assign`],
//!   [`plan`], [`validate`], [`export`], [`render`] with [`graph`]. This
//!   crate re-exports each of them under its own name, so `handover::plan`
//!   and `crate::plan` keep meaning the core's module;
//! - this crate, the runtime: [`provider`] (the seam to targets),
//!   [`execute`] (applying plans), [`apply`] (a journalled run), [`sim`]
//!   (the embedded simulator target; its model calls the provider seam, so
//!   it stays here), [`state`] (lock and journal), [`reconcile`] (the GitOps
//!   loop's sources, status and listener), [`ha`] (high availability on
//!   etcd: election, fencing, shared history), the CLI in `main.rs`.

#![warn(missing_docs)]

pub use handover_core::render::graph;
pub use handover_core::{
    assign, diag, export, hash, load, model, name, plan, render, synth, validate,
};

pub mod apply;
pub mod execute;
pub mod ha;
pub mod provider;
pub mod reconcile;
pub mod sim;
pub mod state;
