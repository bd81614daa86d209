//! The executor: applies a [`Plan`](crate::plan::Plan) to a target, and the
//! rehearsal / reconcile cycle built on it.
//!
//! Owns the sliding window of docs/spec.md rule 5 (at most `maxInFlight` members in
//! a bridge at once), the evaluation of awaits against observations, ack
//! timeouts, retries with backoff, cancellation, and the level-triggered
//! observe → plan → apply loop ([`converge`]). It is generic over any
//! [`Provider`](crate::provider::Provider) + [`Clock`](crate::provider::Clock),
//! so a rehearsal in the simulator runs exactly the code a real `apply` runs.
//!
//! It is a single-task loop that performs one provider call at a time and
//! waits only on the target's clock, so under a virtual clock a run is
//! deterministic for a seed. It must not print (progress goes through the
//! [`Progress`] hook), must not plan (the strategy is a parameter), and must
//! not know how a target is built.

mod cancel;
mod classify;
mod converge;
mod engine;
mod meter;
mod options;
mod progress;
mod report;
mod retry;
mod view;

/// The target seams the engine reads besides [`Provider`](crate::provider::Provider)
/// and [`Clock`](crate::provider::Clock); defined in [`crate::provider`].
pub use crate::provider::{Inspect, Schedule};
pub use cancel::Cancel;
pub use classify::{Classification, RemovalHazard, classify, is_bridge_of, removal_hazard};
pub use converge::{
    ConvergeOptions, Planner, RehearsalReport, SimulateSummary, StopReason, converge,
};
pub use engine::apply_plan;
pub use options::EngineOptions;
pub use progress::{Progress, ProgressEvent, Silent};
pub use report::{EngineReport, StepOutcome, StepRecord, compare};
pub use retry::RetryPolicy;
