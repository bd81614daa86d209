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
pub use progress::{Progress, ProgressEvent, Silent};
pub use report::{EngineReport, StepOutcome, StepRecord};
pub use retry::RetryPolicy;

use crate::model::Policy;
use std::time::Duration;

/// How a pass applies a plan.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Members in a bridge at once (`policy.maxInFlight`), at least 1.
    pub max_in_flight: u32,
    /// How long a member's await may wait, from when it started
    /// (`policy.ackTimeout`).
    pub ack_timeout: Duration,
    /// How long a store await may wait, and how long the executor keeps
    /// observing after a `store_failover` whose answer was lost
    /// (`policy.storeTimeout`).
    pub store_timeout: Duration,
    /// How long to sleep on the target's clock between two polls at first,
    /// and again after a poll that saw an await settle
    /// (`policy.poll.interval`).
    pub poll_interval: Duration,
    /// The longest sleep between two polls: while polls see nothing
    /// settle, the sleep doubles up to this (`policy.poll.max`).
    pub poll_max: Duration,
    /// Retries of transient provider errors.
    pub retry: RetryPolicy,
    /// Seed of the backoff jitter.
    pub seed: u64,
    /// Set it to stop starting new steps.
    pub cancel: Cancel,
}

impl EngineOptions {
    /// Options from a topology's policy (its poll interval and backoff
    /// included), with the default retry policy and seed 0.
    pub fn from_policy(policy: &Policy) -> Self {
        EngineOptions {
            max_in_flight: policy.max_in_flight.max(1),
            ack_timeout: policy.ack_timeout.as_duration(),
            store_timeout: policy.store_timeout.as_duration(),
            poll_interval: policy.poll.interval.as_duration(),
            poll_max: policy.poll.max.as_duration(),
            ..EngineOptions::default()
        }
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        let policy = Policy::default();
        EngineOptions {
            max_in_flight: policy.max_in_flight,
            ack_timeout: policy.ack_timeout.as_duration(),
            store_timeout: policy.store_timeout.as_duration(),
            poll_interval: policy.poll.interval.as_duration(),
            poll_max: policy.poll.max.as_duration(),
            retry: RetryPolicy::default(),
            seed: 0,
            cancel: Cancel::new(),
        }
    }
}
