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
//! - this crate, the runtime, from the bottom up (a module imports only
//!   those above it in this list, or the core):
//!   - [`verdict`]: how a run ended, and the one exit-code mapping;
//!   - [`provider`]: the seam to targets (`exec:` programs in
//!     `provider::exec`), and what a target can tell ([`provider::Inspect`]);
//!   - [`sim`]: the embedded simulator target (its model calls the
//!     provider seam, so it stays in the runtime);
//!   - [`state`]: the lock per estate and the local journal;
//!   - [`execute`]: the engine that applies a plan (`execute::engine`) and
//!     the converge cycle a rehearsal runs;
//!   - [`ha`]: high availability on etcd: election, fencing, shared history;
//!   - [`reconcile`]: the GitOps loop: `reconcile::source` (where the
//!     desired topology comes from), `reconcile::serve` (status, metrics,
//!     the page and the listener) and the loop itself, which tells
//!     whatever is handed in as `reconcile::driver::AfterPass` (the
//!     notifier) after each pass;
//!   - [`notifier`]: notifications at the edge, after each pass;
//!   - [`run`]: the use cases: an apply run, a reconcile pass, the
//!     leader's pass, opening a target, the edges and their one shutdown,
//!     history, `simulate`'s rehearsal (`run::rehearse`), `provider check`
//!     (`run::check`), `wait` and `status` (`run::wait`);
//!   - [`report`]: text for people about what the use cases return: a
//!     rehearsal, a run, a provider check, a status;
//! - the binary, `main.rs` and `cli/`: flags, one use case per command,
//!   and printing; no orchestration.

#![warn(missing_docs)]

pub use handover_core::render::graph;
pub use handover_core::{
    assign, diag, export, hash, load, model, name, notification, plan, render, synth, validate,
};

pub mod execute;
pub mod ha;
pub mod notifier;
pub mod provider;
pub mod reconcile;
pub mod report;
pub mod run;
pub mod sim;
pub mod state;
pub mod verdict;
