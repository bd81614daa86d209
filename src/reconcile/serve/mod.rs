//! What the reconcile loop shows: its status document, its metrics, the
//! live progress of the pass in hand, and the HTTP listener that serves
//! them with the status page.
//!
//! Owns [`status`] (the `/status` document and the sync-status decision),
//! [`metrics`] (`/metrics`), [`live`] (what a running pass shows), [`page`]
//! (the HTML status page, with [`html`]: escaping and the sections of one
//! view each), [`rollout_view`] and [`gates_view`] (a progressive
//! rollout's and the gates' part of all three), [`overlay`] (laying those
//! views over the status document) and [`listen`] (the routes and the
//! loopback rule). Must not plan, apply, or decide when a pass runs: the
//! loop in [`super::driver`] writes what these read.
//!
//! Layers, lowest first (a file imports only those before it):
//! `gates_view` and `rollout_view`; `status`; `overlay`; `live`;
//! `metrics` and `html`; `page`; `listen`.

pub mod gates_view;
pub mod html;
pub mod listen;
pub mod live;
pub mod metrics;
pub mod overlay;
pub mod page;
pub mod rollout_view;
pub mod status;
