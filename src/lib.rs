//! handover keeps the topology of a monitoring estate equal to what a team
//! committed to git: which management or gateway server each Operations
//! Manager agent and gateway reports to, and where the Skype for Business
//! Central Management Store is active.
//!
//! The crate is a pure core with thin edges (see `docs/design.md`):
//!
//! - core, no I/O: [`name`], [`diag`], [`model`], [`assign`], [`plan`], [`render`];
//! - runtime, from the bottom up (a module imports only those above it in
//!   this list, or the core):
//!   - [`verdict`]: how a run ended, and the one exit-code mapping;
//!   - [`provider`]: the seam to targets (`exec:` programs in
//!     `provider::exec`), and what a target can tell ([`provider::Inspect`]);
//!   - [`sim`]: the embedded simulator target;
//!   - [`state`]: the lock per estate and the local journal;
//!   - [`execute`]: the engine that applies a plan (`execute::engine`) and
//!     the converge cycle a rehearsal runs;
//!   - [`ha`]: high availability on etcd: election, fencing, shared history;
//!   - [`reconcile`]: the GitOps loop: `reconcile::source` (where the
//!     desired topology comes from), `reconcile::serve` (status, metrics,
//!     the page and the listener) and the loop itself;
//!   - [`run`]: the use cases: an apply run, a reconcile pass, the
//!     leader's pass, opening a target, the edges and their one shutdown,
//!     history;
//!   - [`report`]: text for people about a rehearsal and a run;
//! - the binary, `main.rs` and `cli/`: flags and printing only.

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
