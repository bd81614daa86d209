//! The pure core of handover: what the topology in git says, whether it is
//! sound, where every agent should report, and the make-before-break plan
//! that gets the estate there, rendered for a person or a program.
//!
//! Owns: the topology model and names, loading and validating the desired
//! and observed files, assignment, planning, the plan digest, rendering
//! plans and graphs, the persisted hash. Must not: do I/O beyond reading
//! the files it is handed, read a clock, spawn, block on a network or use
//! async; its `Cargo.toml` has no tokio, axum, hyper, tonic/prost or
//! notify (`tests/core_deps.rs` in the root package checks). The runtime
//! (`handover`) re-exports every module here under the same name, so
//! `handover::plan` and `crate::plan` in the runtime are these modules.
//!
//! Layout, lowest layer first. A module imports only from the layers
//! above it in this list (tests may import more). Inside a module a file
//! imports its siblings or a leaf file, never the module's re-exports, so
//! no circle runs between a module's files either (one is left, inside
//! `plan::rollout`; docs/design.md says why). `scripts/modcycles.py`
//! derives the module graph from the code and reports any circle:
//!
//! - [`hash`]: the one FNV-1a of every persisted id (pinned by known
//!   answers), and the fast hasher of name-keyed maps;
//! - [`diag`]: positions (and [`diag::positions`], where the loader found
//!   each part of a document), diagnostics, [`diag::thousands`],
//!   [`diag::count`] and [`diag::quote`] for every message;
//! - [`name`]: case-insensitive host and pool names;
//! - [`model`]: the desired and observed topology types, the one
//!   [`model::ServerKind`]; [`model::member`] (a member's kind and
//!   parents) and [`model::seconds`] (durations) are the leaves the other
//!   model files share;
//! - [`validate`]: every problem a topology can have, with its place;
//!   [`assign`]: which server each agent reports to (rendezvous hashing,
//!   capacity, spread) and its load tables; [`synth`]: seeded synthetic
//!   estates (benches, `gen_estate`);
//! - [`load`]: reading YAML/JSON into the model, with positions, then
//!   validating it;
//! - [`plan`]: the make-before-break plan, its order and its digest;
//! - [`export`]: an observed estate written back as YAML;
//! - [`render`]: plans as text, Markdown, JSON and PowerShell
//!   ([`render::quote`] quotes every name), and [`render::graph`] (DOT,
//!   Mermaid, SVG).

#![warn(missing_docs)]

pub mod assign;
pub mod diag;
pub mod export;
pub mod hash;
pub mod load;
pub mod model;
pub mod name;
pub mod notification;
pub mod plan;
pub mod render;
pub mod synth;
#[cfg(test)]
pub(crate) mod testkit;
pub mod validate;
