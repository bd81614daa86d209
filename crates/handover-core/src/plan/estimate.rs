//! The figures of a forecast: what `plan::forecast::forecast` returns and
//! a [`Plan`](super::types::Plan) carries.
//!
//! Owns [`Forecast`] and its [`Breakdown`], plain data, so the plan's types
//! and the forecast's model both build on it without importing each other.
//! Must not compute anything.

use crate::model::Cost;
use serde::{Deserialize, Serialize};

/// The forecast of one plan: wall time, its parts, and the work counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// The figures it assumed.
    pub cost: Cost,
    /// From the first observation to the check at the end, in seconds.
    pub wall_seconds: f64,
    /// Where the wall time goes; the parts add up to it.
    pub breakdown: Breakdown,
    /// Operations sent (bridges, prunes, other writes).
    pub operations: u64,
    /// `apply` requests (each carries up to `batch × parallel` operations).
    pub apply_calls: u64,
    /// `observe` requests: polls of members in flight, plus the whole
    /// estate at the start and at the end.
    pub observe_calls: u64,
    /// Provider processes started.
    pub process_starts: u64,
    /// Waves of the window, over all stages.
    pub waves: u64,
    /// Members whose acknowledgement would come after `ackTimeout`
    /// (`propagation` longer than it): they stay pending in their bridge,
    /// and what waits for them does not start.
    pub timed_out: u64,
    /// The least the run could take, in seconds (issue 19's floor): one
    /// `propagation` per wave plus the operations' own time divided by
    /// `parallel`; no request overhead, no polls, no start-ups.
    pub floor_seconds: f64,
}

/// True for a part that took no time (left out of the JSON).
fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// The wall time's parts, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// Waiting between polls for members to learn their new parents.
    pub propagation: f64,
    /// `apply` requests, operations included.
    pub apply: f64,
    /// `observe` requests (polls and the two whole observations).
    pub observe: f64,
    /// Starting provider processes.
    pub startup: f64,
    /// A progressive rollout's soaks (`policy.rollout`): each step holds
    /// this long after its members moved, while it is analysed. Manual
    /// pauses (`{pause: true}`) wait for a person and are not counted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub soak: f64,
}
