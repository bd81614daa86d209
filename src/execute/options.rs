//! How a pass applies a plan: the executor's options, from a topology's
//! policy or the defaults.
//!
//! Owns [`EngineOptions`] and how a policy fills it. Must not run anything:
//! the engine and the cycle read these (`super::engine`, `super::converge`).

use super::cancel::Cancel;
use super::retry::RetryPolicy;
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
