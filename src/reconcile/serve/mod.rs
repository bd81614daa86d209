//! What the reconcile loop shows: its status document, its metrics, the
//! live progress of the pass in hand, and the HTTP listener that serves
//! them with the status page.
//!
//! Owns [`status`] (the `/status` document and the sync-status decision),
//! [`metrics`] (`/metrics`), [`live`] (what a running pass shows), [`page`]
//! (the HTML status page), [`rollout_view`] (a progressive rollout's part
//! of all three) and [`listen`] (the routes and the loopback rule). Must not plan, apply, or decide when a pass runs: the loop in
//! [`super::driver`] writes what these read.

pub mod gates_view;
pub mod listen;
pub mod live;
pub mod metrics;
pub mod page;
pub mod rollout_view;
pub mod status;
